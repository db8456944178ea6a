package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// retryAfter is what a refused OTLP request is told to wait (the receiver
// sends it as Retry-After): the buffer empties at the end of the invoke.
const retryAfter = time.Second

// Buffer is the consumer the receivers feed: it keeps spans in memory until
// the lifecycle flushes them, and keeps, per exporter, the spans a flush
// could not deliver for a transient reason until a later flush does. It
// never exports by itself, so nothing is in flight when Lambda freezes the
// environment.
//
// Everything it holds counts against one budget in bytes (and one in spans).
// A request that does not fit first pushes out the oldest spans kept for a
// retry (counted as evicted); if it still does not fit it is refused.
type Buffer struct {
	mu       sync.Mutex
	traces   ptrace.Traces
	spans    int
	bytes    int64
	retained []retained
	rejected int
	evicted  int
	maxSpans int
	maxBytes int64

	// invocations learns from the spans when an invocation's are all in.
	invocations *invocations
	// serviceName names the spans whose SDK knows no service name (set
	// before the receivers start).
	serviceName string
}

// retained are one exporter's spans waiting for a retry, oldest first.
type retained struct {
	traces ptrace.Traces
	spans  int
	bytes  int64
}

// NewBuffer returns a buffer holding at most maxSpans spans and maxBytes
// bytes, for exporters exporters.
func NewBuffer(maxSpans int, maxBytes int64, exporters int) *Buffer {
	b := &Buffer{traces: ptrace.NewTraces(), maxSpans: maxSpans, maxBytes: maxBytes, retained: make([]retained, exporters), invocations: newInvocations()}
	for i := range b.retained {
		b.retained[i].traces = ptrace.NewTraces()
	}
	return b
}

var _ consumer.Traces = (*Buffer)(nil)

// Capabilities reports that the buffer takes ownership of incoming data.
func (b *Buffer) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// ConsumeTraces trims td (see sanitize.go) and moves it into the buffer.
// When it does not fit, the spans are refused with a retryable error that
// the OTLP receiver answers with 503 and Retry-After, and counted as rejected.
func (b *Buffer) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	size := trimTraces(td)
	nameServices(td, b.serviceName)
	n := td.SpanCount()
	// Told after the spans are held (or refused): whoever waits for the
	// invocation then flushes them.
	defer b.invocations.arrived(scan(td))
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.maxSpans || size > b.maxBytes || !b.makeRoom(n, size) {
		b.rejected += n
		st, _ := status.New(codes.Unavailable, fmt.Sprintf("span buffer full (%d of %d spans, %d of %d bytes held until the end of the invoke): %d spans refused", b.heldSpans(), b.maxSpans, b.heldBytes(), b.maxBytes, n)).
			WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfter)})
		return st.Err()
	}
	td.ResourceSpans().MoveAndAppendTo(b.traces.ResourceSpans())
	b.spans += n
	b.bytes += size
	return nil
}

// makeRoom evicts the oldest retained spans until n spans of size bytes
// fit; it reports whether they do. It never evicts new spans.
func (b *Buffer) makeRoom(n int, size int64) bool {
	for i := range b.retained {
		for b.heldSpans()+n > b.maxSpans || b.heldBytes()+size > b.maxBytes {
			r := &b.retained[i]
			if r.spans == 0 {
				break
			}
			spans, bytes := evictOldest(r.traces, max(b.heldBytes()+size-b.maxBytes, 1), max(b.heldSpans()+n-b.maxSpans, 0))
			r.spans -= spans
			r.bytes -= bytes
			b.evicted += spans
		}
	}
	return b.heldSpans()+n <= b.maxSpans && b.heldBytes()+size <= b.maxBytes
}

// evictOldest removes spans from the front of td until at least needBytes
// bytes and needSpans spans are gone, and returns how many of each.
func evictOldest(td ptrace.Traces, needBytes int64, needSpans int) (spans int, bytes int64) {
	done := func() bool { return bytes >= needBytes && spans >= needSpans }
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(s ptrace.Span) bool {
				if done() {
					return false
				}
				spans++
				bytes += spanBytes(s)
				return true
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	return spans, bytes
}

func (b *Buffer) heldSpans() int {
	n := b.spans
	for _, r := range b.retained {
		n += r.spans
	}
	return n
}

func (b *Buffer) heldBytes() int64 {
	n := b.bytes
	for _, r := range b.retained {
		n += r.bytes
	}
	return n
}

// Taken is what one flush takes from the buffer.
type Taken struct {
	// New spans received since the previous flush.
	New   ptrace.Traces
	Spans int
	// Retained holds, per exporter, the spans kept for a retry, oldest
	// first; RetainedSpans counts them.
	Retained      []ptrace.Traces
	RetainedSpans []int
	// Rejected and Evicted count spans refused or evicted since the
	// previous flush.
	Rejected, Evicted int
	// Late spans arrived, since the previous flush, after their invocation
	// was declared complete (they are among New); Missing spans were
	// counted by invocations declared complete without them.
	Late, Missing int
}

// Take empties the buffer and returns what it held.
func (b *Buffer) Take() Taken {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := Taken{New: b.traces, Spans: b.spans, Rejected: b.rejected, Evicted: b.evicted}
	t.Late, t.Missing = b.invocations.take()
	for i := range b.retained {
		t.Retained = append(t.Retained, b.retained[i].traces)
		t.RetainedSpans = append(t.RetainedSpans, b.retained[i].spans)
		b.retained[i] = retained{traces: ptrace.NewTraces()}
	}
	b.traces, b.spans, b.bytes, b.rejected, b.evicted = ptrace.NewTraces(), 0, 0, 0, 0
	return t
}

// Retain keeps td (spans spans) for exporter i's next flush, ahead of what
// arrived meanwhile, evicting the oldest retained spans if the budget is
// exceeded; it returns the number evicted.
func (b *Buffer) Retain(i int, td ptrace.Traces, spans int) int {
	if spans == 0 {
		return 0
	}
	size := tracesBytes(td)
	b.mu.Lock()
	defer b.mu.Unlock()
	r := &b.retained[i]
	// What was retained meanwhile (nothing, as flushes do not overlap) goes
	// after td, which is older.
	r.traces.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	r.traces, r.spans, r.bytes = td, r.spans+spans, r.bytes+size
	evicted := 0
	for (b.heldSpans() > b.maxSpans || b.heldBytes() > b.maxBytes) && r.spans > 0 {
		n, bytes := evictOldest(r.traces, max(b.heldBytes()-b.maxBytes, 1), max(b.heldSpans()-b.maxSpans, 0))
		r.spans -= n
		r.bytes -= bytes
		evicted += n
	}
	return evicted
}

// WaitInvocation blocks until the spans of the invocation requestID are all
// in, or ctx is done: its handler span (the span with faas.invocation_id, or
// faas.execution, equal to it) has been received with as many spans of its
// trace as it counts, and no OTLP/HTTP request is still being read. It then
// declares the invocation complete: spans of it arriving later are late.
func (b *Buffer) WaitInvocation(ctx context.Context, requestID string) error {
	return b.invocations.wait(ctx, requestID)
}

// AwaitsSpans reports whether spans of the invocation requestID are known
// to be on their way: its handler span counted more spans than arrived, or
// it has not arrived while the function's SDK sends counts.
func (b *Buffer) AwaitsSpans(requestID string) bool {
	return b.invocations.awaitsSpans(requestID)
}

// GiveUpInvocation declares the invocation requestID complete with the
// spans that arrived; those its handler span counted and that did not
// arrive are reported as missing by the next flush. It returns how many.
func (b *Buffer) GiveUpInvocation(requestID string) int {
	return b.invocations.giveUp(requestID)
}

// Len returns the number of spans held, retained ones included.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.heldSpans()
}

// Bytes returns the bytes held, retained ones included.
func (b *Buffer) Bytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.heldBytes()
}
