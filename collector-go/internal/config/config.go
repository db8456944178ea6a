// Package config holds what the extension is told to run with: the standard
// collector YAML, resolved through confmap providers (file:, env:, yaml:) and
// turned into validated component configurations (config.go, with the
// Lambda restrictions in lambda.go and reflection helpers in util.go), and
// the extension's own environment variables (settings.go), which also choose
// the logger.
//
// Only the parts of the collector configuration that make sense inside a
// Lambda execution environment are accepted: one traces pipeline, no
// processors or connectors (they would hold spans across a freeze), receivers
// bound to loopback and exporters without a sending queue.
package config

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
)

// Config is a validated collector configuration for the traces pipeline.
type Config struct {
	// Receivers feed the pipeline, in the order the pipeline lists them.
	Receivers []Component
	// Exporters receive every flushed batch, in the order the pipeline lists them.
	Exporters []Component
	// Extensions are started before the exporters (for example sigv4auth).
	Extensions []Component
}

// Component is one configured component instance.
type Component struct {
	ID     component.ID
	Config component.Config
}

// service mirrors the `service` section of the collector configuration.
type service struct {
	Extensions []component.ID       `mapstructure:"extensions"`
	Pipelines  map[string]*pipeline `mapstructure:"pipelines"`
	// Telemetry is accepted for compatibility with collector configs and ignored:
	// this extension logs through its own logger (see README).
	Telemetry map[string]any `mapstructure:"telemetry"`
}

type pipeline struct {
	Receivers  []component.ID `mapstructure:"receivers"`
	Processors []component.ID `mapstructure:"processors"`
	Exporters  []component.ID `mapstructure:"exporters"`
}

// Load resolves uri with the file, env and yaml providers and validates the result.
func Load(ctx context.Context, uri string, factories components.Factories, logger *zap.Logger) (*Config, error) {
	if strings.TrimSpace(uri) == "" {
		return nil, fmt.Errorf("%s is empty: set it to a confmap URI such as %q", contract.EnvConfigURI, contract.DefaultConfigURI)
	}
	resolver, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs: []string{uri},
		ProviderFactories: []confmap.ProviderFactory{
			fileprovider.NewFactory(),
			envprovider.NewFactory(),
			yamlprovider.NewFactory(),
		},
		DefaultScheme:    "env",
		ProviderSettings: confmap.ProviderSettings{Logger: logger},
	})
	if err != nil {
		return nil, fmt.Errorf("config URI %s: %s", describeURI(uri), redact(err, uri))
	}
	conf, err := resolver.Resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("config URI %s cannot be read: %s (supported schemes: file:, env:, yaml:)", describeURI(uri), redact(err, uri))
	}
	defer func() { _ = resolver.Shutdown(ctx) }()
	cfg, err := fromConf(conf, factories)
	if err != nil {
		return nil, errors.New(redact(err, uri))
	}
	return cfg, nil
}

func fromConf(conf *confmap.Conf, factories components.Factories) (*Config, error) {
	// No processors or connectors: they would hold spans across a freeze.
	for _, key := range []string{"processors", "connectors"} {
		if sub, err := conf.Sub(key); err == nil && len(sub.AllKeys()) > 0 {
			return nil, fmt.Errorf("%s: %v are configured, but this collector exports spans at the end of each invoke and supports no %s: remove the %q section", key, topLevelKeys(sub), key, key)
		}
	}

	svcConf, err := conf.Sub("service")
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	var svc service
	if err := svcConf.Unmarshal(&svc); err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	traces, err := tracesPipeline(svc.Pipelines)
	if err != nil {
		return nil, err
	}

	receiversConf, err := conf.Sub("receivers")
	if err != nil {
		return nil, fmt.Errorf("receivers: %w", err)
	}
	exportersConf, err := conf.Sub("exporters")
	if err != nil {
		return nil, fmt.Errorf("exporters: %w", err)
	}
	extensionsConf, err := conf.Sub("extensions")
	if err != nil {
		return nil, fmt.Errorf("extensions: %w", err)
	}

	out := &Config{}
	for _, id := range traces.Receivers {
		f, ok := factories.Receivers[id.Type()]
		if !ok {
			return nil, unsupported("receiver", id, typesOf(factories.Receivers))
		}
		cfg := f.CreateDefaultConfig()
		if err := decode(receiversConf, "receivers", id, cfg); err != nil {
			return nil, err
		}
		if err := checkLoopback("receivers::"+id.String(), cfg); err != nil {
			return nil, err
		}
		out.Receivers = append(out.Receivers, Component{ID: id, Config: cfg})
	}
	for _, id := range traces.Exporters {
		f, ok := factories.Exporters[id.Type()]
		if !ok {
			return nil, unsupported("exporter", id, typesOf(factories.Exporters))
		}
		cfg := f.CreateDefaultConfig()
		if err := disableSendingQueue(exportersConf, id, cfg); err != nil {
			return nil, err
		}
		if err := decode(exportersConf, "exporters", id, cfg); err != nil {
			return nil, err
		}
		if err := checkNoSendingQueue("exporters::"+id.String(), cfg); err != nil {
			return nil, err
		}
		out.Exporters = append(out.Exporters, Component{ID: id, Config: cfg})
	}
	for _, id := range svc.Extensions {
		f, ok := factories.Extensions[id.Type()]
		if !ok {
			return nil, unsupported("extension", id, typesOf(factories.Extensions))
		}
		cfg := f.CreateDefaultConfig()
		if err := decode(extensionsConf, "extensions", id, cfg); err != nil {
			return nil, err
		}
		out.Extensions = append(out.Extensions, Component{ID: id, Config: cfg})
	}
	return out, nil
}

func decode(section *confmap.Conf, sectionName string, id component.ID, cfg component.Config) error {
	field := sectionName + "::" + id.String()
	if !section.IsSet(id.String()) {
		return fmt.Errorf("%s is used by the service but not defined: add it under %q", field, sectionName)
	}
	sub, err := section.Sub(id.String())
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if err := sub.Unmarshal(cfg); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if err := confmap.Validate(cfg); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	return nil
}

// describeURI names a configuration URI without its content: an inline
// yaml: URI is the configuration itself, which may hold secrets.
func describeURI(uri string) string {
	if strings.HasPrefix(uri, "yaml:") {
		return fmt.Sprintf("yaml:<%d bytes inline>", len(uri)-len("yaml:"))
	}
	return fmt.Sprintf("%q", uri)
}

var (
	// Values the YAML and mapstructure decoders quote in their errors.
	reQuotedValue = regexp.MustCompile("`[^`]*`|value: '[^']*'")
)

// redact returns err's text without the configuration values it may quote
// (decoders cite the offending value) and without an inline configuration.
func redact(err error, uri string) string {
	msg := err.Error()
	if inline, ok := strings.CutPrefix(uri, "yaml:"); ok && len(inline) > 0 {
		msg = strings.ReplaceAll(msg, inline, "<inline configuration>")
	}
	return reQuotedValue.ReplaceAllStringFunc(msg, func(m string) string {
		if strings.HasPrefix(m, "value: ") {
			return "value: <redacted>"
		}
		return "<redacted>"
	})
}
