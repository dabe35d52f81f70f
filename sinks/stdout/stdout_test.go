package stdout

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
)

func TestStdoutPrintsOneJSONRecordPerLine(t *testing.T) {
	var buf bytes.Buffer
	m := agent.NewMetrics(nil)
	s, err := NewFactory().Create(agent.Settings{ID: "sink.stdout.t", Metrics: m.For("sink.stdout.t")}, &Config{writer: &buf})
	if err != nil {
		t.Fatal(err)
	}
	acks := agent.NewAcks()
	tok := acks.NewToken(2, nil)
	b := agent.Batch{{Raw: []byte("x")}, {Raw: []byte("y")}}
	b[0].SetToken(tok)
	b[1].SetToken(tok)
	if err := s.(agent.Sink).Consume(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"fields":{"message":"y"}`) || acks.InFlight() != 0 {
		t.Fatalf("printed %q, in flight %d", lines, acks.InFlight())
	}
}
