package pipeline

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Attributes in which OpenTelemetry's AWS Lambda instrumentations record the
// request ID on the span of the handler invocation: faas.invocation_id in
// current semantic conventions (the Node.js instrumentation bundled in the
// preload), faas.execution in older ones.
var invocationIDAttributes = []string{"faas.invocation_id", "faas.execution"}

// maxRememberedInvocations bounds the request IDs kept for a lifecycle that
// asks after the span arrived.
const maxRememberedInvocations = 64

// invocations learns from the spans themselves when an invocation's spans
// are all in: the AWS Lambda instrumentation ends the handler invocation's
// span last, after every span of the invocation it waited for, and then
// force-flushes the tracer provider, so the request that carries that span
// closes the invocation. Requests still being read when that span arrives
// (a flush cut into several concurrent requests) are waited for too.
type invocations struct {
	mu       sync.Mutex
	seen     map[string]struct{}
	order    []string
	inflight int
	changed  chan struct{}
}

func newInvocations() *invocations {
	return &invocations{seen: map[string]struct{}{}, changed: make(chan struct{})}
}

// requestStarted and requestDone bracket one OTLP/HTTP request.
func (v *invocations) requestStarted() {
	v.mu.Lock()
	v.inflight++
	v.mu.Unlock()
}

func (v *invocations) requestDone() {
	v.mu.Lock()
	v.inflight--
	if v.inflight == 0 {
		v.notifyLocked()
	}
	v.mu.Unlock()
}

// invocationIDs returns the request IDs of the handler invocation spans in td.
func invocationIDs(td ptrace.Traces) []string {
	var ids []string
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				if s.Kind() != ptrace.SpanKindServer && s.Kind() != ptrace.SpanKindConsumer && s.Kind() != ptrace.SpanKindUnspecified {
					continue
				}
				for _, key := range invocationIDAttributes {
					if val, ok := s.Attributes().Get(key); ok {
						if id := val.AsString(); id != "" {
							ids = append(ids, id)
						}
						break
					}
				}
			}
		}
	}
	return ids
}

// mark records that the handler spans of ids have arrived.
func (v *invocations) mark(ids []string) {
	if len(ids) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, id := range ids {
		if _, ok := v.seen[id]; ok {
			continue
		}
		v.seen[id] = struct{}{}
		v.order = append(v.order, id)
		if len(v.order) > maxRememberedInvocations {
			delete(v.seen, v.order[0])
			v.order = v.order[1:]
		}
	}
	v.notifyLocked()
}

func (v *invocations) notifyLocked() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// wait blocks until the handler span of requestID has arrived and no
// OTLP/HTTP request is being read, or ctx is done.
func (v *invocations) wait(ctx context.Context, requestID string) error {
	for {
		v.mu.Lock()
		_, ok := v.seen[requestID]
		ready := ok && v.inflight == 0
		changed := v.changed
		v.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
