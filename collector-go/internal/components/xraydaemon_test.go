package components

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/xray"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// udpDaemon is a UDP listener playing the X-Ray daemon: it returns every
// datagram it receives.
func udpDaemon(t *testing.T) (string, <-chan []byte) {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	got := make(chan []byte, 100)
	go func() {
		buf := make([]byte, 70_000)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			got <- append([]byte(nil), buf[:n]...)
		}
	}()
	return conn.LocalAddr().String(), got
}

func newDaemonTestSender(t *testing.T, cfg *DaemonConfig) Sender {
	t.Helper()
	s, err := newDaemonSender(context.Background(), exporter.Settings{ID: component.NewID(daemonType), TelemetrySettings: component.TelemetrySettings{Logger: zap.NewNop()}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func TestTheDaemonExporterSendsEachSegmentDocumentAsOneDatagramWithTheHeader(t *testing.T) {
	addr, got := udpDaemon(t)
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := byte(1); i <= 3; i++ {
		addSpan(ss, i).Attributes().PutStr("indexed", "yes")
	}
	res := newDaemonTestSender(t, &DaemonConfig{Endpoint: addr, IndexedAttributes: []string{"indexed"}}).Send(context.Background(), td)
	if res.Stored != 3 || res.DroppedSpans() != 0 || res.RetrySpans != 0 || res.Calls != 1 {
		t.Fatalf("result = %+v, want 3 stored in one call", res)
	}
	ids := map[string]bool{}
	for i := 0; i < 3; i++ {
		select {
		case d := <-got:
			header, doc, ok := strings.Cut(string(d), "\n")
			if !ok || header != `{"format":"json","version":1}` {
				t.Fatalf("datagram %q lacks the daemon's header", d)
			}
			var seg map[string]any
			if err := json.Unmarshal([]byte(doc), &seg); err != nil {
				t.Fatalf("datagram body is not one segment document: %v: %s", err, doc)
			}
			ids[seg["id"].(string)] = true
			if ann, _ := seg["annotations"].(map[string]any); ann["indexed"] != "yes" {
				t.Errorf("indexed attribute not an annotation: %s", doc)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the daemon received %d datagrams, want 3", i)
		}
	}
	if len(ids) != 3 {
		t.Errorf("segment IDs = %v, want 3 distinct", ids)
	}
}

func TestTheDaemonAddressComesFromTheConfigThenLambdaThenTheDefault(t *testing.T) {
	t.Setenv(EnvDaemonAddress, "169.254.79.129:2000")
	if got, _ := daemonAddress(&DaemonConfig{Endpoint: "127.0.0.1:3000"}); got != "127.0.0.1:3000" {
		t.Errorf("configured endpoint: %s", got)
	}
	if got, _ := daemonAddress(&DaemonConfig{}); got != "169.254.79.129:2000" {
		t.Errorf("from %s: %s", EnvDaemonAddress, got)
	}
	t.Setenv(EnvDaemonAddress, "")
	if got, _ := daemonAddress(&DaemonConfig{}); got != defaultDaemonAddress {
		t.Errorf("default: %s", got)
	}
	t.Setenv(EnvDaemonAddress, "not-an-address")
	if _, err := daemonAddress(&DaemonConfig{}); err == nil || !strings.Contains(err.Error(), EnvDaemonAddress) || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("a bad %s: %v, want an error naming it and host:port", EnvDaemonAddress, err)
	}
	for _, bad := range []string{"2000", "host:", ":2000", "host:port", "host:70000"} {
		if err := (&DaemonConfig{Endpoint: bad}).Validate(); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("endpoint %q: %v, want an error naming it", bad, err)
		}
	}
}

func TestADocumentTooLargeForADatagramIsDroppedAndCounted(t *testing.T) {
	addr, got := udpDaemon(t)
	client := &daemonClient{address: addr}
	defer client.close()
	small := `{"id":"0100000000000001","name":"a"}`
	large := `{"id":"0100000000000002","name":"` + strings.Repeat("x", maxDatagramBytes) + `"}`
	out, err := client.PutTraceSegments(context.Background(), putInput(small, large))
	if err != nil || len(out.UnprocessedTraceSegments) != 1 || *out.UnprocessedTraceSegments[0].Id != "0100000000000002" {
		t.Fatalf("out = %+v, %v; want the large document unprocessed", out, err)
	}
	select {
	case d := <-got:
		if !strings.HasSuffix(string(d), small) {
			t.Errorf("datagram = %q", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the small document was not sent")
	}
}

func putInput(docs ...string) *xray.PutTraceSegmentsInput {
	return &xray.PutTraceSegmentsInput{TraceSegmentDocuments: docs}
}
