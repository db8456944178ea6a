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

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/config"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/extensionapi"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/lifecycle"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/pipeline"
)

func main() { os.Exit(run(filepath.Base(os.Args[0]), os.Args[1:])) }

func run(name string, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "--version", "-version", "version":
			fmt.Print(components.Describe())
			return 0
		case "--help", "-h":
			fmt.Fprint(os.Stderr, config.Usage(name))
			return 0
		}
		fmt.Fprint(os.Stderr, config.Usage(name))
		return 2
	}
	s, settingsErr := config.SettingsFromOS()
	logger := config.NewLogger(os.Stderr, s.LogLevel)
	defer func() { _ = logger.Sync() }()
	// Before any exporter exists: the AWS SDK reads this when it builds a client.
	if _, err := components.UseUpdatedAWSRetries(); err != nil {
		logger.Warn("AWS SDK retry setting", zap.Error(err))
	}
	runtimeAPI := os.Getenv(extensionapi.EnvRuntimeAPI)
	if runtimeAPI == "" {
		logger.Error(extensionapi.EnvRuntimeAPI + " is not set: run this program as a Lambda extension from /opt/extensions")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := lifecycle.Run(ctx, lifecycle.Options{
		RuntimeAPI: runtimeAPI, ExtensionName: name, Settings: s, SettingsErr: settingsErr, Logger: logger,
		StartPipeline: func(ctx context.Context) (lifecycle.Pipeline, error) {
			return pipeline.StartFromURI(ctx, s.ConfigURI, pipeline.Limits{MaxSpans: s.MaxBufferedSpans, MaxBytes: s.MaxBufferedBytes}, logger,
				pipeline.WithFallbackServiceName(s.FunctionName), pipeline.WithCountingSDK(s.PreloadCounts))
		},
	})
	if err != nil {
		logger.Error("extension stopped", zap.Error(err))
		return 1
	}
	return 0
}
