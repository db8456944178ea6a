package extensionapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
)

type recorded struct {
	method, path string
	header       http.Header
	body         string
}

func standIn(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) (*Client, *[]recorded) {
	t.Helper()
	var calls []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls = append(calls, recorded{r.Method, r.URL.Path, r.Header.Clone(), string(b)})
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return NewClient(strings.TrimPrefix(srv.URL, "http://")), &calls
}

func TestRegisterSendsNameAndEventsAndKeepsTheIdentifier(t *testing.T) {
	c, calls := standIn(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderExtensionID, "id-42")
		_, _ = w.Write([]byte(`{"functionName":"fn","functionVersion":"$LATEST","handler":"index.handler"}`))
	})
	resp, err := c.Register(context.Background(), contract.ExtensionName, Invoke, Shutdown)
	if err != nil {
		t.Fatal(err)
	}
	if resp.FunctionName != "fn" || c.ExtensionID() != "id-42" {
		t.Fatalf("response %+v, id %q", resp, c.ExtensionID())
	}
	got := (*calls)[0]
	if got.method != http.MethodPost || got.path != "/2020-01-01/extension/register" || got.header.Get(HeaderExtensionName) != contract.ExtensionName {
		t.Errorf("request = %+v", got)
	}
	if got.body != `{"events":["INVOKE","SHUTDOWN"]}` {
		t.Errorf("body = %s", got.body)
	}
}

func TestRegisterWithoutIdentifierOrWithErrorFails(t *testing.T) {
	c, _ := standIn(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{}`)) })
	if _, err := c.Register(context.Background(), "x", Invoke); err == nil || !strings.Contains(err.Error(), HeaderExtensionID) {
		t.Errorf("missing identifier: err = %v", err)
	}
	c, _ = standIn(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"errorMessage":"bad name"}`, http.StatusForbidden)
	})
	if _, err := c.Register(context.Background(), "x", Invoke); err == nil || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "bad name") {
		t.Errorf("403: err = %v", err)
	}
}

func TestNextEventDecodesInvokeAndShutdown(t *testing.T) {
	deadline := time.Now().Add(3 * time.Second).UnixMilli()
	events := []string{
		`{"eventType":"INVOKE","deadlineMs":` + jsonInt(deadline) + `,"requestId":"r1","invokedFunctionArn":"arn:aws:lambda:us-east-1:1:function:f"}`,
		`{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":` + jsonInt(deadline) + `}`,
	}
	c, calls := standIn(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/2020-01-01/extension/register" {
			w.Header().Set(HeaderExtensionID, "id-1")
			return
		}
		_, _ = w.Write([]byte(events[0]))
		events = events[1:]
	})
	if _, err := c.Register(context.Background(), "x", Invoke, Shutdown); err != nil {
		t.Fatal(err)
	}
	ev, err := c.NextEvent(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventType != Invoke || ev.RequestID != "r1" || ev.Deadline().UnixMilli() != deadline {
		t.Errorf("invoke = %+v", ev)
	}
	ev, err = c.NextEvent(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ev.EventType != Shutdown || ev.ShutdownReason != "spindown" {
		t.Errorf("shutdown = %+v", ev)
	}
	if next := (*calls)[1]; next.method != http.MethodGet || next.path != "/2020-01-01/extension/event/next" || next.header.Get(HeaderExtensionID) != "id-1" {
		t.Errorf("next request = %+v", next)
	}
}

func TestInitAndExitErrorCarryTypeAndMessage(t *testing.T) {
	c, calls := standIn(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderExtensionID, "id-1")
		w.WriteHeader(http.StatusAccepted)
	})
	_, _ = c.Register(context.Background(), "x", Invoke)
	if err := c.InitError(context.Background(), "Extension.ConfigInvalid", errString("bad config")); err != nil {
		t.Fatal(err)
	}
	if err := c.ExitError(context.Background(), "Extension.Fatal", errString("boom")); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ path, typ, msg string }{
		{"/2020-01-01/extension/init/error", "Extension.ConfigInvalid", "bad config"},
		{"/2020-01-01/extension/exit/error", "Extension.Fatal", "boom"},
	} {
		got := (*calls)[i+1]
		var body ErrorRequest
		_ = json.Unmarshal([]byte(got.body), &body)
		if got.path != want.path || got.header.Get(HeaderFunctionErrorType) != want.typ || body.ErrorMessage != want.msg || body.ErrorType != want.typ {
			t.Errorf("call %d = %+v", i, got)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestUnsampledReadsTheSamplingDecisionOfTheTraceHeader(t *testing.T) {
	for value, want := range map[string]bool{
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0": true,
		"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=a87bd80c:1":      true,
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1": false,
		"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?":                         false,
		"Root=1-5759e988-bd862e3fe1be46a994272793":                                   false,
		"": false,
	} {
		var ev Event
		if err := json.Unmarshal([]byte(`{"eventType":"INVOKE","tracing":{"type":"X-Amzn-Trace-Id","value":"`+value+`"}}`), &ev); err != nil {
			t.Fatal(err)
		}
		if got := ev.Unsampled(); got != want {
			t.Errorf("Unsampled(%q) = %v, want %v", value, got, want)
		}
	}
	if (Event{}).Unsampled() {
		t.Error("an event without tracing counts as unsampled")
	}
}
