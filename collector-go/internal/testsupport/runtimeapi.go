package testsupport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// RuntimeAPI is an httptest stand-in for the Lambda Extensions API and the
// Telemetry API as AWS documents them. Tests queue events; each call to
// /extension/event/next is reported on NextCalls before it blocks.
type RuntimeAPI struct {
	Server *httptest.Server
	// Addr is host:port, the value for AWS_LAMBDA_RUNTIME_API.
	Addr string

	// TelemetrySupported makes the Telemetry API subscribe; when false it
	// answers 202 like the runtime interface emulator.
	TelemetrySupported bool
	// FailNext makes /extension/event/next answer 500.
	FailNext bool
	// RegisterDelay holds the answer to /extension/register, like a slow
	// Runtime API (set it before the extension starts).
	RegisterDelay time.Duration
	// FailRegister makes /extension/register answer 500 (set it before the
	// extension starts).
	FailRegister bool
	// OnRegister, when set, runs while /extension/register is served,
	// before it answers (set it before the extension starts).
	OnRegister func()

	events    chan map[string]any
	NextCalls chan time.Time

	mu            sync.Mutex
	registered    string
	registerBody  string
	subscription  map[string]any
	initErrors    []string
	exitErrors    []string
	extensionID   string
	requestsByExt []string
}

// NewRuntimeAPI starts the stand-in.
func NewRuntimeAPI(t testing.TB, telemetrySupported bool) *RuntimeAPI {
	t.Helper()
	r := &RuntimeAPI{
		TelemetrySupported: telemetrySupported,
		events:             make(chan map[string]any, 16),
		NextCalls:          make(chan time.Time, 16),
		extensionID:        "ext-1234",
	}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	r.Addr = strings.TrimPrefix(r.Server.URL, "http://")
	t.Cleanup(func() {
		close(r.events)
		r.Server.Close()
	})
	return r
}

func (r *RuntimeAPI) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	path := req.Method + " " + req.URL.Path
	if path != "POST /2020-01-01/extension/register" && req.Header.Get("Lambda-Extension-Identifier") != r.extensionID {
		http.Error(w, `{"errorMessage":"unknown extension id","errorType":"Extension.InvalidId"}`, http.StatusForbidden)
		return
	}
	switch path {
	case "POST /2020-01-01/extension/register":
		if r.OnRegister != nil {
			r.OnRegister()
		}
		time.Sleep(r.RegisterDelay)
		if r.FailRegister {
			http.Error(w, `{"errorMessage":"register failed","errorType":"Extension.Unknown"}`, http.StatusInternalServerError)
			return
		}
		r.mu.Lock()
		r.registered = req.Header.Get("Lambda-Extension-Name")
		r.registerBody = string(body)
		r.mu.Unlock()
		w.Header().Set("Lambda-Extension-Identifier", r.extensionID)
		_, _ = w.Write([]byte(`{"functionName":"orders-api","functionVersion":"$LATEST","handler":"index.handler"}`))
	case "GET /2020-01-01/extension/event/next":
		r.NextCalls <- time.Now()
		r.mu.Lock()
		failNext := r.FailNext
		r.mu.Unlock()
		if failNext {
			http.Error(w, `{"errorMessage":"state error","errorType":"Extension.StateError"}`, http.StatusInternalServerError)
			return
		}
		ev, ok := <-r.events
		if !ok {
			http.Error(w, "shutting down", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(ev)
	case "POST /2020-01-01/extension/init/error":
		r.mu.Lock()
		r.initErrors = append(r.initErrors, req.Header.Get("Lambda-Extension-Function-Error-Type")+": "+string(body))
		r.mu.Unlock()
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	case "POST /2020-01-01/extension/exit/error":
		r.mu.Lock()
		r.exitErrors = append(r.exitErrors, req.Header.Get("Lambda-Extension-Function-Error-Type")+": "+string(body))
		r.mu.Unlock()
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	case "PUT /2022-07-01/telemetry":
		if !r.TelemetrySupported {
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte("Telemetry API is not supported"))
			return
		}
		var sub map[string]any
		if err := json.Unmarshal(body, &sub); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.subscription = sub
		r.mu.Unlock()
		_, _ = w.Write([]byte("OK"))
	default:
		http.Error(w, "not found: "+path, http.StatusNotFound)
	}
}

// SetFailNext makes later /extension/event/next calls fail.
func (r *RuntimeAPI) SetFailNext() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.FailNext = true
}

// Invoke queues an INVOKE event with a deadline timeout from now.
func (r *RuntimeAPI) Invoke(requestID string, timeout time.Duration) {
	r.InvokeTraced(requestID, timeout, "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
}

// InvokeTraced is Invoke with the given X-Amzn-Trace-Id header as the
// event's tracing value.
func (r *RuntimeAPI) InvokeTraced(requestID string, timeout time.Duration, traceHeader string) {
	r.events <- map[string]any{
		"eventType":          "INVOKE",
		"deadlineMs":         time.Now().Add(timeout).UnixMilli(),
		"requestId":          requestID,
		"invokedFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:orders-api",
		"tracing":            map[string]any{"type": "X-Amzn-Trace-Id", "value": traceHeader},
	}
}

// Shutdown queues a SHUTDOWN event with a deadline timeout from now.
func (r *RuntimeAPI) Shutdown(reason string, timeout time.Duration) {
	r.events <- map[string]any{
		"eventType":      "SHUTDOWN",
		"shutdownReason": reason,
		"deadlineMs":     time.Now().Add(timeout).UnixMilli(),
	}
}

// RuntimeDone pushes platform.runtimeDone for requestID to the subscriber,
// the way the Telemetry API delivers a batch.
func (r *RuntimeAPI) RuntimeDone(t testing.TB, requestID string) {
	t.Helper()
	uri := r.SubscribedURI()
	if uri == "" {
		t.Fatal("runtimeDone: nobody subscribed to the Telemetry API")
	}
	batch := []map[string]any{
		{"time": time.Now().UTC().Format(time.RFC3339Nano), "type": "platform.start", "record": map[string]any{"requestId": requestID, "version": "$LATEST"}},
		{"time": time.Now().UTC().Format(time.RFC3339Nano), "type": "platform.runtimeDone", "record": map[string]any{"requestId": requestID, "status": "success", "metrics": map[string]any{"durationMs": 12.5}}},
	}
	body, _ := json.Marshal(batch)
	resp, err := http.Post(uri, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("runtimeDone push: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("runtimeDone push: HTTP %d", resp.StatusCode)
	}
}

// WaitNext waits for the extension's next call to /extension/event/next.
func (r *RuntimeAPI) WaitNext(t testing.TB, within time.Duration) time.Time {
	t.Helper()
	select {
	case at := <-r.NextCalls:
		return at
	case <-time.After(within):
		t.Fatalf("extension did not call /extension/event/next within %v", within)
		return time.Time{}
	}
}

// Registered returns the extension name and register body.
func (r *RuntimeAPI) Registered() (name, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.registered, r.registerBody
}

// Subscription returns the Telemetry API subscription request, if any.
func (r *RuntimeAPI) Subscription() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.subscription
}

// SubscribedURI returns the destination URI of the subscription.
func (r *RuntimeAPI) SubscribedURI() string {
	sub := r.Subscription()
	if sub == nil {
		return ""
	}
	dest, _ := sub["destination"].(map[string]any)
	return fmt.Sprint(dest["URI"])
}

// InitErrors returns the init/error reports received.
func (r *RuntimeAPI) InitErrors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.initErrors...)
}

// ExitErrors returns the exit/error reports received.
func (r *RuntimeAPI) ExitErrors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.exitErrors...)
}
