package otlp

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/zeebo/xxh3"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/octostore/agent/agent"
)

// From records to OTLP (sink "otlp").

// BuildOptions say what a Builder adds to the records it converts.
type BuildOptions struct {
	// Host is host.name on the resource of records that carry no resource
	// of their own (records that did not come from source "otlp"): the
	// node the agent runs on.
	Host string
	// Origin adds the octoagent.origin.* attributes (the whole origin)
	// to every log record; log.file.path and messaging.destination.*
	// (semantic conventions) are added whatever it says.
	Origin bool
}

// Builder converts records into one plog.Logs, grouping records of the
// same resource and scope under one ResourceLogs and ScopeLogs: records of
// one container (one entity) or of one OTLP resource travel together, as
// they came. Not safe for concurrent use.
type Builder struct {
	opt   BuildOptions
	logs  plog.Logs
	now   pcommon.Timestamp
	sizer plog.ProtoMarshaler

	resources map[[16]byte]plog.ResourceLogs
	groups    map[groupKey]plog.ScopeLogs
	// The last record's resource and scope by identity (the same entity
	// slice, the same resource and scope maps): its neighbours usually
	// share them, and then need no hashing.
	last     identity
	lastLogs plog.ScopeLogs
	scratch  []byte
}

type groupKey struct{ resource, scope [16]byte }

// identity is what a record's resource and scope are made of, compared by
// address, not content.
type identity struct {
	valid      bool
	entPtr     *agent.KV
	entLen     int
	res, scope uintptr // the maps' addresses
	resURL     string
}

// NewBuilder returns an empty builder.
func NewBuilder(opt BuildOptions) *Builder {
	return &Builder{opt: opt, logs: plog.NewLogs(), resources: map[[16]byte]plog.ResourceLogs{}, groups: map[groupKey]plog.ScopeLogs{}}
}

// Len returns how many log records the builder holds.
func (b *Builder) Len() int { return b.logs.LogRecordCount() }

// Take returns the logs built so far and empties the builder.
func (b *Builder) Take() plog.Logs {
	out := b.logs
	b.logs = plog.NewLogs()
	clear(b.resources)
	clear(b.groups)
	b.last, b.lastLogs, b.now = identity{}, plog.ScopeLogs{}, 0
	return out
}

// reservedFields are a record's fields that decide where it goes (resource
// and scope) rather than what it says.
type reservedFields struct {
	resource map[string]any
	resURL   string
	scope    map[string]any
}

func readReserved(r *agent.Record) reservedFields {
	var rf reservedFields
	if r.IsRaw() {
		return rf
	}
	if v, ok := r.Get(FieldResource); ok {
		rf.resource, _ = v.(map[string]any)
	}
	if v, ok := r.Get(FieldResourceSchemaURL); ok {
		rf.resURL, _ = v.(string)
	}
	if v, ok := r.Get(FieldScope); ok {
		rf.scope, _ = v.(map[string]any)
	}
	return rf
}

func mapAddr(m map[string]any) uintptr {
	if m == nil {
		return 0
	}
	return reflect.ValueOf(m).Pointer()
}

// Add converts r and appends it to the group of its resource and scope,
// and returns the size of its log record in the protobuf encoding (what
// batch_max_bytes counts).
func (b *Builder) Add(r *agent.Record) int {
	if b.now == 0 {
		b.now = pcommon.NewTimestampFromTime(time.Now())
	}
	rf := readReserved(r)
	id := identity{valid: true, entLen: len(r.Entity), res: mapAddr(rf.resource), scope: mapAddr(rf.scope), resURL: rf.resURL}
	if len(r.Entity) > 0 {
		id.entPtr = &r.Entity[0]
	}
	sl := b.lastLogs
	if id != b.last {
		sl = b.group(r, &rf)
		b.last, b.lastLogs = id, sl
	}
	lr := sl.LogRecords().AppendEmpty()
	b.fill(lr, r)
	return b.sizer.LogRecordSize(lr)
}

// group finds or makes the ScopeLogs of r's resource and scope.
func (b *Builder) group(r *agent.Record, rf *reservedFields) plog.ScopeLogs {
	var k groupKey
	h := b.scratch[:0]
	h = appendCanon(h, rf.resource)
	h = append(h, 0xff)
	for _, kv := range r.Entity {
		if !isLogKey(kv.Key) {
			h = appendStr(h, kv.Key)
			h = appendStr(h, kv.Value)
		}
	}
	h = append(h, 0xff)
	h = appendStr(h, rf.resURL)
	k.resource = xxh3.Hash128(h).Bytes()
	h = appendCanon(h[:0], rf.scope)
	k.scope = xxh3.Hash128(h).Bytes()
	b.scratch = h[:0]
	if sl, ok := b.groups[k]; ok {
		return sl
	}
	rl, ok := b.resources[k.resource]
	if !ok {
		rl = b.logs.ResourceLogs().AppendEmpty()
		b.fillResource(rl, r, rf)
		b.resources[k.resource] = rl
	}
	sl := rl.ScopeLogs().AppendEmpty()
	fillScope(sl, rf.scope)
	b.groups[k] = sl
	return sl
}

func (b *Builder) fillResource(rl plog.ResourceLogs, r *agent.Record, rf *reservedFields) {
	attrs := rl.Resource().Attributes()
	if rf.resource != nil {
		PutMap(attrs, rf.resource)
	}
	for _, kv := range r.Entity {
		if isLogKey(kv.Key) {
			continue
		}
		if _, ok := attrs.Get(kv.Key); !ok {
			attrs.PutStr(kv.Key, kv.Value)
		}
	}
	if rf.resource == nil && b.opt.Host != "" {
		if _, ok := attrs.Get(AttrHostName); !ok {
			attrs.PutStr(AttrHostName, b.opt.Host)
		}
	}
	rl.SetSchemaUrl(rf.resURL)
}

func fillScope(sl plog.ScopeLogs, m map[string]any) {
	s := sl.Scope()
	if m == nil {
		s.SetName(ScopeNameDefault)
		return
	}
	if v, ok := m[ScopeName].(string); ok {
		s.SetName(v)
	}
	if v, ok := m[ScopeVersion].(string); ok {
		s.SetVersion(v)
	}
	if v, ok := m[ScopeAttributes].(map[string]any); ok {
		PutMap(s.Attributes(), v)
	}
	if v, ok := m[ScopeSchemaURL].(string); ok {
		sl.SetSchemaUrl(v)
	}
}

// isLogKey: entity keys about the line rather than its source
// (log.iostream) belong on the log record, not the resource.
func isLogKey(k string) bool { return strings.HasPrefix(k, "log.") }

// fill writes r into lr: times, severity, trace context, body, attributes,
// and the id, kind and origin.
func (b *Builder) fill(lr plog.LogRecord, r *agent.Record) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(r.Time))
	attrs := lr.Attributes()
	w := recordWriter{lr: lr, attrs: attrs}
	// Room for every attribute at once: the fields, the OTLP attributes,
	// the entity's log.* keys, the id, the kind and the origin's.
	room := 4 + len(r.Entity)
	if b.opt.Origin {
		room += 8
	}
	switch {
	case r.Typed():
		tf := r.TypedFields()
		attrs.EnsureCapacity(len(tf) + room)
		for i := range tf {
			w.typed(tf[i].Key, tf[i].Value)
		}
	case !r.IsRaw() || r.HasRawFields():
		if m, ok := r.Get(FieldAttributes); ok {
			if m, ok := m.(map[string]any); ok {
				room += len(m)
			}
		}
		attrs.EnsureCapacity(r.NumFields() + room)
		for k, v := range r.All() {
			w.field(k, v)
		}
	}
	if w.otlpAttrs != nil {
		// The OTLP attributes, under the fields a rule set at the top
		// level (those win).
		for k, v := range w.otlpAttrs {
			if _, ok := attrs.Get(k); !ok {
				PutValue(attrs.PutEmpty(k), v)
			}
		}
	}
	if !w.body {
		switch {
		case r.Raw != nil:
			// The line's bytes as they are: a record's Raw never changes
			// once its source emitted it, and the record outlives this
			// log record (it is acked after the request is sent).
			lr.Body().SetStr(unsafe.String(unsafe.SliceData(r.Raw), len(r.Raw)))
		case r.Kind == agent.KindDeadLetter:
			// A dead letter's line is its raw field (it stays an
			// attribute too, as every field does).
			if v, ok := r.Get("raw"); ok {
				if s, ok := v.(string); ok {
					lr.Body().SetStr(s)
				}
			}
		}
	}
	if !w.observed {
		lr.SetObservedTimestamp(b.now)
	}
	for _, kv := range r.Entity {
		if isLogKey(kv.Key) {
			if _, ok := attrs.Get(kv.Key); !ok {
				attrs.PutStr(kv.Key, kv.Value)
			}
		}
	}
	attrs.PutStr(AttrRecordUID, r.EnsureID())
	if k := r.Kind; k != "" && k != agent.KindRaw {
		attrs.PutStr(AttrEventName, k)
		if !w.eventName {
			lr.SetEventName(k)
		}
	}
	putSemconvOrigin(attrs, &r.Origin)
	if b.opt.Origin {
		putOrigin(attrs, &r.Origin)
	}
}

func putOrigin(attrs pcommon.Map, o *agent.Origin) {
	attrs.PutStr(OriginPrefix+"host", o.Host)
	attrs.PutStr(OriginPrefix+"component", o.Component)
	attrs.PutStr(OriginPrefix+"stream", o.Stream)
	attrs.PutInt(OriginPrefix+"offset", o.Offset)
	if o.Rule != "" {
		attrs.PutStr(OriginPrefix+"rule", o.Rule)
		attrs.PutInt(OriginPrefix+"index", int64(o.Index))
	}
	if o.Device != 0 || o.Inode != 0 {
		attrs.PutInt(OriginPrefix+"device", int64(o.Device))
		attrs.PutInt(OriginPrefix+"inode", int64(o.Inode))
	}
}

// putSemconvOrigin adds the origin's semantic-convention attributes: the
// file's path, a Kafka message's topic and partition.
func putSemconvOrigin(attrs pcommon.Map, o *agent.Origin) {
	if o.Path != "" {
		attrs.PutStr(AttrFilePath, o.Path)
	}
	if o.Topic != "" {
		attrs.PutStr(AttrTopic, o.Topic)
		attrs.PutStr(AttrPartition, strconv.Itoa(int(o.Partition)))
	}
}

// recordWriter puts a record's fields where they go on a log record.
type recordWriter struct {
	lr                        plog.LogRecord
	attrs                     pcommon.Map
	otlpAttrs                 map[string]any
	body, observed, eventName bool
}

// field places one field (boxed, from a record's map). A reserved field
// of the wrong type is an attribute like any other.
func (w *recordWriter) field(k string, v any) {
	if !isReserved(k) || !w.reserved(k, v) {
		PutValue(w.attrs.PutEmpty(k), v)
	}
}

// typed places one typed field without boxing it, unless it is reserved.
func (w *recordWriter) typed(k string, v agent.Value) {
	if isReserved(k) && w.reserved(k, v.Any()) {
		return
	}
	putTyped(w.attrs.PutEmpty(k), v)
}

// reserved places a reserved field and reports whether it did.
func (w *recordWriter) reserved(k string, v any) bool {
	switch k {
	case FieldMessage:
		s, ok := v.(string)
		if ok {
			w.lr.Body().SetStr(s)
			w.body = true
		}
		return ok
	case FieldBody:
		if !w.body { // a message (a string body) wins over a body
			PutValue(w.lr.Body(), v)
			w.body = true
		}
		return true
	case FieldAttributes:
		m, ok := v.(map[string]any)
		if ok {
			w.otlpAttrs = m
		}
		return ok
	case FieldResource, FieldScope:
		_, ok := v.(map[string]any)
		return ok // placed by group
	case FieldResourceSchemaURL:
		_, ok := v.(string)
		return ok
	case FieldSeverityText:
		s, ok := v.(string)
		if ok {
			w.lr.SetSeverityText(s)
		}
		return ok
	case FieldSeverityNumber:
		n, ok := asInt(v)
		if ok && n >= 0 && n <= 24 {
			w.lr.SetSeverityNumber(plog.SeverityNumber(n))
			return true
		}
		return false
	case FieldTraceID:
		var id pcommon.TraceID
		if decodeHex(v, id[:]) {
			w.lr.SetTraceID(id)
			return true
		}
		return false
	case FieldSpanID:
		var id pcommon.SpanID
		if decodeHex(v, id[:]) {
			w.lr.SetSpanID(id)
			return true
		}
		return false
	case FieldFlags:
		n, ok := asInt(v)
		if ok && n >= 0 && n <= math.MaxUint32 {
			w.lr.SetFlags(plog.LogRecordFlags(n))
			return true
		}
		return false
	case FieldEventName:
		s, ok := v.(string)
		if ok {
			w.lr.SetEventName(s)
			w.eventName = true
		}
		return ok
	case FieldObservedTime:
		t, ok := asTime(v)
		if ok {
			w.lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(t))
			w.observed = true
		}
		return ok
	case FieldDroppedAttributes:
		n, ok := asInt(v)
		if ok && n >= 0 && n <= math.MaxUint32 {
			w.lr.SetDroppedAttributesCount(uint32(n))
			return true
		}
		return false
	}
	return false
}

func asInt(v any) (int64, bool) {
	switch t := v.(type) {
	case int64:
		return t, true
	case float64: // a whole number that went through JSON as a float
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t), true
		}
	}
	return 0, false
}

// asTime reads a time field: a time, or an RFC 3339 string (a time that
// went through the disk buffer's JSON).
func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case string:
		tt, err := time.Parse(time.RFC3339Nano, t)
		return tt, err == nil
	}
	return time.Time{}, false
}

func decodeHex(v any, dst []byte) bool {
	s, ok := v.(string)
	if !ok || len(s) != 2*len(dst) {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}

// appendCanon appends a canonical form of a JSON-shaped value (map keys
// sorted) for hashing.
func appendCanon(dst []byte, v any) []byte {
	switch t := v.(type) {
	case nil:
		return append(dst, 'n')
	case string:
		return appendStr(append(dst, 's'), t)
	case bool:
		if t {
			return append(dst, 'T')
		}
		return append(dst, 'F')
	case int64:
		return binary.BigEndian.AppendUint64(append(dst, 'i'), uint64(t))
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, 'f'), math.Float64bits(t))
	case time.Time:
		return binary.BigEndian.AppendUint64(append(dst, 't'), uint64(t.UnixNano()))
	case []any:
		dst = binary.AppendUvarint(append(dst, 'l'), uint64(len(t)))
		for _, e := range t {
			dst = appendCanon(dst, e)
		}
		return dst
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = binary.AppendUvarint(append(dst, 'm'), uint64(len(t)))
		for _, k := range keys {
			dst = appendStr(dst, k)
			dst = appendCanon(dst, t[k])
		}
		return dst
	}
	return appendStr(append(dst, '?'), reflect.TypeOf(v).String())
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}
