package pipeline

import (
	"context"

	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/config"
)

// StartFromURI loads the configuration at uri, builds the pipeline with the
// built-in components and starts it.
func StartFromURI(ctx context.Context, uri string, limits Limits, logger *zap.Logger, opts ...Option) (*Pipeline, error) {
	factories := components.New()
	cfg, err := config.Load(ctx, uri, factories, logger.Named("config"))
	if err != nil {
		return nil, err
	}
	p, err := New(ctx, cfg, factories, limits, logger.Named("pipeline"))
	if err != nil {
		return nil, err
	}
	for _, opt := range opts {
		opt(p)
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// WithCountingSDK tells the pipeline, before any span arrives, that the
// function's SDK counts each invocation's spans on its handler span (the
// preload does), so that platform.runtimeDone does not end the wait for the
// first invocation's handler span. Should the handler span then not come,
// the pipeline stops expecting it until a counted one arrives.
func WithCountingSDK(counting bool) Option {
	return func(p *Pipeline) { p.buffer.invocations.counting = counting }
}
