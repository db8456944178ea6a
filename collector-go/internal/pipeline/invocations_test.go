package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

// withInvocationSpan returns a trace whose server span is the handler span
// of requestID under attribute key.
func withInvocationSpan(seed byte, key, requestID string) ptrace.Traces {
	td, _ := testsupport.NewTrace(seed)
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr(key, requestID)
	return td
}

func TestWaitInvocationReturnsOnceTheHandlerSpanAndEveryRequestAreIn(t *testing.T) {
	r := start(t, 1000, "")

	// A request of the same flush still being read: headers sent, body not.
	body, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(func() ptrace.Traces { td, _ := testsupport.NewTrace(1); return td }())
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/traces HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-protobuf\r\nContent-Length: %d\r\n\r\n", r.addr, len(body))
	if _, err := conn.Write(body[:10]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the receiver is reading it

	if resp := testsupport.PostOTLP(t, r.addr, withInvocationSpan(2, "faas.invocation_id", "req-1")); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	err = r.pipeline.WaitInvocation(ctx, "req-1")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitInvocation = %v while a request was still being read, want the deadline", err)
	}

	if _, err := conn.Write(body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("partial request: %v %v", resp, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.pipeline.WaitInvocation(ctx, "req-1"); err != nil {
		t.Fatalf("WaitInvocation = %v once every request was in", err)
	}
	if got := r.pipeline.Buffered(); got != 6 {
		t.Errorf("buffered %d spans when the invocation was known complete, want 6", got)
	}

	// The older attribute name works too; another invocation's span does not count.
	testsupport.PostOTLP(t, r.addr, withInvocationSpan(3, "faas.execution", "req-2"))
	if err := r.pipeline.WaitInvocation(ctx, "req-2"); err != nil {
		t.Fatalf("WaitInvocation(faas.execution) = %v", err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if err := r.pipeline.WaitInvocation(short, "req-3"); err == nil {
		t.Error("WaitInvocation returned for an invocation whose span never came")
	}
}
