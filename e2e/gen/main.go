// Command gen writes realistic, seeded log lines for samples, tests and
// benchmarks: nginx "combined" access lines (with about 0.1% malformed
// ones), or JSON application logs.
//
//	go run ./e2e/gen -n 1000000 -seed 1 > access.log
//	go run ./e2e/gen -format json -n 1000 > app.log
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 1000, "lines to write")
	seed := flag.Uint64("seed", 1, "random seed: the same seed writes the same lines")
	format := flag.String("format", "nginx", "nginx or json")
	bad := flag.Float64("malformed", 0.001, "share of malformed lines")
	start := flag.String("start", "2026-11-21T05:00:00Z", "time of the first line")
	flag.Parse()
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen: -start:", err)
		os.Exit(2)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	g := New(*seed, t0, *bad)
	for i := 0; i < *n; i++ {
		var line []byte
		if *format == "json" {
			line = g.JSONLine(nil)
		} else {
			line = g.NginxLine(nil)
		}
		w.Write(line)
		w.WriteByte('\n')
	}
}

// Gen makes lines from a seeded source.
type Gen struct {
	r         *rand.Rand
	t         time.Time
	malformed float64
}

// New returns a generator.
func New(seed uint64, start time.Time, malformed float64) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), t: start, malformed: malformed}
}

var (
	methods   = []string{"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD", "PATCH"}
	paths     = []string{"/", "/index.html", "/api/v1/items", "/api/v1/items/%d", "/api/v1/users/%d/orders", "/static/js/app.%x.js", "/static/css/site.css", "/login", "/logout", "/search", "/healthz", "/images/%d.png", "/api/v2/deployments/%d/status", "/favicon.ico"}
	queries   = []string{"", "", "", "?page=%d", "?q=shoes&sort=price", "?id=%d&ref=mail", "?utm_source=news&utm_medium=email", "?token=abc%d"}
	statuses  = []int{200, 200, 200, 200, 200, 200, 200, 201, 204, 301, 302, 304, 304, 400, 401, 403, 404, 404, 429, 500, 502, 503}
	protocols = []string{"HTTP/1.1", "HTTP/1.1", "HTTP/2.0", "HTTP/1.0"}
	referers  = []string{"-", "-", "https://www.example.com/", "https://www.google.com/search?q=octostore", "https://shop.example.com/cart", "https://news.example.org/article/%d"}
	agents    = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		"curl/8.5.0",
		"kube-probe/1.31",
		"Go-http-client/1.1",
		"python-requests/2.32.3",
	}
	users     = []string{"-", "-", "-", "-", "-", "alice", "bob", "ci-bot"}
	malformed = []string{
		"%s - - [%s] \"GET /broken HTTP/1.1\" abc 12 \"-\" \"curl/8.5.0\"",
		"%s - - [%s] \"\\x16\\x03\\x01\\x00\\xa5\" 400 157 \"-\" \"-\"",
		"upstream timed out (110: Connection timed out) while reading response header from %s at %s",
		"%s - - [%s] \"GET /truncated",
	}
)

func (g *Gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func (g *Gen) ip() string {
	switch g.r.IntN(10) {
	case 0:
		return fmt.Sprintf("2001:db8:%x:%x::%x", g.r.IntN(0xffff), g.r.IntN(0xffff), g.r.IntN(0xffff))
	case 1, 2:
		return fmt.Sprintf("10.%d.%d.%d", g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
	}
	return fmt.Sprintf("%d.%d.%d.%d", 1+g.r.IntN(223), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
}

func (g *Gen) fill(f string) string {
	if containsVerb(f) {
		return fmt.Sprintf(f, g.r.IntN(100000))
	}
	return f
}

func containsVerb(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && (s[i+1] == 'd' || s[i+1] == 'x') {
			return true
		}
	}
	return false
}

func (g *Gen) tick() time.Time {
	g.t = g.t.Add(time.Duration(g.r.IntN(20)) * time.Millisecond)
	return g.t
}

// NginxLine appends one nginx combined line (no newline).
func (g *Gen) NginxLine(dst []byte) []byte {
	ts := g.tick().Format("02/Jan/2006:15:04:05 -0700")
	if g.r.Float64() < g.malformed {
		return fmt.Appendf(dst, g.pick(malformed), g.ip(), ts)
	}
	status := statuses[g.r.IntN(len(statuses))]
	size := "-"
	if status != 204 && status != 304 && g.r.IntN(50) != 0 {
		size = fmt.Sprint(g.r.IntN(250000))
	}
	return fmt.Appendf(dst, "%s - %s [%s] \"%s %s%s %s\" %d %s \"%s\" \"%s\"",
		g.ip(), g.pick(users), ts, g.pick(methods), g.fill(g.pick(paths)), g.fill(g.pick(queries)),
		g.pick(protocols), status, size, g.fill(g.pick(referers)), g.pick(agents))
}

var (
	levels   = []string{"info", "info", "info", "debug", "warn", "error"}
	services = []string{"checkout", "payments", "catalog", "auth", "deployer"}
	messages = []string{"request served", "cache miss", "retrying upstream call", "payment authorised", "deployment rolled out", "user logged in", "slow query"}
)

// JSONLine appends one JSON application log line (no newline).
func (g *Gen) JSONLine(dst []byte) []byte {
	ts := g.tick().Format(time.RFC3339Nano)
	if g.r.Float64() < g.malformed {
		return fmt.Appendf(dst, `{"ts":"%s","level":"info","msg":"truncated`, ts)
	}
	return fmt.Appendf(dst, `{"ts":"%s","level":"%s","service":"%s","msg":"%s","trace_id":"%016x%016x","duration_ms":%d,"status":%d,"user_id":%d}`,
		ts, g.pick(levels), g.pick(services), g.pick(messages), g.r.Uint64(), g.r.Uint64(), g.r.IntN(2000), statuses[g.r.IntN(len(statuses))], g.r.IntN(10000))
}
