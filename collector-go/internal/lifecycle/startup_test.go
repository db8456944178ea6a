package lifecycle

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
)

// listening reports whether something accepts TCP connections on addr.
func listening(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

func TestReceiverStartsWhileTheRegistrationIsInFlight(t *testing.T) {
	listeningDuringRegister := make(chan bool, 1)
	h := runWithAPI(t, true, func(h *harness) {
		// Hold the registration until the receiver listens, or give up:
		// a receiver that starts only after registering never does.
		h.api.OnRegister = func() {
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				if listening(h.otlpAddr) {
					listeningDuringRegister <- true
					return
				}
				time.Sleep(time.Millisecond)
			}
			listeningDuringRegister <- false
		}
	})
	if !<-listeningDuringRegister {
		t.Fatal("the receiver did not listen while the registration was in flight")
	}
	h.api.WaitNext(t, hangGuard)
	if !listening(h.otlpAddr) {
		t.Fatal("the receiver does not listen at the first /event/next")
	}
	// The subscription needs the ID registration returned.
	if h.api.SubscribedURI() == "" {
		t.Fatal("not subscribed to the Telemetry API")
	}
	h.api.Invoke("req-1", 5*time.Second)
	h.sendSpans(t, 1)
	h.api.RuntimeDone(t, "req-1")
	h.api.WaitNext(t, hangGuard)
	if got := len(h.xray.Documents()); got != 3 {
		t.Fatalf("X-Ray has %d segments, want 3", got)
	}
	h.api.Shutdown("spindown", 2*time.Second)
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
}

func TestFailedRegistrationStopsTheStartedReceiver(t *testing.T) {
	h := runWithAPI(t, true, func(h *harness) {
		h.api.FailRegister = true
		h.api.RegisterDelay = 200 * time.Millisecond // the receiver is up by then
	})
	err := h.wait(t)
	if err == nil || !strings.Contains(err.Error(), "registering extension") {
		t.Fatalf("Run = %v, want the registration error", err)
	}
	if listening(h.otlpAddr) {
		t.Fatal("the receiver still listens after the registration failed")
	}
	if h.xray.Calls() != 0 {
		t.Errorf("X-Ray calls = %d, want none", h.xray.Calls())
	}
}

func TestSettingsErrorFailsOpenWithoutStartingTheReceiver(t *testing.T) {
	h := run(t, true, func(o *Options) { o.SettingsErr = errBadSetting })
	h.api.WaitNext(t, hangGuard)
	if listening(h.otlpAddr) {
		t.Fatal("the receiver listens although the settings are invalid")
	}
	if len(h.logs.FilterMessage("collector did not start").All()) != 1 {
		t.Error("start-up failure not logged")
	}
	h.api.Invoke("req-1", 5*time.Second)
	h.api.WaitNext(t, hangGuard) // the function keeps running
	h.api.Shutdown("spindown", 2*time.Second)
	if err := h.wait(t); err != nil {
		t.Fatal(err)
	}
}

var errBadSetting = errors.New(contract.EnvFlushTimeout + ` is "soon": use a Go duration such as 1500ms`)
