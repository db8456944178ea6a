package pipeline

import (
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Buffer is the consumer the receivers feed: it keeps spans in memory until
// the lifecycle flushes them. It never exports by itself, so nothing is in
// flight when Lambda freezes the environment.
type Buffer struct {
	mu       sync.Mutex
	traces   ptrace.Traces
	spans    int
	rejected int
	maxSpans int
}

// NewBuffer returns a buffer holding at most maxSpans spans between flushes.
func NewBuffer(maxSpans int) *Buffer {
	return &Buffer{traces: ptrace.NewTraces(), maxSpans: maxSpans}
}

var _ consumer.Traces = (*Buffer)(nil)

// Capabilities reports that the buffer takes ownership of incoming data.
func (b *Buffer) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

// ConsumeTraces moves td into the buffer. When the buffer is full the spans
// are refused (the receiver answers with an error) and counted as rejected.
func (b *Buffer) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	n := td.SpanCount()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.spans+n > b.maxSpans {
		b.rejected += n
		return fmt.Errorf("span buffer full (%d of %d spans held until the end of the invoke): %d spans refused", b.spans, b.maxSpans, n)
	}
	td.ResourceSpans().MoveAndAppendTo(b.traces.ResourceSpans())
	b.spans += n
	return nil
}

// Take empties the buffer and returns what it held, the span count and the
// number of spans refused since the previous Take.
func (b *Buffer) Take() (td ptrace.Traces, spans, rejected int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	td, spans, rejected = b.traces, b.spans, b.rejected
	b.traces, b.spans, b.rejected = ptrace.NewTraces(), 0, 0
	return td, spans, rejected
}

// Len returns the number of spans held.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.spans
}
