package pipeline

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
)

// exporterSender delivers spans through an exporter built by its factory,
// in the batches its export policy asks for, policy.Workers calls at a time.
// A successful call stores its spans; a permanent error (4xx) drops them; any
// other failure, and a batch not sent because the deadline passed or the
// endpoint cannot be reached at all, keeps them for a retry.
type exporterSender struct {
	exporter exporter.Traces
	policy   components.ExportPolicy
}

func (s exporterSender) Shutdown(ctx context.Context) error { return s.exporter.Shutdown(ctx) }

func (s exporterSender) Send(ctx context.Context, td ptrace.Traces) components.SendResult {
	batches := splitTraces(td, s.policy.MaxDocuments, s.policy.Documents)
	var result components.SendResult
	if len(batches) == 0 {
		return result
	}
	result.Retry = ptrace.NewTraces()
	record := func(b batch, err error, attempted bool) (unreachable bool) {
		if attempted {
			result.Calls++
		} else {
			result.Unsent++
		}
		switch {
		case err == nil:
			result.Stored += b.spans
			return false
		case errors.Is(err, errPanicked):
			result.Drop(components.DropPanic, b.spans)
		case attempted && consumererror.IsPermanent(err):
			result.Drop(components.DropRejected, b.spans)
		default:
			b.traces.ResourceSpans().MoveAndAppendTo(result.Retry.ResourceSpans())
			result.RetrySpans += b.spans
		}
		if !attempted {
			return false
		}
		result.FailedCalls++
		if result.Err == nil {
			result.Err = err
		}
		return components.IsUnreachable(err)
	}
	unreachable := components.SendBatches(ctx, s.policy.Workers, batches, func(b batch) func() bool {
		err := consume(ctx, s.exporter, b.traces)
		return func() bool { return record(b, err, true) }
	}, func(b batch) { record(b, errSkipped, false) })
	if result.Unsent > 0 {
		reason := "the endpoint cannot be reached"
		if !unreachable && ctx.Err() != nil {
			reason = "the flush deadline passed: " + ctx.Err().Error()
		}
		result.Err = errors.Join(result.Err, fmt.Errorf("%d of %d batches not sent: %s", result.Unsent, len(batches), reason))
	}
	return result
}

var (
	errSkipped  = errors.New("not sent")
	errPanicked = errors.New("exporter panicked")
)

// consume hands one batch to the exporter; a panic counts as a failure.
func consume(ctx context.Context, e exporter.Traces, td ptrace.Traces) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanicked, r)
		}
	}()
	return e.ConsumeTraces(ctx, td)
}
