package components

import (
	"context"
	"sync"
)

// SendBatches sends batches in order on at most workers goroutines. send
// makes the call outside any lock and returns what to record of it; that
// record runs under a lock shared with skip and reports whether the endpoint
// cannot be reached. Once it cannot, or ctx is done, the batches not yet
// taken go to skip (under the same lock) instead of send. SendBatches reports
// whether the endpoint was found unreachable.
func SendBatches[B any](ctx context.Context, workers int, batches []B, send func(B) (record func() (unreachable bool)), skip func(B)) bool {
	var (
		mu          sync.Mutex
		next        int
		unreachable bool
		wg          sync.WaitGroup
	)
	take := func() (B, bool, bool) {
		mu.Lock()
		defer mu.Unlock()
		var b B
		if next >= len(batches) {
			return b, false, false
		}
		b = batches[next]
		next++
		return b, true, unreachable || ctx.Err() != nil
	}
	for range min(max(1, workers), len(batches)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b, ok, stop := take()
				if !ok {
					return
				}
				if stop {
					mu.Lock()
					skip(b)
					mu.Unlock()
					continue
				}
				record := send(b)
				mu.Lock()
				if record() {
					unreachable = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return unreachable
}
