package openlineage

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/octostore/agent/agent"
)

// The OpenLineage 2-0-2 JSON schema and its standard facets (Apache-2.0,
// spec/LICENSE), and the schema of the octoagent_record facet: the
// validator reads them from here and never from the network.
//
//go:embed spec
var specFS embed.FS

// SpecFS returns the embedded schema files (OpenLineage.json, facets/*.json
// and octoagent/*.json), for tests that check events on their own.
func SpecFS() fs.FS {
	sub, _ := fs.Sub(specFS, "spec")
	return sub
}

// Validator checks encoded RunEvents against the OpenLineage schema and,
// facet by facet, against each facet's own schema. The schema alone checks
// only that a facet has _producer and _schemaURL; a facet's content is
// checked against the definition its _schemaURL names (when the file is one
// of the embedded ones), and a facet under a standard name (parent,
// errorMessage, jobType, ...) against that name's definition as well.
// It is safe for concurrent use.
type Validator struct {
	event  *jsonschema.Schema
	byURL  map[string]*jsonschema.Schema // "https://…/ParentRunFacet.json#/$defs/ParentRunFacet"
	byName map[facetPlace]*jsonschema.Schema
}

// facetPlace is a facet's standard name where it may appear.
type facetPlace struct {
	where string // run, job, dataset, input, output
	name  string
}

// printer writes the schema's messages (in English).
var printer = message.NewPrinter(language.English)

// noFetch refuses every URL that is not one of the embedded files: a
// schema is never fetched.
type noFetch struct{}

func (noFetch) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s is not one of the embedded OpenLineage schema files, and schemas are never fetched", url)
}

// NewValidator compiles the embedded schemas.
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(noFetch{})
	// date-time, uri and uuid are checked (draft 2020-12 makes formats
	// annotations unless asked).
	c.AssertFormat()
	uri, err := newURIFormat()
	if err != nil {
		return nil, err
	}
	c.RegisterFormat(uri)
	type file struct {
		id  string
		doc map[string]any
	}
	var files []file
	err = fs.WalkDir(SpecFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		b, err := fs.ReadFile(SpecFS(), p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		m, _ := doc.(map[string]any)
		id, _ := m["$id"].(string)
		if id == "" {
			return fmt.Errorf("%s has no $id", p)
		}
		if err := c.AddResource(id, doc); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		files = append(files, file{id, m})
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := &Validator{byURL: map[string]*jsonschema.Schema{}, byName: map[facetPlace]*jsonschema.Schema{}}
	if v.event, err = c.Compile(SchemaURL + "#/$defs/RunEvent"); err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.id == SchemaURL {
			continue
		}
		defs, _ := f.doc["$defs"].(map[string]any)
		for name := range defs {
			if !strings.HasSuffix(name, "Facet") {
				continue
			}
			url := f.id + "#/$defs/" + name
			if v.byURL[url], err = c.Compile(url); err != nil {
				return nil, err
			}
		}
		// The file's root names the facet: {"properties": {"parent":
		// {"$ref": "#/$defs/ParentRunFacet"}}}, or an anyOf of refs.
		props, _ := f.doc["properties"].(map[string]any)
		for key, p := range props {
			for _, ref := range refsOf(p) {
				name := strings.TrimPrefix(ref, "#/$defs/")
				if where := placeOf(name); where != "" && v.byURL[f.id+"#/$defs/"+name] != nil {
					v.byName[facetPlace{where, key}] = v.byURL[f.id+"#/$defs/"+name]
				}
			}
		}
	}
	return v, nil
}

// refsOf returns the $ref of a property schema, or those of its anyOf.
func refsOf(p any) []string {
	m, _ := p.(map[string]any)
	if r, ok := m["$ref"].(string); ok {
		return []string{r}
	}
	var out []string
	alts, _ := m["anyOf"].([]any)
	for _, a := range alts {
		out = append(out, refsOf(a)...)
	}
	return out
}

// placeOf says where a facet definition belongs, from its name.
func placeOf(def string) string {
	switch {
	case strings.HasSuffix(def, "InputDatasetFacet"):
		return "input"
	case strings.HasSuffix(def, "OutputDatasetFacet"):
		return "output"
	case strings.HasSuffix(def, "DatasetFacet"):
		return "dataset"
	case strings.HasSuffix(def, "RunFacet"):
		return "run"
	case strings.HasSuffix(def, "JobFacet"):
		return "job"
	}
	return ""
}

// Validate checks one encoded RunEvent and returns its problems, each with
// the JSON pointer of the value concerned (in FieldError.Field) and the
// schema's message; none means it is valid.
func (v *Validator) Validate(event []byte) []agent.FieldError {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return []agent.FieldError{{Field: "", Error: "not JSON: " + err.Error()}}
	}
	var errs []agent.FieldError
	errs = appendErrors(errs, "", v.event.Validate(doc))
	root, _ := doc.(map[string]any)
	run, _ := root["run"].(map[string]any)
	errs = v.facets(errs, "/run/facets", "run", run["facets"])
	job, _ := root["job"].(map[string]any)
	errs = v.facets(errs, "/job/facets", "job", job["facets"])
	for _, io := range []struct{ key, own string }{{"inputs", "inputFacets"}, {"outputs", "outputFacets"}} {
		list, _ := root[io.key].([]any)
		for i, d := range list {
			ds, _ := d.(map[string]any)
			at := fmt.Sprintf("/%s/%d/", io.key, i)
			errs = v.facets(errs, at+"facets", "dataset", ds["facets"])
			errs = v.facets(errs, at+io.own, strings.TrimSuffix(io.own, "Facets"), ds[io.own])
		}
	}
	return errs
}

// facets checks each facet of one facets object against the definition
// its _schemaURL names and the one its standard name has.
func (v *Validator) facets(errs []agent.FieldError, at, where string, x any) []agent.FieldError {
	m, _ := x.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, _ := m[k].(map[string]any)
		if f == nil {
			continue // the event schema reported it
		}
		p := at + "/" + escapePointer(k)
		byURL := v.byURL[fmt.Sprint(f["_schemaURL"])]
		if byURL != nil {
			errs = appendErrors(errs, p, byURL.Validate(f))
		}
		if byName := v.byName[facetPlace{where, k}]; byName != nil && byName != byURL {
			errs = appendErrors(errs, p, byName.Validate(f))
		}
	}
	return errs
}

// appendErrors flattens a validation error into one FieldError per leaf:
// the pointer of the value (under prefix) and what is wrong with it.
func appendErrors(errs []agent.FieldError, prefix string, err error) []agent.FieldError {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		if err != nil {
			errs = append(errs, agent.FieldError{Field: prefix, Error: err.Error()})
		}
		return errs
	}
	seen := map[agent.FieldError]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			fe := agent.FieldError{Field: prefix + pointer(e.InstanceLocation), Error: e.ErrorKind.LocalizedString(printer)}
			if _, isRef := e.ErrorKind.(*kind.Reference); !isRef && !seen[fe] {
				seen[fe] = true
				errs = append(errs, fe)
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return errs
}

func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escapePointer(t))
	}
	return b.String()
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// escapePointer escapes one JSON pointer token (RFC 6901).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return pointerEscaper.Replace(s)
}

// newURIFormat returns the library's "uri" format with a memory of the
// URIs found valid: every facet carries the same _producer and one of a
// few _schemaURLs, and parsing them again was a tenth of the validation's
// CPU. It remembers at most 4096 URIs; the check itself is the library's
// (a one-keyword schema), so the verdicts do not change.
func newURIFormat() (*jsonschema.Format, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const loc = "urn:octoagent:uri"
	if err := c.AddResource(loc, map[string]any{"format": "uri"}); err != nil {
		return nil, err
	}
	check, err := c.Compile(loc)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	valid := map[string]bool{}
	return &jsonschema.Format{Name: "uri", Validate: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		mu.Lock()
		known := valid[s]
		mu.Unlock()
		if known {
			return nil
		}
		var ve *jsonschema.ValidationError
		if err := check.Validate(s); errors.As(err, &ve) {
			for len(ve.Causes) > 0 {
				ve = ve.Causes[0]
			}
			if f, ok := ve.ErrorKind.(*kind.Format); ok {
				return f.Err
			}
			return err
		}
		mu.Lock()
		if len(valid) < 4096 {
			valid[s] = true
		}
		mu.Unlock()
		return nil
	}}, nil
}
