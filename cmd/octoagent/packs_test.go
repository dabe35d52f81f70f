package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/ruletest"
)

// TestEveryPack runs the tests of every rule pack in configs/ (each
// directory with a tests.hcl, as make test-packs does), with every
// component octoagent links: a new pack is tested without being listed
// anywhere.
func TestEveryPack(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(moduleRoot, "configs", "*", "tests.hcl"))
	if err != nil || len(files) < 5 {
		t.Fatalf("packs with tests: %v (%v)", files, err)
	}
	for _, f := range files {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res, diags := config.Load([]string{filepath.Join(moduleRoot, "configs", "schemas"), dir}, components())
			if diags.HasErrors() {
				var buf bytes.Buffer
				config.WriteDiagnostics(&buf, res.Files, diags)
				t.Fatalf("the pack does not load:\n%s", buf.String())
			}
			var buf bytes.Buffer
			rep, d := ruletest.Run(res, &buf)
			if d.HasErrors() || rep.Failed > 0 || rep.Passed == 0 {
				t.Fatalf("passed %d, failed %d, %v:\n%s", rep.Passed, rep.Failed, d, buf.String())
			}
		})
	}
}
