// Package otlp maps records to OpenTelemetry log records and back: the
// field names a record from `source "otlp"` carries, and how `sink "otlp"`
// turns any record (its fields, kind, id, origin and entity) into a
// LogRecord under a Resource and an InstrumentationScope. Both directions
// live here so that one table (README.md) describes them and one test
// holds them to a round trip. The wire model is
// go.opentelemetry.io/collector/pdata; nothing here reads or writes
// protobuf itself.
package otlp

import (
	"encoding/base64"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/octostore/agent/agent"
)

// The fields of a record made from an OTLP LogRecord (source "otlp"), which
// sink "otlp" reads back into the same places.
const (
	// FieldMessage holds a string body.
	FieldMessage = "message"
	// FieldBody holds a body that is not a string (a map, a list, a
	// number, a bool, bytes), as a JSON-shaped value.
	FieldBody = "body"
	// FieldAttributes holds the log record's attributes, as a map.
	FieldAttributes = "attributes"
	// FieldResource holds the resource's attributes, as a map.
	FieldResource = "resource"
	// FieldResourceSchemaURL holds the resource's schema URL.
	FieldResourceSchemaURL = "resource_schema_url"
	// FieldScope holds the instrumentation scope: a map with name,
	// version, attributes and schema_url (each when set).
	FieldScope = "scope"
	// FieldSeverityText and FieldSeverityNumber hold the severity.
	FieldSeverityText   = "severity_text"
	FieldSeverityNumber = "severity_number"
	// FieldTraceID and FieldSpanID hold the trace context, in lowercase
	// hex (32 and 16 digits).
	FieldTraceID = "trace_id"
	FieldSpanID  = "span_id"
	// FieldFlags holds the log record's flags (the W3C trace flags).
	FieldFlags = "flags"
	// FieldEventName holds the log record's event name.
	FieldEventName = "event_name"
	// FieldObservedTime holds the time the first collector saw the record.
	FieldObservedTime = "observed_time"
	// FieldDroppedAttributes counts the attributes an earlier hop dropped.
	FieldDroppedAttributes = "dropped_attributes_count"
)

// The scope map's keys.
const (
	ScopeName       = "name"
	ScopeVersion    = "version"
	ScopeAttributes = "attributes"
	ScopeSchemaURL  = "schema_url"
)

// The attributes sink "otlp" adds to every log record.
const (
	// AttrRecordUID is the record's id (semantic conventions:
	// log.record.uid), so a store can drop duplicates.
	AttrRecordUID = "log.record.uid"
	// AttrEventName is the record's kind (event.name), when it is not
	// "raw".
	AttrEventName = "event.name"
	// AttrHostName is the resource's host.name: the node the agent runs on.
	AttrHostName = "host.name"
	// AttrFilePath is the origin's path (log.file.path).
	AttrFilePath = "log.file.path"
	// AttrTopic and AttrPartition are a Kafka origin's topic and
	// partition (messaging.destination.name, .partition.id).
	AttrTopic     = "messaging.destination.name"
	AttrPartition = "messaging.destination.partition.id"
	// OriginPrefix starts the other origin attributes:
	// octoagent.origin.host, .component, .stream, .offset, .rule,
	// .index, .device, .inode.
	OriginPrefix = "octoagent.origin."
	// ScopeNameDefault is the scope of records that carry none.
	ScopeNameDefault = "octoagent"
)

// isReserved reports whether a field is one that sink "otlp" maps to a
// place of its own rather than to an attribute of the same name (when it
// has the type it expects: a "resource" that is a string is an attribute
// like any other). A switch, not a map: it runs for every field of every
// record the sink sends.
func isReserved(k string) bool {
	switch k {
	case FieldMessage, FieldBody, FieldAttributes, FieldResource,
		FieldResourceSchemaURL, FieldScope, FieldSeverityText,
		FieldSeverityNumber, FieldTraceID, FieldSpanID, FieldFlags,
		FieldEventName, FieldObservedTime, FieldDroppedAttributes:
		return true
	}
	return false
}

// Value returns an OTLP value as a record holds it: string, int64,
// float64, bool, nil, []any and map[string]any; bytes become a base64
// string (records hold no bytes: every sink writes them as base64 anyway).
func Value(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeMap:
		return Map(v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		out := make([]any, s.Len())
		for i := range out {
			out[i] = Value(s.At(i))
		}
		return out
	case pcommon.ValueTypeBytes:
		return base64.StdEncoding.EncodeToString(v.Bytes().AsRaw())
	}
	return nil
}

// Map returns OTLP attributes as a record's map. A key that repeats (OTLP
// forbids it, a sender may still do it) keeps its last value.
func Map(m pcommon.Map) map[string]any {
	out := make(map[string]any, m.Len())
	for k, v := range m.All() {
		out[k] = Value(v)
	}
	return out
}

// PutValue sets dst to a record's value: strings, integers, floats, bools
// and nil as themselves, times as RFC 3339 strings with nanoseconds (OTLP
// has no time type), lists and maps recursively, bytes as bytes. Anything
// else (which records do not hold) is written with fmt.
func PutValue(dst pcommon.Value, v any) {
	switch t := v.(type) {
	case nil:
	case string:
		dst.SetStr(t)
	case bool:
		dst.SetBool(t)
	case int64:
		dst.SetInt(t)
	case int:
		dst.SetInt(int64(t))
	case int32:
		dst.SetInt(int64(t))
	case uint32:
		dst.SetInt(int64(t))
	case uint64:
		if t > math.MaxInt64 {
			dst.SetDouble(float64(t))
		} else {
			dst.SetInt(int64(t))
		}
	case float64:
		dst.SetDouble(t)
	case float32:
		dst.SetDouble(float64(t))
	case time.Time:
		dst.SetStr(timeString(agent.TimeValue(t)))
	case []byte:
		dst.SetEmptyBytes().FromRaw(t)
	case []any:
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(t))
		for _, e := range t {
			PutValue(s.AppendEmpty(), e)
		}
	case map[string]any:
		PutMap(dst.SetEmptyMap(), t)
	default:
		dst.SetStr(fmt.Sprint(t))
	}
}

// PutMap adds every entry of m to dst.
func PutMap(dst pcommon.Map, m map[string]any) {
	dst.EnsureCapacity(dst.Len() + len(m))
	for k, v := range m {
		PutValue(dst.PutEmpty(k), v)
	}
}

// putTyped sets dst to a typed field's value, without boxing it.
func putTyped(dst pcommon.Value, v agent.Value) {
	switch v.Kind() {
	case agent.KindString:
		dst.SetStr(v.Str())
	case agent.KindInt:
		dst.SetInt(v.Int())
	case agent.KindFloat:
		dst.SetDouble(v.Float())
	case agent.KindBool:
		dst.SetBool(v.Bool())
	case agent.KindTime:
		dst.SetStr(timeString(v))
	}
}

// timeString writes a time value as time.RFC3339Nano does, in UTC, with
// the agent's formatter (the one the wire form uses), which is faster
// than time.Format's general one.
func timeString(v agent.Value) string {
	var buf [48]byte
	b := v.AppendJSON(buf[:0]) // "2006-01-02T15:04:05.999999999Z", quoted
	return string(b[1 : len(b)-1])
}

// Depth returns how deeply v nests maps and lists: 0 for a scalar, 1 for
// a map or list of scalars. It stops counting past limit (and returns
// limit+1), so a hostile value costs no more than limit levels.
func Depth(v pcommon.Value, limit int) int {
	if limit < 0 {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return 1 + MapDepth(v.Map(), limit-1)
	case pcommon.ValueTypeSlice:
		d, s := 0, v.Slice()
		for i := 0; i < s.Len() && d <= limit-1; i++ {
			d = max(d, Depth(s.At(i), limit-1))
		}
		return 1 + d
	}
	return 0
}

// MapDepth is Depth for the values of a map of attributes: 0 when every
// value is a scalar.
func MapDepth(m pcommon.Map, limit int) int {
	d := 0
	for _, v := range m.All() {
		if d > limit {
			break
		}
		d = max(d, Depth(v, limit))
	}
	return d
}
