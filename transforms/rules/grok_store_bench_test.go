package rules_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/transforms/rules"
)

// encodeOut encodes each record as the file sink does, and acks it.
type encodeOut struct {
	enc agent.Encoder
	buf []byte
}

func (o *encodeOut) Emit(_ context.Context, b agent.Batch) error {
	for i := range b {
		o.buf = o.enc.Append(o.buf[:0], &b[i])
	}
	agent.AckAll(b, agent.Delivered)
	return nil
}

// BenchmarkGrokHTTPDGen runs the bench's httpd and legacy transforms
// (e2e/bench/scenarios/nginx_grok_httpd*.hcl: %{HTTPD_COMBINEDLOG}, no
// schema, and the timestamp step) over the 256 generated lines of
// testdata/nginx_gen.log, and encodes the records as the file sink does:
// the parse, store and encoding of make bench's httpd and legacy without
// the source and the sink's writes.
func BenchmarkGrokHTTPDGen(b *testing.B) {
	lines := rules.NginxGenLines(b)
	for _, v := range []struct{ name, file string }{
		{"httpd", "../../e2e/bench/scenarios/nginx_grok_httpd.hcl"},
		{"legacy", "../../e2e/bench/scenarios/nginx_grok_httpd_legacy.hcl"},
	} {
		b.Run(v.name, func(b *testing.B) {
			src, err := os.ReadFile(v.file)
			if err != nil {
				b.Fatal(err)
			}
			s := string(src)
			body := s[strings.Index(s, `  parse "grok"`):strings.LastIndex(s, "}")]
			tr := benchTransformTo(b, body, nil, &encodeOut{})
			batch := make(agent.Batch, len(lines))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += len(lines) {
				for j := range batch {
					batch[j] = agent.Record{Raw: lines[j], Origin: agent.Origin{Offset: int64(j)}}
				}
				if err := tr.Process(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
