package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
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
	// Until the receiver is reading it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		r.pipeline.buffer.invocations.mu.Lock()
		reading := r.pipeline.buffer.invocations.inflight > 0
		r.pipeline.buffer.invocations.mu.Unlock()
		if reading {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the receiver never started reading the partial request")
		}
	}

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

func TestAnInvocationIsCompleteOnlyOnceEverySpanItsHandlerSpanCountsIsIn(t *testing.T) {
	r := start(t, 1000, "")
	handler, children, _ := testsupport.CountedInvocation(1, "req-1", 3)

	// The handler span comes first, on its own connection; its children
	// are still on another.
	if resp := testsupport.PostOTLP(t, r.addr, handler); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	err := r.pipeline.WaitInvocation(short, "req-1")
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitInvocation = %v with 1 of the 3 counted spans in, want the deadline", err)
	}
	if !r.pipeline.AwaitsSpans("req-1") {
		t.Error("AwaitsSpans = false with 2 counted spans not in")
	}

	if resp := testsupport.PostOTLP(t, r.addr, children); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.pipeline.WaitInvocation(ctx, "req-1"); err != nil {
		t.Fatalf("WaitInvocation = %v once the 3 counted spans were in", err)
	}
	if r.pipeline.AwaitsSpans("req-1") {
		t.Error("AwaitsSpans = true once the invocation was complete")
	}
	result := r.pipeline.Flush(ctx)
	if result.Spans != 3 || result.Exported() != 3 || result.Late != 0 || result.Missing != 0 {
		t.Fatalf("flush: %d spans, %d exported, %d late, %d missing; want 3, 3, 0, 0", result.Spans, result.Exported(), result.Late, result.Missing)
	}
	for _, doc := range r.xray.Documents() {
		if b, _ := json.Marshal(doc); strings.Contains(string(b), contract.InvocationSpanCountAttribute) {
			t.Errorf("the span count attribute reached X-Ray: %v", doc)
		}
	}
}

func TestSpansMissingWhenTheInvocationIsGivenUpAreCountedAndLateOnesExported(t *testing.T) {
	r := start(t, 1000, "")
	handler, children, ids := testsupport.CountedInvocation(2, "req-1", 3)
	testsupport.PostOTLP(t, r.addr, handler)

	if missing := r.pipeline.GiveUpInvocation("req-1"); missing != 2 {
		t.Fatalf("GiveUpInvocation = %d, want the 2 counted spans not in", missing)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	result := r.pipeline.Flush(ctx)
	if result.Missing != 2 || result.DroppedReasons()[ReasonNotReceived] != 2 || result.Exported() != 1 {
		t.Fatalf("flush: %d missing, dropped %v, %d exported; want 2 missing as %q, 1 exported", result.Missing, result.DroppedReasons(), result.Exported(), ReasonNotReceived)
	}

	// They arrive after all: exported with the next flush, counted late.
	testsupport.PostOTLP(t, r.addr, children)
	result = r.pipeline.Flush(ctx)
	if result.Late != 2 || result.Exported() != 2 || result.Missing != 0 {
		t.Fatalf("next flush: %d late, %d exported, %d missing; want 2, 2, 0", result.Late, result.Exported(), result.Missing)
	}

	// A later invocation in the same trace is not late: its spans ended
	// after the first one's handler span.
	later, _ := testsupport.NewTrace(2)
	for _, s := range later.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		s.SetTraceID(ids.TraceID)
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(time.Second)))
		if s.SpanID() == ids.Root {
			s.Attributes().PutStr("faas.invocation_id", "req-2")
			s.Attributes().PutInt(contract.InvocationSpanCountAttribute, 3)
		}
	}
	testsupport.PostOTLP(t, r.addr, later)
	if err := r.pipeline.WaitInvocation(ctx, "req-2"); err != nil {
		t.Fatalf("WaitInvocation(req-2) = %v", err)
	}
	if result = r.pipeline.Flush(ctx); result.Late != 0 || result.Exported() != 3 {
		t.Fatalf("flush of the second invocation: %d late, %d exported; want 0, 3", result.Late, result.Exported())
	}
}

func TestAHandlerSpanWithoutACountClosesItsInvocationAsBefore(t *testing.T) {
	r := start(t, 1000, "")
	testsupport.PostOTLP(t, r.addr, withInvocationSpan(3, "faas.invocation_id", "req-1"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.pipeline.WaitInvocation(ctx, "req-1"); err != nil {
		t.Fatalf("WaitInvocation = %v", err)
	}
	if r.pipeline.AwaitsSpans("req-2") {
		t.Error("AwaitsSpans = true for an invocation of an SDK that never counted")
	}
}

func TestAnInvocationWaitsBrieflyForTheSpansItsHandlerLeftRunning(t *testing.T) {
	r := start(t, 1000, "")
	handler, children, ids := testsupport.CountedInvocation(4, "req-1", 2)
	root := handler.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	root.Attributes().PutInt(contract.InvocationOpenSpansAttribute, 1)
	// The counted child (the HTTP span) comes with the handler span; the AWS span is still open.
	var outliving ptrace.Traces
	outliving = ptrace.NewTraces()
	children.CopyTo(outliving)
	children.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool { return s.SpanID() == ids.AWS })
	outliving.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool { return s.SpanID() != ids.AWS })
	testsupport.PostOTLP(t, r.addr, handler)
	testsupport.PostOTLP(t, r.addr, children)

	done := make(chan error, 1)
	go func() { done <- r.pipeline.WaitInvocation(context.Background(), "req-1") }()
	select {
	case err := <-done:
		t.Fatalf("WaitInvocation = %v before the span the handler left running came or the grace passed", err)
	case <-time.After(outlivingGrace / 4):
	}
	testsupport.PostOTLP(t, r.addr, outliving)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitInvocation did not return once every span was in")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if res := r.pipeline.Flush(ctx); res.Exported() != 3 || res.Missing != 0 {
		t.Fatalf("flush: %d exported, %d missing; want 3, 0", res.Exported(), res.Missing)
	}

	// A span left running that does not end: the wait ends after the grace, nothing counted missing.
	handler, children, _ = testsupport.CountedInvocation(5, "req-2", 3)
	handler.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutInt(contract.InvocationOpenSpansAttribute, 1)
	testsupport.PostOTLP(t, r.addr, handler)
	testsupport.PostOTLP(t, r.addr, children)
	if err := r.pipeline.WaitInvocation(ctx, "req-2"); err != nil {
		t.Fatalf("WaitInvocation = %v for a handler that left a span running, want the grace to end it", err)
	}
	if res := r.pipeline.Flush(ctx); res.Exported() != 3 || res.Missing != 0 || res.Dropped() != 0 {
		t.Fatalf("flush: %d exported, %d missing, %d dropped; want 3, 0, 0", res.Exported(), res.Missing, res.Dropped())
	}
}
