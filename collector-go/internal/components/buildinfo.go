// Package buildinfo describes this collector build: its own version and the
// versions of the collector modules compiled into it.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/collector/component"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
)

// Version of this distribution.
const Version = "0.1.0"

// Command is the executable name, which is also the Lambda extension name.
const Command = "otel-xray-collector"

// Component returns the build information handed to collector components
// (the X-Ray exporter puts it in its User-Agent).
func Component() component.BuildInfo {
	return component.BuildInfo{
		Command:     Command,
		Description: "OpenTelemetry Collector Lambda extension with the AWS X-Ray exporter",
		Version:     Version,
	}
}

// Describe renders the text printed by --version.
func Describe() string {
	deps := map[string]string{}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			v := d.Version
			if d.Replace != nil {
				v = d.Replace.Version
			}
			deps[d.Path] = v
		}
	}
	version := func(path string) string {
		if v, ok := deps[path]; ok {
			return v
		}
		return "(not in build info)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s, %s/%s)\n", Command, Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "collector core: go.opentelemetry.io/collector/component %s\n", version("go.opentelemetry.io/collector/component"))
	fmt.Fprintf(&b, "confmap: go.opentelemetry.io/collector/confmap %s\n", version("go.opentelemetry.io/collector/confmap"))
	b.WriteString("components:\n")
	for _, m := range components.Modules() {
		fmt.Fprintf(&b, "  %-9s %-9s %s %s\n", m.Kind, m.Type, m.Path, version(m.Path))
	}
	return b.String()
}
