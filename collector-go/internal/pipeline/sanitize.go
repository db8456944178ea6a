package pipeline

import (
	"fmt"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Limits applied to every span before it is buffered, so that one span's
// size is bounded whatever the function sends (the OpenTelemetry SDKs leave
// attribute length unlimited by default). A segment document holds at most
// 64 kB (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html),
// so nothing longer would reach X-Ray anyway.
const (
	// maxValueBytes: longer string and bytes attribute values are cut and
	// end with "...[cut N bytes]".
	maxValueBytes = 4096
	// maxNesting: map and array attribute values nested deeper are replaced
	// by a note; the translator walks them recursively.
	maxNesting = 8
	// maxElements: longer arrays and maps keep their first elements.
	maxElements = 128
	// maxSpanBytes: a span still larger after the cuts above has its values
	// cut to smallValueBytes and its events to maxEventsWhenLarge.
	maxSpanBytes       = 64 << 10
	smallValueBytes    = 256
	maxEventsWhenLarge = 16
	// spanOverhead approximates the fixed size of a span in memory.
	spanOverhead = 256
)

// trimTraces applies the limits to every resource and span of td and
// returns its size in bytes as the buffer counts it.
func trimTraces(td ptrace.Traces) int64 {
	var total int64
	for _, rs := range td.ResourceSpans().All() {
		trimMap(rs.Resource().Attributes(), maxValueBytes, 0)
		total += mapBytes(rs.Resource().Attributes())
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				total += trimSpan(span)
			}
		}
	}
	return total
}

// trimSpan applies the limits to one span and returns its size.
func trimSpan(span ptrace.Span) int64 {
	trimSpanValues(span, maxValueBytes)
	size := spanBytes(span)
	if size > maxSpanBytes {
		if span.Events().Len() > maxEventsWhenLarge {
			n := 0
			span.Events().RemoveIf(func(ptrace.SpanEvent) bool { n++; return n > maxEventsWhenLarge })
		}
		trimSpanValues(span, smallValueBytes)
		size = spanBytes(span)
	}
	return size
}

func trimSpanValues(span ptrace.Span, limit int) {
	if len(span.Name()) > limit {
		span.SetName(cutString(span.Name(), limit))
	}
	if len(span.Status().Message()) > limit {
		span.Status().SetMessage(cutString(span.Status().Message(), limit))
	}
	trimMap(span.Attributes(), limit, 0)
	for _, e := range span.Events().All() {
		trimMap(e.Attributes(), limit, 0)
	}
	for _, l := range span.Links().All() {
		trimMap(l.Attributes(), limit, 0)
	}
}

func trimMap(m pcommon.Map, limit, depth int) {
	if m.Len() > maxElements {
		n := 0
		m.RemoveIf(func(string, pcommon.Value) bool { n++; return n > maxElements })
	}
	for _, v := range m.All() {
		trimValue(v, limit, depth+1)
	}
}

func trimValue(v pcommon.Value, limit, depth int) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if len(v.Str()) > limit {
			v.SetStr(cutString(v.Str(), limit))
		}
	case pcommon.ValueTypeBytes:
		if b := v.Bytes(); b.Len() > limit {
			v.SetStr(fmt.Sprintf("[%d bytes, not kept]", b.Len()))
		}
	case pcommon.ValueTypeMap:
		if depth >= maxNesting {
			v.SetStr(fmt.Sprintf("[nested deeper than %d levels, not kept]", maxNesting))
			return
		}
		trimMap(v.Map(), limit, depth)
	case pcommon.ValueTypeSlice:
		if depth >= maxNesting {
			v.SetStr(fmt.Sprintf("[nested deeper than %d levels, not kept]", maxNesting))
			return
		}
		s := v.Slice()
		if s.Len() > maxElements {
			n := 0
			s.RemoveIf(func(pcommon.Value) bool { n++; return n > maxElements })
		}
		for _, e := range s.All() {
			trimValue(e, limit, depth+1)
		}
	}
}

// cutString cuts s to about limit bytes at a character boundary and says
// how much was cut.
func cutString(s string, limit int) string {
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("...[cut %d bytes]", len(s)-cut)
}

// spanBytes approximates the memory a span holds: its strings and values
// plus a fixed overhead.
func spanBytes(span ptrace.Span) int64 {
	n := int64(spanOverhead + len(span.Name()) + len(span.Status().Message()) + len(span.TraceState().AsRaw()))
	n += mapBytes(span.Attributes())
	for _, e := range span.Events().All() {
		n += int64(64+len(e.Name())) + mapBytes(e.Attributes())
	}
	for _, l := range span.Links().All() {
		n += int64(64+len(l.TraceState().AsRaw())) + mapBytes(l.Attributes())
	}
	return n
}

func mapBytes(m pcommon.Map) int64 {
	var n int64
	for k, v := range m.All() {
		n += int64(len(k)) + valueBytes(v)
	}
	return n
}

func valueBytes(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return int64(16 + len(v.Str()))
	case pcommon.ValueTypeBytes:
		return int64(16 + v.Bytes().Len())
	case pcommon.ValueTypeMap:
		return 16 + mapBytes(v.Map())
	case pcommon.ValueTypeSlice:
		n := int64(16)
		for _, e := range v.Slice().All() {
			n += valueBytes(e)
		}
		return n
	}
	return 16
}

// tracesBytes is the size of td as the buffer counts it.
func tracesBytes(td ptrace.Traces) int64 {
	var total int64
	for _, rs := range td.ResourceSpans().All() {
		total += mapBytes(rs.Resource().Attributes())
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				total += spanBytes(span)
			}
		}
	}
	return total
}
