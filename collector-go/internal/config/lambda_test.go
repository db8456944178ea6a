package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestInvalidConfigsNameTheFieldAndTheFix(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"invalid_public_endpoint.yaml", []string{"receivers::otlp::protocols::http::endpoint", `"0.0.0.0:4318"`, "use 127.0.0.1:4318"}},
		{"invalid_processor.yaml", []string{"processors", "batch", "remove"}},
		{"invalid_unknown_exporter.yaml", []string{`exporter "kafka"`, "awsxray", "debug", "otlphttp"}},
		{"invalid_sending_queue.yaml", []string{"exporters::otlphttp::sending_queue", "enabled to false"}},
		{"invalid_metrics_pipeline.yaml", []string{"service::pipelines::metrics", "only a traces pipeline"}},
		{"invalid_undefined_exporter.yaml", []string{"exporters::awsxray", "not defined"}},
		{"invalid_field.yaml", []string{"exporters::awsxray", "no_such_field"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := load(t, fileURI(t, filepath.Join("testdata", tt.file)))
			if err == nil {
				t.Fatal("config accepted, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
