package pipeline

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

// xrayDocuments counts the documents of a span as the awsxray exporter's
// export policy does.
var xrayDocuments = func() func(ptrace.Span) int {
	f := components.New()
	xray := component.MustNewType("awsxray")
	return f.ExportPolicy(xray, f.Exporters[xray].CreateDefaultConfig()).Documents
}()

// postBurst sends n spans to the receiver in OTLP requests of 1000 spans.
func postBurst(t *testing.T, addr string, n int) {
	t.Helper()
	for sent, seed := 0, byte(1); sent < n; sent, seed = sent+1000, seed+1 {
		if resp := testsupport.PostOTLP(t, addr, testsupport.NewBurst(min(1000, n-sent), seed)); resp.StatusCode != http.StatusOK {
			t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
		}
	}
}

func TestBurstOf20000SpansGoesOutInCallsOfAtMost50DocumentsInParallel(t *testing.T) {
	r := startWith(t, 20000, "", "    num_workers: 4", nil)
	// Each call takes a little while, like a round trip to X-Ray, so
	// calls that can overlap do.
	r.xray.Delay(2 * time.Millisecond)
	postBurst(t, r.addr, 20000)

	res := flush(t, r.pipeline, 30*time.Second)
	t.Logf("20000 spans flushed in %v, %d calls, at most %d at once", res.Duration, r.xray.Calls(), r.xray.MaxInFlight())
	if res.Spans != 20000 || res.Exported() != 20000 || res.Dropped() != 0 {
		t.Fatalf("flush = %+v, want 20000 exported", res)
	}
	if got := len(r.xray.Documents()); got != 20000 {
		t.Errorf("X-Ray received %d documents, want 20000", got)
	}
	if got := r.xray.MaxDocumentsPerCall(); got > 50 {
		t.Errorf("a call carried %d documents; PutTraceSegments takes at most 50", got)
	}
	if got := r.xray.Calls(); got != 400 {
		t.Errorf("X-Ray calls = %d, want 400 (20000 / 50)", got)
	}
	if got := r.xray.MaxInFlight(); got < 2 || got > 4 {
		t.Errorf("at most %d calls at once, want 2 to num_workers (4)", got)
	}
}

func TestRejectedCallsDropOnlyTheirOwnSpans(t *testing.T) {
	r := start(t, 20000, "")
	r.xray.RejectEvery(3)
	postBurst(t, r.addr, 1000)

	res := flush(t, r.pipeline, 30*time.Second)
	received := len(r.xray.Documents())
	if received == 0 || r.xray.Rejected() == 0 {
		t.Fatalf("want some calls accepted and some rejected, got %d documents accepted, %d rejected", received, r.xray.Rejected())
	}
	if res.Exported() != received || res.Dropped() != r.xray.Rejected() || res.Exported()+res.Dropped() != 1000 {
		t.Fatalf("flush counts %d exported, %d dropped; X-Ray accepted %d and rejected %d of 1000", res.Exported(), res.Dropped(), received, r.xray.Rejected())
	}
	if got := res.Exporters[0].FailedCalls; got != r.xray.Calls()/3 {
		t.Errorf("failed batches = %d, want every third of %d calls", got, r.xray.Calls())
	}
	entries := r.logs.FilterMessage("flush dropped spans").All()
	if len(entries) != 1 || entries[0].ContextMap()["dropped_spans"] != int64(r.xray.Rejected()) || entries[0].ContextMap()["exported_spans"] != int64(received) {
		t.Fatalf("want one 'flush dropped spans' line with dropped_spans=%d exported_spans=%d, got %v", r.xray.Rejected(), received, entries)
	}
}

func TestRefusedConnectionGivesUpQuicklyAndSendsNoFurtherBatches(t *testing.T) {
	refused := "http://" + testsupport.FreeLoopbackAddr(t)
	r := startWith(t, 20000, "", "    num_workers: 2", func(*testsupport.XRay) string { return refused })
	postBurst(t, r.addr, 1000)

	// The default flush timeout. Retries of a refused connection wait
	// 50 ms and 100 ms at most, so the export fails on its own, not by
	// running into this deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := r.pipeline.Flush(ctx)
	t.Logf("refused connection: flush gave up after %v", res.Duration)
	e := res.Exporters[0]
	if res.Retained() != 1000 || res.Dropped() != 0 || res.Exported() != 0 {
		t.Fatalf("flush = %+v, want 1000 kept for a retry", res)
	}
	if ctx.Err() != nil || errors.Is(e.Err, context.DeadlineExceeded) {
		t.Fatalf("the export ran into the flush deadline instead of failing on its own: %v", e.Err)
	}
	if !strings.Contains(e.Err.Error(), "connection refused") {
		t.Errorf("error = %v, want the refused connection", e.Err)
	}
	if e.Calls+e.UnsentCalls != 20 || e.FailedCalls > 2 || e.UnsentCalls < 18 {
		t.Errorf("calls = %d, failed %d, not sent %d: want 20 batches, at most num_workers (2) tried, the rest not sent", e.Calls, e.FailedCalls, e.UnsentCalls)
	}
	entries := r.logs.FilterMessage("flush kept spans for a retry").All()
	if len(entries) != 1 || entries[0].ContextMap()["retained_spans"] != int64(1000) {
		t.Fatalf("want one 'flush kept spans for a retry' line with retained_spans=1000, got %v", entries)
	}
}

func TestSplitKeepsResourceAndScopeAndStaysWithinTheDocumentLimit(t *testing.T) {
	td := ptrace.NewTraces()
	for r := 0; r < 2; r++ {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutInt("resource", int64(r))
		for s := 0; s < 2; s++ {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("scope-" + string(rune('a'+s)))
			for i := 0; i < 30; i++ {
				span := ss.Spans().AppendEmpty()
				span.SetName("span")
				span.Attributes().PutInt("resource", int64(r))
				span.Attributes().PutStr("scope", ss.Scope().Name())
				if i%10 == 0 {
					span.Attributes().PutStr("aws.span.kind", "LOCAL_ROOT")
				}
			}
		}
	}
	batches := splitTraces(td, 50, xrayDocuments)
	spans := 0
	for i, b := range batches {
		if b.spans != b.traces.SpanCount() {
			t.Errorf("batch %d counts %d spans, holds %d", i, b.spans, b.traces.SpanCount())
		}
		spans += b.spans
		docs := 0
		for _, rs := range b.traces.ResourceSpans().All() {
			res, _ := rs.Resource().Attributes().Get("resource")
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					docs += xrayDocuments(span)
					spanRes, _ := span.Attributes().Get("resource")
					spanScope, _ := span.Attributes().Get("scope")
					if spanRes.Int() != res.Int() || spanScope.Str() != ss.Scope().Name() {
						t.Errorf("batch %d: span of resource %d scope %s filed under resource %d scope %s", i, spanRes.Int(), spanScope.Str(), res.Int(), ss.Scope().Name())
					}
				}
			}
		}
		if docs > 50 {
			t.Errorf("batch %d makes %d documents, more than 50", i, docs)
		}
	}
	// 120 spans, 12 of them local roots: 132 documents, at least 3 batches.
	if spans != 120 || len(batches) != 3 {
		t.Errorf("%d spans in %d batches, want 120 in 3", spans, len(batches))
	}
	if td.SpanCount() != 0 {
		t.Errorf("the input still holds %d spans; they should have moved", td.SpanCount())
	}
}

func TestSplitWithoutALimitKeepsOneBatch(t *testing.T) {
	td := testsupport.NewBurst(120, 1)
	batches := splitTraces(td, 0, func(ptrace.Span) int { return 1 })
	if len(batches) != 1 || batches[0].spans != 120 {
		t.Fatalf("got %d batches, want one of 120 spans", len(batches))
	}
	if got := splitTraces(ptrace.NewTraces(), 50, xrayDocuments); len(got) != 0 {
		t.Errorf("empty input gave %d batches", len(got))
	}
}

func TestThrottlingWithoutEndIsCutAtTheFlushDeadline(t *testing.T) {
	r := start(t, 20000, "")
	r.xray.FailWith(http.StatusTooManyRequests, -1)
	postBurst(t, r.addr, 500)

	done := make(chan FlushResult, 1)
	go func() { done <- flush(t, r.pipeline, 300*time.Millisecond) }()
	select {
	case res := <-done:
		e := res.Exporters[0]
		if res.Retained() != 500 || res.Dropped() != 0 || res.Exported() != 0 {
			t.Fatalf("flush = %+v, want 500 kept for a retry", res)
		}
		// Throttling is no sign of an unreachable endpoint: batches are
		// sent (and sent again, counted) until the deadline, and only
		// those left then are skipped.
		if first := e.Calls - e.RetriedCalls; first+e.UnsentCalls != 10 || first < 8 {
			t.Errorf("first calls = %d (%d calls, %d retried), not sent %d: want 10 batches, num_workers (8) or more sent", first, e.Calls, e.RetriedCalls, e.UnsentCalls)
		}
		if strings.Contains(e.Err.Error(), "cannot be reached") {
			t.Errorf("throttling taken for an unreachable endpoint: %v", e.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("flush did not return after its deadline") // a hang detector, not a speed check
	}
}
