// Package testsupport holds stand-ins shared by the tests of several
// packages. Nothing in the collector binary imports it.
package testsupport

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// XRay is an httptest stand-in for the X-Ray PutTraceSegments API
// (POST /TraceSegments, REST-JSON, see the X-Ray API reference).
type XRay struct {
	Server *httptest.Server

	mu        sync.Mutex
	documents []map[string]any
	calls     int
	failFirst int
	status    int
	hang      bool
	release   chan struct{}
}

// NewXRay starts a stand-in that accepts every request.
func NewXRay(t testing.TB) *XRay {
	t.Helper()
	x := &XRay{release: make(chan struct{})}
	x.Server = httptest.NewServer(http.HandlerFunc(x.serve))
	t.Cleanup(x.Server.Close)
	t.Cleanup(func() { close(x.release) }) // runs first: frees hung handlers
	return x
}

// Hang makes every later call block until the test ends, like an
// unreachable endpoint.
func (x *XRay) Hang() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.hang = true
}

// FailWith makes the next n calls answer status (n < 0: every call).
func (x *XRay) FailWith(status, n int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.status, x.failFirst = status, n
}

func (x *XRay) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	x.mu.Lock()
	x.calls++
	fail := x.failFirst != 0
	if x.failFirst > 0 {
		x.failFirst--
	}
	status, hang := x.status, x.hang
	x.mu.Unlock()
	if hang {
		<-x.release
		return
	}

	if r.Method != http.MethodPost || r.URL.Path != "/TraceSegments" {
		http.Error(w, `{"message":"unknown operation"}`, http.StatusNotFound)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, `{"message":"missing SigV4 signature"}`, http.StatusForbidden)
		return
	}
	if fail {
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusTooManyRequests {
			w.Header().Set("X-Amzn-ErrorType", "ThrottledException")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"message":"Rate exceeded"}`))
			return
		}
		w.Header().Set("X-Amzn-ErrorType", "ServiceUnavailableException")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"message":"unavailable"}`))
		return
	}
	var input struct {
		TraceSegmentDocuments []string
	}
	if err := json.Unmarshal(body, &input); err != nil {
		http.Error(w, `{"message":"bad json"}`, http.StatusBadRequest)
		return
	}
	x.mu.Lock()
	for _, d := range input.TraceSegmentDocuments {
		var doc map[string]any
		if err := json.Unmarshal([]byte(d), &doc); err == nil {
			x.documents = append(x.documents, doc)
		}
	}
	x.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"UnprocessedTraceSegments":[]}`))
}

// Documents returns the segment documents received so far.
func (x *XRay) Documents() []map[string]any {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]map[string]any(nil), x.documents...)
}

// Calls returns the number of HTTP calls received.
func (x *XRay) Calls() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.calls
}

// SetAWSTestEnv gives the AWS SDK dummy credentials and keeps it away from
// the EC2 instance metadata service and shared config files.
func SetAWSTestEnv(t testing.TB) {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("AWS_REGION", "us-east-1")
}
