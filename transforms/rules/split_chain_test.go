package rules_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/ruletest"
)

// TestSplitChainSameAsSteps: the nginx split variant's two split steps run
// chained (one pass over the line, both steps' fields stored at once)
// unless traced, where each step does its own work. Both ways give the
// same records and the same dead letters, byte for byte, for the pack's
// sample and for lines each step fails on in its own way.
func TestSplitChainSameAsSteps(t *testing.T) {
	c, _ := packTransformIn(t, "nginx_access", "nginx/variants/split.hcl")
	lines := bytesToStrings(sampleLines(t, "nginx_access.log"))
	lines = append(lines,
		`10.0.0.1 - - [21/Nov/2026:05:00:09 +0000] "GET /broken HTTP/1.1" abc 12 "-" "curl/8.5.0"`, // a type error in the first step
		`10.0.0.1 - - [21/Nov/2026:05:00:09 +0000] "GET /only-two" 200 12 "-" "curl/8.5.0"`,        // the second step's count
		`10.0.0.1 - - [21/Nov/2026:05:00:09 +0000] "" 400 0 "-" "-"`,                               // nothing to split again
		`10.0.0.1 - - [21/Nov/2026:05:00:09 +0000] "GET  /two-spaces  HTTP/1.1" 200 - "-" "-"`,     // collapsed separators, bytes "-"
		`10.0.0.1 - - [21/Nov/2026:05:00:09 +0000] "GET /a HTTP/1.1 extra" 200 5 "-" "-"`,          // one token too many
		`10.0.0.1 - - [21/Nov/2026:05:00:09 +0000] "GET /\"q\" HTTP/1.1" 200 5 "-" "-"`,            // an escaped quote
		`10.0.0.1 - - [21/Nov/2026:05:00:09 +0000] "GET /a HTTP/1.1" 200 5 "-"`,                    // the first step's count
		`10.0.0.1 - - [21/Nov/2026:05:00:09 +0000] "GET /a HTTP/1.1 200 5 "-" "-"`,                 // quotes that do not pair
		`not a log line at all`,
	)
	run := func(traced bool) (out, dead []byte) {
		tr, o, d := createTransform(t, c)
		if traced {
			tr.(agent.Traceable).Trace(func(agent.StepEvent) {})
		}
		b := make(agent.Batch, len(lines))
		for i, l := range lines {
			b[i] = agent.Record{Time: ruletest.Time, Raw: []byte(l), Origin: agent.Origin{Offset: int64(i)}}
		}
		if err := tr.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		for i := range o.got {
			out = append(agent.AppendJSON(out, &o.got[i]), '\n')
		}
		for i := range d.got {
			dead = append(agent.AppendJSON(dead, &d.got[i]), '\n')
		}
		if len(o.got) < 250 || len(d.got) < 8 {
			t.Fatalf("traced=%v: %d records and %d dead letters, want the sample's records and a dead letter per broken line", traced, len(o.got), len(d.got))
		}
		return out, dead
	}
	chainedOut, chainedDead := run(false)
	stepsOut, stepsDead := run(true)
	if !bytes.Equal(chainedOut, stepsOut) {
		t.Errorf("records differ:\nchained:\n%s\nstep by step:\n%s", chainedOut, stepsOut)
	}
	if !bytes.Equal(chainedDead, stepsDead) {
		t.Errorf("dead letters differ:\nchained:\n%s\nstep by step:\n%s", chainedDead, stepsDead)
	}
}
