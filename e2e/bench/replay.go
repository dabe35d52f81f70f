package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// deadLetters returns the dead letters of input made by the nginx pack's
// rule with a method pattern that matches no line: every line, as the
// nginx_replay scenario replays them through the pack's own rule. They are
// made once per input and kept in work.
func deadLetters(bin, input, work string) (string, error) {
	out := strings.TrimSuffix(input, ".log") + ".dead.jsonl"
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	rules, err := os.ReadFile("configs/nginx/rules.hcl")
	if err != nil {
		return "", err
	}
	none := strings.Replace(string(rules), "(?P<method>[A-Z]+)", "(?P<method>NONE)", 1)
	if none == string(rules) {
		return "", fmt.Errorf("the nginx pack's method pattern changed: update e2e/bench/replay.go")
	}
	dir, err := os.MkdirTemp(work, "dead-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "dead.hcl")
	src := fmt.Sprintf(`source "file" "nginx" {
  paths = [%q]
}
sink "file" "out" {
  inputs = [transform.nginx_access.dead_letter]
  path   = %q
}
`, input, out+".tmp")
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		return "", err
	}
	rule := filepath.Join(dir, "rules.hcl")
	if err := os.WriteFile(rule, []byte(none), 0o644); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "making the dead letters of %s into %s\n", input, out)
	cmd := exec.Command(bin, "run", "--once", "--data-dir", filepath.Join(dir, "data"), "--http-addr", "off", "--log-level", "warn",
		"-c", cfg, "-c", "configs/schemas", "-c", rule)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("make the dead letters: %w", err)
	}
	return out, os.Rename(out+".tmp", out)
}
