package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octostore/agent/sinks/octostore"
)

// A file that grows is counted by what was added, and a token split
// between two reads is counted once.
func TestTokenCounterGrowingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out")
	tok := []byte(`"observedTimeUnixNano"`)
	c := &tokenCounter{path: p, tok: tok}
	if n := c.count(); n != 0 {
		t.Fatalf("missing file: %d, want 0", n)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	whole := []byte(`{"observedTimeUnixNano":1},{"observedTimeUnixNano":2},`)
	// Written in pieces that cut the second token in two.
	cut := bytes.LastIndex(whole, tok) + 5
	for i, piece := range [][]byte{whole[:cut], whole[cut:], whole} {
		if _, err := f.Write(piece); err != nil {
			t.Fatal(err)
		}
		want := []int{1, 2, 4}[i]
		if n := c.count(); n != want {
			t.Fatalf("after piece %d: %d, want %d", i, n, want)
		}
	}
	if n := countToken(p, tok); n != 4 {
		t.Fatalf("countToken: %d, want 4", n)
	}
}

// The parts hold every line of the input once, in order.
func TestSplitInput(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	for i := range 1003 {
		fmt.Fprintf(&in, "line %d\n", i)
	}
	input := filepath.Join(dir, "nginx-1003.log")
	if err := os.WriteFile(input, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	glob, err := splitInput(input, dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 10 {
		t.Fatalf("%d parts, want 10", len(parts))
	}
	var got strings.Builder
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(b, []byte("\n")); n < 100 || n > 101 {
			t.Errorf("%s holds %d lines, want 100 or 101", p, n)
		}
		got.Write(b)
	}
	if got.String() != in.String() {
		t.Fatal("the parts, in order, are not the input")
	}
	// Made once: a second call finds the parts.
	if again, err := splitInput(input, dir, 10); err != nil || again != glob {
		t.Fatalf("second split: %q, %v", again, err)
	}
}

// The no-op receiver answers the ingest API's success shape (decoded as
// the octostore sink decodes it), wants the token, and counts a record
// sent twice once, with two deliveries.
func TestNoopStore(t *testing.T) {
	s, err := startNoopStore()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	post := func(token string, ids ...string) *http.Response {
		t.Helper()
		var body bytes.Buffer
		zw := gzip.NewWriter(&body)
		recs := make([]string, len(ids))
		for i, id := range ids {
			recs[i] = fmt.Sprintf(`{"id":%q,"kind":"http_request","fields":{"status":200}}`, id)
		}
		fmt.Fprintf(zw, `{"records":[%s]}`, strings.Join(recs, ","))
		zw.Close()
		req, err := http.NewRequest("POST", s.url()+"/v1/records", &body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := post("wrong", "a"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %s, want 401", resp.Status)
	}
	resp := post(s.bearer(), "a", "b", `c"d`)
	defer resp.Body.Close()
	var got octostore.IngestResponse
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := []octostore.RecordResult{{ID: "a", Status: "accepted"}, {ID: "b", Status: "accepted"}, {ID: `c"d`, Status: "accepted"}}
	if fmt.Sprint(got.Results) != fmt.Sprint(want) {
		t.Fatalf("answer %+v, want %+v", got.Results, want)
	}
	post(s.bearer(), "a").Body.Close()
	if err := s.Check(3, 0, 0); err == nil || !strings.Contains(err.Error(), "1 duplicate deliveries") {
		t.Fatalf("check: %v, want 1 duplicate delivery", err)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	post(s.bearer(), "a", "b").Body.Close()
	if err := s.Check(2, 0, 0); err != nil {
		t.Fatal(err)
	}
}
