// Package pipeline builds the configured receivers, exporters and extensions
// from their factories and moves spans from the receivers to the exporters
// only when asked to: at the end of each invoke and at shutdown.
package pipeline

import (
	"context"
	"errors"
	"fmt"
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
}

type startable struct {
	id        component.ID
	component component.Component
}

type namedExporter struct {
	id       component.ID
	exporter exporter.Traces
	policy   components.ExportPolicy
}

// ExporterResult is the outcome of one flush for one exporter.
type ExporterResult struct {
	ID component.ID
	// Exported spans were in calls the exporter completed.
	Exported int
	// Dropped spans were in calls that failed, or in batches not sent.
	Dropped int
	// Batches is the number of exporter calls the flush was cut into.
	Batches int
	// FailedBatches were sent and failed.
	FailedBatches int
	// UnattemptedBatches were not sent: the deadline had passed or the
	// endpoint could not be reached.
	UnattemptedBatches int
	// Err is the first error of the flush.
	Err error
}

// FlushResult is the outcome of one flush.
type FlushResult struct {
	// Spans taken from the buffer.
	Spans int
	// Rejected spans the buffer refused since the previous flush because it was full.
	Rejected  int
	Exporters []ExporterResult
	Duration  time.Duration
}

// Exported is the number of spans every exporter accepted, summed over exporters.
func (r FlushResult) Exported() int {
	n := 0
	for _, e := range r.Exporters {
		n += e.Exported
	}
	return n
}

// Dropped is the number of spans lost in this flush, summed over exporters,
// plus the spans the full buffer refused.
func (r FlushResult) Dropped() int {
	n := r.Rejected
	for _, e := range r.Exporters {
		n += e.Dropped
	}
	return n
}

// New creates every component of cfg. Nothing listens or connects until Start.
func New(ctx context.Context, cfg *config.Config, factories components.Factories, maxBufferedSpans int, logger *zap.Logger) (*Pipeline, error) {
	p := &Pipeline{
		logger: logger,
		buffer: NewBuffer(maxBufferedSpans),
		host:   &host{extensions: map[component.ID]component.Component{}},
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
		exp, err := factories.Exporters[c.ID.Type()].CreateTraces(ctx, exporter.Settings{
			ID: c.ID, TelemetrySettings: telemetry(logger, "exporter", c.ID), BuildInfo: components.BuildInfo(),
		}, c.Config)
		if err != nil {
			return nil, fmt.Errorf("exporters::%s: %w", c.ID, err)
		}
		p.exporters = append(p.exporters, namedExporter{id: c.ID, exporter: exp, policy: factories.ExportPolicy(c.ID.Type(), c.Config)})
	}
	for _, c := range cfg.Receivers {
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
		all = append(all, startable{id: e.id, component: e.exporter})
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
	return nil
}

// Buffered returns the number of spans waiting for the next flush.
func (p *Pipeline) Buffered() int { return p.buffer.Len() }

// Flush hands everything buffered to every exporter and waits until each has
// finished or ctx is done. Spans an exporter could not deliver by then are
// dropped and counted: they are never kept for a later flush, because Lambda
// may freeze or end the environment at any moment after this returns.
func (p *Pipeline) Flush(ctx context.Context, fields ...zap.Field) FlushResult {
	p.flushMu.Lock()
	defer p.flushMu.Unlock()
	start := time.Now()
	td, spans, rejected := p.buffer.Take()
	result := FlushResult{Spans: spans, Rejected: rejected, Exporters: make([]ExporterResult, len(p.exporters))}
	var wg sync.WaitGroup
	for i, e := range p.exporters {
		batch := td
		if i < len(p.exporters)-1 {
			batch = ptrace.NewTraces()
			td.CopyTo(batch)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			result.Exporters[i] = exportFlush(ctx, e, batch)
		}()
	}
	wg.Wait()
	result.Duration = time.Since(start)
	p.log(result, fields)
	return result
}

func (p *Pipeline) log(r FlushResult, fields []zap.Field) {
	all := append([]zap.Field{
		zap.Int("spans", r.Spans),
		zap.Int("exported_spans", r.Exported()),
		zap.Int("dropped_spans", r.Dropped()),
		zap.Float64("duration_ms", float64(r.Duration.Microseconds())/1000),
	}, fields...)
	if r.Rejected > 0 {
		all = append(all, zap.Int("rejected_spans", r.Rejected))
	}
	var errs []error
	failed, unattempted := 0, 0
	for _, e := range r.Exporters {
		if e.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.ID, e.Err))
		}
		failed += e.FailedBatches
		unattempted += e.UnattemptedBatches
	}
	if failed > 0 || unattempted > 0 {
		all = append(all, zap.Int("failed_batches", failed), zap.Int("unattempted_batches", unattempted))
	}
	switch {
	case len(errs) > 0 || r.Rejected > 0:
		p.logger.Warn("flush dropped spans", append(all, zap.Error(errors.Join(errs...)))...)
	case r.Spans > 0:
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
	for i := len(p.exporters) - 1; i >= 0; i-- {
		if err := p.exporters[i].exporter.Shutdown(ctx); err != nil {
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
