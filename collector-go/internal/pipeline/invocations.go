package pipeline

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
)

// Attributes in which OpenTelemetry's AWS Lambda instrumentations record the
// request ID on the span of the handler invocation: faas.invocation_id in
// current semantic conventions (the Node.js instrumentation bundled in the
// preload), faas.execution in older ones.
var invocationIDAttributes = []string{"faas.invocation_id", "faas.execution"}

const (
	// maxRememberedInvocations bounds the handler spans kept for a
	// lifecycle that asks after the span arrived, and the invocations
	// remembered as complete (to tell late spans).
	maxRememberedInvocations = 64
	// maxTrackedTraces bounds the traces whose received spans are counted
	// while their invocation is not complete; the oldest are forgotten.
	maxTrackedTraces = 1024
	// outlivingGrace is how long, once the spans a handler span counts are
	// in, the invocation still waits for the spans it announced still open
	// (work the handler left running: a fetch whose body was still being
	// read). The preload flushes each of them as it ends; one that runs
	// longer leaves with the next export.
	outlivingGrace = 200 * time.Millisecond
)

// invocations learns from the spans themselves when an invocation's spans
// are all in. The preload counts, on the handler invocation's span, how many
// spans of the invocation's trace ended with it (the span itself included;
// contract.InvocationSpanCountAttribute): the invocation is complete once
// that many spans of its trace have arrived, whichever connection carried
// them and in whatever order. A handler span without a count (another SDK)
// closes its invocation when it arrives, once no request is still being
// read. Spans of the trace still open when the handler span ended
// (contract.InvocationOpenSpansAttribute: work the handler left running)
// are waited for at most outlivingGrace once the counted ones are in. A span
// that ended before its handler span but arrives after the invocation was
// declared complete is late: it is exported with the next flush and counted.
type invocations struct {
	mu sync.Mutex
	// handlers are the handler spans seen, by request ID, oldest first in order.
	handlers map[string]handlerSpan
	order    []string
	// received counts, per trace, the spans arrived and not yet claimed by
	// a complete invocation; traces holds its keys, oldest first.
	received map[pcommon.TraceID]int
	traces   []pcommon.TraceID
	// complete holds the handler spans' end times of the invocations
	// declared complete, by trace; completeOrder its keys, oldest first.
	complete      map[pcommon.TraceID]pcommon.Timestamp
	completeOrder []pcommon.TraceID
	// counting is set once a handler span carried a count: the function's
	// SDK counts, so platform.runtimeDone alone does not end a wait.
	counting bool
	// late and missing are counted since the last take.
	late, missing int
	inflight      int
	changed       chan struct{}
}

type handlerSpan struct {
	trace pcommon.TraceID
	end   pcommon.Timestamp
	// expected spans of the trace, 0 when the SDK does not count;
	// outliving spans of it were still open when it ended.
	expected, outliving int
	// settled once the invocation was declared complete (or given up on).
	settled bool
}

func newInvocations() *invocations {
	return &invocations{
		handlers: map[string]handlerSpan{},
		received: map[pcommon.TraceID]int{},
		complete: map[pcommon.TraceID]pcommon.Timestamp{},
		changed:  make(chan struct{}),
	}
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

// arrival is what one request tells about invocations.
type arrival struct {
	handlers map[string]handlerSpan
	// spans per trace, with the end time of each.
	ends map[pcommon.TraceID][]pcommon.Timestamp
}

// scan reads td's handler spans and counts its spans per trace. It removes
// the span count attribute: it is for the collector, not for the
// destination.
func scan(td ptrace.Traces) arrival {
	a := arrival{ends: map[pcommon.TraceID][]pcommon.Timestamp{}}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				a.ends[s.TraceID()] = append(a.ends[s.TraceID()], s.EndTimestamp())
				id, h, ok := handlerOf(s)
				if !ok {
					continue
				}
				if a.handlers == nil {
					a.handlers = map[string]handlerSpan{}
				}
				a.handlers[id] = h
			}
		}
	}
	return a
}

// handlerOf returns the request ID and what the span tells when s is the
// span of a handler invocation.
func handlerOf(s ptrace.Span) (string, handlerSpan, bool) {
	if s.Kind() != ptrace.SpanKindServer && s.Kind() != ptrace.SpanKindConsumer && s.Kind() != ptrace.SpanKindUnspecified {
		return "", handlerSpan{}, false
	}
	for _, key := range invocationIDAttributes {
		val, ok := s.Attributes().Get(key)
		if !ok {
			continue
		}
		id := val.AsString()
		if id == "" {
			return "", handlerSpan{}, false
		}
		h := handlerSpan{trace: s.TraceID(), end: s.EndTimestamp()}
		if count, ok := s.Attributes().Get(contract.InvocationSpanCountAttribute); ok {
			if count.Type() == pcommon.ValueTypeInt && count.Int() > 0 {
				h.expected = int(count.Int())
			}
			s.Attributes().Remove(contract.InvocationSpanCountAttribute)
		}
		if open, ok := s.Attributes().Get(contract.InvocationOpenSpansAttribute); ok {
			if open.Type() == pcommon.ValueTypeInt && open.Int() > 0 && h.expected > 0 {
				h.outliving = int(open.Int())
			}
			s.Attributes().Remove(contract.InvocationOpenSpansAttribute)
		}
		return id, h, true
	}
	return "", handlerSpan{}, false
}

// arrived records what a request brought, once its spans are held (or
// refused and counted): refused spans arrived all the same.
func (v *invocations) arrived(a arrival) {
	if len(a.ends) == 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for trace, ends := range a.ends {
		for _, end := range ends {
			if completedEnd, ok := v.complete[trace]; ok && end <= completedEnd && !v.pendingLocked(trace) {
				v.late++
				continue
			}
			v.addReceivedLocked(trace, 1)
		}
	}
	for id, h := range a.handlers {
		if _, ok := v.handlers[id]; ok {
			continue // a resend of the same span
		}
		if h.expected > 0 {
			v.counting = true
		}
		v.handlers[id] = h
		v.order = append(v.order, id)
		if len(v.order) > maxRememberedInvocations {
			delete(v.handlers, v.order[0])
			v.order = v.order[1:]
		}
	}
	v.notifyLocked()
}

// pendingLocked reports whether a handler span of trace waits for its spans.
func (v *invocations) pendingLocked(trace pcommon.TraceID) bool {
	for _, h := range v.handlers {
		if h.trace == trace && !h.settled {
			return true
		}
	}
	return false
}

func (v *invocations) addReceivedLocked(trace pcommon.TraceID, n int) {
	if _, ok := v.received[trace]; !ok {
		v.traces = append(v.traces, trace)
		if len(v.traces) > maxTrackedTraces {
			delete(v.received, v.traces[0])
			v.traces = v.traces[1:]
		}
	}
	v.received[trace] += n
}

func (v *invocations) notifyLocked() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// readyLocked reports whether the spans of requestID are all in: counted
// ones and outliving ones (all), or counted ones only (counted).
func (v *invocations) readyLocked(requestID string) (all, counted bool) {
	h, ok := v.handlers[requestID]
	if !ok || v.inflight > 0 {
		return false, false
	}
	if h.settled {
		return true, true
	}
	n := v.received[h.trace]
	return n >= h.expected+h.outliving, n >= h.expected
}

// settleLocked declares requestID complete: its spans are claimed from its
// trace's count, and a shortfall is counted as missing. It returns the
// shortfall.
func (v *invocations) settleLocked(requestID string) int {
	h, ok := v.handlers[requestID]
	if !ok || h.settled {
		return 0
	}
	h.settled = true
	v.handlers[requestID] = h
	missing := max(h.expected-v.received[h.trace], 0)
	v.missing += missing
	// Spans of the trace beyond those counted and outliving (a later
	// invocation's in the same trace) stay for it.
	if left := v.received[h.trace] - h.expected - h.outliving; h.expected > 0 && left > 0 {
		v.received[h.trace] = left
	} else {
		delete(v.received, h.trace)
	}
	if _, ok := v.complete[h.trace]; !ok {
		v.completeOrder = append(v.completeOrder, h.trace)
		if len(v.completeOrder) > maxRememberedInvocations {
			delete(v.complete, v.completeOrder[0])
			v.completeOrder = v.completeOrder[1:]
		}
	}
	v.complete[h.trace] = h.end
	return missing
}

// wait blocks until the spans of requestID are all in (its handler span
// arrived, with as many spans of its trace as it counts, and no OTLP/HTTP
// request is being read), then declares it complete; or until ctx is done.
func (v *invocations) wait(ctx context.Context, requestID string) error {
	var grace <-chan time.Time
	for {
		v.mu.Lock()
		all, counted := v.readyLocked(requestID)
		if all {
			v.settleLocked(requestID)
		}
		changed := v.changed
		v.mu.Unlock()
		if all {
			return nil
		}
		if counted && grace == nil {
			timer := time.NewTimer(outlivingGrace)
			defer timer.Stop()
			grace = timer.C
		}
		select {
		case <-changed:
		case <-grace:
			v.mu.Lock()
			v.settleLocked(requestID)
			v.mu.Unlock()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// awaitsSpans reports whether spans of requestID are still expected: its
// handler span arrived counting more spans than are in, or it has not
// arrived while the function's SDK counts (so it will).
func (v *invocations) awaitsSpans(requestID string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	h, ok := v.handlers[requestID]
	if !ok {
		return v.counting
	}
	return !h.settled && v.received[h.trace] < h.expected
}

// giveUp declares requestID complete with what arrived, counting the
// shortfall as missing; it returns the shortfall (0 when its handler span
// never came: nothing tells how many spans are missing). A handler span
// that never came stops the expectation that one always does, until a
// counted one arrives: a function whose SDK does not deliver it is not
// held for it again.
func (v *invocations) giveUp(requestID string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.handlers[requestID]; !ok {
		v.counting = false
	}
	return v.settleLocked(requestID)
}

// take returns and resets the late and missing counts.
func (v *invocations) take() (late, missing int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	late, missing = v.late, v.missing
	v.late, v.missing = 0, 0
	return late, missing
}
