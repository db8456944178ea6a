// Package settings reads the extension's environment variables.
package settings

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/config"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/telemetryapi"
)

// Environment variables read by the extension.
const (
	EnvConfigURI         = config.URIEnvVar
	EnvFlushTimeout      = "OTEL_XRAY_COLLECTOR_FLUSH_TIMEOUT"
	EnvLogLevel          = "OTEL_XRAY_COLLECTOR_LOG_LEVEL"
	EnvTelemetryListen   = "OTEL_XRAY_COLLECTOR_TELEMETRY_LISTEN"
	EnvMaxBufferedSpans  = "OTEL_XRAY_COLLECTOR_MAX_BUFFERED_SPANS"
	EnvOnStartupFailure  = "OTEL_XRAY_COLLECTOR_ON_STARTUP_FAILURE"
	EnvRuntimeAPI        = "AWS_LAMBDA_RUNTIME_API"
	maxFlushTimeout      = 15 * time.Minute // the longest Lambda invoke
	defaultFlushTimeout  = 2 * time.Second
	defaultMaxBuffered   = 20000
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

// Settings are the extension's knobs.
type Settings struct {
	ConfigURI        string
	FlushTimeout     time.Duration
	LogLevel         zapcore.Level
	TelemetryListen  string
	MaxBufferedSpans int
	OnStartupFailure StartupFailure
}

// Default returns the settings used when no variable is set.
func Default() Settings {
	return Settings{
		ConfigURI:        config.DefaultURI,
		FlushTimeout:     defaultFlushTimeout,
		LogLevel:         zapcore.InfoLevel,
		TelemetryListen:  telemetryapi.SandboxHost + ":" + defaultTelemetryPort,
		MaxBufferedSpans: defaultMaxBuffered,
		OnStartupFailure: Continue,
	}
}

// FromEnv reads the settings from lookup (os.LookupEnv in production). Every
// invalid value is reported, naming the variable, the value and the fix; the
// returned settings then hold the default for that variable.
func FromEnv(lookup func(string) (string, bool)) (Settings, error) {
	s := Default()
	var errs []error
	get := func(name string) (string, bool) {
		v, ok := lookup(name)
		v = strings.TrimSpace(v)
		return v, ok && v != ""
	}
	if v, ok := get(EnvConfigURI); ok {
		s.ConfigURI = v
	}
	if v, ok := get(EnvFlushTimeout); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			if ms, convErr := strconv.Atoi(v); convErr == nil {
				d, err = time.Duration(ms)*time.Millisecond, nil
			}
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s=%q is not a duration: use a Go duration such as 2s or 1500ms", EnvFlushTimeout, v))
		case d <= 0 || d > maxFlushTimeout:
			errs = append(errs, fmt.Errorf("%s=%q is out of range: use a duration above 0 and at most %v", EnvFlushTimeout, v, maxFlushTimeout))
		default:
			s.FlushTimeout = d
		}
	}
	if v, ok := get(EnvLogLevel); ok {
		lvl, err := zapcore.ParseLevel(strings.ToLower(v))
		if err != nil || lvl < zapcore.DebugLevel || lvl > zapcore.ErrorLevel {
			errs = append(errs, fmt.Errorf("%s=%q is not a log level: use debug, info, warn or error", EnvLogLevel, v))
		} else {
			s.LogLevel = lvl
		}
	}
	if v, ok := get(EnvTelemetryListen); ok {
		if !strings.Contains(v, ":") {
			errs = append(errs, fmt.Errorf("%s=%q is not host:port: use for example %s:4243", EnvTelemetryListen, v, telemetryapi.SandboxHost))
		} else {
			s.TelemetryListen = v
		}
	}
	if v, ok := get(EnvMaxBufferedSpans); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("%s=%q is not a positive integer: use for example %d", EnvMaxBufferedSpans, v, defaultMaxBuffered))
		} else {
			s.MaxBufferedSpans = n
		}
	}
	if v, ok := get(EnvOnStartupFailure); ok {
		switch StartupFailure(strings.ToLower(v)) {
		case Continue, InitError:
			s.OnStartupFailure = StartupFailure(strings.ToLower(v))
		default:
			errs = append(errs, fmt.Errorf("%s=%q is not supported: use %q (run the function untraced) or %q (fail the function's init)", EnvOnStartupFailure, v, Continue, InitError))
		}
	}
	return s, errors.Join(errs...)
}

// FromOS reads the settings from the process environment.
func FromOS() (Settings, error) { return FromEnv(os.LookupEnv) }
