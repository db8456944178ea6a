package config

import (
	"context"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/components"
	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
)

func TestConfigurationErrorsDoNotEchoTheConfiguration(t *testing.T) {
	const secret = "s3cr3t-token-value"
	for name, uri := range map[string]string{
		"invalid YAML":    "yaml:exporters: {awsxray: {region: " + secret + ", : [}",
		"wrong type":      "yaml:receivers: {otlp: {protocols: {http: {endpoint: " + contract.OTLPHTTPListen + "}}}}\nexporters: {awsxray: {region: us-east-1, max_retries: " + secret + "}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [awsxray]}}}",
		"unknown section": "yaml:receivers: {otlp: {protocols: {http: {endpoint: " + contract.OTLPHTTPListen + "}}}}\nexporters: {nope: {token: " + secret + "}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [nope]}}}",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Load(context.Background(), uri, components.New(), zap.NewNop())
			if err == nil {
				t.Fatal("invalid configuration accepted")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error repeats a configuration value: %v", err)
			}
			t.Log(err)
		})
	}
}

func TestTelemetryListenerMustStayInsideTheEnvironment(t *testing.T) {
	for v, ok := range map[string]bool{
		"sandbox.localdomain:0": true, "127.0.0.1:4243": true, "[::1]:0": true, "localhost:0": true,
		"0.0.0.0:4243": false, ":4243": false, "10.0.0.5:4243": false, "example.com:80": false,
	} {
		s, err := SettingsFromEnv(envOf(map[string]string{contract.EnvTelemetryListen: v}))
		if ok && (err != nil || s.TelemetryListen != v) {
			t.Errorf("%s refused: %v", v, err)
		}
		if !ok && (err == nil || s.TelemetryListen == v) {
			t.Errorf("%s accepted", v)
		}
	}
}

func TestByteBudgetFollowsTheFunctionMemory(t *testing.T) {
	for mem, want := range map[string]int64{"": 8 << 20, "128": 8 << 20, "512": 32 << 20, "10240": 64 << 20} {
		s, err := SettingsFromEnv(envOf(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": mem}))
		if err != nil || s.MaxBufferedBytes != want {
			t.Errorf("%s MB: budget %d, %v; want %d", mem, s.MaxBufferedBytes, err, want)
		}
	}
	for mem, want := range map[string]int{"": 20000, "128": 1536, "1769": 20000} {
		s, _ := SettingsFromEnv(envOf(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": mem}))
		if s.MaxBufferedSpans != want {
			t.Errorf("%s MB: span limit %d, want %d", mem, s.MaxBufferedSpans, want)
		}
	}
	s, _ := SettingsFromEnv(envOf(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", contract.EnvMaxBufferedSpans: "5000"}))
	if s.MaxBufferedSpans != 5000 {
		t.Errorf("explicit span limit overridden: %d", s.MaxBufferedSpans)
	}
	s, err := SettingsFromEnv(envOf(map[string]string{EnvMaxBufferedBytes: "2097152", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}))
	if err != nil || s.MaxBufferedBytes != 2<<20 {
		t.Errorf("explicit budget: %d, %v", s.MaxBufferedBytes, err)
	}
	if _, err := SettingsFromEnv(envOf(map[string]string{EnvMaxBufferedBytes: "1000"})); err == nil {
		t.Error("a budget below 1 MiB accepted")
	}
}

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}
