package components

import (
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// maxDocumentsPerPutTraceSegments is the most segment documents one
// PutTraceSegments call takes (the awsxray exporter splits larger inputs
// into calls of this size, one after the other; see
// https://docs.aws.amazon.com/xray/latest/api/API_PutTraceSegments.html).
const maxDocumentsPerPutTraceSegments = 50

// awsSpanKind and localRoot mark spans (set by AWS Application Signals
// instrumentation) that the awsxray exporter turns into two documents: a
// service segment and a dependency subsegment.
const (
	awsSpanKind = "aws.span.kind"
	localRoot   = "LOCAL_ROOT"
)

// awsxrayPolicy is the export policy of the awsxray exporter. Every call is
// one PutTraceSegments request, so a flush is cut into batches of at most 50
// documents and num_workers of them ("maximum number of concurrent calls to
// AWS X-Ray", default 8) run at once: a large burst fits the flush deadline,
// and a rejected request loses only its own spans.
func awsxrayPolicy(cfg component.Config) ExportPolicy {
	workers := 1
	if xray, ok := cfg.(*awsxrayexporter.Config); ok {
		workers = max(1, xray.AWSSessionSettings.NumberOfWorkers)
	}
	return ExportPolicy{
		MaxDocuments: maxDocumentsPerPutTraceSegments,
		Documents:    xrayDocuments,
		Workers:      workers,
	}
}

// xrayDocuments counts the segment documents the awsxray exporter makes of
// span: two for a local root span that is not a server or internal span,
// one otherwise. Counting every local root span as two keeps a batch within
// the limit without repeating the exporter's finer rule.
func xrayDocuments(span ptrace.Span) int {
	if kind, ok := span.Attributes().Get(awsSpanKind); ok && kind.Str() == localRoot {
		return 2
	}
	return 1
}
