package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

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

// BenchmarkFlushBurstOf20000Spans measures the flush of one invoke that
// buffered 20,000 spans, with one call at a time and with the default
// num_workers (8). X-Ray is the local stand-in answering after 2 ms, or the
// endpoint in OTEL_XRAY_COLLECTOR_BENCH_XRAY_ENDPOINT (for example moto's
// server). Figures only; no threshold:
//
//	go test -tags "$(cat build-tags)" -run '^$' -bench FlushBurst -benchtime 3x ./internal/pipeline
func BenchmarkFlushBurstOf20000Spans(b *testing.B) {
	endpoint := os.Getenv("OTEL_XRAY_COLLECTOR_BENCH_XRAY_ENDPOINT")
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("num_workers=%d", workers), func(b *testing.B) {
			r := startWith(b, 20000, "", fmt.Sprintf("    num_workers: %d", workers), func(x *testsupport.XRay) string {
				if endpoint != "" {
					return endpoint
				}
				x.Delay(2 * time.Millisecond)
				return x.Server.URL
			})
			var flushing time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for sent, seed := 0, byte(1); sent < 20000; sent, seed = sent+1000, seed+1 {
					if resp := testsupport.PostOTLP(b, r.addr, testsupport.NewBurst(1000, seed)); resp.StatusCode != http.StatusOK {
						b.Fatalf("HTTP %d", resp.StatusCode)
					}
				}
				b.StartTimer()
				res := flush(b, r.pipeline, 30*time.Second)
				flushing += res.Duration
				if res.Exported() != 20000 {
					b.Fatalf("flush = %+v", res)
				}
			}
			b.ReportMetric(float64(flushing.Milliseconds())/float64(b.N), "ms/flush")
		})
	}
}

// BenchmarkReceiveJSONAndHandToTheDaemon12Spans measures one invoke's work
// in the collector with the awsxray_daemon exporter: an OTLP/HTTP JSON
// request with 12 spans in (as the preload sends them), 12 datagrams out to
// a UDP socket nobody answers. Figures only; no threshold.
func BenchmarkReceiveJSONAndHandToTheDaemon12Spans(b *testing.B) {
	p, addr, daemon := startToDaemon(b)
	go func() {
		buf := make([]byte, 70_000)
		for {
			if _, _, err := daemon.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	td := testsupport.NewBurst(12, 40)
	body, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if resp := testsupport.PostRaw(b, addr, "application/json", body); resp.StatusCode != http.StatusOK {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		res := p.Flush(ctx)
		cancel()
		if res.Exported() != 12 {
			b.Fatalf("flush = %+v", res)
		}
	}
}
