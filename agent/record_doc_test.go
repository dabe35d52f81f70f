package agent_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

const recordDoc = "../docs/record.md"

// docTable returns the keys named in the first column of the first table
// after heading (a cell may name several: "`device`, `inode`").
func docTable(t *testing.T, doc, heading string) []string {
	t.Helper()
	i := strings.Index(doc, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("%s has no heading %q", recordDoc, heading)
	}
	var keys []string
	inTable := false
	for _, line := range strings.Split(doc[i+len(heading)+2:], "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cell := strings.Split(line, "|")[1]
		if strings.Contains(cell, "---") || strings.TrimSpace(cell) == "Key" || strings.TrimSpace(cell) == "Field" {
			continue
		}
		for _, m := range regexp.MustCompile("`([a-z_]+)`").FindAllStringSubmatch(cell, -1) {
			keys = append(keys, m[1])
		}
	}
	sort.Strings(keys)
	return keys
}

// jsonKeys returns the JSON names of a struct type's fields.
func jsonKeys(v any) []string {
	var keys []string
	typ := reflect.TypeOf(v)
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	sort.Strings(keys)
	return keys
}

// TestRecordDoc holds docs/record.md to the code: its tables name exactly
// the keys of the wire form, of the origin and of a dead letter's fields,
// and each of its examples is what the encoder writes for that record, id
// included.
func TestRecordDoc(t *testing.T) {
	b, err := os.ReadFile(recordDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	if got, want := docTable(t, doc, "## Wire form"), jsonKeys(agent.WireRecord{}); !slices.Equal(got, want) {
		t.Errorf("wire form table names %v; the encoder writes %v", got, want)
	}
	if got, want := docTable(t, doc, "### `origin`"), jsonKeys(agent.Origin{}); !slices.Equal(got, want) {
		t.Errorf("origin table names %v; agent.Origin has %v", got, want)
	}
	r := agent.Record{Kind: "http_request", Raw: []byte("x")}
	dl := agent.NewDeadLetter(&r, agent.DeadLetter{Component: "transform.t", Step: "schema", Reason: "schema",
		Schema: "http_request", SchemaVersion: "1", Errors: []agent.FieldError{{Field: "status", Error: "bad"}}})
	var dead []string
	for k := range dl.All() {
		dead = append(dead, k)
	}
	sort.Strings(dead)
	if got := docTable(t, doc, "## Dead-letter records"); !slices.Equal(got, dead) {
		t.Errorf("dead-letter table names %v; NewDeadLetter writes %v", got, dead)
	}

	examples := regexp.MustCompile("(?s)```json\n(.*?)\n```").FindAllStringSubmatch(doc, -1)
	if len(examples) < 2 {
		t.Fatalf("%s has %d JSON examples, want at least a record and a dead letter", recordDoc, len(examples))
	}
	for i, ex := range examples {
		var compact bytes.Buffer
		if err := json.Compact(&compact, []byte(ex[1])); err != nil {
			t.Fatalf("example %d: %v", i+1, err)
		}
		var w struct {
			ID     string         `json:"id"`
			Time   time.Time      `json:"time"`
			Kind   string         `json:"kind"`
			Entity []agent.KV     `json:"entity"`
			Fields map[string]any `json:"fields"`
			Origin agent.Origin   `json:"origin"`
		}
		dec := json.NewDecoder(bytes.NewReader(compact.Bytes()))
		dec.UseNumber()
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			t.Fatalf("example %d: %v", i+1, err)
		}
		rec := agent.Record{Time: w.Time, Kind: w.Kind, Entity: w.Entity, Origin: w.Origin}.WithFields(agent.Normalize(w.Fields).(map[string]any))
		if got := agent.AppendJSON(nil, &rec); !bytes.Equal(got, compact.Bytes()) {
			t.Errorf("example %d is not what the encoder writes for it:\n doc %s\n got %s", i+1, compact.Bytes(), got)
		}
	}
}
