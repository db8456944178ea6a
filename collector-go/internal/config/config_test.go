package config

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
)

// shippedConfig is the default configuration the layer installs at
// contract.LayerConfigPath.
const shippedConfig = "../../config/config.yaml"

func load(t *testing.T, uri string) (*Config, error) {
	t.Helper()
	return Load(context.Background(), uri, components.New(), zap.NewNop())
}

func fileURI(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return "file:" + abs
}

func TestShippedDefaultConfigExportsToXRayInTheFunctionRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "ap-southeast-2")
	cfg, err := load(t, fileURI(t, shippedConfig))
	if err != nil {
		t.Fatalf("shipped config does not load: %v", err)
	}
	if len(cfg.Receivers) != 1 || cfg.Receivers[0].ID.String() != "otlp" {
		t.Fatalf("receivers = %v, want [otlp]", cfg.Receivers)
	}
	otlp := cfg.Receivers[0].Config.(*otlpreceiver.Config)
	if got := otlp.Protocols.HTTP.Get().ServerConfig.IdleTimeout; got != 0 {
		t.Errorf("http idle_timeout = %v, want 0 (no idle close across freezes)", got)
	}
	if otlp.Protocols.GRPC.HasValue() {
		t.Errorf("grpc is enabled in the default config, want HTTP only")
	}
	if len(cfg.Exporters) != 1 || cfg.Exporters[0].ID.String() != "awsxray" {
		t.Fatalf("exporters = %v, want [awsxray]", cfg.Exporters)
	}
	xray := cfg.Exporters[0].Config.(*awsxrayexporter.Config)
	if xray.AWSSessionSettings.Region != "ap-southeast-2" {
		t.Errorf("awsxray region = %q, want the value of AWS_REGION", xray.AWSSessionSettings.Region)
	}
}

// The construct and the preload rely on the shipped configuration listening
// where the contract says and accepting bodies of the size it says.
func TestShippedDefaultConfigListensWhereTheContractSays(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	cfg, err := load(t, fileURI(t, shippedConfig))
	if err != nil {
		t.Fatalf("shipped config does not load: %v", err)
	}
	httpCfg := cfg.Receivers[0].Config.(*otlpreceiver.Config).Protocols.HTTP.Get()
	if got := httpCfg.ServerConfig.NetAddr.Endpoint; got != contract.OTLPHTTPListen {
		t.Errorf("http endpoint = %q, want contract.OTLPHTTPListen %q", got, contract.OTLPHTTPListen)
	}
	if got := httpCfg.ServerConfig.MaxRequestBodySize; got != contract.MaxRequestBodyBytes {
		t.Errorf("http max_request_body_size = %d, want contract.MaxRequestBodyBytes %d", got, contract.MaxRequestBodyBytes)
	}
}

func TestAllBuiltInComponentsLoad(t *testing.T) {
	cfg, err := load(t, fileURI(t, "testdata/valid_all_components.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range cfg.Exporters {
		ids = append(ids, e.ID.String())
	}
	if got := strings.Join(ids, ","); got != "awsxray,otlphttp/xray,debug" {
		t.Errorf("exporters = %s", got)
	}
	if len(cfg.Extensions) != 1 || cfg.Extensions[0].ID.String() != "sigv4auth" {
		t.Errorf("extensions = %v, want [sigv4auth]", cfg.Extensions)
	}
	xray := cfg.Exporters[0].Config.(*awsxrayexporter.Config)
	if xray.AWSSessionSettings.Endpoint != "http://127.0.0.1:5000" {
		t.Errorf("awsxray endpoint override lost: %q", xray.AWSSessionSettings.Endpoint)
	}
	otlphttp := cfg.Exporters[1].Config.(*otlphttpexporter.Config)
	if otlphttp.QueueConfig.HasValue() {
		t.Error("otlphttp sending_queue is enabled by default, want it disabled")
	}
	if otlphttp.ClientConfig.Auth.Get() == nil || otlphttp.ClientConfig.Auth.Get().AuthenticatorID.String() != "sigv4auth" {
		t.Errorf("otlphttp auth = %+v, want sigv4auth", otlphttp.ClientConfig.Auth)
	}
}

func TestConfigFromEnvAndYamlProviders(t *testing.T) {
	t.Setenv("TEST_COLLECTOR_CONFIG", `
receivers: {otlp: {protocols: {http: {endpoint: "127.0.0.1:14318"}}}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
`)
	for name, uri := range map[string]string{
		"env":  "env:TEST_COLLECTOR_CONFIG",
		"yaml": "yaml:receivers: {otlp: {protocols: {http: {endpoint: '127.0.0.1:14318'}}}}\nexporters: {debug: {}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := load(t, uri)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Receivers[0].Config.(*otlpreceiver.Config).Protocols.HTTP.Get().ServerConfig.NetAddr.Endpoint
			if got != "127.0.0.1:14318" {
				t.Errorf("endpoint = %q", got)
			}
		})
	}
}

func TestMissingFileAndBadSchemeNameTheURI(t *testing.T) {
	for _, uri := range []string{"file:/does/not/exist.yaml", "s3://bucket/config.yaml", "  "} {
		_, err := load(t, uri)
		if err == nil {
			t.Fatalf("%q accepted", uri)
		}
		if strings.TrimSpace(uri) != "" && !strings.Contains(err.Error(), uri) {
			t.Errorf("error %q does not name the URI %q", err, uri)
		}
		if strings.TrimSpace(uri) == "" && !strings.Contains(err.Error(), contract.EnvConfigURI) {
			t.Errorf("error %q does not name %s", err, contract.EnvConfigURI)
		}
	}
}

func TestComponentsWithoutSettingsUseTheirDefaults(t *testing.T) {
	t.Setenv("AWS_REGION", "us-west-2")
	cfg, err := load(t, "yaml:receivers: {otlp: {protocols: {http: }}}\nexporters: {awsxray: , debug: }\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray, debug]}}}")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Receivers[0].Config.(*otlpreceiver.Config).Protocols.HTTP.Get().ServerConfig.NetAddr.Endpoint; got != "localhost:4318" {
		t.Errorf("default http endpoint = %q, want localhost:4318", got)
	}
	if len(cfg.Exporters) != 2 {
		t.Errorf("exporters = %v", cfg.Exporters)
	}
}

// The CDK construct passes non-default configurations as a yaml: URI holding
// JSON, with ${env:AWS_REGION} left for the collector to expand.
func TestJSONInAYamlURIWithEnvReferences(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-central-1")
	uri := fmt.Sprintf(`yaml:{"receivers":{"otlp":{"protocols":{"http":{"endpoint":%q,"max_request_body_size":%d,"idle_timeout":"0s"}}}},`, contract.OTLPHTTPListen, contract.MaxRequestBodyBytes) +
		`"exporters":{"otlphttp/xray":{"traces_endpoint":"https://xray.${env:AWS_REGION}.amazonaws.com/v1/traces","auth":{"authenticator":"sigv4auth"}}},` +
		`"extensions":{"sigv4auth":{"region":"${env:AWS_REGION}","service":"xray"}},` +
		`"service":{"extensions":["sigv4auth"],"pipelines":{"traces":{"receivers":["otlp"],"exporters":["otlphttp/xray"]}}}}`
	cfg, err := load(t, uri)
	if err != nil {
		t.Fatal(err)
	}
	exp := cfg.Exporters[0].Config.(*otlphttpexporter.Config)
	if exp.TracesEndpoint != "https://xray.eu-central-1.amazonaws.com/v1/traces" {
		t.Errorf("traces_endpoint = %q", exp.TracesEndpoint)
	}
	if exp.QueueConfig.HasValue() {
		t.Error("sending queue enabled")
	}
}
