package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/telemetryapi"
)

const (
	maxFlushTimeout      = 15 * time.Minute // the longest Lambda invoke
	defaultTelemetryPort = "0"
)

// StartupFailure says what to do when the collector cannot start.
type StartupFailure string

const (
	// Continue keeps the extension answering lifecycle events without
	// collecting, so the function runs untraced (fail open).
	Continue StartupFailure = "continue"
	// InitError reports the failure to /extension/init/error: Lambda then
	// fails the environment's initialisation and the function does not run.
	InitError StartupFailure = "init-error"
)

// Settings are the extension's knobs, read from the environment variables
// named in the contract package.
type Settings struct {
	ConfigURI        string
	FlushTimeout     time.Duration
	LogLevel         zapcore.Level
	TelemetryListen  string
	MaxBufferedSpans int
	OnStartupFailure StartupFailure
}

// DefaultSettings returns the settings used when no variable is set.
func DefaultSettings() Settings {
	level, _ := zapcore.ParseLevel(contract.DefaultLogLevel)
	return Settings{
		ConfigURI:        contract.DefaultConfigURI,
		FlushTimeout:     contract.DefaultFlushTimeout,
		LogLevel:         level,
		TelemetryListen:  telemetryapi.SandboxHost + ":" + defaultTelemetryPort,
		MaxBufferedSpans: contract.DefaultMaxBufferedSpans,
		OnStartupFailure: StartupFailure(contract.DefaultOnStartupFailure),
	}
}

// SettingsFromEnv reads the settings from lookup (os.LookupEnv in production). Every
// invalid value is reported, naming the variable, the value and the fix; the
// returned settings then hold the default for that variable.
func SettingsFromEnv(lookup func(string) (string, bool)) (Settings, error) {
	s := DefaultSettings()
	var errs []error
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	if v, ok := get(contract.EnvConfigURI); ok {
		s.ConfigURI = v
	}
	if v, ok := get(contract.EnvFlushTimeout); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			if ms, convErr := strconv.Atoi(v); convErr == nil {
				d, err = time.Duration(ms)*time.Millisecond, nil
			}
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s=%q is not a duration: use a Go duration such as 2s or 1500ms", contract.EnvFlushTimeout, v))
		case d <= 0 || d > maxFlushTimeout:
			errs = append(errs, fmt.Errorf("%s=%q is out of range: use a duration above 0 and at most %v", contract.EnvFlushTimeout, v, maxFlushTimeout))
		default:
			s.FlushTimeout = d
		}
	}
	if v, ok := get(contract.EnvLogLevel); ok {
		lvl, err := zapcore.ParseLevel(strings.ToLower(v))
		if err != nil || lvl < zapcore.DebugLevel || lvl > zapcore.ErrorLevel {
			errs = append(errs, fmt.Errorf("%s=%q is not a log level: use debug, info, warn or error", contract.EnvLogLevel, v))
		} else {
			s.LogLevel = lvl
		}
	}
	if v, ok := get(contract.EnvTelemetryListen); ok {
		if !strings.Contains(v, ":") {
			errs = append(errs, fmt.Errorf("%s=%q is not host:port: use for example %s:4243", contract.EnvTelemetryListen, v, telemetryapi.SandboxHost))
		} else {
			s.TelemetryListen = v
		}
	}
	if v, ok := get(contract.EnvMaxBufferedSpans); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s=%q is not a positive integer: use for example %d", contract.EnvMaxBufferedSpans, v, contract.DefaultMaxBufferedSpans))
		} else {
			s.MaxBufferedSpans = n
		}
	}
	if v, ok := get(contract.EnvOnStartupFailure); ok {
		switch StartupFailure(strings.ToLower(v)) {
		case Continue, InitError:
			s.OnStartupFailure = StartupFailure(strings.ToLower(v))
		default:
			errs = append(errs, fmt.Errorf("%s=%q is not supported: use %q (run the function untraced) or %q (fail the function's init)", contract.EnvOnStartupFailure, v, Continue, InitError))
		}
	}
	return s, errors.Join(errs...)
}

// SettingsFromOS reads the settings from the process environment.
func SettingsFromOS() (Settings, error) { return SettingsFromEnv(os.LookupEnv) }

// Usage is the text printed for --help or an unknown argument; program is
// the executable's name.
func Usage(program string) string {
	return fmt.Sprintf(`usage: %s [--version]

Runs as a Lambda extension (from /opt/extensions). Configuration:
  %s  confmap URI of the collector YAML (default %s)
  %s  deadline of each export (default %v, never past the invoke deadline)
  %s  debug, info, warn or error (default %s)
See README.md for every variable.
`, program, contract.EnvConfigURI, contract.DefaultConfigURI, contract.EnvFlushTimeout, contract.DefaultFlushTimeout, contract.EnvLogLevel, contract.DefaultLogLevel)
}

// NewLogger returns the extension's logger: one JSON object per line on w
// (stderr, which Lambda forwards to CloudWatch Logs, so every field can be
// searched, for example "dropped_spans"), entries at level or above.
func NewLogger(w io.Writer, level zapcore.Level) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	enc.TimeKey = "time"
	enc.MessageKey = "msg"
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core).Named(contract.ExtensionName)
}
