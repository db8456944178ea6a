package pipeline

import (
	"context"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

func TestOversizedAndDeeplyNestedAttributesAreTrimmedBeforeBuffering(t *testing.T) {
	td := testsupport.NewBurst(1, 1)
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	span.Attributes().PutStr("big", strings.Repeat("é", 1<<20))
	v := span.Attributes().PutEmptyMap("deep")
	for i := 0; i < 60000; i++ {
		v = v.PutEmptyMap("d")
	}
	size := trimTraces(td)
	if size > maxSpanBytes {
		t.Fatalf("trimmed span counts %d bytes, want at most %d", size, maxSpanBytes)
	}
	big, _ := span.Attributes().Get("big")
	if len(big.Str()) > maxValueBytes+32 || !strings.Contains(big.Str(), "...[cut ") || !strings.HasPrefix(big.Str(), "éé") {
		t.Errorf("big attribute = %d bytes %q..., want it cut with a marker", len(big.Str()), big.Str()[:20])
	}
	depth := 0
	cur, _ := span.Attributes().Get("deep")
	for cur.Type() == pcommon.ValueTypeMap {
		cur, _ = cur.Map().Get("d")
		depth++
	}
	if depth > maxNesting || !strings.Contains(cur.Str(), "nested deeper") {
		t.Errorf("nesting kept %d levels, ending in %q", depth, cur.AsString())
	}
}

func TestByteBudgetRefusesNewSpansAndEvictsTheOldestKeptOnes(t *testing.T) {
	b := NewBuffer(1000, 40<<10, 1)
	burst := func(seed byte) ptrace.Traces {
		td := testsupport.NewBurst(5, seed)
		for _, s := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
			s.Attributes().PutStr("pad", strings.Repeat("x", 3000))
		}
		return td
	}
	if err := b.ConsumeTraces(context.Background(), burst(1)); err != nil {
		t.Fatal(err)
	}
	// Kept for a retry: 5 spans of about 3.3 kB.
	taken := b.Take()
	if evicted := b.Retain(0, taken.New, taken.Spans); evicted != 0 {
		t.Fatalf("evicted %d", evicted)
	}
	for seed := byte(2); seed <= 3; seed++ {
		if err := b.ConsumeTraces(context.Background(), burst(seed)); err != nil {
			t.Fatalf("burst %d: %v", seed, err)
		}
	}
	// 15 spans of ~3.3 kB do not fit 40 kB: the oldest kept ones made room.
	if b.Bytes() > 40<<10 {
		t.Fatalf("buffer holds %d bytes, over its 40 KiB budget", b.Bytes())
	}
	taken = b.Take()
	if taken.Evicted == 0 || taken.Spans != 10 || taken.RetainedSpans[0] != 5-taken.Evicted {
		t.Fatalf("taken = %d new, %d kept, %d evicted; want 10 new and the oldest kept ones evicted", taken.Spans, taken.RetainedSpans[0], taken.Evicted)
	}
	first := taken.Retained[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SpanID()
	if first[7] != byte(taken.Evicted+1) { // NewBurst numbers spans from 1
		t.Errorf("first kept span %v, want the oldest %d evicted", first, taken.Evicted)
	}
	// New spans beyond the budget with nothing left to evict are refused.
	big := testsupport.NewBurst(20, 9)
	for _, s := range big.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		s.Attributes().PutStr("pad", strings.Repeat("x", 3000))
	}
	if err := b.ConsumeTraces(context.Background(), big); err == nil {
		t.Fatal("spans over the byte budget accepted")
	}
}

// TestMemoryReturnsNearItsBaselineAfterABurst sends 40 requests with a
// 1 MiB attribute each and checks the heap the process holds from the
// operating system after the flush.
func TestMemoryReturnsNearItsBaselineAfterABurst(t *testing.T) {
	r := start(t, 20000, "")
	debug.FreeOSMemory()
	var before, peak, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 40; i++ {
		td := testsupport.NewBurst(1, byte(i+1))
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("big", strings.Repeat("x", 1<<20))
		if resp := testsupport.PostOTLP(t, r.addr, td); resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
	runtime.ReadMemStats(&peak)
	res := flush(t, r.pipeline, 5*time.Second)
	if res.Exported() != 40 {
		t.Fatalf("flush = %+v", res)
	}
	runtime.ReadMemStats(&after)
	held := func(m runtime.MemStats) float64 { return float64(m.HeapSys-m.HeapReleased) / (1 << 20) }
	t.Logf("heap held from the OS: before %.1f MiB, after 40 MiB of attributes %.1f MiB, after the flush %.1f MiB", held(before), held(peak), held(after))
	if held(after) > held(before)+8 {
		t.Errorf("after the flush the heap holds %.1f MiB, %.1f MiB above its baseline", held(after), held(after)-held(before))
	}
}

// TestASmallFlushForcesNoCollection: an invocation's few spans are exported
// without a forced garbage collection, which would add its CPU to every
// invocation's billed time.
func TestASmallFlushForcesNoCollection(t *testing.T) {
	// The collector's own live heap (components, the AWS SDK) is well over
	// 8 MiB: a heap that size must not make every flush collect.
	ballast := make([]byte, 24<<20)
	for i := range ballast {
		ballast[i] = byte(i)
	}
	defer runtime.KeepAlive(ballast)
	r := start(t, 1000, "")
	if resp := testsupport.PostOTLP(t, r.addr, testsupport.NewBurst(10, 1)); resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if res := flush(t, r.pipeline, 5*time.Second); res.Exported() != 10 {
		t.Fatalf("flush = %+v", res)
	}
	runtime.ReadMemStats(&after)
	if forced := after.NumForcedGC - before.NumForcedGC; forced != 0 {
		t.Errorf("a flush of 10 spans forced %d garbage collections, want none", forced)
	}
}

func TestZstdBodiesAreRefused(t *testing.T) {
	r := start(t, 1000, "")
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.addr+"/v1/traces", strings.NewReader("\x28\xb5\x2f\xfd"))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "zstd")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("zstd body: status %d, want 400", resp.StatusCode)
	}
}
