package pipeline

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/config"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

type running struct {
	pipeline *Pipeline
	addr     string
	xray     *testsupport.XRay
	logs     *observer.ObservedLogs
}

// start runs a pipeline with an OTLP/HTTP receiver on a free loopback port
// and the awsxray exporter pointed at a local X-Ray stand-in.
func start(t testing.TB, maxSpans int, receiverExtra string) *running {
	t.Helper()
	return startWith(t, maxSpans, receiverExtra, "", nil)
}

// startWith is start with extra lines under exporters::awsxray and, when
// endpoint is not nil, the X-Ray endpoint it returns instead of the stand-in.
func startWith(t testing.TB, maxSpans int, receiverExtra, exporterExtra string, endpoint func(*testsupport.XRay) string, opts ...Option) *running {
	t.Helper()
	testsupport.SetAWSTestEnv(t)
	t.Setenv(components.EnvAWSUpdatedRetries, "true") // as main sets it
	xray := testsupport.NewXRay(t)
	addr := testsupport.FreeLoopbackAddr(t)
	xrayURL := xray.Server.URL
	if endpoint != nil {
		xrayURL = endpoint(xray)
	}
	yaml := fmt.Sprintf(`yaml:
receivers:
  otlp:
    protocols:
      http:
        endpoint: %s
%s
exporters:
  awsxray:
    region: us-east-1
    endpoint: %s
    max_retries: 3
%s
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [awsxray]
`, addr, receiverExtra, xrayURL, exporterExtra)
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	cfg, err := config.Load(context.Background(), yaml, components.New(), logger)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(context.Background(), cfg, components.New(), Limits{MaxSpans: maxSpans, MaxBytes: 64 << 20}, logger)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range opts {
		opt(p)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		p.Shutdown(ctx)
	})
	return &running{pipeline: p, addr: addr, xray: xray, logs: logs}
}

func flush(t testing.TB, p *Pipeline, timeout time.Duration) FlushResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Flush(ctx)
}

func TestSpansReachXRayAsSegmentsWithTraceParentHTTPAndAWSData(t *testing.T) {
	r := start(t, 1000, "")
	td, ids := testsupport.NewTrace(7)
	if resp := testsupport.PostOTLP(t, r.addr, td); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST status = %d, want 200", resp.StatusCode)
	}
	if r.xray.Calls() != 0 {
		t.Fatal("spans were exported before the flush")
	}

	res := flush(t, r.pipeline, 5*time.Second)
	if res.Spans != 3 || res.Exported() != 3 || res.Dropped() != 0 {
		t.Fatalf("flush = %+v, want 3 spans exported, 0 dropped", res)
	}

	docs := map[string]map[string]any{}
	for _, d := range r.xray.Documents() {
		docs[d["id"].(string)] = d
	}
	if len(docs) != 3 {
		t.Fatalf("X-Ray received %d segments, want 3: %v", len(docs), docs)
	}
	wantTrace := testsupport.XRayTraceID(ids.TraceID)
	if !strings.HasPrefix(wantTrace, "1-") || len(wantTrace) != 35 {
		t.Fatalf("bad expectation %q", wantTrace)
	}
	root := docs[ids.Root.String()]
	httpSeg := docs[ids.HTTP.String()]
	awsSeg := docs[ids.AWS.String()]
	if root == nil || httpSeg == nil || awsSeg == nil {
		t.Fatalf("segments missing, got ids %v", keys(docs))
	}
	for name, d := range map[string]map[string]any{"root": root, "http": httpSeg, "aws": awsSeg} {
		if d["trace_id"] != wantTrace {
			t.Errorf("%s trace_id = %v, want %s", name, d["trace_id"], wantTrace)
		}
	}
	if _, ok := root["parent_id"]; ok {
		t.Errorf("root segment has parent_id %v", root["parent_id"])
	}
	if httpSeg["parent_id"] != ids.Root.String() || awsSeg["parent_id"] != ids.Root.String() {
		t.Errorf("parent_id = %v / %v, want %s", httpSeg["parent_id"], awsSeg["parent_id"], ids.Root.String())
	}
	if httpSeg["type"] != "subsegment" || awsSeg["type"] != "subsegment" {
		t.Errorf("client spans are not subsegments: %v / %v", httpSeg["type"], awsSeg["type"])
	}

	httpData, _ := httpSeg["http"].(map[string]any)
	req, _ := httpData["request"].(map[string]any)
	resp, _ := httpData["response"].(map[string]any)
	if req["method"] != "GET" || req["url"] != "https://inventory.example.com/items/42" || resp["status"] != float64(200) {
		t.Errorf("http subsegment data = %v", httpData)
	}

	if awsSeg["namespace"] != "aws" || awsSeg["name"] != "DynamoDB" {
		t.Errorf("aws subsegment namespace/name = %v/%v, want aws/DynamoDB", awsSeg["namespace"], awsSeg["name"])
	}
	awsData, _ := awsSeg["aws"].(map[string]any)
	if awsData["operation"] != "GetItem" || awsData["region"] != "us-east-1" || awsData["request_id"] != "REQ-123" || awsData["table_name"] != "orders" {
		t.Errorf("aws data = %v", awsData)
	}
}

func TestFlushWithNoSpansCallsNothing(t *testing.T) {
	r := start(t, 1000, "")
	res := flush(t, r.pipeline, time.Second)
	if res.Spans != 0 || res.Dropped() != 0 || r.xray.Calls() != 0 {
		t.Fatalf("empty flush = %+v, %d X-Ray calls", res, r.xray.Calls())
	}
}

func TestMalformedAndOversizedOTLPGet4xxAndTheReceiverKeepsServing(t *testing.T) {
	r := start(t, 1000, "        max_request_body_size: 2048")
	if resp := testsupport.PostRaw(t, r.addr, "application/x-protobuf", []byte("\xff\xff\xffnot protobuf")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed protobuf: status %d, want 400", resp.StatusCode)
	}
	if resp := testsupport.PostRaw(t, r.addr, "application/json", []byte(`{"resourceSpans": [`)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed JSON: status %d, want 400", resp.StatusCode)
	}
	big := []byte(`{"resourceSpans":[],"pad":"` + strings.Repeat("x", 4096) + `"}`)
	if resp := testsupport.PostRaw(t, r.addr, "application/json", big); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", resp.StatusCode)
	}
	td, _ := testsupport.NewTrace(1)
	if resp := testsupport.PostOTLP(t, r.addr, td); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid request after bad ones: status %d", resp.StatusCode)
	}
	if res := flush(t, r.pipeline, 5*time.Second); res.Exported() != 3 {
		t.Fatalf("flush after bad input = %+v, want 3 exported", res)
	}
}

func TestXRayThrottlingAndServerErrorsAreRetriedInsideTheDeadline(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			r := start(t, 1000, "")
			r.xray.FailWith(status, 1)
			td, _ := testsupport.NewTrace(2)
			testsupport.PostOTLP(t, r.addr, td)
			res := flush(t, r.pipeline, 10*time.Second)
			if res.Exported() != 3 || res.Dropped() != 0 {
				t.Fatalf("flush = %+v, want 3 exported after a retry", res)
			}
			if r.xray.Calls() != 2 {
				t.Errorf("X-Ray calls = %d, want 2 (one failure, one retry)", r.xray.Calls())
			}
			// The retry is the sender's own, counted: the AWS SDK does not retry below it.
			if got := res.Exporters[0].RetriedCalls; got != 1 {
				t.Errorf("retried calls = %d, want the 1 X-Ray received twice", got)
			}
			if entries := r.logs.FilterField(zap.Int("retried_batches", 1)).All(); len(entries) != 1 {
				t.Errorf("want one flush line with retried_batches=1, got %v", r.logs.All())
			}
		})
	}
}

func TestXRayFailingForAWhileKeepsTheSpansForALaterFlush(t *testing.T) {
	r := start(t, 1000, "")
	r.xray.FailWith(http.StatusServiceUnavailable, -1)
	td, _ := testsupport.NewTrace(3)
	testsupport.PostOTLP(t, r.addr, td)

	res := flush(t, r.pipeline, 300*time.Millisecond)
	if res.Retained() != 3 || res.Dropped() != 0 || res.Exported() != 0 {
		t.Fatalf("flush = %+v, want 3 kept for a retry", res)
	}
	entries := r.logs.FilterMessage("flush kept spans for a retry").All()
	if len(entries) != 1 || entries[0].ContextMap()["retained_spans"] != int64(3) {
		t.Fatalf("want one 'flush kept spans for a retry' line with retained_spans=3, got %v", entries)
	}
	if r.pipeline.Buffered() != 3 {
		t.Fatalf("kept spans are not buffered: %d", r.pipeline.Buffered())
	}

	r.xray.FailWith(0, 0)
	td2, _ := testsupport.NewTrace(4)
	testsupport.PostOTLP(t, r.addr, td2)
	res = flush(t, r.pipeline, 5*time.Second)
	if res.Exported() != 6 || res.Dropped() != 0 || res.Retained() != 0 || r.pipeline.Buffered() != 0 {
		t.Fatalf("flush after X-Ray recovered = %+v, want 6 exported", res)
	}
	if got := len(r.xray.Documents()); got != 6 {
		t.Errorf("X-Ray stored %d documents, want 6", got)
	}
}

func TestHangingXRayIsAbandonedAtTheDeadline(t *testing.T) {
	r := start(t, 1000, "")
	r.xray.Hang()
	td, _ := testsupport.NewTrace(8)
	testsupport.PostOTLP(t, r.addr, td)
	done := make(chan FlushResult, 1)
	go func() { done <- flush(t, r.pipeline, 200*time.Millisecond) }()
	select {
	case res := <-done:
		if res.Retained() != 3 || res.Dropped() != 0 {
			t.Fatalf("flush = %+v, want 3 kept for a retry", res)
		}
	case <-time.After(10 * time.Second):
		// Without the deadline the request would wait for the exporter's
		// 30 s request timeout; this is a hang detector, not a speed check.
		t.Fatal("flush did not return after its deadline")
	}
}

func TestFullBufferRefusesSpansAndCountsThem(t *testing.T) {
	r := start(t, 4, "")
	td1, _ := testsupport.NewTrace(4)
	td2, _ := testsupport.NewTrace(5)
	if resp := testsupport.PostOTLP(t, r.addr, td1); resp.StatusCode != http.StatusOK {
		t.Fatalf("first batch status %d", resp.StatusCode)
	}
	resp := testsupport.PostOTLP(t, r.addr, td2)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("second batch beyond the buffer limit: status %d, Retry-After %q, want 503 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	res := flush(t, r.pipeline, 5*time.Second)
	if res.Exported() != 3 || res.Rejected != 3 || res.Dropped() != 3 {
		t.Fatalf("flush = %+v, want 3 exported and 3 rejected", res)
	}
}

func TestShutdownDrainsTheBuffer(t *testing.T) {
	r := start(t, 1000, "")
	td, _ := testsupport.NewTrace(6)
	testsupport.PostOTLP(t, r.addr, td)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res := r.pipeline.Shutdown(ctx)
	if res.Exported() != 3 || len(r.xray.Documents()) != 3 {
		t.Fatalf("shutdown drain = %+v, X-Ray has %d segments", res, len(r.xray.Documents()))
	}
}

func keys(m map[string]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
