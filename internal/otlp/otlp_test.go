package otlp

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/octostore/agent/agent"
)

// fullLogs is a request with every field of a LogRecord, its scope and
// its resource set, and bodies of every type.
func fullLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	ra := rl.Resource().Attributes()
	ra.PutStr("service.name", "checkout")
	ra.PutStr("host.name", "web-1")
	ra.PutEmptySlice("tags").AppendEmpty().SetStr("a")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.SetSchemaUrl("https://opentelemetry.io/schemas/1.27.0")
	sl.Scope().SetName("app")
	sl.Scope().SetVersion("2.0")
	sl.Scope().Attributes().PutInt("n", 1)
	bodies := []func(pcommon.Value){
		func(v pcommon.Value) { v.SetStr("plain line") },
		func(v pcommon.Value) {
			m := v.SetEmptyMap()
			m.PutStr("msg", "structured")
			m.PutInt("code", 42)
			m.PutEmptyMap("inner").PutBool("deep", true)
		},
		func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetDouble(1.5) },
		func(v pcommon.Value) { v.SetInt(7) },
		func(v pcommon.Value) { v.SetBool(false) },
		func(v pcommon.Value) {},
	}
	for i, body := range bodies {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_123_456_789 + int64(i)))
		lr.SetObservedTimestamp(pcommon.Timestamp(1_700_000_000_223_456_789 + int64(i)))
		lr.SetSeverityNumber(plog.SeverityNumberError2)
		lr.SetSeverityText("ERROR2")
		body(lr.Body())
		lr.Attributes().PutStr("http.route", "/cart")
		lr.Attributes().PutInt("i", int64(i))
		lr.Attributes().PutEmptyMap("m").PutDouble("x", 0.125)
		lr.SetTraceID(pcommon.TraceID{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		lr.SetSpanID(pcommon.SpanID{9, 8, 7, 6, 5, 4, 3, 2})
		lr.SetFlags(1)
		lr.SetEventName("cart.failed")
		lr.SetDroppedAttributesCount(2)
	}
	return ld
}

// records converts logs as source "otlp" does.
func records(ld plog.Logs) agent.Batch {
	var out agent.Batch
	for _, rl := range ld.ResourceLogs().All() {
		res := NewResource(rl)
		for _, sl := range rl.ScopeLogs().All() {
			scope := NewScope(sl)
			for _, lr := range sl.LogRecords().All() {
				var r agent.Record
				r.Origin = agent.Origin{Host: "otlp", Component: "source.otlp.in", Stream: "otlp:x", Offset: int64(len(out))}
				Fill(&r, lr, &res, scope, time.Now())
				out = append(out, r)
			}
		}
	}
	return out
}

// TestRoundTrip: a LogRecord that becomes a record (source "otlp") and
// goes out again (sink "otlp") is the same LogRecord, with the sink's
// attributes (log.record.uid, and the origin's when asked) added.
func TestRoundTrip(t *testing.T) {
	in := fullLogs()
	recs := records(in)
	b := NewBuilder(BuildOptions{Host: "agent-node"})
	for i := range recs {
		b.Add(&recs[i])
	}
	out := b.Take()
	if out.ResourceLogs().Len() != 1 || out.ResourceLogs().At(0).ScopeLogs().Len() != 1 {
		t.Fatalf("%d resources, want the records grouped under 1 resource and 1 scope", out.ResourceLogs().Len())
	}
	// Remove what the sink adds, then compare the two requests whole.
	for i, lr := range out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		uid, ok := lr.Attributes().Get(AttrRecordUID)
		if !ok || uid.Str() != recs[i].EnsureID() {
			t.Errorf("record %d: log.record.uid %v, want %s", i, uid.AsRaw(), recs[i].EnsureID())
		}
		lr.Attributes().Remove(AttrRecordUID)
	}
	canon(in)
	canon(out)
	want, _ := plogotlp.NewExportRequestFromLogs(in).MarshalJSON()
	got, _ := plogotlp.NewExportRequestFromLogs(out).MarshalJSON()
	if string(want) != string(got) {
		t.Errorf("round trip differs\n got %s\nwant %s", got, want)
	}
	// The raw message is the string body, or the JSON of another body.
	if string(recs[0].Raw) != "plain line" || string(recs[1].Raw) != `{"code":42,"inner":{"deep":true},"msg":"structured"}` || string(recs[3].Raw) != "7" || recs[5].Raw != nil {
		t.Errorf("raw messages %q %q %q %q", recs[0].Raw, recs[1].Raw, recs[3].Raw, recs[5].Raw)
	}
}

// TestRecordWithoutOTLPFields: any record (a file line parsed by rules)
// goes out with host.name on its resource, the octoagent scope, its
// fields as attributes, its kind as event.name, and its origin.
func TestRecordWithoutOTLPFields(t *testing.T) {
	r := agent.Record{Kind: "nginx_access", Time: time.Unix(10, 0), Raw: []byte("GET /"),
		Origin: agent.Origin{Host: "n1", Component: "source.file.nginx", Stream: "/var/log/a.log", Offset: 42, Path: "/var/log/a.log", Device: 3, Inode: 4, Rule: "transform.nginx", Index: 1}}
	r = r.WithFields(map[string]any{"status": int64(404), "message": 5, "resource": "a string resource is an attribute"})
	b := NewBuilder(BuildOptions{Host: "n1", Origin: true})
	b.Add(&r)
	ld := b.Take()
	rl := ld.ResourceLogs().At(0)
	if v, _ := rl.Resource().Attributes().Get("host.name"); v.Str() != "n1" {
		t.Errorf("host.name %v", v.AsRaw())
	}
	if n := rl.ScopeLogs().At(0).Scope().Name(); n != ScopeNameDefault {
		t.Errorf("scope %q", n)
	}
	lr := rl.ScopeLogs().At(0).LogRecords().At(0)
	want := map[string]any{
		"status": int64(404), "message": int64(5), "resource": "a string resource is an attribute",
		"log.record.uid": r.EnsureID(), "event.name": "nginx_access", "log.file.path": "/var/log/a.log",
		"octoagent.origin.host": "n1", "octoagent.origin.component": "source.file.nginx", "octoagent.origin.stream": "/var/log/a.log",
		"octoagent.origin.offset": int64(42), "octoagent.origin.rule": "transform.nginx", "octoagent.origin.index": int64(1),
		"octoagent.origin.device": int64(3), "octoagent.origin.inode": int64(4),
	}
	got := lr.Attributes().AsRaw()
	if len(got) != len(want) {
		t.Errorf("attributes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("attribute %s = %#v, want %#v", k, got[k], v)
		}
	}
	if lr.Body().Str() != "GET /" || lr.EventName() != "nginx_access" {
		t.Errorf("body %q event %q", lr.Body().Str(), lr.EventName())
	}
}

func TestDepth(t *testing.T) {
	v := pcommon.NewValueEmpty()
	m := v.SetEmptyMap()
	for range 4 {
		m = m.PutEmptyMap("d")
	}
	if d := Depth(v, 10); d != 5 {
		t.Errorf("depth %d, want 5", d)
	}
	if d := Depth(v, 2); d != 3 {
		t.Errorf("depth past the limit %d, want limit+1 = 3", d)
	}
	s := pcommon.NewValueStr("x")
	if d := Depth(s, 0); d != 0 {
		t.Errorf("scalar depth %d", d)
	}
}

// canon sorts every map of ld by key: records hold Go maps, so a map's
// order does not survive (OTLP gives it no meaning).
func canon(ld plog.Logs) {
	for _, rl := range ld.ResourceLogs().All() {
		sortMap(rl.Resource().Attributes())
		for _, sl := range rl.ScopeLogs().All() {
			sortMap(sl.Scope().Attributes())
			for _, lr := range sl.LogRecords().All() {
				sortMap(lr.Attributes())
				sortValue(lr.Body())
			}
		}
	}
}

func sortMap(m pcommon.Map) {
	raw := m.AsRaw()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	tmp := pcommon.NewMap()
	m.CopyTo(tmp)
	m.Clear()
	for _, k := range keys {
		v, _ := tmp.Get(k)
		nv := m.PutEmpty(k)
		v.CopyTo(nv)
		sortValue(nv)
	}
}

func sortValue(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		sortMap(v.Map())
	case pcommon.ValueTypeSlice:
		for _, e := range v.Slice().All() {
			sortValue(e)
		}
	}
}

// Records of one resource with the same attributes share one map; any
// difference (a value, a key, the order) gets a map of its own, with what
// the record carries.
func TestFillSharesSameAttributes(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	want := [][]string{
		{"log.file.name", "a.log", "log.iostream", "stdout"},
		{"log.file.name", "a.log", "log.iostream", "stdout"},
		{"log.file.name", "b.log", "log.iostream", "stdout"},
		{"log.iostream", "stdout", "log.file.name", "b.log"},
		{"log.file.name", "b.log"},
		{"log.file.name", "b.log"},
	}
	for _, kv := range want {
		a := lrs.AppendEmpty().Attributes()
		for i := 0; i < len(kv); i += 2 {
			a.PutStr(kv[i], kv[i+1])
		}
	}
	res := NewResource(rl)
	recs := make([]agent.Record, lrs.Len())
	for i := range recs {
		Fill(&recs[i], lrs.At(i), &res, nil, time.Now())
	}
	attrs := func(i int) map[string]any {
		v, _ := recs[i].Get(FieldAttributes)
		return v.(map[string]any)
	}
	for i, kv := range want {
		got := attrs(i)
		if len(got) != len(kv)/2 {
			t.Fatalf("record %d: attributes %v, want %v", i, got, kv)
		}
		for j := 0; j < len(kv); j += 2 {
			if got[kv[j]] != kv[j+1] {
				t.Fatalf("record %d: attributes %v, want %v", i, got, kv)
			}
		}
	}
	same := func(i, j int) bool { return reflect.ValueOf(attrs(i)).Pointer() == reflect.ValueOf(attrs(j)).Pointer() }
	if !same(0, 1) || !same(4, 5) || same(1, 2) || same(2, 3) || same(3, 4) {
		t.Fatalf("shared maps: 0-1 %v, 4-5 %v (want true); 1-2 %v, 2-3 %v, 3-4 %v (want false)", same(0, 1), same(4, 5), same(1, 2), same(2, 3), same(3, 4))
	}
}

// Times become the strings time.RFC3339Nano makes of them, in UTC.
func TestTimeString(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 21, 5, 0, 9, 0, time.UTC),
		time.Date(2026, 11, 21, 5, 0, 9, 120000000, time.FixedZone("x", 3600)),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(9999, 1, 2, 3, 4, 5, 6, time.UTC),
		time.Unix(0, 1),
	} {
		want := tm.UTC().Format(time.RFC3339Nano)
		if got := timeString(agent.TimeValue(tm)); got != want {
			t.Errorf("%v: %q, want %q", tm, got, want)
		}
		v := pcommon.NewValueEmpty()
		PutValue(v, tm)
		if v.Str() != want {
			t.Errorf("PutValue %v: %q, want %q", tm, v.Str(), want)
		}
	}
}
