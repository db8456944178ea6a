// Package pipeline builds the configured receivers, exporters and extensions
// from their factories and moves spans from the receivers to the exporters
// only when asked to: at the end of each invoke and at shutdown.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/config"
)

// Pipeline owns the running components and the span buffer between them.
type Pipeline struct {
	logger     *zap.Logger
	buffer     *Buffer
	host       *host
	extensions []startable
	exporters  []namedExporter
	receivers  []startable

	flushMu sync.Mutex
	// allocatedAtFlush is allocatedBytes() at the end of the previous flush
	// (guarded by flushMu).
	allocatedAtFlush uint64
}

type startable struct {
	id        component.ID
	component component.Component
}

type namedExporter struct {
	id       component.ID
	handsOff bool
	sender   components.Sender
	// component is the exporter built by its factory, when the sender is
	// one (started and stopped with the pipeline).
	component component.Component
}

// Limits bound what the buffer holds.
type Limits struct {
	// MaxSpans and MaxBytes bound the spans held, new and kept for a retry.
	MaxSpans int
	MaxBytes int64
}

// ExporterResult is the outcome of one flush for one exporter.
type ExporterResult struct {
	ID component.ID
	// Offered spans: new ones and those kept from earlier flushes.
	Offered int
	// Exported spans were stored by the destination.
	Exported int
	// Dropped spans are lost, by reason (see README, Logs).
	Dropped map[string]int
	// Retained spans failed for a transient reason and wait for the next flush.
	Retained int
	// Calls made, FailedCalls among them, UnsentCalls not made;
	// RetriedCalls, among Calls, sent again what an earlier call of the
	// flush did not deliver.
	Calls, FailedCalls, UnsentCalls, RetriedCalls int
	// Repairs counts documents changed to follow the destination's rules.
	Repairs map[string]int
	// Err is the first error of the flush.
	Err error
}

// DroppedSpans is the number of spans this exporter lost.
func (e ExporterResult) DroppedSpans() int {
	n := 0
	for _, v := range e.Dropped {
		n += v
	}
	return n
}

// FlushResult is the outcome of one flush.
type FlushResult struct {
	// Spans received since the previous flush.
	Spans int
	// Rejected spans the buffer refused since the previous flush because it was full.
	Rejected int
	// Evicted spans kept for a retry were pushed out by newer ones.
	Evicted int
	// Late spans arrived after their invocation was declared complete;
	// they are among Spans and exported now.
	Late int
	// Missing spans were counted by invocations declared complete without
	// them (at the deadline); a missing span that arrives later is late.
	Missing   int
	Exporters []ExporterResult
	Duration  time.Duration
}

// Exported is the number of spans every exporter stored, summed over exporters.
func (r FlushResult) Exported() int {
	n := 0
	for _, e := range r.Exporters {
		n += e.Exported
	}
	return n
}

// Dropped is the number of spans lost in this flush, summed over exporters,
// plus the spans the full buffer refused or evicted and those missing from
// their invocation.
func (r FlushResult) Dropped() int {
	n := r.Rejected + r.Evicted + r.Missing
	for _, e := range r.Exporters {
		n += e.DroppedSpans()
	}
	return n
}

// Retained is the number of spans kept for the next flush, summed over exporters.
func (r FlushResult) Retained() int {
	n := 0
	for _, e := range r.Exporters {
		n += e.Retained
	}
	return n
}

// DroppedReasons sums the dropped spans by reason, over exporters, with
// the buffer's refusals ("buffer_full") and evictions ("evicted").
func (r FlushResult) DroppedReasons() map[string]int {
	out := map[string]int{}
	if r.Rejected > 0 {
		out[ReasonBufferFull] = r.Rejected
	}
	if r.Evicted > 0 {
		out[ReasonEvicted] = r.Evicted
	}
	if r.Missing > 0 {
		out[ReasonNotReceived] = r.Missing
	}
	for _, e := range r.Exporters {
		for k, v := range e.Dropped {
			out[k] += v
		}
	}
	return out
}

// Reasons a span is dropped outside an exporter.
const (
	// ReasonBufferFull: the receiver refused the spans (503).
	ReasonBufferFull = "buffer_full"
	// ReasonEvicted: spans kept for a retry were pushed out, oldest first,
	// by newer ones when the budget was full.
	ReasonEvicted = "evicted"
	// ReasonShutdown: spans still undelivered when the environment shut down.
	ReasonShutdown = "shutdown"
	// ReasonAbandoned: an exporter was still busy at the flush deadline.
	ReasonAbandoned = "deadline"
	// ReasonNotReceived: spans the handler span counted had not reached
	// the collector when its invocation had to be declared complete.
	ReasonNotReceived = "not_received"
)

// New creates every component of cfg. Nothing listens or connects until Start.
func New(ctx context.Context, cfg *config.Config, factories components.Factories, limits Limits, logger *zap.Logger) (*Pipeline, error) {
	buffer := NewBuffer(limits.MaxSpans, limits.MaxBytes, len(cfg.Exporters))
	p := &Pipeline{
		logger: logger,
		buffer: buffer,
		host:   &host{extensions: map[component.ID]component.Component{guardID: guard{invocations: buffer.invocations}}},
	}
	for _, c := range cfg.Extensions {
		ext, err := factories.Extensions[c.ID.Type()].Create(ctx, extension.Settings{
			ID: c.ID, TelemetrySettings: telemetry(logger, "extension", c.ID), BuildInfo: components.BuildInfo(),
		}, c.Config)
		if err != nil {
			return nil, fmt.Errorf("extensions::%s: %w", c.ID, err)
		}
		p.extensions = append(p.extensions, startable{id: c.ID, component: ext})
		p.host.extensions[c.ID] = ext
	}
	for _, c := range cfg.Exporters {
		set := exporter.Settings{ID: c.ID, TelemetrySettings: telemetry(logger, "exporter", c.ID), BuildInfo: components.BuildInfo()}
		policy := factories.ExportPolicy(c.ID.Type(), c.Config)
		if policy.NewSender != nil {
			sender, err := policy.NewSender(ctx, set, c.Config)
			if err != nil {
				return nil, fmt.Errorf("exporters::%s: %w", c.ID, err)
			}
			p.exporters = append(p.exporters, namedExporter{id: c.ID, sender: sender, handsOff: policy.HandsOff})
			continue
		}
		exp, err := factories.Exporters[c.ID.Type()].CreateTraces(ctx, set, c.Config)
		if err != nil {
			return nil, fmt.Errorf("exporters::%s: %w", c.ID, err)
		}
		p.exporters = append(p.exporters, namedExporter{id: c.ID, sender: exporterSender{exporter: exp, policy: policy}, component: exp})
	}
	for _, c := range cfg.Receivers {
		useGuard(c.Config)
		rcv, err := factories.Receivers[c.ID.Type()].CreateTraces(ctx, receiver.Settings{
			ID: c.ID, TelemetrySettings: telemetry(logger, "receiver", c.ID), BuildInfo: components.BuildInfo(),
		}, c.Config, p.buffer)
		if err != nil {
			return nil, fmt.Errorf("receivers::%s: %w", c.ID, err)
		}
		p.receivers = append(p.receivers, startable{id: c.ID, component: rcv})
	}
	return p, nil
}

func telemetry(logger *zap.Logger, kind string, id component.ID) component.TelemetrySettings {
	return component.TelemetrySettings{
		Logger:         logger.With(zap.String("otelcol.component.kind", kind), zap.String("otelcol.component.id", id.String())),
		TracerProvider: tracenoop.NewTracerProvider(),
		MeterProvider:  metricnoop.NewMeterProvider(),
		Resource:       pcommon.NewResource(),
	}
}

// Start starts extensions, then exporters, then receivers (which begin
// listening). On failure everything already started is shut down again.
func (p *Pipeline) Start(ctx context.Context) error {
	var started []startable
	all := make([]startable, 0, len(p.extensions)+len(p.exporters)+len(p.receivers))
	all = append(all, p.extensions...)
	for _, e := range p.exporters {
		if e.component != nil {
			all = append(all, startable{id: e.id, component: e.component})
		}
	}
	all = append(all, p.receivers...)
	for _, c := range all {
		if err := c.component.Start(ctx, p.host); err != nil {
			for i := len(started) - 1; i >= 0; i-- {
				_ = started[i].component.Shutdown(ctx)
			}
			return fmt.Errorf("starting %s: %w", c.id, err)
		}
		started = append(started, c)
	}
	// Start-up's own allocations are no burst.
	p.flushMu.Lock()
	p.allocatedAtFlush = allocatedBytes()
	p.flushMu.Unlock()
	return nil
}

// HandsOff reports whether every exporter's export waits for no answer
// (see components.ExportPolicy.HandsOff).
func (p *Pipeline) HandsOff() bool {
	for _, e := range p.exporters {
		if !e.handsOff {
			return false
		}
	}
	return len(p.exporters) > 0
}

// Buffered returns the number of spans waiting for the next flush, kept
// ones included.
func (p *Pipeline) Buffered() int { return p.buffer.Len() }

// BufferFill is the larger of the buffer's span and byte fill, 0 to 1.
func (p *Pipeline) BufferFill() float64 {
	spans, bytes := p.buffer.Len(), p.buffer.Bytes()
	return max(float64(spans)/float64(max(p.buffer.maxSpans, 1)), float64(bytes)/float64(max(p.buffer.maxBytes, 1)))
}

// WaitInvocation blocks until the spans of the invocation requestID are
// all in (see Buffer.WaitInvocation) or ctx is done.
func (p *Pipeline) WaitInvocation(ctx context.Context, requestID string) error {
	return p.buffer.WaitInvocation(ctx, requestID)
}

// AwaitsSpans reports whether spans of the invocation requestID are known
// to be on their way (see Buffer.AwaitsSpans).
func (p *Pipeline) AwaitsSpans(requestID string) bool {
	return p.buffer.AwaitsSpans(requestID)
}

// GiveUpInvocation declares the invocation requestID complete with what
// arrived (see Buffer.GiveUpInvocation).
func (p *Pipeline) GiveUpInvocation(requestID string) int {
	return p.buffer.GiveUpInvocation(requestID)
}

// freeMemoryAfter: when the process allocated at least this many bytes
// since the previous flush (a burst of large requests was decoded and is now
// garbage), the flush hands the free memory back to the operating system, so
// that a frozen environment does not keep a burst's memory. Below it nothing
// is forced: a forced collection after every invocation's few spans would
// add milliseconds of CPU to every invocation's billed time, for memory the
// next invocation reuses anyway.
const freeMemoryAfter = 16 << 20

// allocatedBytes is the process's cumulative heap allocation (cheap to read:
// no stop-the-world, unlike runtime.ReadMemStats).
func allocatedBytes() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

// abandonGrace is how long a flush waits past its deadline for an exporter
// that does not honour it before returning without it.
const abandonGrace = 20 * time.Millisecond

// Flush offers every exporter the spans it kept from earlier flushes (oldest
// first) and everything received since, and waits until each has finished
// or ctx is done (translation included). What an exporter could not deliver
// for a transient reason (X-Ray throttling, 5xx, unreachable, the deadline)
// is kept for the next flush within the buffer's budget; what it cannot
// deliver at all is dropped and counted by reason.
func (p *Pipeline) Flush(ctx context.Context, fields ...zap.Field) FlushResult {
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	start := time.Now()
	taken := p.buffer.Take()
	result := FlushResult{Spans: taken.Spans, Rejected: taken.Rejected, Evicted: taken.Evicted, Late: taken.Late, Missing: taken.Missing, Exporters: make([]ExporterResult, len(p.exporters))}
	done := make([]chan components.SendResult, len(p.exporters))
	for i, e := range p.exporters {
		input := taken.Retained[i]
		offered := taken.RetainedSpans[i] + taken.Spans
		if i < len(p.exporters)-1 {
			cp := ptrace.NewTraces()
			taken.New.CopyTo(cp)
			cp.ResourceSpans().MoveAndAppendTo(input.ResourceSpans())
		} else {
			taken.New.ResourceSpans().MoveAndAppendTo(input.ResourceSpans())
		}
		result.Exporters[i] = ExporterResult{ID: e.id, Offered: offered}
		done[i] = make(chan components.SendResult, 1)
		go func() {
			defer func() {
				if r := recover(); r != nil {
					recovered(p.logger, "exporter "+e.id.String(), r)
					done[i] <- components.SendResult{Dropped: map[string]int{components.DropPanic: offered}, Err: fmt.Errorf("exporter panicked: %v", r)}
				}
			}()
			if offered == 0 {
				done[i] <- components.SendResult{}
				return
			}
			done[i] <- e.sender.Send(ctx, input)
		}()
	}
	var abandon <-chan time.Time
	for i := range p.exporters {
		var sr components.SendResult
		select {
		case sr = <-done[i]:
		case <-orTimer(ctx, &abandon):
			// An exporter that ignores the deadline: return without it.
			// Its spans are lost with it.
			sr = components.SendResult{Dropped: map[string]int{ReasonAbandoned: result.Exporters[i].Offered}, Err: fmt.Errorf("still busy %v after the flush deadline", abandonGrace)}
		}
		er := &result.Exporters[i]
		er.Exported, er.Dropped, er.Repairs, er.Err = sr.Stored, sr.Dropped, sr.Repairs, sr.Err
		er.Calls, er.FailedCalls, er.UnsentCalls, er.RetriedCalls = sr.Calls, sr.FailedCalls, sr.Unsent, sr.RetriedCalls
		if sr.RetrySpans > 0 {
			evicted := p.buffer.Retain(i, sr.Retry, sr.RetrySpans)
			er.Retained = sr.RetrySpans - evicted
			if evicted > 0 {
				if er.Dropped == nil {
					er.Dropped = map[string]int{}
				}
				er.Dropped[ReasonEvicted] += evicted
			}
		}
	}
	result.Duration = time.Since(start)
	p.log(result, fields)
	if allocated := allocatedBytes(); allocated-p.allocatedAtFlush >= freeMemoryAfter {
		debug.FreeOSMemory()
		p.allocatedAtFlush = allocatedBytes()
	} else {
		p.allocatedAtFlush = allocated
	}
	return result
}

// orTimer returns ctx.Done() until it is closed, then a timer of
// abandonGrace started at that moment.
func orTimer(ctx context.Context, abandon *<-chan time.Time) <-chan time.Time {
	if *abandon != nil {
		return *abandon
	}
	select {
	case <-ctx.Done():
		*abandon = time.After(abandonGrace)
		return *abandon
	default:
	}
	ch := make(chan time.Time, 1)
	go func() {
		<-ctx.Done()
		time.Sleep(abandonGrace)
		ch <- time.Now()
	}()
	*abandon = ch
	return ch
}

func (p *Pipeline) log(r FlushResult, fields []zap.Field) {
	all := append([]zap.Field{
		zap.Int("spans", r.Spans),
		zap.Int("exported_spans", r.Exported()),
		zap.Int("dropped_spans", r.Dropped()),
		zap.Int("retained_spans", r.Retained()),
		zap.Float64("duration_ms", float64(r.Duration.Microseconds())/1000),
	}, fields...)
	if r.Rejected > 0 {
		all = append(all, zap.Int("rejected_spans", r.Rejected))
	}
	if r.Late > 0 {
		all = append(all, zap.Int("late_spans", r.Late))
	}
	if r.Missing > 0 {
		all = append(all, zap.Int("missing_spans", r.Missing))
	}
	if reasons := r.DroppedReasons(); len(reasons) > 0 {
		all = append(all, zap.Any("dropped_reasons", reasons))
	}
	var errs []error
	failed, unsent, retried := 0, 0, 0
	repairs := map[string]int{}
	for _, e := range r.Exporters {
		if e.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.ID, e.Err))
		}
		failed += e.FailedCalls
		unsent += e.UnsentCalls
		retried += e.RetriedCalls
		for k, v := range e.Repairs {
			repairs[k] += v
		}
	}
	if failed > 0 || unsent > 0 {
		all = append(all, zap.Int("failed_batches", failed), zap.Int("unattempted_batches", unsent))
	}
	if retried > 0 {
		all = append(all, zap.Int("retried_batches", retried))
	}
	if len(repairs) > 0 {
		all = append(all, zap.Any("repaired_documents", repairs))
	}
	if n := Panics(); n > 0 {
		all = append(all, zap.Int64("panics_recovered", n))
	}
	switch {
	case r.Dropped() > 0:
		p.logger.Warn("flush dropped spans", append(all, zap.Error(errors.Join(errs...)))...)
	case r.Retained() > 0:
		p.logger.Warn("flush kept spans for a retry", append(all, zap.Error(errors.Join(errs...)))...)
	case len(errs) > 0:
		p.logger.Warn("flush", append(all, zap.Error(errors.Join(errs...)))...)
	case r.Late > 0:
		p.logger.Warn("flush exported late spans", all...)
	case r.Spans > 0 || r.Exported() > 0:
		p.logger.Info("flush", all...)
	default:
		p.logger.Debug("flush", all...)
	}
}

// Shutdown stops the receivers, drains the buffer into the exporters within
// ctx, then stops the exporters and extensions.
func (p *Pipeline) Shutdown(ctx context.Context, fields ...zap.Field) FlushResult {
	for i := len(p.receivers) - 1; i >= 0; i-- {
		if err := p.receivers[i].component.Shutdown(ctx); err != nil {
			p.logger.Warn("receiver shutdown failed", zap.Stringer("id", p.receivers[i].id), zap.Error(err))
		}
	}
	result := p.Flush(ctx, fields...)
	// What is still kept is lost with the environment.
	if left := p.buffer.Take(); sum(left.RetainedSpans) > 0 {
		p.logger.Warn("spans lost at shutdown", zap.Int("dropped_spans", sum(left.RetainedSpans)), zap.Any("dropped_reasons", map[string]int{ReasonShutdown: sum(left.RetainedSpans)}))
		for i, n := range left.RetainedSpans {
			if n > 0 {
				if result.Exporters[i].Dropped == nil {
					result.Exporters[i].Dropped = map[string]int{}
				}
				result.Exporters[i].Dropped[ReasonShutdown] += n
				result.Exporters[i].Retained -= n
			}
		}
	}
	for i := len(p.exporters) - 1; i >= 0; i-- {
		if err := p.exporters[i].sender.Shutdown(ctx); err != nil {
			p.logger.Warn("exporter shutdown failed", zap.Stringer("id", p.exporters[i].id), zap.Error(err))
		}
	}
	for i := len(p.extensions) - 1; i >= 0; i-- {
		if err := p.extensions[i].component.Shutdown(ctx); err != nil {
			p.logger.Warn("extension shutdown failed", zap.Stringer("id", p.extensions[i].id), zap.Error(err))
		}
	}
	return result
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
