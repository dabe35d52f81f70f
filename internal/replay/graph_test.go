package replay_test

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/replay"
)

// TestGraph: the config's sources go; every transform reads the replay
// stage (and keeps reading other transforms); a sink that read only a
// source goes, and so does a sink that read only that sink's dead
// letters. In a dry run every sink goes and the tally reads every
// transform's two outputs. The file reader routes what it reads itself:
// with it, the transforms read it and there is no stage.
func TestGraph(t *testing.T) {
	n := func(kind agent.Kind, id string, inputs ...string) agent.NodeSpec {
		return agent.NodeSpec{ID: id, Kind: kind, Inputs: inputs}
	}
	g := agent.Graph{Nodes: []agent.NodeSpec{
		n(agent.KindSource, "source.file.a"),
		n(agent.KindSource, "source.kafka.dl"),
		n(agent.KindTransform, "transform.x", "source.file.a"),
		n(agent.KindTransform, "transform.y", "transform.x", "source.file.a"),
		n(agent.KindSink, "sink.octostore.s", "transform.x", "transform.y", "source.file.a"),
		n(agent.KindSink, "sink.file.raw", "source.file.a"),
		n(agent.KindSink, "sink.file.raw_rejects", "sink.file.raw.dead_letter"),
		n(agent.KindSink, "sink.file.dead", "transform.x.dead_letter", "source.kafka.dl"),
	}}
	input := n(agent.KindSource, "source.kafka.dl")
	stage := replay.TransformFactory(replay.NewStats(nil), "")
	got := replay.Graph(g, input, stage, nil)
	want := map[string]string{
		"source.kafka.dl":  "",
		replay.TransformID: "source.kafka.dl",
		"transform.x":      replay.TransformID,
		"transform.y":      replay.TransformID + " transform.x",
		"sink.octostore.s": "transform.x transform.y",
		"sink.file.dead":   "transform.x.dead_letter",
	}
	have := map[string]string{}
	for _, nd := range got.Nodes {
		have[nd.ID] = strings.Join(nd.Inputs, " ")
	}
	if len(have) != len(want) {
		t.Errorf("nodes %v, want %v", have, want)
	}
	for id, ins := range want {
		if have[id] != ins {
			t.Errorf("%s reads %q, want %q", id, have[id], ins)
		}
	}

	tally := replay.NewTally()
	input = n(agent.KindSource, replay.InputID)
	input.Factory = replay.ReaderFactory(io.MultiReader(), nil, replay.NewStats(nil), "")
	dry := replay.Graph(g, input, nil, tally.Factory()) // the reader routes: no stage
	var ids []string
	for _, nd := range dry.Nodes {
		ids = append(ids, nd.ID)
		if nd.ID == replay.TallyID && strings.Join(nd.Inputs, " ") != "transform.x transform.x.dead_letter transform.y transform.y.dead_letter" {
			t.Errorf("the tally reads %v", nd.Inputs)
		}
		if nd.ID == "transform.y" && strings.Join(nd.Inputs, " ") != replay.InputID {
			t.Errorf("in a dry run transform.y reads %v, want the input alone", nd.Inputs)
		}
	}
	slices.Sort(ids)
	wantIDs := []string{replay.InputID, replay.TallyID, "transform.x", "transform.y"}
	slices.Sort(wantIDs)
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("dry-run nodes %v", ids)
	}
}
