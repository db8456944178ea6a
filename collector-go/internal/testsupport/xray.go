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
	"time"
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
	// rejectEvery > 0 answers 400 to every rejectEvery-th call.
	rejectEvery int
	rejected    int
	delay       time.Duration
	inFlight    int
	maxInFlight int
	maxDocs     int
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

// RejectEvery makes every n-th call answer 400 InvalidRequestException, a
// client error the SDK does not retry: that call's documents are lost.
func (x *XRay) RejectEvery(n int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.rejectEvery = n
}

// Delay makes every call take at least d before it answers, like the
// network round trip to X-Ray.
func (x *XRay) Delay(d time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.delay = d
}

func (x *XRay) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	x.mu.Lock()
	x.calls++
	x.inFlight++
	x.maxInFlight = max(x.maxInFlight, x.inFlight)
	fail := x.failFirst != 0
	if x.failFirst > 0 {
		x.failFirst--
	}
	reject := x.rejectEvery > 0 && x.calls%x.rejectEvery == 0
	status, hang, delay := x.status, x.hang, x.delay
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		x.inFlight--
		x.mu.Unlock()
	}()
	if delay > 0 {
		time.Sleep(delay)
	}
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
	x.maxDocs = max(x.maxDocs, len(input.TraceSegmentDocuments))
	if reject {
		x.rejected += len(input.TraceSegmentDocuments)
		x.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "InvalidRequestException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"rejected by the test"}`))
		return
	}
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

// Rejected returns the number of documents in calls answered with 400 by RejectEvery.
func (x *XRay) Rejected() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.rejected
}

// MaxInFlight returns the largest number of calls served at the same time.
func (x *XRay) MaxInFlight() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.maxInFlight
}

// MaxDocumentsPerCall returns the largest TraceSegmentDocuments list received.
func (x *XRay) MaxDocumentsPerCall() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.maxDocs
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
