package otlp

import (
	"encoding/hex"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/octostore/agent/agent"
)

// From OTLP to records (source "otlp").

// Resource is what the records of one ResourceLogs share: its attributes
// and schema URL, converted once, and one map every record of it holds
// (records never change a field's map in place: steps set fields, and a
// copy for a second consumer is a deep copy).
type Resource struct {
	Attributes map[string]any // nil when there are none
	SchemaURL  string

	// The last log record's attributes (in order) and their map: the
	// records of one ResourceLogs often carry the same attributes (the
	// file, the stream), and then share one map, as they share the
	// resource's.
	lastKeys []string
	lastVals []pcommon.Value
	lastMap  map[string]any
}

// attributes returns a log record's attributes as a map: the previous
// record's map when they are the same keys and values in the same order
// (so that Map would make the same map of them).
func (r *Resource) attributes(a pcommon.Map) map[string]any {
	if r.lastMap != nil && a.Len() == len(r.lastKeys) {
		i, same := 0, true
		for k, v := range a.All() {
			if k != r.lastKeys[i] || !v.Equal(r.lastVals[i]) {
				same = false
				break
			}
			i++
		}
		if same {
			return r.lastMap
		}
	}
	r.lastKeys, r.lastVals = r.lastKeys[:0], r.lastVals[:0]
	for k, v := range a.All() {
		r.lastKeys = append(r.lastKeys, k)
		r.lastVals = append(r.lastVals, v)
	}
	r.lastMap = Map(a)
	return r.lastMap
}

// NewResource converts the resource of rl.
func NewResource(rl plog.ResourceLogs) Resource {
	r := Resource{SchemaURL: rl.SchemaUrl()}
	if a := rl.Resource().Attributes(); a.Len() > 0 {
		r.Attributes = Map(a)
	}
	return r
}

// NewScope converts the instrumentation scope of sl into the scope map
// records hold, or nil when it carries nothing.
func NewScope(sl plog.ScopeLogs) map[string]any {
	s := sl.Scope()
	m := map[string]any{}
	if s.Name() != "" {
		m[ScopeName] = s.Name()
	}
	if s.Version() != "" {
		m[ScopeVersion] = s.Version()
	}
	if a := s.Attributes(); a.Len() > 0 {
		m[ScopeAttributes] = Map(a)
	}
	if sl.SchemaUrl() != "" {
		m[ScopeSchemaURL] = sl.SchemaUrl()
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// Fill sets r's time, raw message and fields from one log record of the
// given resource and scope (scope may be nil). The time is the record's
// timestamp, else its observed timestamp, else now. A string body is the
// raw message and fields.message; any other body is fields.body, and its
// JSON text the raw message, so that parse steps read it.
func Fill(r *agent.Record, lr plog.LogRecord, res *Resource, scope map[string]any, now time.Time) {
	switch {
	case lr.Timestamp() != 0:
		r.Time = lr.Timestamp().AsTime()
	case lr.ObservedTimestamp() != 0:
		r.Time = lr.ObservedTimestamp().AsTime()
	default:
		r.Time = now
	}
	f := make(map[string]any, 8)
	body := lr.Body()
	switch body.Type() {
	case pcommon.ValueTypeEmpty: // no body: no message, and Raw stays nil
	case pcommon.ValueTypeStr:
		s := body.Str()
		f[FieldMessage] = s
		// Raw views the body's bytes: pdata copied them out of the
		// request into a string of their own, which nothing writes to,
		// and a record's Raw is never written to either.
		if s == "" {
			r.Raw = []byte{} // an empty body is a message still
		} else {
			r.Raw = unsafe.Slice(unsafe.StringData(s), len(s))
		}
	default:
		f[FieldBody] = Value(body)
		r.Raw = []byte(body.AsString())
	}
	if a := lr.Attributes(); a.Len() > 0 {
		f[FieldAttributes] = res.attributes(a)
	}
	if res.Attributes != nil {
		f[FieldResource] = res.Attributes
	}
	if res.SchemaURL != "" {
		f[FieldResourceSchemaURL] = res.SchemaURL
	}
	if scope != nil {
		f[FieldScope] = scope
	}
	if s := lr.SeverityText(); s != "" {
		f[FieldSeverityText] = s
	}
	if n := lr.SeverityNumber(); n != 0 {
		f[FieldSeverityNumber] = int64(n)
	}
	if id := lr.TraceID(); !id.IsEmpty() {
		f[FieldTraceID] = hex.EncodeToString(id[:])
	}
	if id := lr.SpanID(); !id.IsEmpty() {
		f[FieldSpanID] = hex.EncodeToString(id[:])
	}
	if fl := lr.Flags(); fl != 0 {
		f[FieldFlags] = int64(fl)
	}
	if e := lr.EventName(); e != "" {
		f[FieldEventName] = e
	}
	if t := lr.ObservedTimestamp(); t != 0 {
		f[FieldObservedTime] = t.AsTime()
	}
	if n := lr.DroppedAttributesCount(); n != 0 {
		f[FieldDroppedAttributes] = int64(n)
	}
	r.SetFields(f)
}
