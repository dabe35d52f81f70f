package rules_test

import (
	"context"
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
			runGenLines(b, benchTransformTo(b, packBody(b, v.file, `parse "grok"`), nil, &encodeOut{}), lines)
		})
	}
}
