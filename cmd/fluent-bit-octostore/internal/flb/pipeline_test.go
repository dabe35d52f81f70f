package flb

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "plugin.hcl")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readOut(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestFlushToFile(t *testing.T) {
	dir := t.TempDir()
	out, dead := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "dead.jsonl")
	cfg := writeConfig(t, fmt.Sprintf(`
schema "line" {
  field "log" {
    type     = "string"
    required = true
  }
}
transform "in" {
  inputs = [source.fluentbit.input]
  schema = schema.line
}
sink "file" "out" {
  inputs = [transform.in]
  path   = %q
}
sink "file" "dead" {
  inputs = [transform.in.dead_letter]
  path   = %q
}
`, out, dead))
	in, err := Open(Options{Config: cfg, Transform: "in", Logger: quiet, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1763701200, 0).UTC()
	chunk, _ := Encode([]Event{
		{Time: ts, Fields: map[string]any{"log": "one"}},
		{Time: ts, Fields: map[string]any{"nolog": "two"}},
		{Time: ts.Add(time.Second), Fields: map[string]any{"log": "three"}},
	}, true)
	if st := in.Flush("app", chunk); st != OK {
		t.Fatalf("flush: %v", st)
	}
	// Every record is final when Flush returns: written already.
	got, dl := readOut(t, out), readOut(t, dead)
	if len(got) != 2 || len(dl) != 1 {
		t.Fatalf("%d records, %d dead letters; want 2 and 1", len(got), len(dl))
	}
	o := got[0]["origin"].(map[string]any)
	if o["component"] != SourceID || !strings.HasPrefix(fmt.Sprint(o["stream"]), "app#") || o["offset"] != float64(ts.UnixNano()) {
		t.Errorf("origin %v", o)
	}
	if st := in.Flush("app", nil); st != OK {
		t.Errorf("empty chunk: %v", st)
	}
	if st := in.Flush("app", []byte{0xc1}); st != Error {
		t.Errorf("a chunk that is not msgpack: %v, want Error", st)
	}
	in.Close()
}

func TestFlushRetryWhileStoreDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connections are refused
	cfg := writeConfig(t, fmt.Sprintf(`
agent {
  shutdown_timeout = "500ms"
}
transform "in" {
  inputs = [source.fluentbit.input]
}
sink "octostore" "central" {
  inputs                = [transform.in]
  endpoint              = "http://%s"
  healthcheck           = false
  batch_max_wait        = "10ms"
  retry_initial_backoff = "50ms"
}
`, addr))
	in, err := Open(Options{Config: cfg, Transform: "in", Logger: quiet, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	chunk, _ := Encode([]Event{{Time: time.Unix(1, 0), Fields: map[string]any{"log": "x"}}}, false)
	start := time.Now()
	if st := in.Flush("app", chunk); st != Retry {
		t.Fatalf("flush with the store down: %v, want Retry", st)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("flush took %v; the timeout is 500ms", d)
	}
	in.Close()
}

func TestOpenErrors(t *testing.T) {
	good := writeConfig(t, `
transform "in" {
  inputs = [source.fluentbit.input]
}
transform "other" {
  inputs = [transform.in]
}
sink "stdout" "out" {
  inputs = [transform.other]
}
`)
	bad := writeConfig(t, "transform \"in\" {\n  inputs = [source.fluentbit.input]\n  nope   = 1\n}\n")
	for _, c := range []struct {
		name, config, transform, want string
	}{
		{"no config", "", "in", "Config key is required"},
		{"no transform", good, "", "Transform key is required"},
		{"missing file", filepath.Join(t.TempDir(), "none.hcl"), "in", "Cannot read config"},
		{"HCL error", bad, "in", bad + ":3:3"},
		{"unknown transform", good, "nope", `no such transform in the config (it has: in, other)`},
		{"transform not reading Fluent Bit", good, "other", "add source.fluentbit.input to its inputs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, err := Open(Options{Config: c.config, Transform: c.transform, Logger: quiet})
			if err == nil {
				in.Close()
				t.Fatal("opened")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q, want a ConfigError holding %q", err, c.want)
			}
		})
	}
}

// Decode never panics, whatever the bytes.
func TestDecodeGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	valid, _ := Encode([]Event{{Time: time.Unix(5, 0), Fields: map[string]any{"a": "b", "n": int64(1)}}}, true)
	for i := 0; i < 5000; i++ {
		b := append([]byte(nil), valid...)
		for j := 0; j < 1+r.IntN(4); j++ {
			b[r.IntN(len(b))] = byte(r.Uint32())
		}
		b = b[:r.IntN(len(b)+1)]
		_, _, _ = Decode(b)
	}
}
