package components

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/collector/component"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
)

// Version of this distribution.
const Version = "0.1.0"

// BuildInfo returns the build information handed to collector components
// (the X-Ray exporter puts it in its User-Agent).
func BuildInfo() component.BuildInfo {
	return component.BuildInfo{
		Command:     contract.ExtensionName,
		Description: "OpenTelemetry Collector Lambda extension with the AWS X-Ray exporter",
		Version:     Version,
	}
}

// Describe renders the text printed by --version: this distribution's
// version and the versions of the collector modules compiled into it.
func Describe() string {
	deps := map[string]string{}
	mainModule := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		mainModule = info.Main.Path
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
		if mainModule != "" && strings.HasPrefix(path, mainModule+"/") {
			return Version // a component of this distribution
		}
		return "(not in build info)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s, %s/%s)\n", contract.ExtensionName, Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "collector core: go.opentelemetry.io/collector/component %s\n", version("go.opentelemetry.io/collector/component"))
	fmt.Fprintf(&b, "confmap: go.opentelemetry.io/collector/confmap %s\n", version("go.opentelemetry.io/collector/confmap"))
	b.WriteString("components:\n")
	for _, m := range Modules() {
		fmt.Fprintf(&b, "  %-9s %-9s %s %s\n", m.Kind, m.Type, m.Path, version(m.Path))
	}
	return b.String()
}
