package config_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent/config"
)

// FuzzLoad feeds arbitrary bytes to the loader as one HCL file. The loader
// must never panic, and every error must point at a place in the file.
//
//	go test ./agent/config -run '^$' -fuzz FuzzLoad -fuzztime 30s
func FuzzLoad(f *testing.F) {
	reg := registry()
	seeds, _ := filepath.Glob("testdata/*/*.hcl")
	more, _ := filepath.Glob("testdata/*/*/*.hcl")
	for _, p := range append(seeds, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, fac := range reg.All() {
		f.Add([]byte(fac.Example))
	}
	f.Add([]byte(""))
	f.Add([]byte("source \"file\" \"a\" {\n  paths = [\"${\"]\n}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		res, diags := config.LoadSources([]config.Source{{Name: "fuzz.hcl", Data: data}}, reg)
		if res == nil {
			t.Fatal("nil Result")
		}
		for _, d := range diags {
			if d.Severity != hcl.DiagError {
				continue
			}
			if d.Subject == nil {
				t.Fatalf("error without a subject: %s: %s", d.Summary, d.Detail)
			}
			if d.Subject.Start.Line < 1 {
				t.Fatalf("error at line %d: %s: %s", d.Subject.Start.Line, d.Summary, d.Detail)
			}
		}
		// Printing must not panic either, whatever the positions.
		config.WriteDiagnostics(io.Discard, res.Files, diags)
		if !diags.HasErrors() {
			_ = config.Summary(res.Graph)
		}
	})
}
