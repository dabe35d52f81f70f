package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
)

// replayConfig is a config whose rule reads "key=value" lines with a
// numeric value, with a file sink for its records and one for its dead
// letters, in dir.
func replayConfig(t *testing.T, dir, name string) string {
	t.Helper()
	cfg := filepath.Join(dir, "agent.hcl")
	src := `agent {
  data_dir = "` + filepath.Join(dir, "data") + `"
}
source "stdin" "in" {}
transform "` + name + `" {
  inputs = [source.stdin.in]
  kind   = "kv"
  parse "regex" {
    pattern = "^(?P<key>[a-z]+)=(?P<value>\\d+)$"
  }
}
sink "file" "records" {
  inputs = [transform.` + name + `]
  path   = "` + filepath.Join(dir, "records.jsonl") + `"
}
sink "file" "dead" {
  inputs = [transform.` + name + `.dead_letter]
  path   = "` + filepath.Join(dir, "dead.jsonl") + `"
}
`
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// deadLetterOf makes the dead letter transform.NAME would have made of line.
func deadLetterOf(name, line string, offset int64) string {
	in := agent.Record{Raw: []byte(line), Origin: agent.Origin{Host: "h", Component: "source.stdin.in", Stream: "stdin:1", Offset: offset}}
	dl := agent.NewDeadLetter(&in, agent.DeadLetter{Component: "transform." + name, Step: "parse.regex", Reason: "no_match"})
	return string(agent.AppendJSON(nil, &dl))
}

func replayRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runReplay(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestReplayCommand: a replay goes on past what it cannot replay, says
// why per dead letter and per reason, and exits 1; --transform replays
// into a renamed rule; --dry-run --json sends nothing; bad input exits 2.
func TestReplayCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := replayConfig(t, dir, "kv")
	input := strings.Join([]string{
		deadLetterOf("kv", "a=1", 0),          // parses now
		deadLetterOf("kv", "b=x", 4),          // still fails
		deadLetterOf("gone", "c=3", 8),        // its transform is gone
		`{"kind":"http_request","fields":{}}`, // not a dead letter
		`not json`,
	}, "\n") + "\n"

	code, out, errs := replayRun(t, input, "-c", cfg, "-")
	if code != 1 || !strings.Contains(out, "replayed 5: 1 records, 1 still dead letters, 3 errors") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"line 3: unknown_transform", `transform.gone is not in the config`, "Known transforms: transform.kv.", "line 4: not_a_dead_letter", "line 5: not_a_dead_letter"} {
		if !strings.Contains(errs+out, want) {
			t.Errorf("no %q in\n%s\n%s", want, out, errs)
		}
	}
	recs, err := os.ReadFile(filepath.Join(dir, "records.jsonl"))
	if err != nil || strings.Count(string(recs), "\n") != 1 || !strings.Contains(string(recs), `"key":"a"`) {
		t.Fatalf("records: %s %v", recs, err)
	}
	// The record has the id the first read would have given it.
	var w agent.WireRecord
	json.Unmarshal(bytes.TrimSpace(recs), &w)
	want := agent.Origin{Host: "h", Component: "source.stdin.in", Stream: "stdin:1", Offset: 0, Rule: "transform.kv"}
	if w.ID != want.ComputeID() {
		t.Errorf("id %s, want %s (origin %+v)", w.ID, want.ComputeID(), w.Origin)
	}

	// A renamed rule: the dead letters of "gone" go to transform.kv.
	code, out, errs = replayRun(t, deadLetterOf("gone", "c=3", 8)+"\n", "-c", cfg, "--transform", "kv", "-")
	if code != 0 || !strings.Contains(out, "replayed 1: 1 records, 0 still dead letters, 0 errors") {
		t.Fatalf("--transform: exit %d\n%s\n%s", code, out, errs)
	}

	// A dry run: nothing written, the reasons as JSON.
	before, _ := os.ReadFile(filepath.Join(dir, "records.jsonl"))
	code, out, errs = replayRun(t, input, "-c", cfg, "--dry-run", "--json", "-")
	var rep replayReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("dry run: exit %d %v\n%s\n%s", code, err, out, errs)
	}
	if rep.Records != 1 || rep.DeadLetters != 1 || rep.Errors != 3 || len(rep.StillFailing) != 1 ||
		rep.StillFailing[0].Reason != "no_match" || rep.StillFailing[0].Step != "parse.regex" || len(rep.Parsed) != 1 {
		t.Errorf("dry run report %+v", rep)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "records.jsonl")); !bytes.Equal(before, after) {
		t.Errorf("the dry run wrote records")
	}

	// Bad flags, a missing input, a bad --transform: 2.
	for _, args := range [][]string{
		{"-c", cfg},
		{"-c", cfg, filepath.Join(dir, "missing.jsonl")},
		{"-c", cfg, "--transform", "nope", "-"},
		{"-c", cfg, "--kafka-topic", "t", "-"},
	} {
		if code, _, errs := replayRun(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errs)
		}
	}
}
