package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestAwkLoopRunOnce is issue 22's first fault with the real binary: an
// awk program that loops forever on one line passed validate, and run
// --once never exited (100% CPU, 0 records, 0 dead letters). The line
// must now be dead-lettered (reason timeout, step parse.awk), the others
// delivered, and the run must end by itself.
func TestAwkLoopRunOnce(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.log")
	writeFile(t, in, "a 1\nb 2\nc 3\n")
	out := filepath.Join(dir, "out.jsonl")
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, fmt.Sprintf(`agent {
  data_dir  = %s
  http_addr = "127.0.0.1:0"
}
source "file" "in" {
  paths = [%s]
}
transform "t" {
  inputs = [source.file.in]
  parse "awk" { program = "$1 == \"b\" { while (1) { x++ } } { set(\"n\", $2) }" }
}
sink "file" "out" {
  inputs = [transform.t, transform.t.dead_letter]
  path   = %s
}
`, hclString(filepath.Join(dir, "data")), hclString(in), hclString(out)))
	if code, _, stderr := runAgent(t, "", "validate", "-c", cfg); code != 0 {
		t.Fatalf("validate: %d %s", code, stderr)
	}
	if code, _, stderr := runAgent(t, "", "run", "--once", "-c", cfg); code != 0 {
		t.Fatalf("run --once exited %d: %s", code, stderr)
	}
	var ns []string
	dead := 0
	for _, r := range readJSONLines(t, out) {
		if r.Kind == "dead_letter" {
			dead++
			if r.Fields["reason"] != "timeout" || r.Fields["step"] != "parse.awk" || r.Fields["raw"] != "b 2" {
				t.Errorf("dead letter %v", r.Fields)
			}
			continue
		}
		ns = append(ns, fmt.Sprint(r.Fields["n"]))
	}
	if fmt.Sprint(ns) != "[1 3]" || dead != 1 {
		t.Fatalf("records %v, dead letters %d", ns, dead)
	}
}
