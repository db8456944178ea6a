package pipeline

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// serviceNameAttribute is the resource attribute that names a service; the
// X-Ray exporter names segments after it.
const serviceNameAttribute = "service.name"

// unknownServicePrefix starts the service name OpenTelemetry SDKs give when
// none is configured: "unknown_service", or "unknown_service:" and the
// process's executable (https://opentelemetry.io/docs/specs/semconv/resource/#service).
const unknownServicePrefix = "unknown_service"

// Option configures a pipeline before it starts.
type Option func(*Pipeline)

// WithFallbackServiceName names the spans whose SDK knows no service name
// (service.name missing, empty or unknown_service...) name, the function's
// name: every traced function is then named in X-Ray, whatever its runtime.
// An empty name changes nothing.
func WithFallbackServiceName(name string) Option {
	return func(p *Pipeline) { p.buffer.serviceName = name }
}

// nameServices sets service.name to name on every resource of td that has
// none, or the SDK's placeholder.
func nameServices(td ptrace.Traces, name string) {
	if name == "" {
		return
	}
	for _, rs := range td.ResourceSpans().All() {
		attrs := rs.Resource().Attributes()
		if v, ok := attrs.Get(serviceNameAttribute); ok && v.AsString() != "" && !strings.HasPrefix(v.AsString(), unknownServicePrefix) {
			continue
		}
		attrs.PutStr(serviceNameAttribute, name)
	}
}
