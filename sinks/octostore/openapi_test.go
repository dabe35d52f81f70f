package octostore_test

import (
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/octostore/agent/agent"
)

type schemaObj struct {
	Required   []string             `json:"required"`
	Properties map[string]schemaObj `json:"properties"`
}

// wireKeys returns a struct's JSON names, and the required ones (those
// written always: no omitempty).
func wireKeys(v any) (all, required []string) {
	typ := reflect.TypeOf(v)
	for i := 0; i < typ.NumField(); i++ {
		name, opts, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		all = append(all, name)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, name)
		}
	}
	sort.Strings(all)
	sort.Strings(required)
	return all, required
}

func keys(m map[string]schemaObj) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The OpenAPI contract describes the record as the agent writes it: the
// same keys, and as required exactly those the encoder always writes.
func TestOpenAPIRecordMatchesTheWireForm(t *testing.T) {
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]schemaObj `json:"schemas"`
		} `json:"components"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	rec, ok := doc.Components.Schemas["Record"]
	if !ok {
		t.Fatal("openapi.yaml has no components.schemas.Record")
	}
	for _, c := range []struct {
		name string
		s    schemaObj
		v    any
	}{{"Record", rec, agent.WireRecord{}}, {"Record.origin", rec.Properties["origin"], agent.Origin{}}} {
		all, req := wireKeys(c.v)
		if got := keys(c.s.Properties); !slices.Equal(got, all) {
			t.Errorf("%s properties %v, the wire form has %v", c.name, got, all)
		}
		got := slices.Clone(c.s.Required)
		sort.Strings(got)
		if !slices.Equal(got, req) {
			t.Errorf("%s required %v, the encoder always writes %v", c.name, got, req)
		}
	}
}
