// Package logging builds the extension's logger: one JSON object per line on
// stderr, which Lambda forwards to CloudWatch Logs, so every field can be
// searched (for example "dropped_spans").
package logging

import (
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a JSON logger writing entries at level or above to w.
func New(w io.Writer, level zapcore.Level) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	enc.TimeKey = "time"
	enc.MessageKey = "msg"
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core).Named("otel-xray-collector")
}

// NewStderr returns a JSON logger on stderr.
func NewStderr(level zapcore.Level) *zap.Logger { return New(os.Stderr, level) }
