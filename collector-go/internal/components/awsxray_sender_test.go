package components

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awsxrayexporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// fakeXRay records PutTraceSegments calls; unprocessed maps a segment ID
// to the error code to list it under UnprocessedTraceSegments, once.
type fakeXRay struct {
	mu          sync.Mutex
	docs        []string
	calls       int
	unprocessed map[string]string
}

func (f *fakeXRay) PutTraceSegments(_ context.Context, in *xray.PutTraceSegmentsInput, _ ...func(*xray.Options)) (*xray.PutTraceSegmentsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	out := &xray.PutTraceSegmentsOutput{}
	for _, d := range in.TraceSegmentDocuments {
		var m map[string]any
		_ = json.Unmarshal([]byte(d), &m)
		id, _ := m["id"].(string)
		if code, ok := f.unprocessed[id]; ok {
			delete(f.unprocessed, id)
			out.UnprocessedTraceSegments = append(out.UnprocessedTraceSegments, types.UnprocessedTraceSegment{Id: aws.String(id), ErrorCode: aws.String(code)})
			continue
		}
		f.docs = append(f.docs, d)
	}
	return out, nil
}

func newTestSender(t *testing.T, client putTraceSegments) *xraySender {
	t.Helper()
	cfg := awsxrayexporter.NewFactory().CreateDefaultConfig().(*awsxrayexporter.Config)
	cfg.IndexedAttributes = []string{"indexed"}
	return newXRaySenderWithClient(cfg, client, zap.NewNop())
}

var now = time.Now()

// addSpan appends a valid span with the given IDs to ss.
func addSpan(ss ptrace.ScopeSpans, n byte) ptrace.Span {
	s := ss.Spans().AppendEmpty()
	s.SetName("span")
	tid := [16]byte{}
	// The X-Ray ID generator puts the epoch seconds in the first 4 bytes.
	ts := uint32(now.Unix())
	tid[0], tid[1], tid[2], tid[3] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	tid[15] = n
	s.SetTraceID(tid)
	s.SetSpanID([8]byte{1, 0, 0, 0, 0, 0, 0, n})
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
	return s
}

func TestContribTranslatorAndAWSConfigAreLinked(t *testing.T) {
	td := ptrace.NewTraces()
	span := addSpan(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty(), 1)
	docs, err := makeSegmentDocuments(span, pcommon.NewResource(), nil, false, nil, false)
	if err != nil || len(docs) != 1 || !strings.Contains(docs[0], `"id":"0100000000000001"`) {
		t.Fatalf("translator: %v, %v", docs, err)
	}
	cfg := awsxrayexporter.NewFactory().CreateDefaultConfig().(*awsxrayexporter.Config)
	cfg.AWSSessionSettings.Region = "eu-west-3"
	cfg.AWSSessionSettings.MaxRetries = 7
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	awsCfg, err := getAWSConfig(context.Background(), zap.NewNop(), unsafePointer(cfg))
	if err != nil || awsCfg.Region != "eu-west-3" || awsCfg.RetryMaxAttempts != 7 {
		t.Fatalf("AWS config: region %q, retries %d, %v", awsCfg.Region, awsCfg.RetryMaxAttempts, err)
	}
}

func TestUnprocessedSegmentsAreRetriedWhenTransientAndDroppedOtherwise(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := byte(1); i <= 4; i++ {
		addSpan(ss, i)
	}
	fake := &fakeXRay{unprocessed: map[string]string{
		"0100000000000002": "ThrottledException",
		"0100000000000003": "InvalidSegment",
	}}
	res := newTestSender(t, fake).Send(context.Background(), td)
	if res.Stored != 3 || res.Dropped[DropUnprocessed] != 1 || res.RetrySpans != 0 {
		t.Fatalf("result = %+v, want 3 stored (one after a second round), 1 dropped as unprocessed", res)
	}
	if fake.calls != 2 || len(fake.docs) != 3 {
		t.Errorf("calls = %d, stored documents = %d, want 2 and 3", fake.calls, len(fake.docs))
	}
}

func TestTransientUnprocessedSegmentsAreKeptWhenTheDeadlineComes(t *testing.T) {
	td := ptrace.NewTraces()
	addSpan(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty(), 1)
	fake := &fakeXRay{unprocessed: map[string]string{"0100000000000001": "ThrottledException"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	res := newTestSender(t, fake).Send(ctx, td)
	if res.Stored != 0 || res.RetrySpans != 1 || res.Retry.SpanCount() != 1 || res.DroppedSpans() != 0 {
		t.Fatalf("result = %+v, want the span kept for a retry", res)
	}
}

// The segment document rules, written from the X-Ray segment document
// reference (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html),
// independently of the repair code.
var (
	ruleID      = regexp.MustCompile(`^[0-9a-f]{16}$`)
	ruleTraceID = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	ruleName    = regexp.MustCompile(`^[\p{L}\p{N}\s_.:/%&#=+\\\-@]{1,200}$`)
	ruleAnnKey  = regexp.MustCompile(`^[A-Za-z0-9_]{1,500}$`)
)

func checkDocument(t *testing.T, doc string) {
	t.Helper()
	if len(doc) > 64_000 {
		t.Errorf("document of %d bytes, over 64 kB", len(doc))
	}
	if !utf8.ValidString(doc) || strings.ContainsRune(doc, utf8.RuneError) || strings.Contains(doc, `\ufffd`) {
		t.Errorf("document holds invalid or replaced UTF-8")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	checkEntity(t, m, true)
}

func checkEntity(t *testing.T, m map[string]any, top bool) {
	t.Helper()
	if id, _ := m["id"].(string); !ruleID.MatchString(id) {
		t.Errorf("id %v", m["id"])
	}
	if tid, _ := m["trace_id"].(string); top && !ruleTraceID.MatchString(tid) {
		t.Errorf("trace_id %v", m["trace_id"])
	}
	if p, ok := m["parent_id"]; ok {
		if s, _ := p.(string); !ruleID.MatchString(s) {
			t.Errorf("parent_id %v", p)
		}
	}
	if name, _ := m["name"].(string); !ruleName.MatchString(name) || utf8.RuneCountInString(name) > 200 {
		t.Errorf("name %q (%d characters)", name, utf8.RuneCountInString(name))
	}
	if st, ok := m["start_time"].(float64); !ok || st <= 0 {
		t.Errorf("start_time %v", m["start_time"])
	}
	if _, ok := m["end_time"].(float64); !ok && m["in_progress"] != true {
		t.Errorf("neither end_time nor in_progress")
	}
	if ns, ok := m["namespace"]; ok && ns != "aws" && ns != "remote" {
		t.Errorf("namespace %v", ns)
	}
	if u, ok := m["user"].(string); ok && utf8.RuneCountInString(u) > 250 {
		t.Errorf("user of %d characters", utf8.RuneCountInString(u))
	}
	if ann, ok := m["annotations"].(map[string]any); ok {
		if len(ann) > 50 {
			t.Errorf("%d annotations", len(ann))
		}
		for k, v := range ann {
			if !ruleAnnKey.MatchString(k) {
				t.Errorf("annotation key %q", k)
			}
			switch x := v.(type) {
			case string:
				if utf8.RuneCountInString(x) > 1000 {
					t.Errorf("annotation %q of %d characters", k, utf8.RuneCountInString(x))
				}
			case float64, bool:
			default:
				t.Errorf("annotation %q of type %T", k, v)
			}
		}
	}
	if md, ok := m["metadata"].(map[string]any); ok {
		for ns := range md {
			if strings.HasPrefix(strings.ToUpper(ns), "AWS.") {
				t.Errorf("metadata namespace %q is reserved", ns)
			}
		}
	}
	if subs, ok := m["subsegments"].([]any); ok {
		for _, s := range subs {
			checkEntity(t, s.(map[string]any), false)
		}
	}
}

func TestAdversarialSpansBecomeOnlyDocumentsXRayAccepts(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	long := strings.Repeat("é", 300) + "<>{}"
	rs.Resource().Attributes().PutStr("service.name", "svc "+long)
	ss := rs.ScopeSpans().AppendEmpty()
	n := byte(0)
	next := func() ptrace.Span { n++; return addSpan(ss, n) }

	next().SetName(strings.Repeat("ü", 150) + "!!" + strings.Repeat("名", 100)) // cut mid-character by bytes
	s := next()
	s.SetKind(ptrace.SpanKindClient)
	s.SetParentSpanID([8]byte{9, 9, 9, 9, 9, 9, 9, 9})
	for _, k := range []string{"peer.service", "db.name", "http.host", "aws.local.service", "aws.remote.service"} {
		s.Attributes().PutStr(k, k+" "+long)
	}
	s = next()
	s.Attributes().PutStr("indexed", strings.Repeat("v", 5000))
	s = next()
	s.Attributes().PutStr("enduser.id", strings.Repeat("u", 400))
	s = next()
	for i := 0; i < 2000; i++ { // about 2 MB of metadata
		s.Attributes().PutStr("attr"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+strings.Repeat("y", i%5)+itoa(i), strings.Repeat("z", 1000))
	}
	s = next()
	s.Events().AppendEmpty().SetName("exception")
	s.Events().At(0).Attributes().PutStr("exception.stacktrace", strings.Repeat("at frame\n", 20000))
	s.Status().SetCode(ptrace.StatusCodeError)

	// Indexing every attribute: keys with symbols, too many annotations.
	cfg := awsxrayexporter.NewFactory().CreateDefaultConfig().(*awsxrayexporter.Config)
	cfg.IndexAllAttributes = true
	s = next()
	for i := 0; i < 80; i++ {
		s.Attributes().PutStr("key with spaces.and-dashes "+itoa(i)+strings.Repeat("k", 600), "value")
	}
	zeroID := next()
	zeroID.SetSpanID([8]byte{})

	fake := &fakeXRay{}
	sender := newXRaySenderWithClient(cfg, fake, zap.NewNop())
	res := sender.Send(context.Background(), td)
	if res.Stored+res.DroppedSpans() != int(n) || res.RetrySpans != 0 {
		t.Fatalf("result = %+v, want every one of %d spans stored or dropped", res, n)
	}
	if res.Dropped["invalid_id"] != 1 {
		t.Errorf("the span with a zero ID: dropped = %v, want invalid_id 1", res.Dropped)
	}
	if res.Stored != int(n)-1 {
		t.Errorf("stored %d of %d spans, want all but the zero-ID one", res.Stored, n)
	}
	for _, d := range fake.docs {
		checkDocument(t, d)
	}
	if len(res.Repairs) == 0 {
		t.Error("no document was repaired")
	}
	t.Logf("repairs: %v", res.Repairs)
}

func TestOneSlowSpanDoesNotHoldTheFlushPastItsDeadline(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := byte(1); i <= 50; i++ {
		addSpan(ss, i)
	}
	fake := &fakeXRay{}
	sender := newTestSender(t, fake)
	translate := sender.makeDocs
	sender.makeDocs = func(span ptrace.Span, r pcommon.Resource) ([]string, error) {
		if span.SpanID()[7] == 25 {
			time.Sleep(150 * time.Millisecond)
		}
		if span.SpanID()[7] == 26 {
			panic("translator bug")
		}
		return translate(span, r)
	}
	res := sender.Send(context.Background(), td)
	if res.Stored != 49 || res.Dropped[DropPanic] != 1 || res.RetrySpans != 0 {
		t.Fatalf("result = %+v, want 49 stored and the panicking span dropped", res)
	}

	// With a deadline that the slow span overruns, Send returns right after
	// it and keeps every span for a retry.
	td = ptrace.NewTraces()
	ss = td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := byte(1); i <= 50; i++ {
		addSpan(ss, i)
	}
	// Ten slow spans: translating them all would take 1.5 s, stopping at the deadline about
	// 150 ms; the check sits far from both.
	sender.makeDocs = func(span ptrace.Span, r pcommon.Resource) ([]string, error) {
		if id := span.SpanID()[7]; id >= 21 && id <= 30 {
			time.Sleep(150 * time.Millisecond)
		}
		return translate(span, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	res = sender.Send(ctx, td)
	if took := time.Since(start); took > 750*time.Millisecond {
		t.Errorf("Send took %v with a 100 ms deadline: it translated past the deadline", took)
	}
	if res.Stored != 0 || res.RetrySpans != 50 || res.Retry.SpanCount() != 50 || res.DroppedSpans() != 0 {
		t.Fatalf("result = %+v, want all 50 spans kept for a retry", res)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

var nopLogger = zap.NewNop()

func newTestConfig() *awsxrayexporter.Config {
	return awsxrayexporter.NewFactory().CreateDefaultConfig().(*awsxrayexporter.Config)
}
