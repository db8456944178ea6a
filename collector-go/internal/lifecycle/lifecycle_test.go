package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
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
	if len(h.logs.FilterMessage("neither the invocation's span nor platform.runtimeDone before the invoke deadline: spans stay buffered for SHUTDOWN or the next invoke").All()) != 1 {
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

// sendInvocationSpans posts a trace whose server span is the handler span
// of requestID, as the AWS Lambda instrumentation records it.
func (h *harness) sendInvocationSpans(t *testing.T, seed byte, requestID string) {
	t.Helper()
	td, _ := testsupport.NewTrace(seed)
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("faas.invocation_id", requestID)
	if resp := testsupport.PostOTLP(t, h.otlpAddr, td); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
}

func TestTheInvocationSpanEndsTheWaitWithoutRuntimeDone(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	h.api.Invoke("req-1", 5*time.Second)
	h.sendSpans(t, 1) // an earlier request of the same invocation
	h.assertNoNextFor(t, 100*time.Millisecond)
	h.sendInvocationSpans(t, 2, "req-1")
	h.api.WaitNext(t, hangGuard)
	if got := len(h.xray.Documents()); got != 6 {
		t.Fatalf("X-Ray had %d segments when the extension asked for the next event, want 6", got)
	}
	flushes := h.logs.FilterMessage("flush").All()
	if len(flushes) != 1 || flushes[0].ContextMap()["trigger"] != "invocation_span" {
		t.Errorf("flush log lines = %v, want one with trigger invocation_span", flushes)
	}
	// Another invocation's span does not end this one's wait.
	h.api.Invoke("req-2", 5*time.Second)
	h.sendInvocationSpans(t, 3, "req-other")
	h.assertNoNextFor(t, 100*time.Millisecond)
	h.api.RuntimeDone(t, "req-2")
	h.api.WaitNext(t, hangGuard)
	if got := len(h.xray.Documents()); got != 9 {
		t.Fatalf("X-Ray had %d segments after the runtimeDone fallback, want 9", got)
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}

func TestAnUnsampledInvokeWaitsForNothing(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	time.Sleep(2 * steadyGap)
	start := time.Now()
	h.api.InvokeTraced("req-u", 5*time.Second, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
	h.api.WaitNext(t, hangGuard)
	// Waiting for spans would hold it until the 5 s deadline; waiting for nothing takes
	// milliseconds. The check sits far from both.
	if waited := time.Since(start); waited > 2500*time.Millisecond {
		t.Errorf("an unsampled invoke held the environment %v", waited)
	}
	if h.xray.Calls() != 0 {
		t.Errorf("X-Ray called %d times for an unsampled invoke", h.xray.Calls())
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}

func TestSteadyTrafficDefersExportIntoLaterInvocationsAndShutdownDrainsTheRest(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	const n = 8
	deferred := 0
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("req-%d", i)
		h.api.Invoke(id, 5*time.Second)
		h.sendInvocationSpans(t, byte(20+i), id)
		before := len(h.xray.Documents())
		h.api.WaitNext(t, hangGuard)
		if i >= steadyRun && len(h.xray.Documents()) == before {
			deferred++
		}
	}
	if deferred == 0 {
		t.Error("no invocation deferred its export at steady traffic")
	}
	if got := len(h.xray.Documents()); got >= 3*n {
		t.Errorf("all %d segments were exported before SHUTDOWN: nothing was deferred", got)
	}
	// Low traffic again: what the steady run left leaves with this invocation.
	time.Sleep(2 * steadyGap)
	h.api.Invoke("req-low", 5*time.Second)
	h.sendInvocationSpans(t, 40, "req-low")
	h.api.WaitNext(t, hangGuard)
	if got := len(h.xray.Documents()); got != 3*(n+1) {
		t.Fatalf("after a low-traffic invoke X-Ray has %d segments, want %d", got, 3*(n+1))
	}
	// Steady again, then SHUTDOWN drains.
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("req-b%d", i)
		h.api.Invoke(id, 5*time.Second)
		h.sendInvocationSpans(t, byte(60+i), id)
		h.api.WaitNext(t, hangGuard)
	}
	time.Sleep(20 * time.Millisecond) // the last invocation's spans arrive after its /event/next
	h.api.Shutdown("spindown", 2*time.Second)
	if err := h.wait(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := len(h.xray.Documents()); got != 3*(2*n+1) {
		t.Fatalf("after SHUTDOWN X-Ray has %d segments, want %d", got, 3*(2*n+1))
	}
}

func TestDeferredExportWithXRaySlowEndsBeforeTheInvokeDeadline(t *testing.T) {
	h := run(t, true, withFlushTimeout(10*time.Second))
	h.api.WaitNext(t, hangGuard)
	// X-Ray answers after 3 s; each invocation's deadline is 400 ms away. An extension that waited
	// for X-Ray would ask for its next event 3 s later; one that keeps to the deadline asks after
	// about 350 ms. The check sits between the two, far from both, so load cannot decide it.
	h.xray.Delay(3 * time.Second)
	for i := 0; i < 2*steadyRun; i++ {
		id := fmt.Sprintf("req-%d", i)
		h.api.Invoke(id, 400*time.Millisecond)
		h.sendInvocationSpans(t, byte(20+i), id)
		start := time.Now()
		h.api.WaitNext(t, hangGuard)
		if took := time.Since(start); took > 1500*time.Millisecond {
			t.Fatalf("%s: /event/next came %v after the INVOKE, waiting for X-Ray past its 400 ms deadline", id, took)
		}
	}
	h.xray.Delay(0)
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
	ids := map[any]bool{}
	for _, d := range h.xray.Documents() {
		ids[d["id"]] = true
	}
	if got := len(ids); got != 3*2*steadyRun {
		t.Fatalf("after SHUTDOWN X-Ray has %d segments, want %d", got, 3*2*steadyRun)
	}
}

func TestEveryInvocationModeExportsBeforeEachNextAtSteadyTraffic(t *testing.T) {
	h := run(t, true, func(o *Options) { o.Settings.ExportMode = config.ExportEveryInvocation })
	h.api.WaitNext(t, hangGuard)
	for i := 0; i < 2*steadyRun; i++ {
		id := fmt.Sprintf("req-%d", i)
		h.api.Invoke(id, 5*time.Second)
		h.sendInvocationSpans(t, byte(20+i), id)
		h.api.WaitNext(t, hangGuard)
		if got, want := len(h.xray.Documents()), 3*(i+1); got != want {
			t.Fatalf("after %s X-Ray has %d segments, want %d", id, got, want)
		}
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}

// sendCountedInvocation posts the handler span of requestID counting the
// trace's three spans; the two child spans are returned for the test to
// send when it wants.
func (h *harness) sendCountedInvocation(t *testing.T, seed byte, requestID string) ptrace.Traces {
	t.Helper()
	td, children, _ := testsupport.CountedInvocation(seed, requestID, 3)
	if resp := testsupport.PostOTLP(t, h.otlpAddr, td); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
	return children
}

func TestCountedSpansArrivingAfterTheHandlerSpanAndRuntimeDoneAreExportedBeforeNext(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	h.api.Invoke("req-1", 5*time.Second)
	children := h.sendCountedInvocation(t, 1, "req-1")
	h.api.RuntimeDone(t, "req-1")
	h.assertNoNextFor(t, 100*time.Millisecond)
	if resp := testsupport.PostOTLP(t, h.otlpAddr, children); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
	h.api.WaitNext(t, hangGuard)
	if got := len(h.xray.Documents()); got != 3 {
		t.Fatalf("X-Ray had %d segments when the extension asked for the next event, want all 3", got)
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}

func TestCountedSpansThatNeverArriveAreCountedMissingThenLate(t *testing.T) {
	h := run(t, true)
	h.api.WaitNext(t, hangGuard)
	h.api.Invoke("req-1", 5*time.Second)
	children := h.sendCountedInvocation(t, 1, "req-1")
	h.api.RuntimeDone(t, "req-1")
	h.api.WaitNext(t, hangGuard)
	flushes := h.logs.FilterMessage("flush dropped spans").All()
	if len(flushes) != 1 || flushes[0].ContextMap()["trigger"] != "spans_missing" || flushes[0].ContextMap()["missing_spans"] != int64(2) {
		t.Fatalf("flush log lines = %v, want one with trigger spans_missing and 2 missing spans", flushes)
	}
	if got := len(h.xray.Documents()); got != 1 {
		t.Fatalf("X-Ray had %d segments, want the handler's", got)
	}

	// They come during the next invocation: exported with it, counted late.
	h.api.Invoke("req-2", 5*time.Second)
	if resp := testsupport.PostOTLP(t, h.otlpAddr, children); resp.StatusCode != http.StatusOK {
		t.Fatalf("OTLP POST: HTTP %d", resp.StatusCode)
	}
	h.api.RuntimeDone(t, "req-2")
	h.api.WaitNext(t, hangGuard)
	late := h.logs.FilterMessage("flush exported late spans").All()
	if len(late) != 1 || late[0].ContextMap()["late_spans"] != int64(2) {
		t.Fatalf("flush log lines = %v, want one with 2 late spans", late)
	}
	if got := len(h.xray.Documents()); got != 3 {
		t.Fatalf("X-Ray had %d segments, want 3", got)
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}

func TestAnExportThatWaitsForNoAnswerIsNeverDeferredAtSteadyTraffic(t *testing.T) {
	daemon, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	received := make(chan struct{}, 100)
	go func() {
		buf := make([]byte, 70_000)
		for {
			if _, _, err := daemon.ReadFrom(buf); err != nil {
				return
			}
			received <- struct{}{}
		}
	}()
	otlpAddr := testsupport.FreeLoopbackAddr(t)
	h := run(t, true, withConfigURI(fmt.Sprintf("yaml:receivers: {otlp: {protocols: {http: {endpoint: '%s'}}}}\n"+
		"exporters: {awsxray_daemon: {endpoint: '%s'}}\n"+
		"service: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray_daemon]}}}", otlpAddr, daemon.LocalAddr())))
	h.otlpAddr = otlpAddr
	h.api.WaitNext(t, hangGuard)
	// Back-to-back invocations, past the run that defers export to X-Ray's API.
	for i := 0; i < 2*steadyRun; i++ {
		id := fmt.Sprintf("req-%d", i)
		h.api.Invoke(id, 5*time.Second)
		h.sendInvocationSpans(t, byte(40+i), id)
		h.api.WaitNext(t, hangGuard)
		if n := len(h.logs.FilterMessage("flush").FilterField(zap.String("request_id", id)).All()); n != 1 {
			t.Fatalf("%s: %d flush lines before its next event, want its own export", id, n)
		}
	}
	for i := 0; i < 3*2*steadyRun; i++ {
		select {
		case <-received:
		case <-time.After(hangGuard):
			t.Fatalf("the daemon received %d datagrams, want %d", i, 3*2*steadyRun)
		}
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}

// withCountingSDK starts the pipeline knowing that the function's SDK
// counts (as main does when NODE_OPTIONS imports the preload).
func withCountingSDK() option {
	return func(o *Options) {
		start := o.StartPipeline
		o.StartPipeline = func(ctx context.Context) (Pipeline, error) {
			p, err := start(ctx)
			if err == nil {
				pipeline.WithCountingSDK(true)(p.(*pipeline.Pipeline))
			}
			return p, err
		}
	}
}

func TestWithThePreloadTheFirstInvocationWaitsForItsHandlerSpanPastRuntimeDone(t *testing.T) {
	h := run(t, true, withCountingSDK())
	h.api.WaitNext(t, hangGuard)
	h.api.Invoke("req-1", 5*time.Second)
	h.api.RuntimeDone(t, "req-1")
	h.assertNoNextFor(t, 100*time.Millisecond)
	children := h.sendCountedInvocation(t, 1, "req-1")
	testsupport.PostOTLP(t, h.otlpAddr, children)
	h.api.WaitNext(t, hangGuard)
	flushes := h.logs.FilterMessage("flush").All()
	if len(flushes) != 1 || flushes[0].ContextMap()["trigger"] != "invocation_span" || flushes[0].ContextMap()["exported_spans"] != int64(3) {
		t.Fatalf("flush log lines = %v, want one exporting the 3 spans once the handler span came", flushes)
	}

	// A handler span that never comes: the wait ends after the grace, and the next invocation is
	// not held for one again.
	h.api.Invoke("req-2", 5*time.Second)
	h.api.RuntimeDone(t, "req-2")
	h.api.WaitNext(t, hangGuard)
	time.Sleep(2 * steadyGap) // low traffic: each invocation exports before its next event
	h.api.Invoke("req-3", 5*time.Second)
	h.sendSpans(t, 3)
	h.api.RuntimeDone(t, "req-3")
	h.api.WaitNext(t, hangGuard)
	last := h.logs.FilterField(zap.String("request_id", "req-3")).FilterMessage("flush").All()
	if len(last) != 1 || last[0].ContextMap()["trigger"] != "runtimeDone" {
		t.Fatalf("req-3 flush lines = %v, want one on runtimeDone once no handler span is expected", last)
	}
	h.api.Shutdown("spindown", 2*time.Second)
	_ = h.wait(t)
}
