// Command schemagen writes standalone, strict JSON schemas for kubeconform
// from a Kubernetes OpenAPI v2 document (k8s.io/kubernetes's
// api/openapi-spec/swagger.json, in the Go module cache), offline: one file
// per group/version/kind, named the way kubeconform's default
// -schema-location template expects ({{ .ResourceKind }}{{ .KindSuffix }}.json,
// e.g. deployment-apps-v1.json). Every object that declares properties gets
// additionalProperties: false (kubeconform -strict), int-or-string and
// quantity accept numbers and strings, and each file carries the
// definitions it references.
//
//	go run ./e2e/chart/schemagen -spec swagger.json -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	spec := flag.String("spec", "", "path of swagger.json")
	out := flag.String("out", "", "output directory")
	flag.Parse()
	if *spec == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: schemagen -spec swagger.json -out DIR")
		os.Exit(2)
	}
	n, err := generate(*spec, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "schemagen: %d schemas in %s\n", n, *out)
}

func generate(specPath, outDir string) (int, error) {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return 0, err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return 0, err
	}
	defs := map[string]any{}
	for name, d := range doc.Definitions {
		defs[name] = fix(name, d)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return 0, err
	}
	names := make([]string, 0, len(doc.Definitions))
	for name := range doc.Definitions {
		names = append(names, name)
	}
	sort.Strings(names)
	count := 0
	for _, name := range names {
		gvks, _ := doc.Definitions[name]["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			gvk, _ := g.(map[string]any)
			group, _ := gvk["group"].(string)
			version, _ := gvk["version"].(string)
			kind, _ := gvk["kind"].(string)
			if kind == "" || version == "" {
				continue
			}
			needed := map[string]any{}
			collect(defs, name, needed)
			schema := map[string]any{
				"$schema":     "http://json-schema.org/draft-07/schema#",
				"$ref":        "#/definitions/" + name,
				"definitions": needed,
			}
			suffix := "-" + version
			if group != "" {
				suffix = "-" + strings.Split(group, ".")[0] + "-" + version
			}
			file := filepath.Join(outDir, strings.ToLower(kind)+suffix+".json")
			b, err := json.Marshal(schema)
			if err != nil {
				return count, err
			}
			if err := os.WriteFile(file, b, 0o644); err != nil {
				return count, err
			}
			count++
		}
	}
	return count, nil
}

// fix rewrites one definition: $refs to the local definitions, strict
// objects, and the string formats that also take numbers.
func fix(name string, v any) any {
	switch name {
	case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
	case "io.k8s.apimachinery.pkg.api.resource.Quantity":
		return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	}
	return rewrite(v)
}

func rewrite(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if strings.HasPrefix(k, "x-kubernetes-") {
				continue
			}
			if k == "properties" {
				props := map[string]any{}
				for pk, pv := range x.(map[string]any) {
					props[pk] = rewrite(pv)
				}
				out[k] = props
				continue
			}
			out[k] = rewrite(x)
		}
		if _, ok := t["properties"]; ok {
			if _, has := t["additionalProperties"]; !has {
				out["additionalProperties"] = false
			}
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = rewrite(t[i])
		}
		return out
	}
	return v
}

// collect adds name and every definition it references to needed.
func collect(defs map[string]any, name string, needed map[string]any) {
	if _, done := needed[name]; done {
		return
	}
	d, ok := defs[name]
	if !ok {
		return
	}
	needed[name] = d
	var walk func(v any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if k == "$ref" {
					if s, ok := x.(string); ok {
						collect(defs, strings.TrimPrefix(s, "#/definitions/"), needed)
					}
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(d)
}
