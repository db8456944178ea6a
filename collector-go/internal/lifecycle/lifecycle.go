// Package lifecycle drives the extension through the Lambda execution
// environment lifecycle
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html):
// register while starting the pipeline, learn from the Telemetry API when each invoke
// is done, flush before asking for the next event, drain on SHUTDOWN.
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

// Error types reported to Lambda; Lambda requires the "Extension." prefix.
const (
	ErrorTypeStartup = "Extension.CollectorStartFailed"
	ErrorTypeFatal   = "Extension.CollectorFatal"
)

// Pipeline is what the lifecycle needs from the collector pipeline.
type Pipeline interface {
	Flush(ctx context.Context, fields ...zap.Field) pipeline.FlushResult
	Shutdown(ctx context.Context, fields ...zap.Field) pipeline.FlushResult
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
		switch ev.EventType {
		case extensionapi.Invoke:
			c.safely("invoke", func() { c.invoke(ctx, ev) })
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

// invoke handles one INVOKE: wait for the runtime to finish this request,
// then export everything received so far, all before the invoke deadline.
func (c *coordinator) invoke(ctx context.Context, ev *extensionapi.Event) {
	if c.pipeline == nil {
		return
	}
	deadline := ev.Deadline()
	if deadline.IsZero() {
		deadline = time.Now().Add(c.opts.Settings.FlushTimeout + deadlineMargin)
	}
	trigger := "next_event"
	if c.telemetry != nil {
		waitCtx, cancel := context.WithDeadline(ctx, deadline.Add(-deadlineMargin))
		status, err := c.telemetry.WaitRuntimeDone(waitCtx, ev.RequestID)
		cancel()
		if err != nil {
			// The function ran into its timeout (or we are stopping): Lambda
			// resets the environment and sends SHUTDOWN, where the buffer drains.
			c.logger.Warn("no platform.runtimeDone before the invoke deadline: spans stay buffered for SHUTDOWN or the next invoke",
				zap.String("request_id", ev.RequestID))
			return
		}
		trigger = "runtimeDone"
		c.logger.Debug("runtime done", zap.String("request_id", ev.RequestID), zap.String("status", status))
	}
	flushDeadline := time.Now().Add(c.opts.Settings.FlushTimeout)
	if limit := deadline.Add(-deadlineMargin); limit.Before(flushDeadline) {
		flushDeadline = limit
	}
	if time.Until(flushDeadline) < minFlushWindow && trigger == "runtimeDone" {
		c.logger.Warn("too close to the invoke deadline to export: spans stay buffered for the next event",
			zap.String("request_id", ev.RequestID), zap.Duration("left", time.Until(deadline)))
		return
	}
	flushCtx, cancel := context.WithDeadline(context.Background(), flushDeadline)
	defer cancel()
	c.pipeline.Flush(flushCtx, zap.String("trigger", trigger), zap.String("request_id", ev.RequestID))
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
