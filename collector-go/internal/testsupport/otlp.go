package testsupport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/cdk-lambda-otel-xray/collector-go/internal/contract"
)

// FreeLoopbackAddr returns a 127.0.0.1 address with a port free right now.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// Trace is a small trace as a Lambda handler would send it: a server span for
// the invocation, an HTTP client span and an AWS SDK client span under it.
type Trace struct {
	TraceID pcommon.TraceID
	Root    pcommon.SpanID
	HTTP    pcommon.SpanID
	AWS     pcommon.SpanID
}

// NewTrace builds a trace whose ID starts with the current epoch seconds,
// as X-Ray requires.
func NewTrace(seed byte) (ptrace.Traces, Trace) {
	now := time.Now()
	var ids Trace
	binary.BigEndian.PutUint32(ids.TraceID[0:4], uint32(now.Unix()))
	for i := 4; i < 16; i++ {
		ids.TraceID[i] = seed + byte(i)
	}
	ids.Root = pcommon.SpanID{seed, 1, 2, 3, 4, 5, 6, 1}
	ids.HTTP = pcommon.SpanID{seed, 1, 2, 3, 4, 5, 6, 2}
	ids.AWS = pcommon.SpanID{seed, 1, 2, 3, 4, 5, 6, 3}

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orders-api")
	rs.Resource().Attributes().PutStr("cloud.provider", "aws")
	rs.Resource().Attributes().PutStr("cloud.platform", "aws_lambda")
	rs.Resource().Attributes().PutStr("faas.name", "orders-api")
	spans := rs.ScopeSpans().AppendEmpty().Spans()

	root := spans.AppendEmpty()
	root.SetName("orders-api")
	root.SetKind(ptrace.SpanKindServer)
	root.SetTraceID(ids.TraceID)
	root.SetSpanID(ids.Root)
	root.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-50 * time.Millisecond)))
	root.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	root.Attributes().PutStr("faas.trigger", "http")

	httpSpan := spans.AppendEmpty()
	httpSpan.SetName("GET")
	httpSpan.SetKind(ptrace.SpanKindClient)
	httpSpan.SetTraceID(ids.TraceID)
	httpSpan.SetSpanID(ids.HTTP)
	httpSpan.SetParentSpanID(ids.Root)
	httpSpan.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-40 * time.Millisecond)))
	httpSpan.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-30 * time.Millisecond)))
	httpSpan.Attributes().PutStr("http.request.method", "GET")
	httpSpan.Attributes().PutStr("url.full", "https://inventory.example.com/items/42")
	httpSpan.Attributes().PutInt("http.response.status_code", 200)

	awsSpan := spans.AppendEmpty()
	awsSpan.SetName("DynamoDB.GetItem")
	awsSpan.SetKind(ptrace.SpanKindClient)
	awsSpan.SetTraceID(ids.TraceID)
	awsSpan.SetSpanID(ids.AWS)
	awsSpan.SetParentSpanID(ids.Root)
	awsSpan.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-20 * time.Millisecond)))
	awsSpan.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-10 * time.Millisecond)))
	awsSpan.Attributes().PutStr("rpc.system", "aws-api")
	awsSpan.Attributes().PutStr("rpc.service", "DynamoDB")
	awsSpan.Attributes().PutStr("rpc.method", "GetItem")
	awsSpan.Attributes().PutStr("aws.region", "us-east-1")
	awsSpan.Attributes().PutStr("aws.request_id", "REQ-123")
	awsSpan.Attributes().PutStr("aws.dynamodb.table_names", "orders")
	return td, ids
}

// XRayTraceID renders a trace ID the way X-Ray writes it: 1-<8 hex>-<24 hex>.
func XRayTraceID(id pcommon.TraceID) string {
	s := fmt.Sprintf("%x", id[:])
	return "1-" + s[:8] + "-" + s[8:]
}

// PostOTLP sends td as OTLP/HTTP protobuf to addr, as the function does.
func PostOTLP(t testing.TB, addr string, td ptrace.Traces) *http.Response {
	t.Helper()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return PostRaw(t, addr, "application/x-protobuf", body)
}

// PostRaw sends body to the OTLP traces path at addr with the given content type.
func PostRaw(t testing.TB, addr, contentType string, body []byte) *http.Response {
	t.Helper()
	resp, err := http.Post("http://"+addr+contract.OTLPTracesPath, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", contract.OTLPTracesPath, err)
	}
	_ = resp.Body.Close()
	return resp
}

// NewBurst builds n spans as a busy handler would send them in one OTLP
// request: traces of ten spans, a server span and nine client spans under
// it, all with valid X-Ray trace IDs. seed keeps IDs apart between bursts.
func NewBurst(n int, seed byte) ptrace.Traces {
	now := time.Now()
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "orders-api")
	rs.Resource().Attributes().PutStr("cloud.provider", "aws")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	var traceID pcommon.TraceID
	var root pcommon.SpanID
	for i := 0; i < n; i++ {
		span := spans.AppendEmpty()
		var id pcommon.SpanID
		id[0] = seed
		binary.BigEndian.PutUint32(id[4:], uint32(i+1))
		if i%10 == 0 {
			binary.BigEndian.PutUint32(traceID[0:4], uint32(now.Unix()))
			traceID[4] = seed
			binary.BigEndian.PutUint32(traceID[12:], uint32(i/10+1))
			root = id
			span.SetKind(ptrace.SpanKindServer)
			span.SetName("orders-api")
		} else {
			span.SetKind(ptrace.SpanKindClient)
			span.SetName("GET")
			span.SetParentSpanID(root)
			span.Attributes().PutStr("http.request.method", "GET")
			span.Attributes().PutStr("url.full", fmt.Sprintf("https://inventory.example.com/items/%d", i))
			span.Attributes().PutInt("http.response.status_code", 200)
		}
		span.SetTraceID(traceID)
		span.SetSpanID(id)
		span.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-20 * time.Millisecond)))
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(now))
	}
	return td
}

// CountedInvocation builds the trace of seed as the preload sends one
// invocation when its requests are read out of order: handler holds the
// handler span of requestID, counting count spans
// (contract.InvocationSpanCountAttribute), children its two child spans.
func CountedInvocation(seed byte, requestID string, count int64) (handler, children ptrace.Traces, ids Trace) {
	td, ids := NewTrace(seed)
	root := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	root.Attributes().PutStr("faas.invocation_id", requestID)
	root.Attributes().PutInt(contract.InvocationSpanCountAttribute, count)
	handler, children = ptrace.NewTraces(), ptrace.NewTraces()
	td.CopyTo(handler)
	td.CopyTo(children)
	handler.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool { return s.SpanID() != ids.Root })
	children.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool { return s.SpanID() == ids.Root })
	return handler, children, ids
}
