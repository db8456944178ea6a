package config

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
)

// The rules below, with the check for processors and connectors in fromConf,
// keep a configuration to what is safe in a Lambda execution environment,
// which may freeze right after each invoke's flush.

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
