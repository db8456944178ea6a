package config

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultSettingsAreTheContracts(t *testing.T) {
	s, err := SettingsFromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.ConfigURI != contract.DefaultConfigURI || s.FlushTimeout != contract.DefaultFlushTimeout ||
		s.LogLevel.String() != contract.DefaultLogLevel || s.TelemetryListen != "sandbox.localdomain:0" ||
		s.MaxBufferedSpans != contract.DefaultMaxBufferedSpans || string(s.OnStartupFailure) != contract.DefaultOnStartupFailure || s.PreloadCounts {
		t.Fatalf("defaults = %+v", s)
	}
}

func TestTheContractsDefaultsAreValidSettings(t *testing.T) {
	_, err := SettingsFromEnv(env(map[string]string{
		contract.EnvFlushTimeout:     contract.DefaultFlushTimeout.String(),
		contract.EnvLogLevel:         contract.DefaultLogLevel,
		contract.EnvMaxBufferedSpans: strconv.Itoa(contract.DefaultMaxBufferedSpans),
		contract.EnvOnStartupFailure: contract.DefaultOnStartupFailure,
	}))
	if err != nil {
		t.Fatalf("the contract's defaults are refused: %v", err)
	}
}

func TestValidSettings(t *testing.T) {
	s, err := SettingsFromEnv(env(map[string]string{
		contract.EnvConfigURI:        "env:MY_CONFIG",
		contract.EnvFlushTimeout:     "750ms",
		contract.EnvLogLevel:         "DEBUG",
		contract.EnvTelemetryListen:  "127.0.0.1:4243",
		contract.EnvMaxBufferedSpans: "500",
		contract.EnvOnStartupFailure: "init-error",
		EnvExportMode:                "Every-Invocation",
		envFunctionName:              "orders-fn",
		envNodeOptions:               "--enable-source-maps --import " + contract.PreloadImportPath,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.ConfigURI != "env:MY_CONFIG" || s.FlushTimeout != 750*time.Millisecond || s.LogLevel != zapcore.DebugLevel ||
		s.TelemetryListen != "127.0.0.1:4243" || s.MaxBufferedSpans != 500 || s.OnStartupFailure != InitError ||
		s.ExportMode != ExportEveryInvocation || s.FunctionName != "orders-fn" || !s.PreloadCounts {
		t.Fatalf("settings = %+v", s)
	}
	if s, _ := SettingsFromEnv(env(map[string]string{contract.EnvFlushTimeout: "1500"})); s.FlushTimeout != 1500*time.Millisecond {
		t.Errorf("plain milliseconds: %v", s.FlushTimeout)
	}
}

func TestInvalidSettingsNameVariableValueAndFix(t *testing.T) {
	tests := map[string][]string{
		contract.EnvFlushTimeout:     {"soon", "1h", "-1s"},
		contract.EnvLogLevel:         {"verbose", "fatal"},
		contract.EnvTelemetryListen:  {"sandbox", "0.0.0.0:4243", "10.0.0.1:4243"},
		EnvMaxBufferedBytes:          {"0", "lots", "1000"},
		contract.EnvMaxBufferedSpans: {"0", "many"},
		contract.EnvOnStartupFailure: {"crash"},
		EnvExportMode:                {"deferred"},
	}
	for name, values := range tests {
		for _, v := range values {
			s, err := SettingsFromEnv(env(map[string]string{name: v}))
			if err == nil {
				t.Errorf("%s=%q accepted", name, v)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, name) || !strings.Contains(msg, `"`+v+`"`) || !strings.Contains(msg, "use ") {
				t.Errorf("%s=%q: error %q must name the variable, the value and the fix", name, v, msg)
			}
			if s != DefaultSettings() {
				t.Errorf("%s=%q: invalid value changed the settings: %+v", name, v, s)
			}
		}
	}
}

func TestOneJSONObjectPerLineWithLevelFiltering(t *testing.T) {
	var buf bytes.Buffer
	logger := NewLogger(&buf, zapcore.InfoLevel)
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
	if entry["msg"] != "flush" || entry["dropped_spans"] != float64(4) || entry["level"] != "info" || entry["logger"] != contract.ExtensionName {
		t.Fatalf("entry = %v", entry)
	}
}
