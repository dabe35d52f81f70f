package replay_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/replay"
)

// TestDecodeOrigin: every field of agent.Origin comes through Decode (its
// hand-written reader must follow the struct).
func TestDecodeOrigin(t *testing.T) {
	in := agent.Record{Raw: []byte("a \"quoted\" line\t\u2028 é \x01"), Origin: agenttest.FullOrigin(),
		Entity: []agent.KV{{Key: "k8s.pod.name", Value: "api-0"}}}
	in.Origin.Rule, in.Origin.Index = "", 0
	dl := agent.NewDeadLetter(&in, agent.DeadLetter{Component: "transform.x", Step: "parse.regex", Reason: "no_match"})
	got, target, err := replay.Decode(agent.AppendJSON(nil, &dl))
	if err != nil || target != "transform.x" {
		t.Fatal(target, err)
	}
	in.SetToken(nil)
	if !reflect.DeepEqual(got.Origin, in.Origin) || string(got.Raw) != string(in.Raw) || !reflect.DeepEqual(got.Entity, in.Entity) {
		t.Fatalf("got %+v\nwant %+v", got, in)
	}
	v := reflect.ValueOf(in.Origin)
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() && v.Type().Field(i).Name != "Rule" && v.Type().Field(i).Name != "Index" {
			t.Errorf("agenttest.FullOrigin leaves %s empty: the test proves nothing for it", v.Type().Field(i).Name)
		}
	}
}

// FuzzDecode: on any input, Decode never panics, and whatever it accepts
// agrees with the reference path (agent.ParseJSON, then Rebuild).
func FuzzDecode(f *testing.F) {
	in := agent.Record{Raw: []byte(`1.2.3.4 "GET / HTTP/1.1" \u00e9`), Origin: agenttest.FullOrigin()}
	in.Origin.Rule, in.Origin.Index = "", 0
	dl := agent.NewDeadLetter(&in, agent.DeadLetter{Component: "transform.x", Step: "parse.regex", Reason: "no_match"})
	f.Add(agent.AppendJSON(nil, &dl))
	f.Add([]byte(`{"kind":"dead_letter","time":"2026-12-06T00:00:00Z","fields":{"component":"transform.x","raw":"a\ud83d\ude00b\ud800c\/"},"origin":{"host":"h","component":"c","stream":"s","offset":3,"rule":"transform.x.dead_letter"}}`))
	f.Add([]byte(`{"kind":"dead_letter","fields":{"raw":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, target, err := replay.Decode(data)
		if err != nil {
			return
		}
		ref, perr := agent.ParseJSON(data)
		if perr != nil {
			return // Decode reads less than ParseJSON checks
		}
		want, wantTarget, werr := replay.Rebuild(&ref)
		if werr != nil {
			t.Fatalf("Decode accepted what Rebuild refuses (%v): %q", werr, data)
		}
		if target != wantTarget || string(got.Raw) != string(want.Raw) || got.Origin != want.Origin || !got.Time.Equal(want.Time) {
			t.Fatalf("Decode %+v %q\nRebuild %+v %q\ninput %q", got, target, want, wantTarget, data)
		}
	})
}

// TestDecodeRaw: raw lines with escapes, runes and bytes that are not
// UTF-8 at every place of the eight-byte words the decoder reads them by
// come out as the reference path (agent.ParseJSON, then Rebuild) reads
// them.
func TestDecodeRaw(t *testing.T) {
	pieces := []string{`\"`, `\\`, `\u00e9`, `\ud83d\ude00`, `\ud800x`, `\/`, `\n`, "é", "\xff", "\xe2\x82", "😀", `\u0000`}
	for _, p := range pieces {
		for pad := 0; pad < 17; pad++ {
			for _, tail := range []string{"", "abc", "0123456789abcdef0123"} {
				raw := strings.Repeat("x", pad) + p + tail
				line := []byte(`{"kind":"dead_letter","time":"2026-12-06T00:00:00Z","fields":{"component":"transform.x","raw":"` + raw +
					`"},"origin":{"host":"h","component":"c","stream":"s","offset":3,"rule":"transform.x.dead_letter"}}`)
				got, _, err := replay.Decode(line)
				if err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				ref, err := agent.ParseJSON(line)
				if err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				want, _, err := replay.Rebuild(&ref)
				if err != nil {
					t.Fatal(err)
				}
				if string(got.Raw) != string(want.Raw) {
					t.Errorf("raw %q: got %q, want %q", raw, got.Raw, want.Raw)
				}
			}
		}
	}
}
