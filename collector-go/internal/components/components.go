// Package components lists the collector components compiled into this
// distribution. One table holds each component's factory, the Go module that
// provides it (for --version) and, for an exporter, how a flush is cut into
// its calls; the factories handed to the pipeline and the module list are
// derived from it. Adding or removing a component is one line of that table.
package components

import (
	"context"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
)

// table lists the built-in components, in the order --version prints them.
func table() []entry {
	return []entry{
		{receiver: otlpreceiver.NewFactory(), module: "go.opentelemetry.io/collector/receiver/otlpreceiver"},
		{exporter: awsxrayexporter.NewFactory(), module: "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter", policy: awsxrayPolicy},
		{exporter: newDaemonFactory(), module: "github.com/cdk-lambda-otel-xray/collector-go/internal/components", policy: daemonPolicy},
		{exporter: otlphttpexporter.NewFactory(), module: "go.opentelemetry.io/collector/exporter/otlphttpexporter"},
		{exporter: debugexporter.NewFactory(), module: "go.opentelemetry.io/collector/exporter/debugexporter"},
		{extension: sigv4authextension.NewFactory(), module: "github.com/open-telemetry/opentelemetry-collector-contrib/extension/sigv4authextension"},
	}
}

// entry is one row of the table: one factory, the Go module that provides
// it and, for an exporter, its export policy (nil: each flush in one call).
type entry struct {
	receiver  receiver.Factory
	exporter  exporter.Factory
	extension extension.Factory
	module    string
	policy    func(component.Config) ExportPolicy
}

// Factories holds the factories of every component this distribution
// supports, by type (and by the former type of a renamed component).
type Factories struct {
	Receivers  map[component.Type]receiver.Factory
	Exporters  map[component.Type]exporter.Factory
	Extensions map[component.Type]extension.Factory
	table      []entry
}

// New returns the factories of the built-in components.
func New() Factories {
	f := Factories{
		Receivers:  map[component.Type]receiver.Factory{},
		Exporters:  map[component.Type]exporter.Factory{},
		Extensions: map[component.Type]extension.Factory{},
		table:      table(),
	}
	for _, e := range f.table {
		for _, t := range e.types() {
			switch {
			case e.receiver != nil:
				f.Receivers[t] = e.receiver
			case e.exporter != nil:
				f.Exporters[t] = e.exporter
			default:
				f.Extensions[t] = e.extension
			}
		}
	}
	return f
}

// ExportPolicy returns how a flush is cut into calls of the exporter of type
// t configured with cfg: the exporter's own policy from the table, or the
// whole flush in one call.
func (f Factories) ExportPolicy(t component.Type, cfg component.Config) ExportPolicy {
	for _, e := range f.table {
		for _, et := range e.types() {
			if et == t && e.policy != nil {
				return e.policy(cfg)
			}
		}
	}
	// The whole flush in one call.
	return ExportPolicy{Documents: func(ptrace.Span) int { return 1 }, Workers: 1}
}

// ExportPolicy says how one flush is cut into calls of an exporter.
type ExportPolicy struct {
	// MaxDocuments per call; 0 sends the whole flush in one call.
	MaxDocuments int
	// Documents is how many documents the exporter makes of a span.
	Documents func(ptrace.Span) int
	// Workers is how many calls run at the same time.
	Workers int
	// NewSender, when set, replaces the exporter created by the factory:
	// the sender delivers the spans itself and accounts for each.
	NewSender func(ctx context.Context, set exporter.Settings, cfg component.Config) (Sender, error)
	// HandsOff is set when an export waits for no answer (a datagram to a
	// local daemon): it costs so little that there is nothing to gain by
	// deferring it at steady traffic.
	HandsOff bool
}

// Module names the Go module that provides a component, for --version.
type Module struct {
	Kind string
	// Type is the name configurations use: the former name of a renamed
	// component (otlphttp rather than otlp_http), as this distribution's
	// documentation spells it.
	Type component.Type
	Path string
}

// Modules lists the Go module behind each built-in component, in table order.
func Modules() []Module {
	entries := table()
	out := make([]Module, 0, len(entries))
	for _, e := range entries {
		ts := e.types()
		kind := "extension"
		if e.receiver != nil {
			kind = "receiver"
		} else if e.exporter != nil {
			kind = "exporter"
		}
		out = append(out, Module{Kind: kind, Type: ts[len(ts)-1], Path: e.module})
	}
	return out
}

// types returns the type of the entry's factory followed by its former type,
// if it was renamed (otlphttp -> otlp_http): the factory still accepts the
// old name, and so do we.
func (e entry) types() []component.Type {
	var f component.Factory = e.extension
	if e.receiver != nil {
		f = e.receiver
	} else if e.exporter != nil {
		f = e.exporter
	}
	out := []component.Type{f.Type()}
	if aliased, ok := f.(interface{ DeprecatedAlias() component.Type }); ok && aliased.DeprecatedAlias().String() != "" {
		out = append(out, aliased.DeprecatedAlias())
	}
	return out
}
