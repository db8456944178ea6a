package xraydoc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Reasons a document is refused; they name the dropped_reasons of the flush
// summary.
const (
	ReasonInvalidJSON      = "invalid_document"
	ReasonInvalidID        = "invalid_id"
	ReasonInvalidTraceID   = "invalid_trace_id"
	ReasonInvalidParentID  = "invalid_parent_id"
	ReasonInvalidStartTime = "invalid_start_time"
	ReasonTooLarge         = "document_too_large"
)

// Error is a document that cannot be made valid.
type Error struct {
	// Reason is one of the Reason constants.
	Reason string
	Detail string
}

func (e *Error) Error() string { return e.Reason + ": " + e.Detail }

// Reason returns the reason of err if it is an *Error, else "invalid_document".
func Reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonInvalidJSON
}

// Document is a repaired segment document.
type Document struct {
	// JSON is the document to send.
	JSON string
	// ID is the segment or subsegment ID, as X-Ray names it in
	// UnprocessedTraceSegments.
	ID string
	// Repairs lists what was changed, for counting (empty when nothing was).
	Repairs []string
}

// Repair checks doc against the segment document rules and repairs what can
// be repaired:
//   - name: characters X-Ray does not allow are removed, then cut to 200
//     characters (at a character boundary); empty becomes "unknown";
//   - namespace other than aws or remote: removed;
//   - user: cut to 250 characters;
//   - annotations: keys get "_" for every character other than letters,
//     digits and "_" and are cut to 500 characters (without a marker, which
//     would not be a valid key); string values are cut to
//     1,000 characters; values that are not strings, numbers or booleans, and
//     annotations past the 50th (in key order), move to metadata "default";
//   - metadata namespaces starting with "AWS." (reserved) get a "_" prefix;
//   - end_time before start_time becomes start_time;
//   - a document over 64 kB has its longest strings (outside the IDs, name,
//     type and namespace) cut to 1,024, then 256, then 64 characters and its
//     arrays to 10, 3, then 1 element, every cut string ending in "...[cut]";
//     if still too large its metadata is replaced by a note.
//
// It refuses (with an *Error) documents it cannot repair: no valid id,
// trace_id or parent_id, a start_time that is not a positive number, or a
// document still over 64 kB.
func Repair(doc string) (Document, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return Document{}, &Error{Reason: ReasonInvalidJSON, Detail: "not a JSON object"}
	}
	r := &repairer{}
	if err := r.entity(m, true); err != nil {
		return Document{}, err
	}
	id, _ := m["id"].(string)
	// A document that needed no repair is sent as it came: encoding the
	// same content again would cost as much as the check itself.
	if len(r.repairs) == 0 && len(doc) <= MaxDocumentBytes && onlySpaceAfter(doc, dec.InputOffset()) {
		return Document{JSON: doc, ID: id}, nil
	}
	out, err := encode(m)
	if err != nil {
		return Document{}, &Error{Reason: ReasonInvalidJSON, Detail: err.Error()}
	}
	if len(out) > MaxDocumentBytes {
		out, err = r.shrink(m, len(out))
		if err != nil {
			return Document{}, err
		}
	}
	return Document{JSON: out, ID: id, Repairs: r.repairs}, nil
}

// onlySpaceAfter reports whether doc holds nothing but JSON white space
// from offset on.
func onlySpaceAfter(doc string, offset int64) bool {
	for _, c := range []byte(doc[offset:]) {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

type repairer struct{ repairs []string }

func (r *repairer) note(what string) {
	for _, w := range r.repairs {
		if w == what {
			return
		}
	}
	r.repairs = append(r.repairs, what)
}

// entity checks one segment or subsegment; top is the document itself
// (which needs a trace_id), as opposed to a subsegment embedded in it.
func (r *repairer) entity(m map[string]any, top bool) error {
	id, _ := m["id"].(string)
	if !reID.MatchString(id) {
		return &Error{Reason: ReasonInvalidID, Detail: fmt.Sprintf("id %s is not 16 lowercase hexadecimal digits", describe(m["id"]))}
	}
	if top {
		if t, _ := m["trace_id"].(string); !reTraceID.MatchString(t) {
			return &Error{Reason: ReasonInvalidTraceID, Detail: fmt.Sprintf("trace_id %s is not 1-<8 hex>-<24 hex>", describe(m["trace_id"]))}
		}
	}
	if p, ok := m["parent_id"]; ok {
		if s, _ := p.(string); !reID.MatchString(s) {
			return &Error{Reason: ReasonInvalidParentID, Detail: fmt.Sprintf("parent_id %s is not 16 lowercase hexadecimal digits", describe(p))}
		}
	} else if top && m["type"] == "subsegment" {
		return &Error{Reason: ReasonInvalidParentID, Detail: "a subsegment sent on its own needs a parent_id"}
	}
	start, ok := number(m["start_time"])
	if !ok || start <= 0 {
		return &Error{Reason: ReasonInvalidStartTime, Detail: fmt.Sprintf("start_time %s is not a positive number of seconds", describe(m["start_time"]))}
	}
	if end, ok := number(m["end_time"]); ok && end < start {
		m["end_time"] = m["start_time"]
		r.note("end_time")
	} else if !ok && m["in_progress"] != true {
		m["end_time"] = m["start_time"]
		r.note("end_time")
	}

	name, _ := m["name"].(string)
	if fixed := fixName(name); fixed != name {
		m["name"] = fixed
		r.note("name")
	}
	if ns, ok := m["namespace"]; ok {
		if s, _ := ns.(string); !namespaces[s] {
			delete(m, "namespace")
			r.note("namespace")
		}
	}
	if u, ok := m["user"].(string); ok {
		if cut := cutChars(u, MaxUserChars); cut != u {
			m["user"] = cut
			r.note("user")
		}
	}
	r.annotations(m)
	r.metadata(m)
	if subs, ok := m["subsegments"].([]any); ok {
		for _, s := range subs {
			sub, ok := s.(map[string]any)
			if !ok {
				return &Error{Reason: ReasonInvalidJSON, Detail: "a subsegment is not an object"}
			}
			if err := r.entity(sub, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *repairer) annotations(m map[string]any) {
	raw, ok := m["annotations"]
	if !ok {
		return
	}
	in, ok := raw.(map[string]any)
	if !ok {
		delete(m, "annotations")
		r.note("annotations")
		return
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]any{}
	moved := map[string]any{}
	for _, k := range keys {
		v := in[k]
		key := reAnnotationKeyInvalid.ReplaceAllString(k, "_")
		if len(key) > MaxAnnotationKeyChars { // ASCII only by now
			key = key[:MaxAnnotationKeyChars]
		}
		if key != k {
			r.note("annotation_key")
		}
		if key == "" {
			key = "_"
		}
		switch val := v.(type) {
		case string:
			if cut := cutChars(val, MaxAnnotationValueChars); cut != val {
				v = cut
				r.note("annotation_value")
			}
		case json.Number, bool:
		default:
			moved[k] = v
			r.note("annotation_type")
			continue
		}
		if len(out) >= MaxAnnotations {
			moved[k] = v
			r.note("annotation_count")
			continue
		}
		out[key] = v
	}
	m["annotations"] = out
	if len(moved) > 0 {
		md, _ := m["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
		}
		def, _ := md["default"].(map[string]any)
		if def == nil {
			def = map[string]any{}
		}
		for k, v := range moved {
			def[k] = v
		}
		md["default"] = def
		m["metadata"] = md
	}
}

func (r *repairer) metadata(m map[string]any) {
	raw, ok := m["metadata"]
	if !ok {
		return
	}
	md, ok := raw.(map[string]any)
	if !ok {
		delete(m, "metadata")
		r.note("metadata")
		return
	}
	for ns, v := range md {
		if len(ns) >= len(ReservedMetadataPrefix) && strings.EqualFold(ns[:len(ReservedMetadataPrefix)], ReservedMetadataPrefix) {
			delete(md, ns)
			md["_"+ns] = v
			r.note("metadata_namespace")
		}
	}
}

// keep are the fields shrink never cuts.
var keep = map[string]bool{"id": true, "trace_id": true, "parent_id": true, "name": true, "type": true, "namespace": true, "origin": true}

// shrink cuts long strings and arrays until the document fits, then
// replaces the metadata by a note.
func (r *repairer) shrink(m map[string]any, size int) (string, error) {
	steps := []struct{ chars, elems int }{{longStringChars, 10}, {256, 3}, {64, 1}}
	for _, s := range steps {
		cutValues(m, s.chars, s.elems, true)
		out, err := encode(m)
		if err != nil {
			return "", &Error{Reason: ReasonInvalidJSON, Detail: err.Error()}
		}
		r.note("document_size")
		if len(out) <= MaxDocumentBytes {
			return out, nil
		}
		size = len(out)
	}
	if _, ok := m["metadata"]; ok {
		m["metadata"] = map[string]any{"default": map[string]any{"otel_xray_collector": "metadata removed: the document was over 64 kB"}}
		out, err := encode(m)
		if err == nil && len(out) <= MaxDocumentBytes {
			return out, nil
		}
		size = len(out)
	}
	return "", &Error{Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes after trimming, the limit is %d", size, MaxDocumentBytes)}
}

// cutValues cuts, below v, strings to chars characters and arrays to elems
// elements (subsegments excepted). top skips the fields in keep.
func cutValues(v any, chars, elems int, top bool) any {
	switch x := v.(type) {
	case string:
		return cutChars(x, chars)
	case []any:
		if len(x) > elems {
			x = x[:elems]
		}
		for i := range x {
			x[i] = cutValues(x[i], chars, elems, false)
		}
		return x
	case map[string]any:
		for k, e := range x {
			if top && keep[k] {
				continue
			}
			if k == "subsegments" {
				if subs, ok := e.([]any); ok {
					for _, s := range subs {
						cutValues(s, chars, elems, true)
					}
				}
				continue
			}
			x[k] = cutValues(e, chars, elems, false)
		}
		return x
	}
	return v
}

// fixName removes the characters X-Ray does not allow in a name and cuts it
// to 200 characters.
func fixName(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = reNameInvalid.ReplaceAllString(name, "")
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	if utf8.RuneCountInString(name) > MaxNameChars {
		name = string([]rune(name)[:MaxNameChars])
	}
	if strings.TrimSpace(name) == "" {
		return unknownName
	}
	return name
}

// cutChars cuts s to at most n characters, the last ones being "...[cut]".
func cutChars(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	marker := []rune(cutMarker)
	if n <= len(marker) {
		return string([]rune(s)[:n])
	}
	return string([]rune(s)[:n-len(marker)]) + cutMarker
}

func number(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func describe(v any) string {
	if v == nil {
		return "missing or null"
	}
	b, _ := json.Marshal(v)
	return cutChars(string(b), 40)
}

func encode(m map[string]any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}
