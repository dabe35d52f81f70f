package playground

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/octostore/agent/agent/config"
)

// Pack is what the page starts from: the schema and transform blocks the
// editor shows, the source blocks they read (kept as they are, out of the
// editor, so that inputs = [source...] resolve), and sample lines.
type Pack struct {
	Name string `json:"name"`
	// HCL is the editor's text: the schema and transform blocks of the
	// files, each with the comment lines above it.
	HCL string `json:"hcl"`
	// Sources are the files' source blocks, loaded beside the editor's text.
	Sources []config.Source `json:"-"`
	// SourceIDs names them for the page.
	SourceIDs []string `json:"sources"`
	Samples   []Sample `json:"samples"`
}

// Sample is a named set of input lines: a test's inputs or a sample file.
type Sample struct {
	Name string `json:"name"`
	// Transform is the transform the lines are for ("transform.NAME"),
	// when a test says so.
	Transform string `json:"transform,omitempty"`
	Text      string `json:"text"`
}

// File is one config file's name and content.
type File = config.Source

// BuildPack makes a pack from config files (-c, or a shipped pack): their
// schema and transform blocks go to the editor, their source blocks
// beside it, and the inputs of their test blocks become samples, one per
// transform tested. Sinks and the agent block are left out: the page
// feeds lines to a transform and shows what comes out.
func BuildPack(name string, files []File) (*Pack, hcl.Diagnostics) {
	p := &Pack{Name: name}
	var diags hcl.Diagnostics
	var editor bytes.Buffer
	tests := map[string]*Sample{}
	var order []string
	for _, f := range files {
		file, d := hclsyntax.ParseConfig(f.Data, f.Name, hcl.InitialPos)
		diags = append(diags, d...)
		if file == nil {
			continue
		}
		body, ok := file.Body.(*hclsyntax.Body)
		if !ok {
			continue
		}
		var srcText bytes.Buffer
		for _, b := range body.Blocks {
			switch b.Type {
			case "schema", "transform":
				if editor.Len() > 0 {
					editor.WriteString("\n")
				}
				editor.Write(blockText(f.Data, b))
				editor.WriteString("\n")
			case "source":
				srcText.Write(f.Data[b.Range().Start.Byte:b.Range().End.Byte])
				srcText.WriteString("\n")
				p.SourceIDs = append(p.SourceIDs, "source."+strings.Join(b.Labels, "."))
			case "test":
				tr, lines := testInputs(b)
				if len(lines) == 0 {
					continue
				}
				s := tests[tr]
				if s == nil {
					s = &Sample{Name: "tests of " + tr, Transform: tr}
					tests[tr] = s
					order = append(order, tr)
				}
				s.Text += strings.Join(lines, "\n") + "\n"
			}
		}
		if srcText.Len() > 0 {
			p.Sources = append(p.Sources, config.Source{Name: f.Name, Data: srcText.Bytes()})
		}
	}
	for _, tr := range order {
		p.Samples = append(p.Samples, *tests[tr])
	}
	p.HCL = editor.String()
	return p, diags
}

// blockText is a block's text with the comment lines right above it.
func blockText(src []byte, b *hclsyntax.Block) []byte {
	start, end := b.Range().Start.Byte, b.Range().End.Byte
	for start > 0 {
		// the line before start
		prevEnd := start - 1 // the newline ending the previous line
		if prevEnd < 0 || src[prevEnd] != '\n' {
			break
		}
		lineStart := bytes.LastIndexByte(src[:prevEnd], '\n') + 1
		line := bytes.TrimSpace(src[lineStart:prevEnd])
		if !bytes.HasPrefix(line, []byte("#")) && !bytes.HasPrefix(line, []byte("//")) {
			break
		}
		start = lineStart
	}
	return src[start:end]
}

// testInputs reads a test block's transform and input lines, when they
// are literals.
func testInputs(b *hclsyntax.Block) (string, []string) {
	var tr string
	var lines []string
	if a, ok := b.Body.Attributes["transform"]; ok {
		if t, d := hcl.AbsTraversalForExpr(a.Expr); !d.HasErrors() && len(t) == 2 {
			if at, ok := t[1].(hcl.TraverseAttr); ok {
				tr = "transform." + at.Name
			}
		}
	}
	for _, name := range []string{"input", "inputs"} {
		a, ok := b.Body.Attributes[name]
		if !ok {
			continue
		}
		v, d := a.Expr.Value(nil)
		if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
			continue
		}
		if v.Type().IsPrimitiveType() {
			if s, ok := ctyString(v); ok {
				lines = append(lines, s)
			}
			continue
		}
		if v.CanIterateElements() {
			for it := v.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if s, ok := ctyString(e); ok {
					lines = append(lines, s)
				}
			}
		}
	}
	return tr, lines
}

// Packs builds the shipped packs from an embedded configs tree (see
// package configs): each directory with a rules.hcl, with the shared
// schemas it refers to, its samples (samples/NAME*, and *.log or *.jsonl
// files in the directory), and a variant per file of DIR/variants that
// replaces its rules.hcl.
func Packs(fsys fs.FS) ([]*Pack, error) {
	dirs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	schemas, err := readHCL(fsys, "schemas")
	if err != nil {
		return nil, err
	}
	var out []*Pack
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "schemas" || d.Name() == "samples" {
			continue
		}
		dir := d.Name()
		if _, err := fs.Stat(fsys, path.Join(dir, "rules.hcl")); err != nil {
			continue
		}
		files, err := readHCL(fsys, dir)
		if err != nil {
			return nil, err
		}
		samples := sampleFiles(fsys, dir)
		variants, _ := readHCL(fsys, path.Join(dir, "variants"))
		mk := func(name string, files []File) error {
			p, diags := BuildPack(name, append(usedSchemas(schemas, files), files...))
			if diags.HasErrors() {
				return fmt.Errorf("pack %s: %s", name, diags.Error())
			}
			p.Samples = append(p.Samples, samples...)
			out = append(out, p)
			return nil
		}
		if err := mk(dir, files); err != nil {
			return nil, err
		}
		for _, v := range variants {
			rest := make([]File, 0, len(files))
			for _, f := range files {
				if path.Base(f.Name) != "rules.hcl" {
					rest = append(rest, f)
				}
			}
			name := dir + " (" + strings.TrimSuffix(path.Base(v.Name), ".hcl") + ")"
			if err := mk(name, append(rest, v)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// readHCL reads the *.hcl files of a directory, in lexical order, named
// configs/DIR/FILE.
func readHCL(fsys fs.FS, dir string) ([]File, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.hcl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []File
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		out = append(out, File{Name: "configs/" + n, Data: b})
	}
	return out, nil
}

var (
	schemaRef  = regexp.MustCompile(`\bschema\.([A-Za-z_][A-Za-z0-9_-]*)`)
	schemaDecl = regexp.MustCompile(`(?m)^schema\s+"([^"]+)"`)
)

// usedSchemas returns the shared schema files the pack's files refer to.
func usedSchemas(schemas, files []File) []File {
	refs := map[string]bool{}
	for _, f := range files {
		for _, m := range schemaRef.FindAllSubmatch(f.Data, -1) {
			refs[string(m[1])] = true
		}
	}
	var out []File
	for _, s := range schemas {
		for _, m := range schemaDecl.FindAllSubmatch(s.Data, -1) {
			if refs[string(m[1])] {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// sampleFiles returns the pack's sample files: samples/DIR_* and the
// *.log and *.jsonl files in its directory.
func sampleFiles(fsys fs.FS, dir string) []Sample {
	var names []string
	for _, pat := range []string{"samples/" + dir + "_*", "samples/" + strings.ReplaceAll(dir, "-", "_") + "_*", dir + "/*.log", dir + "/*.jsonl"} {
		m, _ := fs.Glob(fsys, pat)
		names = append(names, m...)
	}
	sort.Strings(names)
	var out []Sample
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			continue
		}
		out = append(out, Sample{Name: "configs/" + n, Text: string(b)})
	}
	return out
}

func ctyString(v cty.Value) (string, bool) {
	if v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}
