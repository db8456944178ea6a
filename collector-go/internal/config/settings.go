package config

import (
	"errors"
	"fmt"
	"io"
	"net"
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
	// MaxBufferedBytes bounds the bytes of span data held (see
	// DefaultMaxBufferedBytes).
	MaxBufferedBytes int64
	OnStartupFailure StartupFailure
	// ExportMode says when spans leave (see ExportAdaptive).
	ExportMode ExportMode
	// FunctionName is the function's name as Lambda gives it
	// (AWS_LAMBDA_FUNCTION_NAME): the service name of spans whose SDK
	// knows none.
	FunctionName string
	// PreloadCounts is set when NODE_OPTIONS imports the preload, which
	// counts each invocation's spans on its handler span: from the first
	// invocation on, platform.runtimeDone alone does not end a wait.
	PreloadCounts bool
}

// ExportMode says when the spans of an invocation are exported.
type ExportMode string

const (
	// ExportAdaptive exports before /extension/event/next at low traffic
	// and defers export into later invocations at steady traffic.
	ExportAdaptive ExportMode = "adaptive"
	// ExportEveryInvocation exports every invocation's spans before its
	// /extension/event/next, at any traffic.
	ExportEveryInvocation ExportMode = "every-invocation"
)

// EnvExportMode is the environment variable holding the export mode. It is
// the collector's own (the construct does not set it).
const EnvExportMode = "OTEL_XRAY_COLLECTOR_EXPORT_MODE"

// EnvMaxBufferedBytes is the environment variable holding the byte budget
// of the span buffer. It is the collector's own (the construct does not set
// it), so it is not part of the shared contract.
const EnvMaxBufferedBytes = "OTEL_XRAY_COLLECTOR_MAX_BUFFERED_BYTES"

// envFunctionMemory is the function's memory size in MB, set by Lambda
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
const envFunctionMemory = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"

// envFunctionName is the function's name, set by Lambda (same page).
const envFunctionName = "AWS_LAMBDA_FUNCTION_NAME"

// envNodeOptions holds Node.js's options, the preload's import among them
// when the function is traced by it; extensions see the function's
// environment.
const envNodeOptions = "NODE_OPTIONS"

// Byte budget of the span buffer: 1/16 of the function's memory, at least
// 4 MiB and at most 64 MiB; 8 MiB (a 128 MB function) when the memory size
// is unknown. Spans take about 3 times their counted size in memory while
// buffered and translated, so a 128 MB function gives the collector about
// 24 MB at most.
const (
	budgetShare          = 16
	minBufferedBytes     = 4 << 20
	maxBufferedBytes     = 64 << 20
	defaultFunctionMemMB = 128
)

// spansPerMB sizes the default span limit by the function's memory, so
// that one flush deadline (2 s) can export a full buffer. Lambda gives a
// function CPU in proportion to its memory, one vCPU at 1,769 MB
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html),
// and exporting a span to X-Ray (translation, checks, signing, HTTP) takes
// about 95 µs of one core (BenchmarkFlushBurstOf20000Spans, release build
// flags): 2 s / 95 µs x MB / 1,769 is about 12 spans per MB, 1,536 at
// 128 MB; the contract's 20,000 from 1,667 MB up.
const spansPerMB = 12

// DefaultMaxBufferedBytes returns the byte budget for a function of
// memoryMB megabytes (0: unknown).
func DefaultMaxBufferedBytes(memoryMB int) int64 {
	if memoryMB <= 0 {
		memoryMB = defaultFunctionMemMB
	}
	return min(max(int64(memoryMB)<<20/budgetShare, minBufferedBytes), maxBufferedBytes)
}

// loopbackHosts are the hosts the Telemetry API listener may bind: the
// sandbox host Lambda delivers to, and loopback.
func loopbackHost(host string) bool {
	if host == telemetryapi.SandboxHost || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
		MaxBufferedBytes: DefaultMaxBufferedBytes(0),
		OnStartupFailure: StartupFailure(contract.DefaultOnStartupFailure),
		ExportMode:       ExportAdaptive,
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
	if v, ok := get(envFunctionMemory); ok {
		if mb, err := strconv.Atoi(v); err == nil && mb > 0 {
			s.MaxBufferedBytes = DefaultMaxBufferedBytes(mb)
			s.MaxBufferedSpans = min(contract.DefaultMaxBufferedSpans, mb*spansPerMB)
		}
	}
	if v, ok := get(envFunctionName); ok {
		s.FunctionName = v
	}
	if v, ok := get(envNodeOptions); ok {
		s.PreloadCounts = strings.Contains(v, contract.PreloadImportPath)
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
		host, _, err := net.SplitHostPort(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s=%q is not host:port: use for example %s:4243", contract.EnvTelemetryListen, v, telemetryapi.SandboxHost))
		case !loopbackHost(host):
			errs = append(errs, fmt.Errorf("%s=%q would listen beyond the execution environment: use %s, localhost, 127.0.0.1 or ::1 as the host", contract.EnvTelemetryListen, v, telemetryapi.SandboxHost))
		default:
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
	if v, ok := get(EnvMaxBufferedBytes); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1<<20 {
			errs = append(errs, fmt.Errorf("%s=%q is not a number of bytes of at least 1048576: use for example %d", EnvMaxBufferedBytes, v, DefaultMaxBufferedBytes(0)))
		} else {
			s.MaxBufferedBytes = n
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
	if v, ok := get(EnvExportMode); ok {
		switch ExportMode(strings.ToLower(v)) {
		case ExportAdaptive, ExportEveryInvocation:
			s.ExportMode = ExportMode(strings.ToLower(v))
		default:
			errs = append(errs, fmt.Errorf("%s=%q is not supported: use %q (defer export at steady traffic) or %q (export before every /extension/event/next)", EnvExportMode, v, ExportAdaptive, ExportEveryInvocation))
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
