package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	sumA = `{"id":"aaaa1111aaaa1111aaaa1111aaaa1111","time":"2026-11-21T05:00:00Z","kind":"workflow_run_summary","fields":{"complete":true,"run_id":"100","started_at":"2026-11-21T05:00:00Z","status":"success","steps":[{"duration_s":186,"name":"test","status":"success"}],"workflow":"build-api"},"origin":{"host":"h","component":"c","stream":"s","offset":1}}`
	sumB = `{"id":"bbbb2222bbbb2222bbbb2222bbbb2222","time":"2026-11-21T06:00:00Z","kind":"workflow_run_summary","fields":{"complete":true,"run_id":"101","started_at":"2026-11-21T06:00:00Z","status":"success","steps":[{"duration_s":245,"name":"test","status":"success"}],"workflow":"build-api"},"origin":{"host":"h","component":"c","stream":"s","offset":2}}`
	ctxC = `{"id":"cccc3333cccc3333cccc3333cccc3333","time":"2026-11-21T06:00:00Z","kind":"crashloop_context","fields":{"pod":"p"},"origin":{"host":"h","component":"c","stream":"s","offset":3}}`
)

func diffRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runDiff(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Exit codes as diff(1): 0 the same, 1 different, 2 trouble; records from
// files of one record, or by id (or a unique prefix) from standard input.
func TestDiffCommand(t *testing.T) {
	a, b := file(t, "a.jsonl", sumA+"\n"), file(t, "b.jsonl", sumB+"\n")
	if code, out, _ := diffRun(t, "", a, a); code != 0 || !strings.Contains(out, "no differences") {
		t.Errorf("same: %d %s", code, out)
	}
	code, out, _ := diffRun(t, "", a, b)
	if code != 1 || !strings.Contains(out, "~ steps[test].duration_s: 186 -> 245 (+59, x1.32)") || !strings.Contains(out, `~ run_id: "100" -> "101"`) {
		t.Errorf("different: %d\n%s", code, out)
	}
	// By id from standard input, flags after the ids; with the pack's
	// schema, the volatile run_id and started_at are left out.
	code, out, errs := diffRun(t, sumA+"\n"+ctxC+"\n\n"+sumB+"\n", "aaaa1111", "bbbb2222bbbb2222bbbb2222bbbb2222", "-c", "../../configs/kafka-ci-events", "--json")
	if code != 1 || strings.Contains(out, `"path": "run_id"`) || !strings.Contains(out, `"path": "steps[test].duration_s"`) || !strings.Contains(out, `"ignored": [`) {
		t.Errorf("by id, JSON, schema: %d\n%s\n%s", code, out, errs)
	}
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"not json\n", []string{"aaaa", "bbbb"}, "A: standard input:1: not a JSON record"},
		{sumA + "\n", []string{"aaaa", "dddd"}, "B: no record with id dddd in standard input (records read: 1)"},
		{sumA + "\n" + ctxC + "\n", []string{"aaaa", "cccc"}, "different kinds (workflow_run_summary and crashloop_context)"},
		{"", []string{file(t, "two.jsonl", sumA+"\n"+sumB+"\n"), b}, "holds 2 records (aaaa1111aaaa workflow_run_summary, bbbb2222bbbb workflow_run_summary); name one by id"},
		{"", []string{"no-such-file", b}, "A: no such file, and not a record id"},
		{"", []string{a}, "give two records, A and B (got 1)"},
		{"", []string{a, b, "--color", "pink"}, `--color "pink"`},
	} {
		code, _, errs := diffRun(t, c.stdin, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, errs, c.want)
		}
	}
}
