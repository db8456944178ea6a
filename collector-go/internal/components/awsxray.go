package components

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/xraydoc"
)

// maxDocumentsPerPutTraceSegments is the most segment documents one
// PutTraceSegments call takes
// (https://docs.aws.amazon.com/xray/latest/api/API_PutTraceSegments.html:
// TraceSegmentDocuments, "Array Members: Maximum number of 50 items").
const maxDocumentsPerPutTraceSegments = 50

// One Send offers X-Ray again, in further rounds, the batches that failed
// for a transient reason (throttling, 5xx, a connection broken before the
// answer) and the segments X-Ray listed as UnprocessedTraceSegments with a
// transient error code: at most the exporter's max_retries more rounds,
// capped at maxExtraRounds; roundBackoff is the wait before the second
// round, doubled for each further one. This is the sender's only retry
// policy: the AWS SDK's own retries are off for PutTraceSegments, so a body
// X-Ray receives twice is always a retry counted in RetriedCalls.
const (
	maxExtraRounds = 5
	roundBackoff   = 50 * time.Millisecond
)

// The collector-contrib translator and AWS session set-up, which the awsxray
// exporter keeps in internal packages. This distribution uses them as they
// are, pinned by go.mod, so that segments are made exactly as the exporter
// makes them; TestContribTranslatorAndAWSConfigAreLinked fails if a contrib
// upgrade changes them.
//
//go:linkname makeSegmentDocuments github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter/internal/translator.MakeSegmentDocuments
func makeSegmentDocuments(span ptrace.Span, resource pcommon.Resource, indexedAttrs []string, indexAllAttrs bool, logGroupNames []string, skipTimestampValidation bool) ([]string, error)

// getAWSConfig is awsutil.GetAWSConfig; settings is *awsutil.AWSSessionSettings.
//
//go:linkname getAWSConfig github.com/open-telemetry/opentelemetry-collector-contrib/internal/aws/awsutil.GetAWSConfig
func getAWSConfig(ctx context.Context, logger *zap.Logger, settings unsafe.Pointer) (aws.Config, error)

// putTraceSegments is the one X-Ray call the sender makes.
type putTraceSegments interface {
	PutTraceSegments(ctx context.Context, in *xray.PutTraceSegmentsInput, optFns ...func(*xray.Options)) (*xray.PutTraceSegmentsOutput, error)
}

// awsxrayPolicy is the export policy of the awsxray exporter: its own
// sender instead of the exporter's push function, so that every span is
// accounted for (UnprocessedTraceSegments included) and every document is
// checked against X-Ray's rules before it is sent.
func awsxrayPolicy(cfg component.Config) ExportPolicy {
	workers := 1
	if x, ok := cfg.(*awsxrayexporter.Config); ok {
		workers = max(1, x.AWSSessionSettings.NumberOfWorkers)
	}
	return ExportPolicy{
		MaxDocuments: maxDocumentsPerPutTraceSegments,
		Documents:    xrayDocuments,
		Workers:      workers,
		NewSender:    newXRaySender,
	}
}

// awsSpanKind and localRoot mark spans (set by AWS Application Signals
// instrumentation) that the awsxray exporter turns into two documents: a
// service segment and a dependency subsegment.
const (
	awsSpanKind = "aws.span.kind"
	localRoot   = "LOCAL_ROOT"
)

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

// xraySender translates spans with the contrib translator, repairs the
// documents (xraydoc) and sends them with PutTraceSegments.
type xraySender struct {
	cfg      *awsxrayexporter.Config
	skipTS   bool
	client   putTraceSegments
	workers  int
	logger   *zap.Logger
	makeDocs func(ptrace.Span, pcommon.Resource) ([]string, error)
	// rounds is how often one Send offers a batch at most.
	rounds int
}

func newXRaySender(ctx context.Context, set exporter.Settings, cfg component.Config) (Sender, error) {
	x, ok := cfg.(*awsxrayexporter.Config)
	if !ok {
		return nil, fmt.Errorf("awsxray: unexpected configuration type %T", cfg)
	}
	awsCfg, err := getAWSConfig(ctx, set.Logger, unsafePointer(x))
	if err != nil {
		return nil, err
	}
	return newXRaySenderWithClient(x, xray.NewFromConfig(awsCfg, withoutSDKRetries), set.Logger), nil
}

// withoutSDKRetries makes every PutTraceSegments one attempt: the sender
// retries by its own policy, and counts what it sends again.
func withoutSDKRetries(o *xray.Options) {
	o.Retryer = aws.NopRetryer{}
	o.RetryMaxAttempts = 1
}

func newXRaySenderWithClient(cfg *awsxrayexporter.Config, client putTraceSegments, logger *zap.Logger) *xraySender {
	s := &xraySender{cfg: cfg, client: client, workers: max(1, cfg.AWSSessionSettings.NumberOfWorkers), logger: logger,
		rounds: 1 + min(max(cfg.AWSSessionSettings.MaxRetries, 0), maxExtraRounds)}
	// The exporter's feature gate awsxray.skiptimestampvalidation, read once
	// by its factory into an unexported field.
	if f := reflect.ValueOf(cfg).Elem().FieldByName("skipTimestampValidation"); f.IsValid() && f.Kind() == reflect.Bool {
		s.skipTS = f.Bool()
	}
	s.makeDocs = func(span ptrace.Span, res pcommon.Resource) ([]string, error) {
		return makeSegmentDocuments(span, res, cfg.IndexedAttributes, cfg.IndexAllAttributes, cfg.LogGroupNames, s.skipTS)
	}
	return s
}

func (s *xraySender) Shutdown(context.Context) error { return nil }

// item is one span and its repaired documents.
type item struct {
	ref  spanRef
	docs []xraydoc.Document
}

// Send translates every span (checking ctx between spans), drops what
// cannot be made valid, and sends the rest in calls of at most 50
// documents, workers calls at a time. Segments X-Ray lists as unprocessed
// with a transient error code are offered again, up to maxRounds times
// within ctx; what is still unsent, cut off or refused for a transient
// reason (throttling, 5xx, no connection) comes back in Retry.
func (s *xraySender) Send(ctx context.Context, td ptrace.Traces) SendResult {
	res := SendResult{}
	refs := spanRefs(td)
	items := make([]item, 0, len(refs))
	var retry []spanRef
	for i, r := range refs {
		if ctx.Err() != nil {
			retry = append(retry, refs[i:]...)
			break
		}
		docs, reason := s.translate(r, &res)
		if reason != "" {
			res.Drop(reason, 1)
			continue
		}
		items = append(items, item{ref: r, docs: docs})
	}
	pending := items
	for round := 1; len(pending) > 0; round++ {
		callsBefore := res.Calls
		again, keep, stop := s.round(ctx, pending, &res)
		if round > 1 {
			res.RetriedCalls += res.Calls - callsBefore
		}
		for _, it := range keep {
			retry = append(retry, it.ref)
		}
		pending = again
		if stop || round >= s.rounds || len(pending) == 0 || !sleep(ctx, roundBackoff<<(round-1)) {
			break
		}
	}
	for _, it := range pending {
		retry = append(retry, it.ref)
	}
	if len(retry) > 0 {
		res.Retry, res.RetrySpans = collect(retry), len(retry)
	}
	return res
}

// translate makes and repairs the documents of one span; a non-empty
// reason means the span is dropped.
func (s *xraySender) translate(r spanRef, res *SendResult) (docs []xraydoc.Document, reason string) {
	defer func() {
		if p := recover(); p != nil {
			docs, reason = nil, DropPanic
			if res.Err == nil {
				res.Err = fmt.Errorf("translating span %s panicked: %v", r.span.SpanID(), p)
			}
		}
	}()
	raw, err := s.makeDocs(r.span, r.rs.Resource())
	if err != nil || len(raw) == 0 {
		s.logger.Debug("span not translated", zap.Stringer("span_id", r.span.SpanID()), zap.Error(err))
		return nil, DropUntranslatable
	}
	for _, d := range raw {
		doc, err := xraydoc.Repair(d)
		if err != nil {
			s.logger.Debug("segment document refused", zap.Stringer("span_id", r.span.SpanID()), zap.String("reason", xraydoc.Reason(err)))
			return nil, xraydoc.Reason(err)
		}
		for _, what := range doc.Repairs {
			if res.Repairs == nil {
				res.Repairs = map[string]int{}
			}
			res.Repairs[what]++
		}
		docs = append(docs, doc)
	}
	return docs, ""
}

// round sends pending in calls of at most 50 documents. It returns the
// items to offer again this Send (unprocessed with a transient code), the
// items to keep for a later flush, and whether to stop (X-Ray unreachable
// or ctx done).
func (s *xraySender) round(ctx context.Context, pending []item, res *SendResult) (again, keep []item, stop bool) {
	var batches [][]item
	var current []item
	docs := 0
	for _, it := range pending {
		if len(current) > 0 && docs+len(it.docs) > maxDocumentsPerPutTraceSegments {
			batches = append(batches, current)
			current, docs = nil, 0
		}
		current = append(current, it)
		docs += len(it.docs)
	}
	if len(current) > 0 {
		batches = append(batches, current)
	}

	unreachable := SendBatches(ctx, s.workers, batches, func(b []item) func() bool {
		stored, retryNow, retryLater, dropped, err := s.call(ctx, b)
		return func() bool {
			res.Calls++
			res.Stored += stored
			again = append(again, retryNow...)
			keep = append(keep, retryLater...)
			for reason, n := range dropped {
				res.Drop(reason, n)
			}
			if err == nil {
				return false
			}
			res.FailedCalls++
			if res.Err == nil {
				res.Err = err
			}
			return IsUnreachable(err)
		}
	}, func(b []item) {
		keep = append(keep, b...)
		res.Unsent++
	})
	return again, keep, unreachable || ctx.Err() != nil
}

// call makes one PutTraceSegments call for batch and sorts its spans.
func (s *xraySender) call(ctx context.Context, batch []item) (stored int, retryNow, retryLater []item, dropped map[string]int, err error) {
	dropped = map[string]int{}
	in := &xray.PutTraceSegmentsInput{}
	for _, it := range batch {
		for _, d := range it.docs {
			in.TraceSegmentDocuments = append(in.TraceSegmentDocuments, d.JSON)
		}
	}
	out, err := s.put(ctx, in)
	if err != nil {
		switch {
		case errors.Is(err, errPanicked):
			dropped[DropPanic] += len(batch)
		case retryable(err) && (ctx.Err() != nil || IsUnreachable(err)):
			// Cut off by the deadline, or X-Ray cannot be reached: for
			// a later flush.
			retryLater = batch
		case retryable(err):
			retryNow = batch
		default:
			dropped[DropRejected] += len(batch)
		}
		return 0, retryNow, retryLater, dropped, err
	}
	unprocessed := map[string]string{}
	if out != nil {
		for _, u := range out.UnprocessedTraceSegments {
			unprocessed[aws.ToString(u.Id)] = aws.ToString(u.ErrorCode)
		}
	}
	s.logger.Debug("PutTraceSegments", zap.Int("documents", len(in.TraceSegmentDocuments)), zap.Int("unprocessed", len(unprocessed)))
	for _, it := range batch {
		code, failed := "", false
		for _, d := range it.docs {
			if c, ok := unprocessed[d.ID]; ok {
				code, failed = c, true
				break
			}
		}
		switch {
		case !failed:
			stored++
		case transientCode(code):
			retryNow = append(retryNow, it)
		default:
			dropped[DropUnprocessed]++
		}
	}
	if len(unprocessed) > 0 && len(retryNow) < len(unprocessed) {
		err = fmt.Errorf("X-Ray did not process %d segments", len(unprocessed))
	}
	return stored, retryNow, nil, dropped, err
}

var errPanicked = errors.New("PutTraceSegments panicked")

func (s *xraySender) put(ctx context.Context, in *xray.PutTraceSegmentsInput) (out *xray.PutTraceSegmentsOutput, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%w: %v", errPanicked, p)
		}
	}()
	return s.client.PutTraceSegments(ctx, in)
}

// throttlingCodes are the error codes AWS services use for throttling,
// which the AWS SDKs treat as retryable
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
var throttlingCodes = []string{"ThrottledException", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded", "Throttling"}

// retryable reports whether a failed call may succeed later: throttling,
// server errors, network errors and the flush deadline, but not other
// client errors (4xx).
func retryable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		for _, c := range throttlingCodes {
			if ae.ErrorCode() == c {
				return true
			}
		}
		if ae.ErrorFault() == smithy.FaultClient {
			return false
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		// 0: no answer at all (connection refused or broken).
		status := re.HTTPStatusCode()
		return status == 0 || status == 429 || status >= 500
	}
	return true
}

// transientCode reports whether an UnprocessedTraceSegments error code
// names a transient failure. X-Ray does not list its codes
// (https://docs.aws.amazon.com/xray/latest/api/API_UnprocessedTraceSegment.html);
// throttling, internal and unavailability errors are taken as transient,
// anything else as a property of the document.
func transientCode(code string) bool {
	c := strings.ToLower(code)
	for _, t := range []string{"throttl", "toomanyrequests", "limitexceeded", "internal", "unavailable", "timeout"} {
		if strings.Contains(c, t) {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// unsafePointer returns the address of cfg's AWS session settings as
// getAWSConfig takes it.
func unsafePointer(cfg *awsxrayexporter.Config) unsafe.Pointer {
	return unsafe.Pointer(&cfg.AWSSessionSettings)
}
