package pipeline

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

// BenchmarkReceiveAndFlush10Spans measures one invoke's work in the collector:
// an OTLP/HTTP request with 10 spans in, one PutTraceSegments call out to a
// local X-Ray stand-in. Figures only; no threshold.
func BenchmarkReceiveAndFlush10Spans(b *testing.B) {
	r := start(b, 1000, "")
	td, _ := testsupport.NewTrace(30)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for spans.Len() < 10 {
		s := spans.AppendEmpty()
		spans.At(0).CopyTo(s)
		s.SetSpanID([8]byte{30, 0, 0, 0, 0, 0, 0, byte(spans.Len())})
		s.SetParentSpanID(spans.At(0).SpanID())
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if resp := testsupport.PostOTLP(b, r.addr, td); resp.StatusCode != http.StatusOK {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res := r.pipeline.Flush(ctx)
		cancel()
		if res.Exported() != 10 {
			b.Fatalf("flush = %+v", res)
		}
	}
}
