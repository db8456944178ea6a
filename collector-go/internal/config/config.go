// Package config loads the standard collector YAML this extension runs from,
// resolves it through confmap providers (file:, env:, yaml:) and turns it into
// validated component configurations.
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
	"net"
	"reflect"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
)

// DefaultURI is where the layer puts the default configuration
// (/opt is where Lambda mounts layers).
const DefaultURI = "file:/opt/collector-config/config.yaml"

// URIEnvVar names the environment variable holding the confmap URI.
const URIEnvVar = "OPENTELEMETRY_COLLECTOR_CONFIG_URI"

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
		return nil, fmt.Errorf("%s is empty: set it to a confmap URI such as %q", URIEnvVar, DefaultURI)
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
		return nil, fmt.Errorf("config URI %q: %w", uri, err)
	}
	conf, err := resolver.Resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("config URI %q cannot be read: %w (supported schemes: file:, env:, yaml:)", uri, err)
	}
	defer func() { _ = resolver.Shutdown(ctx) }()
	return fromConf(conf, factories)
}

func fromConf(conf *confmap.Conf, factories components.Factories) (*Config, error) {
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

// tracesPipeline returns the single traces pipeline, rejecting anything else.
func tracesPipeline(pipelines map[string]*pipeline) (*pipeline, error) {
	var found *pipeline
	var foundName string
	for _, name := range sortedKeys(pipelines) {
		p := pipelines[name]
		signal, _, _ := strings.Cut(name, "/")
		if signal != "traces" {
			return nil, fmt.Errorf("service::pipelines::%s: only a traces pipeline is supported, got %q: remove it", name, name)
		}
		if found != nil {
			return nil, fmt.Errorf("service::pipelines: two traces pipelines (%q and %q): merge them into one", foundName, name)
		}
		found, foundName = p, name
	}
	if found == nil {
		return nil, errors.New("service::pipelines::traces is missing: add a traces pipeline with receivers [otlp] and at least one exporter")
	}
	if len(found.Processors) > 0 {
		return nil, fmt.Errorf("service::pipelines::%s::processors is %v, but this collector exports spans at the end of each invoke and supports no processors: remove them", foundName, found.Processors)
	}
	if len(found.Receivers) == 0 {
		return nil, fmt.Errorf("service::pipelines::%s::receivers is empty: set it to [otlp]", foundName)
	}
	if len(found.Exporters) == 0 {
		return nil, fmt.Errorf("service::pipelines::%s::exporters is empty: add at least one exporter, for example [awsxray]", foundName)
	}
	return found, nil
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

// disableSendingQueue turns off the sending queue of exporters that have one,
// unless the configuration sets it explicitly: a queue keeps spans in memory
// after Flush returns, and Lambda may freeze the environment at that moment.
func disableSendingQueue(section *confmap.Conf, id component.ID, cfg component.Config) error {
	if _, ok := fieldByTag(cfg, "sending_queue"); !ok {
		return nil
	}
	key := id.String() + "::sending_queue::enabled"
	if section.IsSet(key) {
		return nil
	}
	return section.Merge(confmap.NewFromStringMap(map[string]any{key: false}))
}

func checkNoSendingQueue(field string, cfg component.Config) error {
	v, ok := fieldByTag(cfg, "sending_queue")
	if !ok {
		return nil
	}
	if hv, ok := v.Interface().(interface{ HasValue() bool }); ok && hv.HasValue() {
		return fmt.Errorf("%s::sending_queue is enabled, but a queue would hold spans while Lambda freezes the environment: set sending_queue::enabled to false", field)
	}
	return nil
}

// checkLoopback rejects receiver endpoints that listen beyond loopback: the
// handler runs in the same execution environment, nothing else should reach it.
func checkLoopback(field string, cfg component.Config) error {
	otlp, ok := cfg.(*otlpreceiver.Config)
	if !ok {
		return nil
	}
	if otlp.Protocols.GRPC.HasValue() {
		if err := isLoopback(otlp.Protocols.GRPC.Get().NetAddr.Endpoint); err != nil {
			return fmt.Errorf("%s::protocols::grpc::endpoint is %q: %w", field, otlp.Protocols.GRPC.Get().NetAddr.Endpoint, err)
		}
	}
	if otlp.Protocols.HTTP.HasValue() {
		if err := isLoopback(otlp.Protocols.HTTP.Get().ServerConfig.NetAddr.Endpoint); err != nil {
			return fmt.Errorf("%s::protocols::http::endpoint is %q: %w", field, otlp.Protocols.HTTP.Get().ServerConfig.NetAddr.Endpoint, err)
		}
	}
	return nil
}

func isLoopback(endpoint string) error {
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return fmt.Errorf("not a host:port address (%v): use 127.0.0.1:<port>", err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("it listens beyond loopback: use 127.0.0.1:%s", port)
	}
	return nil
}

func fieldByTag(cfg any, tag string) (reflect.Value, bool) {
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	return fieldByTagValue(v, tag)
}

func fieldByTagValue(v reflect.Value, tag string) (reflect.Value, bool) {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if f.IsExported() && strings.Split(f.Tag.Get("mapstructure"), ",")[0] == tag {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func unsupported(kind string, id component.ID, supported []string) error {
	return fmt.Errorf("%s %q is not built into this collector: use one of %v", kind, id.String(), supported)
}

func typesOf[F any](m map[component.Type]F) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t.String())
	}
	slices.Sort(out)
	return out
}

func topLevelKeys(c *confmap.Conf) []string {
	keys := make([]string, 0)
	for k := range c.ToStringMap() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
