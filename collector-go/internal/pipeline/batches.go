package pipeline

import "go.opentelemetry.io/collector/pdata/ptrace"

// batch is a part of a flush sent in one exporter call.
type batch struct {
	traces ptrace.Traces
	spans  int
}

// splitTraces moves the spans of td into batches whose documents, as counted
// by documents, stay within maxDocuments. Each batch carries copies of the
// resource and scope of its spans. maxDocuments <= 0 keeps td in one batch.
// td is emptied.
func splitTraces(td ptrace.Traces, maxDocuments int, documents func(ptrace.Span) int) []batch {
	total := td.SpanCount()
	if total == 0 {
		return nil
	}
	if maxDocuments <= 0 {
		return []batch{{traces: td, spans: total}}
	}
	var (
		out        []batch
		current    *batch
		currentDoc int
		// Where spans of the resource and scope being read go in current.
		destResource ptrace.ResourceSpans
		destSpans    ptrace.SpanSlice
		haveResource bool
		haveScope    bool
	)
	resources := td.ResourceSpans()
	for i := 0; i < resources.Len(); i++ {
		rs := resources.At(i)
		haveResource = false
		scopes := rs.ScopeSpans()
		for j := 0; j < scopes.Len(); j++ {
			ss := scopes.At(j)
			haveScope = false
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				n := documents(span)
				if current != nil && currentDoc+n > maxDocuments {
					out = append(out, *current)
					current = nil
				}
				if current == nil {
					current = &batch{traces: ptrace.NewTraces()}
					currentDoc = 0
					haveResource, haveScope = false, false
				}
				if !haveResource {
					destResource = current.traces.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(destResource.Resource())
					destResource.SetSchemaUrl(rs.SchemaUrl())
					haveResource = true
				}
				if !haveScope {
					destScope := destResource.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(destScope.Scope())
					destScope.SetSchemaUrl(ss.SchemaUrl())
					destSpans = destScope.Spans()
					haveScope = true
				}
				span.MoveTo(destSpans.AppendEmpty())
				current.spans++
				currentDoc += n
			}
		}
	}
	if current != nil {
		out = append(out, *current)
	}
	// MoveTo leaves empty spans behind; drop them with their containers.
	resources.RemoveIf(func(ptrace.ResourceSpans) bool { return true })
	return out
}
