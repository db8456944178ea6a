package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// exportFlush sends td to one exporter in the batches its policy asks for,
// policy.Workers calls at a time, and counts every span of a failed call as
// dropped and every span of a successful call as exported.
//
// When a call fails because the endpoint cannot be reached at all (the
// connection is refused, the name does not resolve), the batches not yet
// sent are dropped without a call: they would fail the same way, and
// returning early lets Lambda freeze the environment sooner.
func exportFlush(ctx context.Context, e namedExporter, td ptrace.Traces) ExporterResult {
	batches := splitTraces(td, e.policy.MaxDocuments, e.policy.Documents)
	result := ExporterResult{ID: e.id, Batches: len(batches)}
	if len(batches) == 0 {
		return result
	}
	var (
		mu          sync.Mutex
		next        int
		unreachable bool
		wg          sync.WaitGroup
	)
	// take hands out the next batch, or reports that none is left.
	take := func() (batch, bool, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(batches) {
			return batch{}, false, false
		}
		b := batches[next]
		next++
		return b, true, unreachable || ctx.Err() != nil
	}
	record := func(b batch, err error, attempted bool) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			result.Exported += b.spans
			return
		}
		result.Dropped += b.spans
		if !attempted {
			result.UnattemptedBatches++
			return
		}
		result.FailedBatches++
		if result.Err == nil {
			result.Err = err
		}
		if isUnreachable(err) {
			unreachable = true
		}
	}
	workers := min(e.policy.Workers, len(batches))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b, ok, skip := take()
				if !ok {
					return
				}
				if skip {
					record(b, errSkipped, false)
					continue
				}
				record(b, consume(ctx, e, b.traces), true)
			}
		}()
	}
	wg.Wait()
	if result.UnattemptedBatches > 0 {
		reason := "the endpoint cannot be reached"
		if !unreachable && ctx.Err() != nil {
			reason = "the flush deadline passed: " + ctx.Err().Error()
		}
		result.Err = errors.Join(result.Err, fmt.Errorf("%d of %d batches not sent: %s", result.UnattemptedBatches, result.Batches, reason))
	}
	return result
}

var errSkipped = errors.New("not sent")

// consume hands one batch to the exporter; a panic counts as a failure.
func consume(ctx context.Context, e namedExporter, td ptrace.Traces) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("exporter panicked: %v", r)
		}
	}()
	return e.exporter.ConsumeTraces(ctx, td)
}

// isUnreachable reports whether err is a failure to connect at all: a dial
// error (connection refused, no route, unknown host) rather than an answer
// or a broken connection.
func isUnreachable(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}
