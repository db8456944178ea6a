package components

import (
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestAWSXRayPolicyRunsNumWorkersPutTraceSegmentsCallsOf50Documents(t *testing.T) {
	cfg := awsxrayexporter.NewFactory().CreateDefaultConfig().(*awsxrayexporter.Config)
	for workers, want := range map[int]int{8: 8, 3: 3, 0: 1} {
		cfg.AWSSessionSettings.NumberOfWorkers = workers
		p := awsxrayPolicy(cfg)
		if p.MaxDocuments != 50 || p.Workers != want {
			t.Errorf("num_workers %d: policy = %+v, want 50 documents per call and %d workers", workers, p, want)
		}
	}
}

func TestAWSXRayCountsALocalRootSpanAsTwoDocuments(t *testing.T) {
	span := ptrace.NewSpan()
	if got := xrayDocuments(span); got != 1 {
		t.Errorf("plain span: %d documents, want 1", got)
	}
	span.Attributes().PutStr("aws.span.kind", "LOCAL_ROOT")
	if got := xrayDocuments(span); got != 2 {
		t.Errorf("local root span: %d documents, want 2", got)
	}
}
