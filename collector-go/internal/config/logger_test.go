package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestOneJSONObjectPerLineWithLevelFiltering(t *testing.T) {
	var buf bytes.Buffer
	logger := New(&buf, zapcore.InfoLevel)
	logger.Debug("hidden")
	logger.Info("flush", zap.Int("dropped_spans", 4))
	_ = logger.Sync()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line (debug filtered), got %d: %q", len(lines), buf.String())
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if entry["msg"] != "flush" || entry["dropped_spans"] != float64(4) || entry["level"] != "info" || entry["logger"] != "otel-xray-collector" {
		t.Fatalf("entry = %v", entry)
	}
}
