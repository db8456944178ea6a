package components

import (
	"context"
	"errors"
	"net"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Sender delivers spans for one configured exporter and says what became of
// each: stored, to be tried again, or dropped with a reason.
type Sender interface {
	// Send delivers td (which it may modify) within ctx.
	Send(ctx context.Context, td ptrace.Traces) SendResult
	// Shutdown releases the sender.
	Shutdown(ctx context.Context) error
}

// Reasons a span is dropped, as counted in SendResult.Dropped.
const (
	// DropRejected: the destination refused the call (a 4xx other than
	// throttling), so sending it again would fail the same way.
	DropRejected = "rejected"
	// DropUntranslatable: the X-Ray translator could not make a segment of
	// the span.
	DropUntranslatable = "untranslatable"
	// DropPanic: translating or sending the span panicked.
	DropPanic = "panic"
	// DropUnprocessed: X-Ray listed the span's segment in
	// UnprocessedTraceSegments with an error code that is not transient.
	DropUnprocessed = "xray_unprocessed"
)

// SendResult is what became of the spans of one Send.
type SendResult struct {
	// Stored spans were accepted by the destination.
	Stored int
	// Retry holds the spans worth sending again (transient failures, calls
	// cut off by the deadline or not made); RetrySpans counts them.
	Retry      ptrace.Traces
	RetrySpans int
	// Dropped counts the spans lost, by reason.
	Dropped map[string]int
	// Calls is the number of calls made; FailedCalls failed; Unsent were
	// not made (the deadline had passed or the endpoint cannot be reached);
	// RetriedCalls, among Calls, sent again what an earlier call of the
	// same Send did not deliver.
	Calls, FailedCalls, Unsent, RetriedCalls int
	// Repairs counts the documents changed to follow the destination's
	// rules, by what was changed.
	Repairs map[string]int
	// Err is the first error.
	Err error
}

// Drop counts n spans dropped for reason.
func (r *SendResult) Drop(reason string, n int) {
	if n == 0 {
		return
	}
	if r.Dropped == nil {
		r.Dropped = map[string]int{}
	}
	r.Dropped[reason] += n
}

// DroppedSpans is the number of spans dropped, all reasons.
func (r SendResult) DroppedSpans() int {
	n := 0
	for _, v := range r.Dropped {
		n += v
	}
	return n
}

// IsUnreachable reports whether err is a failure to connect at all: a dial
// error (connection refused, no route, unknown host) rather than an answer
// or a broken connection.
func IsUnreachable(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

// spanRef points at one span of a ptrace.Traces.
type spanRef struct {
	rs   ptrace.ResourceSpans
	ss   ptrace.ScopeSpans
	span ptrace.Span
}

// spanRefs lists the spans of td in order.
func spanRefs(td ptrace.Traces) []spanRef {
	out := make([]spanRef, 0, td.SpanCount())
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				out = append(out, spanRef{rs: rs, ss: ss, span: ss.Spans().At(k)})
			}
		}
	}
	return out
}

// collect moves the given spans (in order) into new traces, each with copies
// of its resource and scope.
func collect(refs []spanRef) ptrace.Traces {
	out := ptrace.NewTraces()
	var (
		lastRS         ptrace.ResourceSpans
		lastScope      ptrace.ScopeSpans
		destRS         ptrace.ResourceSpans
		destSpans      ptrace.SpanSlice
		haveRS, haveSS bool
	)
	for _, r := range refs {
		if !haveRS || r.rs != lastRS {
			destRS = out.ResourceSpans().AppendEmpty()
			r.rs.Resource().CopyTo(destRS.Resource())
			destRS.SetSchemaUrl(r.rs.SchemaUrl())
			lastRS, haveRS, haveSS = r.rs, true, false
		}
		if !haveSS || r.ss != lastScope {
			current := destRS.ScopeSpans().AppendEmpty()
			r.ss.Scope().CopyTo(current.Scope())
			current.SetSchemaUrl(r.ss.SchemaUrl())
			destSpans = current.Spans()
			lastScope, haveSS = r.ss, true
		}
		r.span.MoveTo(destSpans.AppendEmpty())
	}
	return out
}
