package flb

import (
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Chunks as Fluent Bit writes them, byte by byte (hex, with spaces).
var fixtures = []struct {
	name    string
	hex     string
	want    []Event
	skipped int
	corrupt bool
}{
	{
		name: "classic EventTime, str values",
		// [EventTime(1763701200.5), {"log": "hello", "stream": "stdout"}]
		hex:  "92 d7 00 69 1f f1 d0 1d cd 65 00 82 a3 6c 6f 67 a5 68 65 6c 6c 6f a6 73 74 72 65 61 6d a6 73 74 64 6f 75 74",
		want: []Event{{Time: time.Unix(1763701200, 500000000).UTC(), Fields: map[string]any{"log": "hello", "stream": "stdout"}}},
	},
	{
		name: "v2 [[EventTime, meta], map]",
		// [[EventTime(1763701200.5), {"m": 1}], {"log": "x"}]
		hex:  "92 92 d7 00 69 1f f1 d0 1d cd 65 00 81 a1 6d 01 81 a3 6c 6f 67 a1 78",
		want: []Event{{Time: time.Unix(1763701200, 500000000).UTC(), Fields: map[string]any{"log": "x"}}},
	},
	{
		name: "integer and float timestamps, bin values and keys, nested values",
		// [1763701200, {bin "k": bin "v", "n": -3, "big": 2^63, "ok": true, "nil": nil}]
		// [1763701200.25, {"a": [1, "s"], "m": {"x": 1.5}}]
		hex: "92 ce 69 1f f1 d0 85 c4 01 6b c4 01 76 a1 6e fd a3 62 69 67 cf 80 00 00 00 00 00 00 00 a2 6f 6b c3 a3 6e 69 6c c0" +
			" 92 cb 41 da 47 fc 74 10 00 00 82 a1 61 92 01 a1 73 a1 6d 81 a1 78 cb 3f f8 00 00 00 00 00 00",
		want: []Event{
			{Time: time.Unix(1763701200, 0).UTC(), Fields: map[string]any{"k": "v", "n": int64(-3), "big": float64(1 << 63), "ok": true, "nil": nil}},
			{Time: time.Unix(1763701200, 250000000).UTC(), Fields: map[string]any{"a": []any{int64(1), "s"}, "m": map[string]any{"x": 1.5}}},
		},
	},
	{
		name: "entries that are not records are skipped",
		// "junk", [1, 2, 3], [EventTime, "not a map"], [1763701200, {"a": "b"}]
		hex:     "a4 6a 75 6e 6b 93 01 02 03 92 d7 00 69 1f f1 d0 00 00 00 00 a1 78 92 ce 69 1f f1 d0 81 a1 61 a1 62",
		want:    []Event{{Time: time.Unix(1763701200, 0).UTC(), Fields: map[string]any{"a": "b"}}},
		skipped: 3,
	},
	{
		name: "truncated chunk: the records before the damage",
		// [1763701200, {"a": "b"}], then a record cut short
		hex:     "92 ce 69 1f f1 d0 81 a1 61 a1 62 92 ce 69 1f f0",
		want:    []Event{{Time: time.Unix(1763701200, 0).UTC(), Fields: map[string]any{"a": "b"}}},
		corrupt: true,
	},
	{name: "empty chunk", hex: ""},
}

func TestDecodeFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			b, err := hex.DecodeString(strings.ReplaceAll(f.hex, " ", ""))
			if err != nil {
				t.Fatal(err)
			}
			got, skipped, err := Decode(b)
			if f.corrupt != errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want corrupt=%v", err, f.corrupt)
			}
			if skipped != f.skipped {
				t.Errorf("skipped %d, want %d", skipped, f.skipped)
			}
			if len(got) != len(f.want) {
				t.Fatalf("got %d events, want %d: %+v", len(got), len(f.want), got)
			}
			for i := range got {
				if !got[i].Time.Equal(f.want[i].Time) {
					t.Errorf("event %d: time %v, want %v", i, got[i].Time, f.want[i].Time)
				}
				if !reflect.DeepEqual(got[i].Fields, f.want[i].Fields) {
					t.Errorf("event %d: fields %#v, want %#v", i, got[i].Fields, f.want[i].Fields)
				}
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	in := []Event{
		{Time: time.Unix(1763701200, 123456789).UTC(), Fields: map[string]any{"log": "a", "n": int64(7), "m": map[string]any{"k": "v"}}},
		{Time: time.Unix(1763701201, 0).UTC(), Fields: map[string]any{"log": "b"}},
	}
	for _, v2 := range []bool{false, true} {
		b, err := Encode(in, v2)
		if err != nil {
			t.Fatal(err)
		}
		got, skipped, err := Decode(b)
		if err != nil || skipped != 0 {
			t.Fatalf("v2=%v: %v, skipped %d", v2, err, skipped)
		}
		for i := range in {
			if !got[i].Time.Equal(in[i].Time) || !reflect.DeepEqual(got[i].Fields, in[i].Fields) {
				t.Fatalf("v2=%v: event %d: %+v, want %+v", v2, i, got[i], in[i])
			}
		}
	}
}

func TestOriginIDs(t *testing.T) {
	ts := time.Unix(1763701200, 5).UTC()
	ev := Event{Time: ts, Fields: map[string]any{"log": "a", "x": int64(1)}}
	id := func(tag string, e Event) string {
		o := Origin("node", SourceID, tag, e)
		return o.ComputeID()
	}
	base := id("kube.app", ev)
	// The same record (its map built in another order) at the same time
	// with the same tag: the same id.
	same := Event{Time: ts, Fields: map[string]any{"x": int64(1), "log": "a"}}
	if id("kube.app", same) != base {
		t.Error("identical records got different ids")
	}
	for name, other := range map[string]string{
		"other content": id("kube.app", Event{Time: ts, Fields: map[string]any{"log": "b", "x": int64(1)}}),
		"other time":    id("kube.app", Event{Time: ts.Add(time.Nanosecond), Fields: ev.Fields}),
		"other tag":     id("kube.web", ev),
	} {
		if other == base {
			t.Errorf("%s: same id", name)
		}
	}
}
