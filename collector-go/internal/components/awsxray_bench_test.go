package components

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkXRaySendPerSpan measures the CPU the X-Ray sender spends per
// span: translation by the contrib translator, the document checks and
// repairs, and building the PutTraceSegments input (the call itself goes to
// an in-process fake, so no network or signing). Figures only:
//
//	go test -tags "$(cat build-tags)" -run '^$' -bench XRaySendPerSpan -benchtime 20x ./internal/components
func BenchmarkXRaySendPerSpan(b *testing.B) {
	const spans = 1000
	sender := newXRaySenderWithClient(newTestConfig(), &fakeXRay{}, nopLogger)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
		for j := 0; j < spans; j++ {
			s := addSpan(ss, byte(j))
			s.SetSpanID([8]byte{1, byte(j >> 8), byte(j), 0, 0, 0, 0, 1})
			s.SetKind(ptrace.SpanKindClient)
			s.SetParentSpanID([8]byte{2, 2, 2, 2, 2, 2, 2, 2})
			a := s.Attributes()
			a.PutStr("http.request.method", "GET")
			a.PutStr("url.full", "https://inventory.example.com/items/42?x=1")
			a.PutInt("http.response.status_code", 200)
			a.PutStr("server.address", "inventory.example.com")
			a.PutStr("rpc.system", "aws-api")
			a.PutStr("rpc.service", "DynamoDB")
			a.PutStr("rpc.method", "GetItem")
			a.PutStr("aws.dynamodb.table_names", "orders")
			a.PutStr("aws.request_id", "REQ-123")
			a.PutStr("custom.note", "a value of moderate length for metadata")
		}
		b.StartTimer()
		if res := sender.Send(context.Background(), td); res.Stored != spans {
			b.Fatalf("stored %d", res.Stored)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*spans), "µs/span")
}
