package telemetryapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestSubscribeRequestsPlatformEventsWithTheSmallestBuffering(t *testing.T) {
	var got map[string]any
	var header http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/2022-07-01/telemetry" {
			http.NotFound(w, r)
			return
		}
		header = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		_, _ = w.Write([]byte("OK"))
	}))
	defer srv.Close()
	err := Subscribe(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "ext-1", "http://sandbox.localdomain:4243/")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"buffering":{"maxBytes":262144,"maxItems":1000,"timeoutMs":25},"destination":{"URI":"http://sandbox.localdomain:4243/","protocol":"HTTP"},"schemaVersion":"2022-12-13","types":["platform"]}`
	if b, _ := json.Marshal(got); string(b) != want {
		t.Errorf("subscription body = %s\nwant %s", b, want)
	}
	if header.Get("Lambda-Extension-Identifier") != "ext-1" {
		t.Errorf("identifier header = %q", header.Get("Lambda-Extension-Identifier"))
	}
}

func TestSubscribeRecognisesTheEmulatorsNotSupportedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("Telemetry API is not supported"))
	}))
	defer srv.Close()
	err := Subscribe(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "ext-1", "http://127.0.0.1:1/")
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("err = %v, want ErrNotSupported", err)
	}
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad request", http.StatusBadRequest)
	}))
	defer srv2.Close()
	err = Subscribe(context.Background(), strings.TrimPrefix(srv2.URL, "http://"), "ext-1", "http://127.0.0.1:1/")
	if err == nil || errors.Is(err, ErrNotSupported) || !strings.Contains(err.Error(), "HTTP 400") {
		t.Fatalf("err = %v, want an HTTP 400 error", err)
	}
}

func post(t *testing.T, uri, body string) int {
	t.Helper()
	resp, err := http.Post(uri, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestListenerFallsBackToLoopbackAndTracksRuntimeDone(t *testing.T) {
	l, err := Listen("192.0.2.1:0", zap.NewNop()) // TEST-NET-1: not on this machine, binding fails without any traffic
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close(context.Background()) }()
	if !strings.HasPrefix(l.URI(), "http://127.0.0.1:") {
		t.Fatalf("URI = %s, want the loopback fallback", l.URI())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = l.WaitRuntimeDone(ctx, "r1")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait before the event = %v, want a deadline error", err)
	}

	waited := make(chan string, 1)
	go func() {
		status, _ := l.WaitRuntimeDone(context.Background(), "r1")
		waited <- status
	}()
	if code := post(t, l.URI(), `[{"time":"2026-01-01T00:00:00Z","type":"platform.runtimeDone","record":{"requestId":"other","status":"success"}}]`); code != http.StatusOK {
		t.Fatalf("push status %d", code)
	}
	select {
	case s := <-waited:
		t.Fatalf("woke for another request: %q", s)
	case <-time.After(50 * time.Millisecond):
	}
	post(t, l.URI(), `[{"time":"2026-01-01T00:00:00Z","type":"platform.start","record":{"requestId":"r1"}},{"time":"2026-01-01T00:00:01Z","type":"platform.runtimeDone","record":{"requestId":"r1","status":"timeout"}}]`)
	select {
	case s := <-waited:
		if s != "timeout" {
			t.Fatalf("status = %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("runtimeDone did not wake the waiter")
	}
	// An event that arrived earlier is remembered.
	if s, err := l.WaitRuntimeDone(context.Background(), "other"); err != nil || s != "success" {
		t.Fatalf("remembered = %q, %v", s, err)
	}
}

func TestListenerRejectsGarbageAndKeepsServing(t *testing.T) {
	l, err := Listen("127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close(context.Background()) }()
	if code := post(t, l.URI(), `{not json`); code != http.StatusBadRequest {
		t.Errorf("garbage: status %d, want 400", code)
	}
	if code := post(t, l.URI(), `[{"type":"platform.runtimeDone","record":{"status":"success"}}]`); code != http.StatusOK {
		t.Errorf("runtimeDone without requestId: status %d", code)
	}
	if code := post(t, l.URI(), `[{"type":"platform.runtimeDone","record":{"requestId":"ok","status":"success"}}]`); code != http.StatusOK {
		t.Errorf("valid batch after garbage: status %d", code)
	}
	if s, err := l.WaitRuntimeDone(context.Background(), "ok"); err != nil || s != "success" {
		t.Fatalf("status %q, %v", s, err)
	}
}

func TestListenerForgetsOldRequests(t *testing.T) {
	l, err := Listen("127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close(context.Background()) }()
	for i := 0; i < maxRemembered+10; i++ {
		l.markDone(RuntimeDoneRecord{RequestID: "r" + string(rune('a'+i%26)) + string(rune('0'+i/26)), Status: "success"})
	}
	l.mu.Lock()
	n := len(l.done)
	l.mu.Unlock()
	if n != maxRemembered {
		t.Fatalf("remembers %d requests, want %d", n, maxRemembered)
	}
}
