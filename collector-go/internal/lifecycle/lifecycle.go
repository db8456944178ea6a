// Package lifecycle drives the extension through the Lambda execution
// environment lifecycle
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html):
// register while starting the pipeline, learn when each invocation's spans
// are in (from its handler span, else from the Telemetry API), export them
// before asking for the next event at low traffic or alongside a later
// invocation at steady traffic, drain on SHUTDOWN.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/config"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/extensionapi"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/pipeline"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/telemetryapi"
)

// deadlineMargin is kept between the end of a flush and Lambda's deadline,
// for the /event/next round trip and process exit.
const deadlineMargin = 50 * time.Millisecond

// minFlushWindow: when less time than this is left before the invoke deadline
// after runtimeDone, spans stay buffered for the next event instead of being
// dropped by a flush that cannot finish.
const minFlushWindow = 100 * time.Millisecond

// missingSpansGrace is how long, after platform.runtimeDone, the extension
// still waits for spans the function's SDK counted on the handler span and
// that have not arrived. The preload hands every span to the collector's
// socket before the runtime answers, so they are normally in before
// runtimeDone is even sent; the grace covers a loaded machine's scheduling,
// and is spent only when spans are really missing.
const missingSpansGrace = 500 * time.Millisecond

// Error types reported to Lambda; Lambda requires the "Extension." prefix.
const (
	ErrorTypeStartup = "Extension.CollectorStartFailed"
	ErrorTypeFatal   = "Extension.CollectorFatal"
)

// Pipeline is what the lifecycle needs from the collector pipeline.
type Pipeline interface {
	Flush(ctx context.Context, fields ...zap.Field) pipeline.FlushResult
	Shutdown(ctx context.Context, fields ...zap.Field) pipeline.FlushResult
	// WaitInvocation returns when the spans of the invocation requestID
	// are all in: its handler span arrived with every span it counts, and
	// no request is being read.
	WaitInvocation(ctx context.Context, requestID string) error
	// AwaitsSpans reports whether spans of requestID are known to be on
	// their way; GiveUpInvocation declares it complete without them,
	// counting them as missing, and returns how many.
	AwaitsSpans(requestID string) bool
	GiveUpInvocation(requestID string) int
	// Buffered is the number of spans held; BufferFill how full the
	// buffer is, 0 to 1.
	Buffered() int
	BufferFill() float64
	// HandsOff reports whether an export waits for no answer: it is then
	// never deferred.
	HandsOff() bool
}

// StartPipeline loads the configuration, builds the pipeline and starts it.
type StartPipeline func(ctx context.Context) (Pipeline, error)

// Options configure Run.
type Options struct {
	// RuntimeAPI is host:port of the Lambda APIs (AWS_LAMBDA_RUNTIME_API).
	RuntimeAPI string
	// ExtensionName must equal the executable's file name in /opt/extensions.
	ExtensionName string
	Settings      config.Settings
	// SettingsErr is a problem found while reading the settings; it counts
	// as a start-up failure.
	SettingsErr   error
	Logger        *zap.Logger
	StartPipeline StartPipeline
}

type coordinator struct {
	opts      Options
	logger    *zap.Logger
	client    *extensionapi.Client
	pipeline  Pipeline
	telemetry *telemetryapi.Listener
	traffic   traffic
}

// Run registers the extension and serves lifecycle events until SHUTDOWN or
// until ctx is cancelled. It returns nil after a clean shutdown.
//
// The pipeline starts while the registration is in flight: neither needs
// the other, and Lambda sends no event before every extension has
// registered and called /extension/event/next, which happens here only
// after both are done, so the receiver listens before the first INVOKE.
func Run(ctx context.Context, opts Options) error {
	c := &coordinator{opts: opts, logger: opts.Logger, client: extensionapi.NewClient(opts.RuntimeAPI)}
	started := time.Now()

	pipelineStarted := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				pipeline.Recovered(c.logger, "pipeline start", r)
				pipelineStarted <- fmt.Errorf("starting the pipeline panicked: %v", r)
			}
		}()
		pipelineStarted <- c.startPipeline(ctx)
	}()

	regCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, regErr := c.client.Register(regCtx, opts.ExtensionName, extensionapi.Invoke, extensionapi.Shutdown)
	cancel()
	startErr := <-pipelineStarted
	if regErr != nil {
		if c.pipeline != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			c.pipeline.Shutdown(stopCtx, zap.String("trigger", "register_failed"))
			cancel()
		}
		return fmt.Errorf("registering extension %q with the Extensions API at %s: %w", opts.ExtensionName, opts.RuntimeAPI, regErr)
	}

	if startErr == nil {
		// The Telemetry API subscription needs the extension ID.
		c.telemetry = c.subscribe(ctx)
	} else {
		c.logger.Error("collector did not start", zap.Error(startErr), zap.String("on_startup_failure", string(opts.Settings.OnStartupFailure)))
		if opts.Settings.OnStartupFailure == config.InitError {
			reportCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if reportErr := c.client.InitError(reportCtx, ErrorTypeStartup, startErr); reportErr != nil {
				c.logger.Error("reporting init error failed", zap.Error(reportErr))
			}
			return startErr
		}
		c.logger.Warn("the function runs untraced: spans sent to this collector are refused until the configuration is fixed")
	}
	c.logger.Info("ready",
		zap.Float64("startup_ms", float64(time.Since(started).Microseconds())/1000),
		zap.Bool("collecting", c.pipeline != nil),
		zap.Bool("telemetry_api", c.telemetry != nil),
	)
	return c.loop(ctx)
}

// startPipeline builds and starts the pipeline (the receiver then listens).
func (c *coordinator) startPipeline(ctx context.Context) error {
	if c.opts.SettingsErr != nil {
		return c.opts.SettingsErr
	}
	p, err := c.opts.StartPipeline(ctx)
	if err != nil {
		return err
	}
	c.pipeline = p
	return nil
}

// subscribe returns a listener receiving platform events, or nil when the
// Telemetry API is unavailable; the extension then flushes on the next event.
func (c *coordinator) subscribe(ctx context.Context) *telemetryapi.Listener {
	listener, err := telemetryapi.Listen(c.opts.Settings.TelemetryListen, c.logger.Named("telemetryapi"))
	if err != nil {
		c.logger.Warn("telemetry listener failed: exporting on the next event and at SHUTDOWN", zap.Error(err))
		return nil
	}
	subCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = telemetryapi.Subscribe(subCtx, c.opts.RuntimeAPI, c.client.ExtensionID(), listener.URI())
	if err == nil {
		c.logger.Debug("subscribed to the Telemetry API", zap.String("destination", listener.URI()))
		return listener
	}
	_ = listener.Close(ctx)
	if errors.Is(err, telemetryapi.ErrNotSupported) {
		c.logger.Info("Telemetry API not available: exporting on the next event and at SHUTDOWN", zap.Error(err))
	} else {
		c.logger.Warn("Telemetry API subscription failed: exporting on the next event and at SHUTDOWN", zap.Error(err))
	}
	return nil
}

func (c *coordinator) loop(ctx context.Context) error {
	for {
		c.traffic.asked(time.Now())
		ev, err := c.client.NextEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				c.shutdown(time.Time{}, "signal")
				return nil
			}
			c.logger.Error("event/next failed", zap.Error(err))
			c.shutdown(time.Time{}, "event_next_failed")
			reportCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if reportErr := c.client.ExitError(reportCtx, ErrorTypeFatal, err); reportErr != nil {
				c.logger.Error("reporting exit error failed", zap.Error(reportErr))
			}
			cancel()
			return err
		}
		arrived := time.Now()
		switch ev.EventType {
		case extensionapi.Invoke:
			c.safely("invoke", func() { c.invoke(ctx, ev, arrived) })
		case extensionapi.Shutdown:
			c.safely("shutdown", func() { c.shutdown(ev.Deadline(), ev.ShutdownReason) })
			return nil
		default:
			c.logger.Warn("ignoring unknown event", zap.String("event_type", string(ev.EventType)))
		}
	}
}

// safely runs f, recovering, logging and counting a panic: the extension
// must not exit during an invocation, because Lambda then fails the
// invocation (Extension.Crash) and resets the environment.
func (c *coordinator) safely(where string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			pipeline.Recovered(c.logger, where, r)
		}
	}()
	f()
}

// invoke handles one INVOKE. With the Telemetry API it exports adaptively:
//
//   - at low traffic it waits until the invocation's spans are all in (the
//     handler invocation's span arrived, or platform.runtimeDone, or the
//     deadline), exports them, and only then asks for the next event, so no
//     span waits in a frozen environment;
//   - at steady traffic (steadyRun INVOKEs in a row arriving within
//     steadyGap of the extension asking for them) it asks for the next
//     event at once: the spans wait in the buffer, and a later invocation
//     exports them alongside its handler, at most every deferInterval or
//     when deferSpans are buffered, and before its own /event/next;
//   - an invocation whose trace header says Sampled=0 makes no span: it
//     waits for nothing and exports nothing (spans earlier invocations left
//     go with the next export, or at SHUTDOWN).
//
// Without the Telemetry API it exports what earlier invocations left, at
// the start of each event.
func (c *coordinator) invoke(ctx context.Context, ev *extensionapi.Event, arrived time.Time) {
	if c.pipeline == nil {
		return
	}
	deadline := ev.Deadline()
	if deadline.IsZero() {
		deadline = arrived.Add(c.opts.Settings.FlushTimeout + deadlineMargin)
	}
	limit := deadline.Add(-deadlineMargin)
	if c.telemetry == nil {
		c.flush(limit, "next_event", ev.RequestID)
		return
	}
	// An export that waits for no answer (the X-Ray daemon) costs less
	// than deferring saves: every invocation exports its own spans, so
	// none waits for SHUTDOWN.
	steady := c.traffic.arrive(arrived) && c.opts.Settings.ExportMode != config.ExportEveryInvocation && !c.pipeline.HandsOff()

	// At steady traffic, the spans earlier invocations left leave alongside
	// this invocation's handler when due. (At low traffic the flush after
	// the invocation takes them.)
	var background <-chan struct{}
	if steady && c.traffic.due(arrived, c.pipeline.Buffered(), c.pipeline.BufferFill()) {
		background = c.exportInBackground(limit, ev.RequestID)
	}
	defer func() {
		// Nothing is in flight when the environment may freeze.
		if background != nil {
			<-background
		}
	}()
	if steady {
		c.logger.Debug("steady traffic: this invocation's spans leave with a later one", zap.String("request_id", ev.RequestID))
		return
	}
	if ev.Unsampled() {
		c.logger.Debug("invocation not sampled: nothing to wait for", zap.String("request_id", ev.RequestID))
		return
	}
	trigger, ok := c.waitInvocationDone(ctx, ev.RequestID, limit)
	if !ok {
		// The function ran into its timeout (or we are stopping): Lambda
		// resets the environment and sends SHUTDOWN, where the buffer drains.
		c.logger.Warn("neither the invocation's span nor platform.runtimeDone before the invoke deadline: spans stay buffered for SHUTDOWN or the next invoke",
			zap.String("request_id", ev.RequestID))
		return
	}
	c.flush(limit, trigger, ev.RequestID)
}

// waitInvocationDone waits until the spans of requestID are all in, at
// most until limit: its handler span arrived with every span it counts
// (trigger "invocation_span"), or the Telemetry API reported
// platform.runtimeDone ("runtimeDone") and no counted span is still
// expected. When counted spans are still missing missingSpansGrace after
// runtimeDone, the invocation is declared complete without them
// ("spans_missing"); they are counted as missing, and as late if they come.
func (c *coordinator) waitInvocationDone(ctx context.Context, requestID string, limit time.Time) (string, bool) {
	waitCtx, cancel := context.WithDeadline(ctx, limit)
	defer cancel()
	spansIn := make(chan struct{})
	go func() {
		if c.pipeline.WaitInvocation(waitCtx, requestID) == nil {
			close(spansIn)
		}
	}()
	runtimeDone := make(chan struct{})
	go func() {
		if status, err := c.telemetry.WaitRuntimeDone(waitCtx, requestID); err == nil {
			c.logger.Debug("runtime done", zap.String("request_id", requestID), zap.String("status", status))
			close(runtimeDone)
		}
	}()
	var grace <-chan time.Time
	for {
		select {
		case <-spansIn:
			return "invocation_span", true
		case <-runtimeDone:
			runtimeDone = nil
			if !c.pipeline.AwaitsSpans(requestID) {
				c.pipeline.GiveUpInvocation(requestID)
				return "runtimeDone", true
			}
			timer := time.NewTimer(missingSpansGrace)
			defer timer.Stop()
			grace = timer.C
		case <-grace:
			missing := c.pipeline.GiveUpInvocation(requestID)
			c.logger.Warn("spans of the invocation still missing after platform.runtimeDone: exporting what is in",
				zap.String("request_id", requestID), zap.Int("missing_spans", missing), zap.Duration("waited", missingSpansGrace))
			return "spans_missing", true
		case <-waitCtx.Done():
			select {
			case <-spansIn:
				return "invocation_span", true
			default:
			}
			c.pipeline.GiveUpInvocation(requestID)
			return "", false
		}
	}
}

// flush exports everything buffered, by the flush timeout and never past
// limit. After the invocation's end, when less than minFlushWindow is left,
// the spans stay buffered for the next event instead.
func (c *coordinator) flush(limit time.Time, trigger, requestID string) {
	flushDeadline := time.Now().Add(c.opts.Settings.FlushTimeout)
	if limit.Before(flushDeadline) {
		flushDeadline = limit
	}
	if time.Until(flushDeadline) < minFlushWindow && trigger != "next_event" {
		c.logger.Warn("too close to the invoke deadline to export: spans stay buffered for the next event",
			zap.String("request_id", requestID), zap.Duration("left", time.Until(limit.Add(deadlineMargin))))
		return
	}
	c.traffic.exportedAt = time.Now()
	flushCtx, cancel := context.WithDeadline(context.Background(), flushDeadline)
	defer cancel()
	result := c.pipeline.Flush(flushCtx, zap.String("trigger", trigger), zap.String("request_id", requestID))
	c.traffic.retrying = result.Retained() > 0
}

// exportInBackground starts exporting what is buffered, by the flush
// timeout and never past limit; the returned channel closes when it is
// done. It returns nil when too little time is left.
func (c *coordinator) exportInBackground(limit time.Time, requestID string) <-chan struct{} {
	flushDeadline := time.Now().Add(c.opts.Settings.FlushTimeout)
	if limit.Before(flushDeadline) {
		flushDeadline = limit
	}
	if time.Until(flushDeadline) < minFlushWindow {
		return nil
	}
	c.traffic.exportedAt = time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				pipeline.Recovered(c.logger, "deferred export", r)
			}
		}()
		ctx, cancel := context.WithDeadline(context.Background(), flushDeadline)
		defer cancel()
		result := c.pipeline.Flush(ctx, zap.String("trigger", "deferred"), zap.String("request_id", requestID))
		// Read by the next invoke, after this one waited for done.
		c.traffic.retrying = result.Retained() > 0
	}()
	return done
}

// shutdown drains the pipeline within Lambda's shutdown deadline.
func (c *coordinator) shutdown(deadline time.Time, reason string) {
	if c.telemetry != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_ = c.telemetry.Close(closeCtx)
		cancel()
	}
	if c.pipeline == nil {
		return
	}
	drainDeadline := time.Now().Add(c.opts.Settings.FlushTimeout)
	if !deadline.IsZero() {
		drainDeadline = deadline.Add(-deadlineMargin)
	}
	ctx, cancel := context.WithDeadline(context.Background(), drainDeadline)
	defer cancel()
	c.pipeline.Shutdown(ctx, zap.String("trigger", "shutdown"), zap.String("shutdown_reason", reason))
}
