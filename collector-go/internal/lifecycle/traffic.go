package lifecycle

import "time"

const (
	// steadyGap: an INVOKE arriving less than this after the extension
	// asked for the next event continues a run of steady traffic.
	steadyGap = 100 * time.Millisecond
	// steadyRun INVOKEs in a row within steadyGap switch to deferred export.
	steadyRun = 3
	// In deferred mode an invocation exports the buffered spans alongside
	// its handler when deferInterval has passed since the last export, or
	// deferSpans are buffered, or the buffer is deferFill full.
	deferInterval = 2 * time.Second
	deferSpans    = 500
	deferFill     = 0.25
)

// traffic tells low traffic (export before /event/next) from steady
// traffic (export deferred into later invocations).
type traffic struct {
	askedAt time.Time
	run     int
	// exportedAt is when the last export started; retrying is set when it
	// kept spans for a retry (the destination failed), and then only
	// deferInterval starts the next deferred export.
	exportedAt time.Time
	retrying   bool
}

// asked records that the extension asks for the next event.
func (t *traffic) asked(now time.Time) { t.askedAt = now }

// arrive records an INVOKE arriving at now and reports whether traffic is
// steady.
func (t *traffic) arrive(now time.Time) bool {
	if !t.askedAt.IsZero() && now.Sub(t.askedAt) < steadyGap {
		t.run++
	} else {
		t.run = 0
	}
	return t.run >= steadyRun
}

// due reports whether spans deferred at steady traffic should leave now.
func (t *traffic) due(now time.Time, buffered int, fill float64) bool {
	if buffered == 0 {
		return false
	}
	if now.Sub(t.exportedAt) >= deferInterval {
		return true
	}
	return !t.retrying && (buffered >= deferSpans || fill >= deferFill)
}
