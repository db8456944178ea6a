package lifecycle

import (
	"context"
	"encoding/json"
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
	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/pipeline"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/testsupport"
)

// hangGuard bounds every wait in these tests: it detects a hang, it does not
// measure speed.
const hangGuard = 10 * time.Second

type harness struct {
	api      *testsupport.RuntimeAPI
	xray     *testsupport.XRay
	otlpAddr string
	logs     *observer.ObservedLogs
	result   chan error
}

type option func(*Options)

func withFlushTimeout(d time.Duration) option {
	return func(o *Options) { o.Settings.FlushTimeout = d }
}

func withConfigURI(uri string) option {
	return func(o *Options) {
		o.StartPipeline = func(ctx context.Context) (Pipeline, error) {
			return pipeline.StartFromURI(ctx, uri, pipeline.Limits{MaxSpans: 1000, MaxBytes: 8 << 20}, o.Logger)
		}
	}
}

func withStartupFailure(mode config.StartupFailure) option {
	return func(o *Options) { o.Settings.OnStartupFailure = mode }
}

// run starts the lifecycle against a Runtime API stand-in, with the real
// pipeline exporting to an X-Ray stand-in.
func run(t *testing.T, telemetry bool, opts ...option) *harness {
	t.Helper()
	return runWithAPI(t, telemetry, nil, opts...)
}

// runWithAPI is run with setupAPI applied to the Runtime API stand-in
// before the extension starts.
func runWithAPI(t *testing.T, telemetry bool, setupAPI func(h *harness), opts ...option) *harness {
	t.Helper()
	testsupport.SetAWSTestEnv(t)
	t.Setenv(components.EnvAWSUpdatedRetries, "true") // as main sets it
	h := &harness{
		api:      testsupport.NewRuntimeAPI(t, telemetry),
		xray:     testsupport.NewXRay(t),
		otlpAddr: testsupport.FreeLoopbackAddr(t),
		result:   make(chan error, 1),
	}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logs = logs
	s := config.DefaultSettings()
	s.TelemetryListen = "127.0.0.1:0"
	o := Options{
		RuntimeAPI:    h.api.Addr,
		ExtensionName: contract.ExtensionName,
		Settings:      s,
		Logger:        zap.New(core),
	}
	withConfigURI(fmt.Sprintf("yaml:receivers: {otlp: {protocols: {http: {endpoint: '%s'}}}}\n"+
		"exporters: {awsxray: {region: us-east-1, endpoint: '%s'}}\n"+
		"service: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray]}}}", h.otlpAddr, h.xray.Server.URL))(&o)
	for _, opt := range opts {
		opt(&o)
	}
	if setupAPI != nil {
		setupAPI(h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { h.result <- Run(ctx, o) }()
	return h
}

func (h *harness) sendSpans(t *testing.T, seed byte) {
	t.Helper()
	td, _ := testsupport.NewTrace(seed)
	if resp := testsupport.PostOTLP(t, h.otlpAddr, td); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
}

func (h *harness) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.result:
		return err
	case <-time.After(hangGuard):
		t.Fatal("Run did not return")
		return nil
	}
}

// assertNoNextFor checks the extension is still busy with the current event.
func (h *harness) assertNoNextFor(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-h.api.NextCalls:
		t.Fatal("extension asked for the next event before the runtime was done")
	case <-time.After(d):
	}
}

func TestRegistersSubscribesAndExportsAfterRuntimeDoneBeforeNext(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)

	name, body := h.api.Registered()
	if name != contract.ExtensionName {
		t.Errorf("extension name = %q", name)
	}
	var reg struct{ Events []string }
	if err := json.Unmarshal([]byte(body), &reg); err != nil || strings.Join(reg.Events, ",") != "INVOKE,SHUTDOWN" {
		t.Errorf("register body = %s, want events INVOKE and SHUTDOWN", body)
	}
	sub := h.api.Subscription()
	buffering, _ := sub["buffering"].(map[string]any)
	if fmt.Sprint(sub["types"]) != "[platform]" || buffering["timeoutMs"] != float64(25) ||
		buffering["maxItems"] != float64(1000) || buffering["maxBytes"] != float64(262144) {
		t.Errorf("subscription = %v, want platform events with the smallest buffering", sub)
	}
	if !strings.HasPrefix(h.api.SubscribedURI(), "http://127.0.0.1:") {
		t.Errorf("destination = %s", h.api.SubscribedURI())
	}

	h.api.Invoke("req-1", 5*time.Second)
	h.sendSpans(t, 1)
	h.assertNoNextFor(t, 150*time.Millisecond)
	if h.xray.Calls() != 0 {
		t.Fatal("exported before platform.runtimeDone")
	}
	h.api.RuntimeDone(t, "req-1")
	h.api.WaitNext(t, hangGuard)
	if got := len(h.xray.Documents()); got != 3 {
		t.Fatalf("X-Ray had %d segments when the extension asked for the next event, want 3", got)
	}

	h.api.Shutdown("spindown", 2*time.Second)
	if err := h.wait(t); err != nil {
		t.Fatalf("Run = %v, want a clean exit", err)
	}
}

func TestTwoInvokesBackToBackEachExportTheirOwnSpans(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	for i, id := range []string{"req-a", "req-b"} {
		h.api.Invoke(id, 5*time.Second)
		h.sendSpans(t, byte(10+i))
		h.api.RuntimeDone(t, id)
		h.api.WaitNext(t, hangGuard)
		if got, want := len(h.xray.Documents()), 3*(i+1); got != want {
			t.Fatalf("after %s X-Ray has %d segments, want %d", id, got, want)
		}
	}
	if h.xray.Calls() != 2 {
		t.Errorf("PutTraceSegments calls = %d, want one per invoke", h.xray.Calls())
	}
	flushes := h.logs.FilterMessage("flush").All()
	if len(flushes) != 2 || flushes[1].ContextMap()["request_id"] != "req-b" || flushes[1].ContextMap()["exported_spans"] != int64(3) {
		t.Errorf("flush log lines = %v", flushes)
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}

func TestInvokeWithoutSpansCallsNextWithoutExporting(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	h.api.Invoke("req-empty", 5*time.Second)
	h.api.RuntimeDone(t, "req-empty")
	h.api.WaitNext(t, hangGuard)
	if h.xray.Calls() != 0 {
		t.Fatalf("X-Ray called %d times for an invoke without spans", h.xray.Calls())
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}

func TestWithoutTelemetryAPIExportsOnTheNextEventAndAtShutdown(t *testing.T) {
	h := run(t, false)
	h.api.WaitNext(t, hangGuard)
	if h.api.Subscription() != nil {
		t.Fatal("subscription recorded although the API answered 202")
	}
	if len(h.logs.FilterMessage("Telemetry API not available: exporting on the next event and at SHUTDOWN").All()) != 1 {
		t.Error("fallback not logged")
	}

	h.api.Invoke("req-1", 5*time.Second)
	h.api.WaitNext(t, hangGuard) // no runtimeDone to wait for: never hang
	h.sendSpans(t, 1)            // the runtime finishes after the extension
	if h.xray.Calls() != 0 {
		t.Fatal("exported while the environment would be frozen")
	}

	h.api.Invoke("req-2", 5*time.Second)
	h.api.WaitNext(t, hangGuard)
	if got := len(h.xray.Documents()); got != 3 {
		t.Fatalf("spans of invoke 1 not exported at invoke 2: X-Ray has %d segments", got)
	}
	h.sendSpans(t, 2)

	h.api.Shutdown("spindown", 2*time.Second)
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
	if got := len(h.xray.Documents()); got != 6 {
		t.Fatalf("spans of invoke 2 not drained at SHUTDOWN: X-Ray has %d segments", got)
	}
}

func TestRuntimeDoneMissingUntilTheDeadlineKeepsSpansForShutdown(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	h.api.Invoke("req-timeout", 400*time.Millisecond)
	h.sendSpans(t, 3)
	h.api.WaitNext(t, hangGuard) // released by the deadline, not by runtimeDone
	if h.xray.Calls() != 0 {
		t.Fatal("exported without runtimeDone")
	}
	if len(h.logs.FilterMessage("no platform.runtimeDone before the invoke deadline: spans stay buffered for SHUTDOWN or the next invoke").All()) != 1 {
		t.Error("missing runtimeDone not logged")
	}
	h.api.Shutdown("timeout", 2*time.Second)
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
	if got := len(h.xray.Documents()); got != 3 {
		t.Fatalf("SHUTDOWN drained %d segments, want 3", got)
	}
}

func TestUnreachableXRayKeepsSpansAtTheFlushDeadlineNextIsCalledAndShutdownCountsThem(t *testing.T) {
	h := run(t, true, withFlushTimeout(300*time.Millisecond))
	h.api.WaitNext(t, hangGuard)
	h.xray.Hang()
	h.api.Invoke("req-1", 30*time.Second)
	h.sendSpans(t, 4)
	h.api.RuntimeDone(t, "req-1")
	h.api.WaitNext(t, hangGuard)
	kept := h.logs.FilterMessage("flush kept spans for a retry").All()
	if len(kept) != 1 || kept[0].ContextMap()["retained_spans"] != int64(3) {
		t.Fatalf("want one log line with retained_spans=3, got %v", kept)
	}
	h.api.Shutdown("spindown", 500*time.Millisecond)
	_ = h.wait(t)
	lost := h.logs.FilterMessage("spans lost at shutdown").All()
	if len(lost) != 1 || lost[0].ContextMap()["dropped_spans"] != int64(3) {
		t.Fatalf("want one 'spans lost at shutdown' line with dropped_spans=3, got %v", lost)
	}
}

func TestBadConfigFailsOpenByDefault(t *testing.T) {
	h := run(t, true, withConfigURI("file:/does/not/exist.yaml"))
	h.api.WaitNext(t, hangGuard)
	h.api.Invoke("req-1", 5*time.Second)
	h.api.WaitNext(t, hangGuard) // the function keeps running
	if errs := h.api.InitErrors(); len(errs) != 0 {
		t.Fatalf("init/error reported in fail-open mode: %v", errs)
	}
	if len(h.logs.FilterMessage("collector did not start").All()) != 1 {
		t.Error("start-up failure not logged")
	}
	h.api.Shutdown("spindown", 2*time.Second)
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
}

func TestBadConfigReportsInitErrorWhenAsked(t *testing.T) {
	h := run(t, true, withConfigURI("file:/does/not/exist.yaml"), withStartupFailure(config.InitError))
	if err := h.wait(t); err == nil || !strings.Contains(err.Error(), "/does/not/exist.yaml") {
		t.Fatalf("Run = %v, want the config error", err)
	}
	errs := h.api.InitErrors()
	if len(errs) != 1 || !strings.HasPrefix(errs[0], ErrorTypeStartup+": ") || !strings.Contains(errs[0], "/does/not/exist.yaml") {
		t.Fatalf("init/error reports = %v", errs)
	}
}

func TestEventNextFailureReportsExitErrorAfterDraining(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	h.api.Invoke("req-1", 5*time.Second)
	h.sendSpans(t, 5)
	h.api.SetFailNext()
	h.api.RuntimeDone(t, "req-1")
	if err := h.wait(t); err == nil {
		t.Fatal("Run returned nil after event/next failed")
	}
	if errs := h.api.ExitErrors(); len(errs) != 1 || !strings.HasPrefix(errs[0], ErrorTypeFatal+": ") {
		t.Fatalf("exit/error reports = %v", errs)
	}
	if got := len(h.xray.Documents()); got != 3 {
		t.Fatalf("X-Ray has %d segments, want the 3 of the invoke", got)
	}
}

func TestRuntimeDoneTooCloseToTheDeadlineKeepsSpansForTheNextInvoke(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	// 120 ms: whatever the scheduling, less than the 100 ms export window
	// remains once the 50 ms margin is taken off.
	h.api.Invoke("req-late", 120*time.Millisecond)
	h.sendSpans(t, 6)
	h.api.RuntimeDone(t, "req-late")
	h.api.WaitNext(t, hangGuard)
	if h.xray.Calls() != 0 {
		t.Fatal("exported with too little time before the invoke deadline")
	}
	h.api.Invoke("req-next", 5*time.Second)
	h.api.RuntimeDone(t, "req-next")
	h.api.WaitNext(t, hangGuard)
	if got := len(h.xray.Documents()); got != 3 {
		t.Fatalf("the next invoke exported %d segments, want the 3 kept", got)
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}
