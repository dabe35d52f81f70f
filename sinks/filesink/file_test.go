package filesink

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
)

func TestFileSinkAppendsJSONLinesAndAcks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.jsonl")
	cfg := &Config{Path: path, Fsync: true}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := agent.NewMetrics(nil)
	s, err := NewFactory().Create(agent.Settings{ID: "sink.file.t", Metrics: m.For("sink.file.t")}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sk := s.(*sink)
	acks := agent.NewAcks()
	var failed []bool
	tok := acks.NewToken(3, func(f bool) { failed = append(failed, f) })
	b := agent.Batch{{Raw: []byte("a")}, {Raw: []byte("b")}, agent.Record{Kind: "k"}.WithFields(map[string]any{"n": int64(1)})}
	for i := range b {
		b[i].SetToken(tok)
		b[i].Origin.Offset = int64(i)
	}
	if err := sk.Consume(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0] {
		t.Fatalf("token resolution %v", failed)
	}
	sk.Close()
	f, _ := os.Open(path)
	defer f.Close()
	sc := bufio.NewScanner(f)
	var got []agent.WireRecord
	for sc.Scan() {
		var w agent.WireRecord
		if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
			t.Fatal(err)
		}
		got = append(got, w)
	}
	if len(got) != 3 || got[0].Fields["message"] != "a" || got[2].Fields["n"] != 1.0 || got[2].Kind != "k" {
		t.Fatalf("file holds %+v", got)
	}
}

func TestFileSinkWriteErrorFailsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	m := agent.NewMetrics(nil)
	s, err := NewFactory().Create(agent.Settings{ID: "sink.file.t", Metrics: m.For("sink.file.t")}, &Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	sk := s.(*sink)
	sk.f.Close() // every write now fails
	acks := agent.NewAcks()
	var failed []bool
	tok := acks.NewToken(1, func(f bool) { failed = append(failed, f) })
	b := agent.Batch{{Raw: []byte("a")}}
	b[0].SetToken(tok)
	if err := sk.Consume(context.Background(), b); err == nil {
		t.Fatal("no error from a closed file")
	}
	if len(failed) != 1 || !failed[0] {
		t.Fatalf("records were not failed: %v", failed)
	}
}

func TestFileSinkClosesATornLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	os.WriteFile(path, []byte("{\"id\":\"a\"}\n{\"id\":\"tor"), 0o640) // a write cut short by a crash
	m := agent.NewMetrics(nil)
	s, err := NewFactory().Create(agent.Settings{ID: "sink.file.t", Metrics: m.For("sink.file.t")}, &Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	sk := s.(*sink)
	if err := sk.Consume(context.Background(), agent.Batch{{Raw: []byte("next")}}); err != nil {
		t.Fatal(err)
	}
	sk.Close()
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || lines[1] != `{"id":"tor` || !json.Valid([]byte(lines[2])) {
		t.Fatalf("file holds %q", lines)
	}
}
