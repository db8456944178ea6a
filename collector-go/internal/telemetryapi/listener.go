package telemetryapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// SandboxHost is the host name of the execution environment; Lambda delivers
// telemetry to a listener bound to it
// (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html#telemetry-api-destination).
const SandboxHost = "sandbox.localdomain"

// maxRemembered bounds how many finished request IDs are kept for callers
// that ask after the event arrived.
const maxRemembered = 64

// Listener receives Telemetry API pushes and tracks which invokes the runtime
// has finished.
type Listener struct {
	logger   *zap.Logger
	server   *http.Server
	listener net.Listener
	uri      string

	mu      sync.Mutex
	done    map[string]string // requestId -> status
	order   []string
	changed chan struct{}
}

// Listen binds addr (host:port, port 0 picks a free port). If the host cannot
// be bound (sandbox.localdomain only resolves inside Lambda), it falls back to
// 127.0.0.1 with the same port.
func Listen(addr string, logger *zap.Logger) (*Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("telemetry listener address %q is not host:port: %w", addr, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fallback := net.JoinHostPort("127.0.0.1", port)
		var fbErr error
		ln, fbErr = net.Listen("tcp", fallback)
		if fbErr != nil {
			return nil, fmt.Errorf("telemetry listener: %w (fallback %s: %v)", err, fallback, fbErr)
		}
		logger.Debug("telemetry listener fell back to loopback", zap.String("wanted", addr), zap.Error(err))
		host = "127.0.0.1"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	_, boundPort, _ := net.SplitHostPort(ln.Addr().String())
	l := &Listener{
		logger:   logger,
		listener: ln,
		uri:      "http://" + net.JoinHostPort(host, boundPort) + "/",
		done:     map[string]string{},
		changed:  make(chan struct{}),
	}
	l.server = &http.Server{Handler: l, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := l.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("telemetry listener stopped", zap.Error(err))
		}
	}()
	return l, nil
}

// URI is the destination to subscribe with.
func (l *Listener) URI() string { return l.uri }

// ServeHTTP accepts one batch of events.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var events []Event
	if err := json.Unmarshal(body, &events); err != nil {
		l.logger.Debug("telemetry batch is not a JSON array of events", zap.Error(err))
		http.Error(w, "want a JSON array of events", http.StatusBadRequest)
		return
	}
	for _, ev := range events {
		if ev.Type != TypeRuntimeDone {
			continue
		}
		var rec RuntimeDoneRecord
		if err := json.Unmarshal(ev.Record, &rec); err != nil || rec.RequestID == "" {
			l.logger.Debug("platform.runtimeDone without requestId", zap.ByteString("record", ev.Record))
			continue
		}
		l.markDone(rec)
	}
	w.WriteHeader(http.StatusOK)
}

func (l *Listener) markDone(rec RuntimeDoneRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.done[rec.RequestID]; !seen {
		l.order = append(l.order, rec.RequestID)
		if len(l.order) > maxRemembered {
			delete(l.done, l.order[0])
			l.order = l.order[1:]
		}
	}
	l.done[rec.RequestID] = rec.Status
	close(l.changed)
	l.changed = make(chan struct{})
}

// WaitRuntimeDone blocks until platform.runtimeDone for requestID arrived or
// ctx is done, and returns the runtime's status.
func (l *Listener) WaitRuntimeDone(ctx context.Context, requestID string) (string, error) {
	for {
		l.mu.Lock()
		status, ok := l.done[requestID]
		changed := l.changed
		l.mu.Unlock()
		if ok {
			return status, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// Close stops the listener.
func (l *Listener) Close(ctx context.Context) error {
	return l.server.Shutdown(ctx)
}
