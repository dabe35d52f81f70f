package replay_test

import (
	"bufio"
	"context"
	"os"
	"testing"
	"time"

	"github.com/octostore/agent/adapters/filesource"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/internal/replay"
	"github.com/octostore/agent/transforms/rules"
)

// nginxTransform builds the nginx pack's transform (configs/nginx), its
// outputs discarding what they get.
func nginxTransform(b *testing.B, rule string) agent.Transform {
	b.Helper()
	reg := agent.NewRegistry(filesource.NewFactory(), rules.NewFactory())
	res, diags := config.Load([]string{"../../configs/schemas", "../../configs/nginx/source.hcl", rule}, reg)
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	for _, c := range res.Components {
		if c.ID == "transform.nginx_access" {
			discard := discardOut{}
			set := agent.Settings{ID: c.ID, Kind: agent.KindTransform, Type: "rules", Name: "nginx_access",
				Metrics: agent.NewMetrics(nil).For(c.ID), Out: discard, DeadLetter: discard}
			tr, err := rules.NewFactory().Create(set, c.Config)
			if err != nil {
				b.Fatal(err)
			}
			return tr.(agent.Transform)
		}
	}
	b.Fatal("no transform.nginx_access")
	return nil
}

type discardOut struct{}

func (discardOut) Emit(_ context.Context, b agent.Batch) error {
	agent.AckAll(b, agent.Delivered)
	return nil
}

// sampleRecords are the sample log's lines as a file source emits them.
func sampleRecords(b *testing.B) agent.Batch {
	b.Helper()
	f, err := os.Open("../../configs/samples/nginx_access.log")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var recs agent.Batch
	sc := bufio.NewScanner(f)
	var off int64
	now := time.Now().UTC()
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		recs = append(recs, agent.Record{Time: now, Raw: line,
			Origin: agent.Origin{Host: "node-1", Component: "source.file.nginx", Stream: "65024:5308758:2367307cbe7690d9", Offset: off, Path: "/var/log/nginx/access.log", Device: 65024, Inode: 5308758}})
		off += int64(len(line)) + 1
	}
	return recs
}

// sampleDeadLetters are the dead letters, in the wire form, of every line
// of the sample through a rule that reads none.
func sampleDeadLetters(b *testing.B) [][]byte {
	recs := sampleRecords(b)
	var wire [][]byte
	for i := range recs {
		r := recs[i]
		dl := agent.NewDeadLetter(&r, agent.DeadLetter{Component: "transform.nginx_access", Step: "parse.regex", Reason: "no_match",
			Schema: "http_request", SchemaVersion: "1", Errors: []agent.FieldError{{Field: "message", Error: "no pattern matched (1 tried)"}}})
		wire = append(wire, agent.AppendJSON(nil, &dl))
	}
	return wire
}

// BenchmarkFirstRead is the nginx rule on lines as read from a file;
// BenchmarkReplay the same rule on the same lines replayed from the dead
// letters a rule that read none of them made (each decoded from its JSON
// line, rebuilt, and run through the rule). Their ratio is the replay's
// cost per record (the target: within 1.5x).
func BenchmarkFirstRead(b *testing.B) {
	tr := nginxTransform(b, "../../configs/nginx/rules.hcl")
	recs := sampleRecords(b)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		batch := make(agent.Batch, len(recs))
		copy(batch, recs)
		if err := tr.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkReplay(b *testing.B) {
	wire := sampleDeadLetters(b)
	tr := nginxTransform(b, "../../configs/nginx/rules.hcl")
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	var d replay.Decoder // as the replay stage holds one
	for b.Loop() {
		batch := make(agent.Batch, len(wire))
		for i, w := range wire {
			in, _, err := d.Decode(w)
			if err != nil {
				b.Fatal(err)
			}
			batch[i] = in
		}
		if err := tr.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		n += len(wire)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecode is the decoding alone, per dead letter of the sample.
func BenchmarkDecode(b *testing.B) {
	wire := sampleDeadLetters(b)
	var d replay.Decoder
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, _, err := d.Decode(wire[i%len(wire)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
