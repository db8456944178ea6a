// Command otel-xray-collector is an OpenTelemetry Collector that runs as a
// Lambda extension: it receives OTLP from the function on 127.0.0.1 and
// exports to AWS X-Ray at the end of every invoke.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/awsretry"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/buildinfo"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/lifecycle"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/logging"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/pipeline"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/settings"
)

const usage = `usage: %s [--version]

Runs as a Lambda extension (from /opt/extensions). Configuration:
  %s  confmap URI of the collector YAML (default file:/opt/collector-config/config.yaml)
  %s  deadline of each export (default 2s, never past the invoke deadline)
  %s  debug, info, warn or error (default info)
See README.md for every variable.
`

func main() { os.Exit(run()) }

func run() int {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "--version", "-version", "version":
			fmt.Print(buildinfo.Describe())
			return 0
		default:
			fmt.Fprintf(os.Stderr, usage, filepath.Base(os.Args[0]), settings.EnvConfigURI, settings.EnvFlushTimeout, settings.EnvLogLevel)
			if os.Args[1] == "--help" || os.Args[1] == "-h" {
				return 0
			}
			return 2
		}
	}

	s, settingsErr := settings.FromOS()
	logger := logging.NewStderr(s.LogLevel)
	defer func() { _ = logger.Sync() }()

	// Before any exporter exists: the AWS SDK reads this when it builds a client.
	if _, err := awsretry.Enable(); err != nil {
		logger.Warn("AWS SDK retry setting", zap.Error(err))
	}

	runtimeAPI := os.Getenv(settings.EnvRuntimeAPI)
	if runtimeAPI == "" {
		logger.Error(settings.EnvRuntimeAPI + " is not set: run this program as a Lambda extension from /opt/extensions")
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := lifecycle.Run(ctx, lifecycle.Options{
		RuntimeAPI:    runtimeAPI,
		ExtensionName: filepath.Base(os.Args[0]),
		Settings:      s,
		SettingsErr:   settingsErr,
		Logger:        logger,
		StartPipeline: func(ctx context.Context) (lifecycle.Pipeline, error) {
			return pipeline.StartFromURI(ctx, s.ConfigURI, s.MaxBufferedSpans, logger)
		},
	})
	if err != nil {
		logger.Error("extension stopped", zap.Error(err))
		return 1
	}
	return 0
}
