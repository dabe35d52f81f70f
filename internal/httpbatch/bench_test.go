package httpbatch

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

// benchRecords returns n typed records shaped like the nginx pack's
// http_request records, with varied values (so compression sees realistic
// data, not one record repeated).
func benchRecords(n int) agent.Batch {
	rng := rand.New(rand.NewPCG(1, 2))
	paths := []string{"/", "/login", "/logout", "/cart", "/api/v1/items", "/static/js/app.69fa.js", "/static/css/site.css", "/search?q=shoes"}
	agents := []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
		"curl/8.5.0",
	}
	methods := []string{"GET", "GET", "GET", "POST", "PUT"}
	t0 := time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)
	b := make(agent.Batch, n)
	for i := range b {
		ts := t0.Add(time.Duration(i) * 7 * time.Millisecond)
		r := agent.Record{Time: ts, Kind: "http_request", Origin: agent.Origin{Host: "node-1", Component: "source.file.nginx", Stream: "65024:5309593:3286dd5c70ca1ed0", Offset: int64(i) * 190, Rule: "transform.nginx_access", Path: "/var/log/nginx/access.log", Device: 65024, Inode: 5309593}}
		r.StartTyped(9)
		r.SetValue("bytes", agent.IntValue(int64(rng.IntN(300000))))
		r.SetValue("client_ip", agent.StringValue(fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256))))
		r.SetValue("method", agent.StringValue(methods[rng.IntN(len(methods))]))
		r.SetValue("path", agent.StringValue(paths[rng.IntN(len(paths))]))
		r.SetValue("protocol", agent.StringValue("HTTP/1.1"))
		r.SetValue("referer", agent.StringValue(fmt.Sprintf("https://news.example.org/article/%d", rng.IntN(5000))))
		r.SetValue("status", agent.IntValue(int64([]int{200, 200, 200, 304, 401, 404, 500}[rng.IntN(7)])))
		r.SetValue("time", agent.TimeValue(ts))
		r.SetValue("user_agent", agent.StringValue(agents[rng.IntN(len(agents))]))
		b[i] = r
	}
	return b
}

// BenchmarkBatch is the sink's CPU per batch of 1,000 records, without
// the HTTP exchange: encode each record into the body (Consume's path),
// frame and compress it (seal), and give the buffers back (release).
//
//	go test -run - -bench Batch -count 10 ./internal/httpbatch | benchstat -
func BenchmarkBatch(b *testing.B) {
	recs := benchRecords(1000)
	for _, bc := range []struct {
		name  string
		comp  string
		level int
	}{{"gzip-1", "gzip", 1}, {"gzip-6", "gzip", 6}, {"none", "none", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			c := DefaultCommon()
			c.Compression, c.CompressionLevel = bc.comp, bc.level
			o, err := c.Options()
			if err != nil {
				b.Fatal(err)
			}
			m := agent.NewMetrics(nil)
			s, err := New(agent.Settings{ID: "sink.test.bench", Metrics: m.For("sink.test.bench")}, o, &proto{url: "http://127.0.0.1:1/v1/records"}, "")
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var raw, sent int
			in := make(agent.Batch, len(recs))
			b.ReportAllocs()
			for b.Loop() {
				copy(in, recs) // Consume's batch is the sink's own; add sets ids in it
				var full []*batch
				s.mu.Lock()
				for i := range in {
					full = s.add(&in[i], full)
				}
				s.mu.Unlock()
				if len(full) != 1 {
					b.Fatalf("%d batches filled, want 1", len(full))
				}
				bt := full[0]
				raw = bt.size
				s.seal(bt)
				sent = len(bt.body)
				s.release(bt)
			}
			b.SetBytes(int64(raw))
			b.ReportMetric(float64(sent), "body-bytes/op")
		})
	}
	// The same body through compress/gzip at BestSpeed, what the sink used
	// before klauspost/compress: for comparison.
	b.Run("stdlib-gzip-1", func(b *testing.B) {
		var body bytes.Buffer
		body.WriteString(`{"records":[`)
		var e agent.Encoder
		for i := range recs {
			if i > 0 {
				body.WriteByte(',')
			}
			body.Write(e.Append(nil, &recs[i]))
		}
		body.WriteString("]}")
		var z bytes.Buffer
		zw, _ := stdgzip.NewWriterLevel(&z, stdgzip.BestSpeed)
		b.ReportAllocs()
		b.SetBytes(int64(body.Len()))
		for b.Loop() {
			z.Reset()
			zw.Reset(&z)
			zw.Write(body.Bytes())
			zw.Close()
		}
		b.ReportMetric(float64(z.Len()), "body-bytes/op")
	})
}
