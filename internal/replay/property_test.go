package replay_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/replay"
	"github.com/octostore/agent/sinks/stdout"
	"github.com/octostore/agent/transforms/rules"
)

// genRule writes a random rules transform named "t": a regex over a random
// set of methods (or a JSON parse), maybe a timestamp step, a schema, an
// entity, a jq step that makes several records, a where filter. Two draws
// make an (old, new) pair; the old one's dead letters are what a new one
// replays.
func genRule(rng *rand.Rand) string {
	var b strings.Builder
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	rng.Shuffle(len(methods), func(i, j int) { methods[i], methods[j] = methods[j], methods[i] })
	ms := methods[:1+rng.IntN(len(methods))]
	withSchema := rng.IntN(2) == 0
	if withSchema {
		b.WriteString("  schema = schema.req\n")
	} else {
		b.WriteString("  kind = \"req\"\n")
	}
	if rng.IntN(2) == 0 {
		b.WriteString(`  parse "regex" {
    pattern = "^(?P<status>\\S+) (?P<method>` + strings.Join(ms, "|") + `) (?P<path>\\S+)(?: (?P<ts>\\S+))?$"
  }
`)
	} else {
		b.WriteString("  parse \"json\" {}\n")
	}
	if rng.IntN(3) == 0 {
		// A minute per line: the property is about records, and a loaded
		// machine must not turn a first read into a timeout dead letter.
		b.WriteString("  jq {\n    query   = \"if .path == \\\"/two\\\" then (., .) else . end\"\n    timeout = \"1m\"\n  }\n")
	}
	if rng.IntN(2) == 0 {
		b.WriteString("  timestamp {\n    field  = \"ts\"\n    layout = \"rfc3339\"\n  }\n")
	}
	if rng.IntN(3) == 0 {
		b.WriteString("  where = \"path != \\\"/drop\\\"\"\n")
	}
	if rng.IntN(3) == 0 { // fails after the timestamp step set the time
		b.WriteString("  jq {\n    query = \"if .path == \\\"/boom\\\" then error(\\\"boom\\\") else . end\"\n    timeout = \"1m\"\n  }\n")
	}
	switch rng.IntN(4) {
	case 0:
		b.WriteString("  entity = [\"method\"]\n")
	case 1: // not every line has a path
		b.WriteString("  entity = [\"method\", \"path\"]\n")
	}
	return b.String()
}

const schemaReq = `
schema "req" {
  version        = "2"
  unknown_fields = "allow"
  field "status" {
    type     = "int"
    required = true
  }
  field "method" {
    type     = "string"
    required = true
  }
  field "path" {
    type = "string"
  }
}
`

// genLine writes a random line, in the shape the regex reads or as JSON,
// with fields that sometimes break one rule or another.
func genLine(rng *rand.Rand) string {
	status := []string{"200", "404", "5xx", "301"}[rng.IntN(4)]
	method := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "BREW"}[rng.IntN(6)]
	path := []string{"/", "/a/b?q=1", "/two", "/drop", "/é\u2028\"x\"", "/boom"}[rng.IntN(6)]
	ts := []string{"", "2026-12-06T05:00:00.123456789Z", "2026-12-06T07:00:00+02:00", "yesterday"}[rng.IntN(4)]
	if rng.IntN(3) == 0 {
		js := fmt.Sprintf(`{"status":%q,"method":%q`, status, method)
		if status == "200" {
			js = fmt.Sprintf(`{"status":200,"method":%q`, method)
		}
		if rng.IntN(4) != 0 {
			js += fmt.Sprintf(`,"path":%q`, path)
		}
		if ts != "" {
			js += fmt.Sprintf(`,"ts":%q`, ts)
		}
		if rng.IntN(10) == 0 {
			js = js[:len(js)-3] // broken JSON
		}
		return js + "}"
	}
	line := status + " " + method + " " + strings.ReplaceAll(path, " ", "")
	if ts != "" {
		line += " " + ts
	}
	return line
}

func newRule(t *testing.T, reg *agent.Registry, body string) (agent.Transform, *agenttest.Capture, *agenttest.Capture) {
	t.Helper()
	cfg, diags := agenttest.LoadConfig(t, reg, schemaReq+`source "stdin" "in" {}
transform "rules" "t" {
  inputs = [source.stdin.in]
`+body+`}
sink "stdout" "out" {
  inputs = [transform.t, transform.t.dead_letter]
}
`, "transform.t")
	if diags != "" {
		t.Fatalf("rule does not load:\n%s\n%s", body, diags)
	}
	set, out, dead, _ := agenttest.TransformSettings("transform.t", "rules", t.TempDir())
	tr, err := rules.NewFactory().Create(set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tr.(agent.Transform), out, dead
}

// run gives r (a copy) to tr and returns what it made, encoded.
func run(t *testing.T, tr agent.Transform, out, dead *agenttest.Capture, r agent.Record) (recs []string, dls []agent.Record) {
	t.Helper()
	no, nd := len(out.Records()), len(dead.Records())
	acks := agent.NewAcks()
	r.SetToken(acks.NewToken(1, nil))
	if err := tr.Process(context.Background(), agent.Batch{r}); err != nil {
		t.Fatal(err)
	}
	var enc agent.Encoder
	for _, o := range out.Records()[no:] {
		recs = append(recs, string(enc.Append(nil, &o)))
	}
	dls = dead.Records()[nd:]
	for _, d := range dls {
		recs = append(recs, string(enc.Append(nil, &d)))
	}
	return recs, dls
}

// TestPropertyReplayIsTheFirstRead is the property replay rests on: for any line
// and any pair of rules (old, new), replaying the old rule's dead letter
// (written out as a sink writes it, read back) through the new rule gives,
// byte for byte, what the new rule makes of the line as first read: the
// same records with the same ids, or the same dead letter.
func TestPropertyReplayIsTheFirstRead(t *testing.T) {
	reg := agent.NewRegistry(stdin.NewFactory(), rules.NewFactory(), stdout.NewFactory())
	rng := rand.New(rand.NewPCG(28, uint64(time.Now().UnixNano())))
	cases := agenttest.PropertyCases(300)
	replayed, parsedNow := 0, 0
	for c := 0; c < cases; c++ {
		oldBody, newBody := genRule(rng), genRule(rng)
		oldT, oldOut, oldDead := newRule(t, reg, oldBody)
		newT, newOut, newDead := newRule(t, reg, newBody)
		for l := 0; l < 20; l++ {
			line := genLine(rng)
			in := agent.Record{
				Time:   time.Unix(1_800_000_000+rng.Int64N(1e6), rng.Int64N(1e9)).UTC(),
				Raw:    []byte(line),
				Origin: agenttest.FullOrigin(),
			}
			in.Origin.Rule, in.Origin.Index = "", 0
			in.Origin.Offset = rng.Int64N(1 << 40)
			if rng.IntN(2) == 0 {
				in.Entity = []agent.KV{{Key: "k8s.namespace.name", Value: "prod"}, {Key: "k8s.pod.name", Value: "api-0"}}
			}
			_, dls := run(t, oldT, oldOut, oldDead, in)
			if len(dls) == 0 {
				continue
			}
			// The dead letter as a file sink writes it, read back.
			wire := agent.AppendJSON(nil, &dls[0])
			rebuilt, target, err := replay.Decode(wire)
			if err != nil {
				t.Fatalf("decode %s: %v", wire, err)
			}
			// Rebuild, from the record as agent.ParseJSON reads it, agrees.
			dl, err := agent.ParseJSON(wire)
			if err != nil {
				t.Fatal(err)
			}
			if again, _, err := replay.Rebuild(&dl); err != nil || !reflect.DeepEqual(again, rebuilt) {
				t.Fatalf("Rebuild gives %+v, %v; Decode %+v", again, err, rebuilt)
			}
			if target != "transform.t" {
				t.Fatalf("target %q", target)
			}
			want, _ := run(t, newT, newOut, newDead, in)
			got, gotDL := run(t, newT, newOut, newDead, rebuilt)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("line %q\nold rule:\n%s\nnew rule:\n%s\ndead letter: %s\nreplayed:\n%s\nfirst read:\n%s",
					line, oldBody, newBody, wire, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			replayed++
			if len(gotDL) == 0 {
				parsedNow++
			}
		}
	}
	t.Logf("%d rule pairs: %d dead letters replayed, %d of them now parse", cases, replayed, parsedNow)
	if replayed < cases || parsedNow == 0 || parsedNow == replayed {
		t.Fatalf("the generator covers too little: %d replayed, %d now parse", replayed, parsedNow)
	}
}

// TestRebuildRefuses: what cannot be replayed says why.
func TestRebuildRefuses(t *testing.T) {
	base := agent.Origin{Host: "h", Component: "source.file.x", Stream: "s", Offset: 1}
	mk := func(kind string, f map[string]any, rule string) agent.Record {
		r := agent.Record{Kind: kind, Origin: base}
		r.Origin.Rule = rule
		r.SetFields(f)
		return r
	}
	cases := []struct {
		rec    agent.Record
		reason string
	}{
		{mk("http_request", map[string]any{"a": "b"}, "transform.x"), replay.ReasonNotDeadLetter},
		{mk(agent.KindDeadLetter, map[string]any{"component": "source.file.x", "raw": "l"}, "source.file.x.dead_letter"), replay.ReasonNotTransform},
		{mk(agent.KindDeadLetter, map[string]any{"component": "sink.octostore.s", "raw": ""}, "transform.x>sink.octostore.s.dead_letter"), replay.ReasonNotTransform},
		{mk(agent.KindDeadLetter, map[string]any{"component": "transform.x"}, "transform.x.dead_letter"), replay.ReasonNoRaw},
		{mk(agent.KindDeadLetter, map[string]any{"component": "transform.y", "raw": "l", "kind": "req"}, "transform.x>transform.y.dead_letter"), replay.ReasonNotRaw},
		{mk(agent.KindDeadLetter, map[string]any{"component": "transform.y", "raw": "l"}, "transform.x[2]>transform.y.dead_letter"), replay.ReasonNotRaw},
		{mk(agent.KindDeadLetter, map[string]any{"component": "transform.x", "raw": "l"}, "transform.z.dead_letter"), replay.ReasonBadOrigin},
	}
	for _, c := range cases {
		_, _, err := replay.Rebuild(&c.rec)
		e, ok := err.(*replay.Error)
		if !ok || e.Reason != c.reason {
			t.Errorf("%v %v: got %v, want reason %s", c.rec.Kind, c.rec.Origin.Rule, err, c.reason)
		}
	}
	ok := mk(agent.KindDeadLetter, map[string]any{"component": "transform.x", "raw": ""}, "transform.x.dead_letter")
	in, target, err := replay.Rebuild(&ok)
	if err != nil || target != "transform.x" || in.Origin.Rule != "" || in.Raw == nil || len(in.Raw) != 0 {
		t.Fatalf("an empty line is a line: %v %q %+v", err, target, in)
	}
}
