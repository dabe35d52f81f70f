package openlineage

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validEvent is a RunEvent with a parent, an error message and a dataset
// version, valid as it is.
const validEvent = `{
  "eventTime": "2026-11-21T05:04:55Z",
  "producer": "https://github.com/octostore/agent",
  "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
  "eventType": "FAIL",
  "run": {"runId": "075a17eb-06fb-532f-81cd-b41f7e48a87e", "facets": {
    "parent": {"_producer": "https://github.com/octostore/agent", "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
      "run": {"runId": "154c6878-a8b9-57d7-ab55-10bfcbdabaeb"}, "job": {"namespace": "ci", "name": "build-api"}},
    "errorMessage": {"_producer": "https://github.com/octostore/agent", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
      "message": "exit code 2", "programmingLanguage": "shell"}}},
  "job": {"namespace": "ci", "name": "build-api.image"},
  "inputs": [],
  "outputs": [{"namespace": "oci://registry.example.com", "name": "api", "facets": {"version": {
    "_producer": "https://github.com/octostore/agent", "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
    "datasetVersion": "3f9c2ab"}}}]
}`

// edit returns validEvent changed by f.
func edit(t *testing.T, f func(ev map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal([]byte(validEvent), &ev); err != nil {
		t.Fatal(err)
	}
	f(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func facet(ev map[string]any, path ...string) map[string]any {
	var v any = ev
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	return v.(map[string]any)
}

// The validator catches what the schema forbids, in the event and in each
// facet's own schema, with the JSON pointer of the value concerned.
func TestValidator(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	if errs := v.Validate([]byte(validEvent)); len(errs) != 0 {
		t.Fatalf("the valid event is refused: %v", errs)
	}
	for _, c := range []struct {
		name    string
		edit    func(map[string]any)
		pointer string
		msg     string
	}{
		{"no runId", func(e map[string]any) { delete(facet(e, "run"), "runId") }, "/run", "missing property 'runId'"},
		{"runId not a uuid", func(e map[string]any) { facet(e, "run")["runId"] = "9001" }, "/run/runId", "is not valid uuid"},
		{"event type", func(e map[string]any) { e["eventType"] = "DONE" }, "/eventType", "value must be one of"},
		{"event time", func(e map[string]any) { e["eventTime"] = "21/Nov/2026" }, "/eventTime", "is not valid date-time"},
		{"producer", func(e map[string]any) { e["producer"] = "not a uri" }, "/producer", "is not valid uri"},
		{"job name", func(e map[string]any) { facet(e, "job")["name"] = 7 }, "/job/name", "want string"},
		{"dataset without a name", func(e map[string]any) { delete(e["outputs"].([]any)[0].(map[string]any), "name") }, "/outputs/0", "missing property 'name'"},
		{"facet without _producer", func(e map[string]any) { delete(facet(e, "run", "facets", "parent"), "_producer") }, "/run/facets/parent", "missing property '_producer'"},
		{"parent without job (the facet's own schema)", func(e map[string]any) { delete(facet(e, "run", "facets", "parent"), "job") }, "/run/facets/parent", "missing property 'job'"},
		{"parent runId", func(e map[string]any) { facet(e, "run", "facets", "parent", "run")["runId"] = "x" }, "/run/facets/parent/run/runId", "is not valid uuid"},
		{"error message without language", func(e map[string]any) {
			delete(facet(e, "run", "facets", "errorMessage"), "programmingLanguage")
		}, "/run/facets/errorMessage", "missing property 'programmingLanguage'"},
		{"standard name, other schema URL", func(e map[string]any) {
			facet(e, "run", "facets", "parent")["_schemaURL"] = "https://example.com/x.json"
			delete(facet(e, "run", "facets", "parent"), "job")
		}, "/run/facets/parent", "missing property 'job'"},
		{"dataset version", func(e map[string]any) {
			delete(facet(e["outputs"].([]any)[0].(map[string]any), "facets", "version"), "datasetVersion")
		}, "/outputs/0/facets/version", "missing property 'datasetVersion'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := v.Validate(edit(t, c.edit))
			for _, e := range errs {
				if e.Field == c.pointer && strings.Contains(e.Error, c.msg) {
					return
				}
			}
			t.Errorf("errors %v; want %s: %s", errs, c.pointer, c.msg)
		})
	}
	if errs := v.Validate([]byte(`{"eventTime": `)); len(errs) != 1 || !strings.Contains(errs[0].Error, "not JSON") {
		t.Errorf("truncated JSON: %v", errs)
	}
}

// Every facet the mappings fill names a definition of the embedded files.
func TestFacetURLs(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{parentFacetURL, errorMessageFacetURL, nominalTimeFacetURL, processingEngineURL, jobTypeFacetURL, datasetVersionFacetURL, RecordFacetURL} {
		if v.byURL[u] == nil {
			t.Errorf("%s is not one of the embedded definitions", u)
		}
	}
	for _, p := range []facetPlace{{"run", "parent"}, {"run", "errorMessage"}, {"run", "nominalTime"}, {"run", "processing_engine"},
		{"job", "jobType"}, {"dataset", "version"}, {"run", "octoagent_record"}, {"input", "dataQualityMetrics"}, {"output", "outputStatistics"}} {
		if v.byName[p] == nil {
			t.Errorf("no definition for the %s facet %q", p.where, p.name)
		}
	}
}

// The embedded copy of the spec is the one in ../shared/specs/openlineage,
// byte for byte, when that folder is there (a user's clone has only the
// embedded copy).
func TestSpecCopy(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "shared", "specs", "openlineage")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("no %s to compare with", shared)
	}
	n := 0
	err := fs.WalkDir(os.DirFS(shared), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "README.md" {
			return err
		}
		want, err := os.ReadFile(filepath.Join(shared, p))
		if err != nil {
			return err
		}
		got, err := fs.ReadFile(SpecFS(), p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("spec/%s differs from %s (%v)", p, filepath.Join(shared, p), err)
		}
		n++
		return nil
	})
	if err != nil || n < 40 {
		t.Fatalf("compared %d files: %v", n, err)
	}
}
