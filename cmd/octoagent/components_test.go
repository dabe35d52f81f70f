package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/octostore/agent/agent/config"
)

const modulePath = "github.com/octostore/agent/"

// moduleRoot is the repository root, seen from cmd/octoagent.
const moduleRoot = "../.."

// TestComponentDocs checks, for every component octoagent links, that its
// folder documents it (README.md), holds the example the factory embeds
// (example.hcl, byte for byte), and that the example is a clean config.
func TestComponentDocs(t *testing.T) {
	reg := components()
	all := reg.All()
	if len(all) == 0 {
		t.Fatal("components() is empty")
	}
	for _, f := range all {
		name := string(f.Kind) + "." + f.Type
		t.Run(name, func(t *testing.T) {
			if strings.TrimSpace(f.Description) == "" {
				t.Errorf("%s: Factory.Description is empty", name)
			}
			typ := reflect.TypeOf(f.NewConfig())
			if typ == nil || typ.Kind() != reflect.Pointer {
				t.Fatalf("%s: NewConfig returns %v, want a pointer to the config struct", name, typ)
			}
			pkg := f.Package()
			rel, ok := strings.CutPrefix(pkg, modulePath)
			if !ok {
				t.Fatalf("%s: factory declared in package %q, outside module %s", name, pkg, modulePath)
			}
			if strings.Contains(rel, "/internal/") {
				t.Errorf("%s: factory declared in %s: a component's factory lives in its own folder under adapters/, transforms/ or sinks/, not in a helper", name, rel)
			}
			dir := filepath.Join(moduleRoot, filepath.FromSlash(rel))

			readme := filepath.Join(dir, "README.md")
			if st, err := os.Stat(readme); err != nil {
				t.Errorf("%s: missing README.md: every component folder documents its config; write %s (%v)", name, filepath.ToSlash(filepath.Join(rel, "README.md")), err)
			} else if st.Size() == 0 {
				t.Errorf("%s: %s is empty", name, filepath.ToSlash(filepath.Join(rel, "README.md")))
			}

			examplePath := filepath.Join(dir, "example.hcl")
			onDisk, err := os.ReadFile(examplePath)
			switch {
			case err != nil:
				t.Errorf("%s: missing example.hcl: %v", name, err)
			case !bytes.Equal(onDisk, []byte(f.Example)):
				t.Errorf("%s: %s differs from Factory.Example; the factory must embed it (//go:embed example.hcl)", name, filepath.ToSlash(filepath.Join(rel, "example.hcl")))
			}

			if strings.TrimSpace(f.Example) == "" {
				t.Fatalf("%s: Factory.Example is empty", name)
			}
			res, diags := config.LoadSources([]config.Source{{Name: examplePath, Data: []byte(f.Example)}}, reg)
			if len(diags) > 0 {
				var buf bytes.Buffer
				config.WriteDiagnostics(&buf, res.Files, diags)
				t.Fatalf("%s: the example does not load cleanly against the full registry:\n%s", name, buf.String())
			}
			uses := false
			for _, c := range res.Components {
				if c.Factory == f {
					uses = true
				}
			}
			if !uses {
				t.Errorf("%s: the example has no %s block", name, name)
			}
		})
	}
}
