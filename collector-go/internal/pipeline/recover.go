package pipeline

import (
	"runtime/debug"
	"sync/atomic"

	"go.uber.org/zap"
)

// panics counts the panics recovered in this process.
var panics atomic.Int64

// Panics returns the number of panics recovered so far; every flush line
// reports it as panics_recovered once it is above 0.
func Panics() int64 { return panics.Load() }

// Recovered logs and counts a panic recovered in where; the extension keeps
// running, because a dying extension fails the invocation on Lambda
// (Extension.Crash).
func Recovered(logger *zap.Logger, where string, r any) {
	recovered(logger, where, r)
}

func recovered(logger *zap.Logger, where string, r any) {
	panics.Add(1)
	logger.Error("panic recovered", zap.String("in", where), zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
}
