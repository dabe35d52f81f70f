package schema

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkCaptureNginx types the ten values of each generated nginx line
// (transforms/rules/testdata/nginx_gen.log, split as the split variant
// does) by the http_request schema's fields: the schema's share of a parse
// step, per line.
func BenchmarkCaptureNginx(b *testing.B) {
	src, err := os.ReadFile("../../configs/schemas/http_request.hcl")
	if err != nil {
		b.Fatal(err)
	}
	s, d := decode(b, string(src))
	if d.HasErrors() {
		b.Fatal(d)
	}
	data, err := os.ReadFile("../../transforms/rules/testdata/nginx_gen.log")
	if err != nil {
		b.Fatal(err)
	}
	names := []string{"client_ip", "user", "time", "method", "path", "protocol", "status", "bytes", "referer", "user_agent"}
	var fields []*Field
	for _, n := range names {
		f, _ := s.Field(n)
		fields = append(fields, f)
	}
	var lines [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		head, rest, _ := strings.Cut(l, " [")
		t, rest, _ := strings.Cut(rest, "] \"")
		req, rest, _ := strings.Cut(rest, "\" ")
		q := strings.Split(rest, "\"")
		hs, rs, ss := strings.Fields(head), strings.Fields(req), strings.Fields(q[0])
		if len(hs) != 3 || len(rs) != 3 || len(ss) != 2 || len(q) < 4 {
			continue
		}
		lines = append(lines, []string{hs[0], hs[2], t, rs[0], rs[1], rs[2], ss[0], ss[1], q[1], q[3]})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, v := range lines[i%len(lines)] {
			if _, _, err := fields[k].CaptureString(v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
