package rules_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/agent/schema"
	"github.com/octostore/agent/transforms/rules"
)

const nginxLine = `203.0.113.9 - alice [21/Nov/2026:05:41:35 +0000] "GET /api/v1/items?page=2&sort=price HTTP/1.1" 200 5120 "https://www.example.com/start" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"`
const jsonLine = `{"ts":"2026-11-21T05:00:00.123Z","level":"warn","service":"checkout","msg":"slow query","trace_id":"0123456789abcdef0123456789abcdef","duration_ms":1500,"status":200,"user_id":42}`
const logfmtLine = `ts=2026-11-21T05:00:00Z level=info service=checkout msg="request served" duration_ms=12 status=200 user_id=42`

// benchTransform builds a transform from an HCL body (steps only).
func benchTransform(b *testing.B, body string, s *schema.Schema) agent.Transform {
	b.Helper()
	return benchTransformTo(b, body, s, discard{})
}

// benchTransformTo is benchTransform with its main output given.
func benchTransformTo(b *testing.B, body string, s *schema.Schema, out agent.Output) agent.Transform {
	b.Helper()
	return newTransform(b, body, s, out, discard{})
}

// newTransform builds a transform from an HCL body (steps only), with its
// outputs given.
func newTransform(b testing.TB, body string, s *schema.Schema, out, dead agent.Output) agent.Transform {
	b.Helper()
	f, d := hclsyntax.ParseConfig([]byte(body), "bench.hcl", hcl.InitialPos)
	if d.HasErrors() {
		b.Fatal(d)
	}
	env := &decode.Env{Schemas: map[string]*schema.Schema{}}
	if s != nil {
		env.Schemas[s.Name] = s
	}
	c := &rules.Config{}
	if d := c.DecodeHCL(f.Body, nil, env); d.HasErrors() {
		b.Fatal(d)
	}
	m := agent.NewMetrics(nil)
	tr, err := rules.NewFactory().Create(agent.Settings{ID: "transform.bench", Name: "bench", Metrics: m.For("transform.bench"), Out: out, DeadLetter: dead}, c)
	if err != nil {
		b.Fatal(err)
	}
	return tr.(agent.Transform)
}

type discard struct{}

func (discard) Emit(_ context.Context, b agent.Batch) error {
	agent.AckAll(b, agent.Delivered)
	return nil
}

func httpSchema(b testing.TB) *schema.Schema {
	res, d := config.Load([]string{"../../configs/schemas"}, agent.NewRegistry())
	if d.HasErrors() {
		b.Fatal(d)
	}
	return res.Schemas["http_request"]
}

// runBench pushes batches of 256 copies of line through t and reports
// ns and allocations per record.
func runBench(b *testing.B, t agent.Transform, line string) {
	const n = 256
	raw := []byte(line)
	batch := make(agent.Batch, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		for j := range batch {
			batch[j] = agent.Record{Raw: raw}
		}
		if err := t.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(line)))
}

const nginxRegex = `parse "regex" {
  pattern = "^(?P<client_ip>\\S+) - (?P<user>\\S+) \\[(?P<time>[^\\]]+)\\] \"(?P<method>[A-Z]+) (?P<path>[^ \"]+) (?P<protocol>[^\"]+)\" (?P<status>\\d{3}) (?P<bytes>\\d+|-) \"(?P<referer>[^\"]*)\" \"(?P<user_agent>[^\"]*)\"$"
}
`

func BenchmarkRegex(b *testing.B) { runBench(b, benchTransform(b, nginxRegex, nil), nginxLine) }

func BenchmarkRegexSchema(b *testing.B) {
	runBench(b, benchTransform(b, nginxRegex+"schema = schema.http_request\n", httpSchema(b)), nginxLine)
}

func BenchmarkGrok(b *testing.B) {
	runBench(b, benchTransform(b, `parse "grok" { pattern = "^%%{NGINX_COMBINED}$" }`, nil), nginxLine)
}

func BenchmarkSplit(b *testing.B) {
	runBench(b, benchTransform(b, `parse "split" { fields = ["client_ip", "-", "user", "time", "request", "status", "bytes", "referer", "user_agent"] }`, nil), nginxLine)
}

func BenchmarkAwk(b *testing.B) {
	runBench(b, benchTransform(b, `parse "awk" { program = "{ set(\"client_ip\", $1); set(\"user\", $3); set(\"status\", $9); set(\"bytes\", $10) }" }`, nil), nginxLine)
}

func BenchmarkJSON(b *testing.B) { runBench(b, benchTransform(b, `parse "json" {}`, nil), jsonLine) }

func BenchmarkLogfmt(b *testing.B) {
	runBench(b, benchTransform(b, `parse "logfmt" {}`, nil), logfmtLine)
}

func BenchmarkKV(b *testing.B) { runBench(b, benchTransform(b, `parse "kv" {}`, nil), logfmtLine) }

func BenchmarkJQ(b *testing.B) {
	runBench(b, benchTransform(b, `parse "json" {}
jq = "{service, level, slow: (.duration_ms > 1000)}"`, nil), jsonLine)
}

func BenchmarkSet(b *testing.B) {
	runBench(b, benchTransform(b, `parse "json" {}
set {
  slow   = "duration_ms > 1000"
  bucket = "status / 100"
}`, nil), jsonLine)
}

func BenchmarkWhere(b *testing.B) {
	runBench(b, benchTransform(b, `parse "json" {}
where = "status >= 200 && level != 'debug'"`, nil), jsonLine)
}

func BenchmarkTimestamp(b *testing.B) {
	runBench(b, benchTransform(b, `parse "json" {}
timestamp {
  field  = "ts"
  layout = "rfc3339"
}`, nil), jsonLine)
}

// The grok rows of 23.1: %{HTTPD_COMBINEDLOG} on the nginx line, with the
// same fields as the regex (legacy names, flat) and with ECS names
// (nested objects), and the agent's NGINX_COMBINED.
func BenchmarkGrokHTTPDCombinedLegacy(b *testing.B) {
	runBench(b, benchTransform(b, `parse "grok" {
  pattern           = "%%{HTTPD_COMBINEDLOG}"
  ecs_compatibility = "disabled"
}`, nil), nginxLine)
}

func BenchmarkGrokHTTPDCombinedECS(b *testing.B) {
	runBench(b, benchTransform(b, `parse "grok" { pattern = "%%{HTTPD_COMBINEDLOG}" }`, nil), nginxLine)
}

// The backtracking engine's cost per line for the families that need it.
func BenchmarkGrokBacktracking(b *testing.B) {
	for _, c := range []struct{ name, pattern, line string }{
		{"haproxy", "%%{HAPROXYHTTP}", `Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"`},
		{"aws_s3", "%%{S3_ACCESS_LOG}", `79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be awsexamplebucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /awsexamplebucket?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" -`},
		{"exim", "%%{EXIM_MESSAGE_ARRIVAL}", `2026-11-21 05:41:35 1aBcDe-000123-Xy <= sender@example.com H=mail.example.com [192.0.2.1] P=esmtp S=1234 id=abc@example.com`},
		{"syslog_pam", "%%{SYSLOGPAMSESSION}", `Nov 21 05:41:35 host sshd[123]: pam_unix(sshd:session): session opened for user alice by (uid=0)`},
		{"mongodb", "%%{MONGO_SLOWQUERY}", `mydb.users query: { name: "x" } ntoreturn:0 ntoskip:0 nscanned:10 keyUpdates:0 locks(micros) r:51 nreturned:1 reslen:86 12ms`},
		{"rails", "%%{RAILS3}", "Started GET \"/users\" for 127.0.0.1 at 2026-11-21 05:41:35 +0000\nProcessing by UsersController#index as HTML\nCompleted 200 OK in 12ms (Views: 8.1ms | ActiveRecord: 1.2ms)"},
	} {
		b.Run(c.name, func(b *testing.B) {
			runBench(b, benchTransform(b, `parse "grok" { pattern = "`+strings.ReplaceAll(c.pattern, `"`, `\"`)+`" }`, nil), c.line)
		})
	}
}

// The nginx pack's awk variant (configs/nginx/variants/awk.hcl): its
// program, schema and timestamp step, as `make bench`'s nginx_awk runs it.
func BenchmarkAwkNginx(b *testing.B) {
	runBench(b, benchTransform(b, awkVariantBody(b)+"schema = schema.http_request\n", httpSchema(b)), nginxLine)
}

// BenchmarkRegexNginx is the nginx pack itself (configs/nginx/rules.hcl:
// its regex, schema and timestamp step), BenchmarkAwkNginx's like for
// like.
func BenchmarkRegexNginx(b *testing.B) {
	runBench(b, benchTransform(b, packBody(b, "../../configs/nginx/rules.hcl", `parse "regex"`)+"schema = schema.http_request\n", httpSchema(b)), nginxLine)
}

// awkVariantBody is the body of the awk variant's transform, without its
// inputs and schema attributes.
func awkVariantBody(b *testing.B) string {
	return packBody(b, "../../configs/nginx/variants/awk.hcl", `parse "awk"`)
}

// packBody is the body of the transform in file from its first step
// (written as from), without its inputs and schema attributes.
func packBody(b *testing.B, file, from string) string {
	data, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	s := string(data)
	return s[strings.Index(s, "  "+from):strings.LastIndex(s, "}")]
}

// BenchmarkNginxJQStep is the jq transform of `make bench`'s nginx_regex_jq
// scenario alone, given the records the nginx pack makes (typed, the
// schema applied) of generated lines.
func BenchmarkNginxJQStep(b *testing.B) {
	benchNginxJQ(b, "{client_ip, method, path, status, bytes, slow: (.bytes > 100000)}")
}

// BenchmarkNginxJQStepGojq is the same with a query outside the fast path
// (arithmetic): it runs on gojq, given the five fields it reads.
func BenchmarkNginxJQStepGojq(b *testing.B) {
	benchNginxJQ(b, "{client_ip, method, path, status, bytes, kb: (.bytes / 1024)}")
}

func benchNginxJQ(b *testing.B, query string) {
	recs := nginxPackRecords(b)
	jq := benchTransform(b, "kind = \"http_request\"\njq = \""+query+"\"", nil)
	const n = 256
	batch := make(agent.Batch, n)
	// Each record owns its typed fields, as one that came through a queue
	// does (a step may reuse them): a copy of the pack's, made afresh in
	// memory kept for the benchmark.
	width := 0
	for i := range recs {
		width = max(width, len(recs[i].TypedFields()))
	}
	own := make(agent.TypedFields, n*width)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		for j := range batch {
			batch[j] = recs[(i+j)%len(recs)]
			fs := own[j*width : j*width : (j+1)*width]
			batch[j].SetTyped(append(fs, batch[j].TypedFields()...))
		}
		if err := jq.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// nginxPackRecords runs the nginx pack's transform (configs/nginx) over
// the 256 lines of testdata/nginx_gen.log (e2e/gen, seed 1) and returns the records it makes.
func nginxPackRecords(b *testing.B) agent.Batch {
	pack, err := os.ReadFile("../../configs/nginx/rules.hcl")
	if err != nil {
		b.Fatal(err)
	}
	s := string(pack)
	body := s[strings.Index(s, "  schema = "):strings.LastIndex(s, "}")]
	var got collect
	nginx := benchTransformTo(b, body, httpSchema(b), &got)
	lines, err := os.ReadFile("testdata/nginx_gen.log")
	if err != nil {
		b.Fatal(err)
	}
	var batch agent.Batch
	for _, l := range strings.Split(strings.TrimSpace(string(lines)), "\n") {
		batch = append(batch, agent.Record{Raw: []byte(l)})
	}
	if err := nginx.Process(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	if len(got.got) < len(batch)*9/10 {
		b.Fatalf("the pack made %d records of %d lines", len(got.got), len(batch))
	}
	return got.got
}

// BenchmarkNginxPackGen runs the nginx pack (configs/nginx/rules.hcl) and
// its split and grok variants (configs/nginx/variants), schema and
// timestamp step included, over the 256 generated lines of
// testdata/nginx_gen.log: the parse path of make bench's nginx_regex,
// nginx_split and nginx_grok without the source and the sink.
func BenchmarkNginxPackGen(b *testing.B) {
	lines := rules.NginxGenLines(b)
	for _, v := range []struct{ name, file, from string }{
		{"regex", "../../configs/nginx/rules.hcl", `parse "regex"`},
		{"split", "../../configs/nginx/variants/split.hcl", `parse "split"`},
		{"grok", "../../configs/nginx/variants/grok.hcl", `parse "grok"`},
	} {
		b.Run(v.name, func(b *testing.B) {
			runGenLines(b, benchTransform(b, packBody(b, v.file, v.from)+"schema = schema.http_request\n", httpSchema(b)), lines)
		})
	}
}

// runGenLines pushes the generated lines through tr, in batches of all of
// them.
func runGenLines(b *testing.B, tr agent.Transform, lines [][]byte) {
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
}
