package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// layer names where a package sits (docs/architecture.md): the core, a
// component (source, transform or sink), a shared helper, a binary, or the
// end-to-end tests.
func layer(rel string) string {
	top, _, _ := strings.Cut(rel, "/")
	switch top {
	case "agent":
		return "core"
	case "adapters", "transforms", "sinks":
		return "component"
	case "internal":
		return "helper"
	case "cmd":
		return "binary"
	}
	return top
}

// component returns "adapters/NAME" for any package inside a component's
// folder.
func component(rel string) string {
	parts := strings.SplitN(rel, "/", 3)
	if len(parts) < 2 {
		return rel
	}
	return parts[0] + "/" + parts[1]
}

// TestLayout holds the code to the layout docs/architecture.md draws:
// the core (agent/...) imports no component, helper or binary; helpers
// (internal/...) import only the core and other helpers; a component
// imports the core and helpers, never another component. Tests may import
// what they need (a transform's test may use the stdin source).
func TestLayout(t *testing.T) {
	allowed := map[string][]string{
		"core":      {"core"},
		"helper":    {"core", "helper"},
		"component": {"core", "helper"},
	}
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != moduleRoot && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(moduleRoot, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		from := layer(rel)
		ok, rule := allowed[from]
		if !rule {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			dep, inModule := strings.CutPrefix(p, modulePath)
			if !inModule {
				continue
			}
			to := layer(dep)
			permitted := false
			for _, l := range ok {
				permitted = permitted || l == to
			}
			if from == "component" && to == "component" && component(dep) == component(rel) {
				permitted = true // a component's own subpackage
			}
			if !permitted {
				t.Errorf("%s imports %s: a %s may import only %v (see docs/architecture.md)", filepath.ToSlash(path), dep, from, ok)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files: is moduleRoot (%s) the repository root?", checked, moduleRoot)
	}
}
