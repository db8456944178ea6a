// Package components lists the collector components compiled into this
// distribution. It is the single place to add or remove one.
package components

import (
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
)

// Factories holds the factories of every component this distribution supports.
type Factories struct {
	Receivers  map[component.Type]receiver.Factory
	Exporters  map[component.Type]exporter.Factory
	Extensions map[component.Type]extension.Factory
}

// Module names the Go module that provides a component, for --version.
type Module struct {
	Kind string
	Type component.Type
	Path string
}

// New returns the factories of the built-in components.
func New() Factories {
	return Factories{
		Receivers: byType(otlpreceiver.NewFactory()),
		Exporters: byType(
			awsxrayexporter.NewFactory(),
			otlphttpexporter.NewFactory(),
			debugexporter.NewFactory(),
		),
		Extensions: byType(sigv4authextension.NewFactory()),
	}
}

// Modules lists the Go module behind each built-in component, in a stable order.
func Modules() []Module {
	return []Module{
		{Kind: "receiver", Type: component.MustNewType("otlp"), Path: "go.opentelemetry.io/collector/receiver/otlpreceiver"},
		{Kind: "exporter", Type: component.MustNewType("awsxray"), Path: "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"},
		{Kind: "exporter", Type: component.MustNewType("otlphttp"), Path: "go.opentelemetry.io/collector/exporter/otlphttpexporter"},
		{Kind: "exporter", Type: component.MustNewType("debug"), Path: "go.opentelemetry.io/collector/exporter/debugexporter"},
		{Kind: "extension", Type: component.MustNewType("sigv4auth"), Path: "github.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension"},
	}
}

func byType[F interface{ Type() component.Type }](factories ...F) map[component.Type]F {
	out := make(map[component.Type]F, len(factories))
	for _, f := range factories {
		out[f.Type()] = f
		// Some components were renamed (otlphttp -> otlp_http); the factory
		// still accepts the old name, and so do we.
		if aliased, ok := any(f).(interface{ DeprecatedAlias() component.Type }); ok && aliased.DeprecatedAlias().String() != "" {
			out[aliased.DeprecatedAlias()] = f
		}
	}
	return out
}
