package otlpsource

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc/codes"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/credentials"
)

// FuzzExport: whatever bytes arrive as a request (protobuf or JSON), the
// source answers without crashing: a refusal, or records (one per
// LogRecord, each with an id) delivered and an OK.
func FuzzExport(f *testing.F) {
	pb, _ := plogotlp.NewExportRequestFromLogs(testLogs(3, "seed")).MarshalProto()
	js, _ := plogotlp.NewExportRequestFromLogs(testLogs(2, "seed")).MarshalJSON()
	f.Add(pb, false)
	f.Add(pb[:len(pb)/2], false)
	f.Add(js, true)
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{}}}]}}}]}]}]}`), true)
	cfg := defaultConfig()
	cfg.MaxAttributeDepth = 4
	if err := cfg.Validate(); err != nil {
		f.Fatal(err)
	}
	out := &agenttest.Capture{}
	m := agent.NewMetrics(nil)
	set := agent.Settings{ID: "source.otlp.fuzz", Metrics: m.For("source.otlp.fuzz"), Acks: agent.NewAcks(), Out: out, DeadLetter: out,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s := &source{set: set, cfg: cfg, exp: newExporter(set, cfg), tokens: credentials.NewTokenSource("", "")}
	f.Fuzz(func(t *testing.T, body []byte, json bool) {
		req := plogotlp.NewExportRequest()
		var err error
		if json {
			err = req.UnmarshalJSON(body)
		} else {
			a, _ := s.grpcAnswer(context.Background(), body)
			if a.code != codes.OK && a.code != codes.InvalidArgument {
				t.Fatalf("answer %v: %s", a.code, a.msg)
			}
			return
		}
		if err != nil {
			return
		}
		before := len(out.Records())
		a := s.exp.export(context.Background(), req.Logs())
		if a.code == codes.OK {
			recs := out.Records()[before:]
			if len(recs) != req.Logs().LogRecordCount() && a.result != "duplicate" {
				t.Fatalf("%d records for %d log records", len(recs), req.Logs().LogRecordCount())
			}
			for i := range recs {
				if recs[i].EnsureID() == "" {
					t.Fatal("a record without an id")
				}
			}
		} else if a.code != codes.InvalidArgument {
			t.Fatalf("answer %v: %s", a.code, a.msg)
		}
	})
}
