package settings

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	s, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.ConfigURI != "file:/opt/collector-config/config.yaml" || s.FlushTimeout != 2*time.Second ||
		s.LogLevel != zapcore.InfoLevel || s.TelemetryListen != "sandbox.localdomain:0" || s.OnStartupFailure != Continue {
		t.Fatalf("defaults = %+v", s)
	}
}

func TestValidValues(t *testing.T) {
	s, err := FromEnv(env(map[string]string{
		EnvConfigURI:        "env:MY_CONFIG",
		EnvFlushTimeout:     "750ms",
		EnvLogLevel:         "DEBUG",
		EnvTelemetryListen:  "127.0.0.1:4243",
		EnvMaxBufferedSpans: "500",
		EnvOnStartupFailure: "init-error",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.ConfigURI != "env:MY_CONFIG" || s.FlushTimeout != 750*time.Millisecond || s.LogLevel != zapcore.DebugLevel ||
		s.TelemetryListen != "127.0.0.1:4243" || s.MaxBufferedSpans != 500 || s.OnStartupFailure != InitError {
		t.Fatalf("settings = %+v", s)
	}
	if s, _ := FromEnv(env(map[string]string{EnvFlushTimeout: "1500"})); s.FlushTimeout != 1500*time.Millisecond {
		t.Errorf("plain milliseconds: %v", s.FlushTimeout)
	}
}

func TestInvalidValuesNameVariableValueAndFix(t *testing.T) {
	tests := map[string][]string{
		EnvFlushTimeout:     {"soon", "1h", "-1s"},
		EnvLogLevel:         {"verbose", "fatal"},
		EnvTelemetryListen:  {"sandbox"},
		EnvMaxBufferedSpans: {"0", "many"},
		EnvOnStartupFailure: {"crash"},
	}
	for name, values := range tests {
		for _, v := range values {
			s, err := FromEnv(env(map[string]string{name: v}))
			if err == nil {
				t.Errorf("%s=%q accepted", name, v)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, name) || !strings.Contains(msg, `"`+v+`"`) || !strings.Contains(msg, "use ") {
				t.Errorf("%s=%q: error %q must name the variable, the value and the fix", name, v, msg)
			}
			if s != Default() {
				t.Errorf("%s=%q: invalid value changed the settings: %+v", name, v, s)
			}
		}
	}
}
