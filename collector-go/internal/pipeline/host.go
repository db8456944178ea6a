package pipeline

import "go.opentelemetry.io/collector/component"

// host is the component.Host handed to components: it gives exporters access
// to the started extensions (for example the sigv4auth authenticator).
type host struct {
	extensions map[component.ID]component.Component
}

var _ component.Host = (*host)(nil)

func (h *host) GetExtensions() map[component.ID]component.Component {
	return h.extensions
}
