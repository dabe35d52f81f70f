package rules

import (
	"fmt"
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent/scan"
	"github.com/octostore/agent/internal/grok"
	"github.com/octostore/agent/internal/testfig"
)

// segmentPatterns are the shapes grok users write most: whole-line
// patterns of fields between literal separators.
var segmentPatterns = []struct{ ecs, pattern string }{
	{"v1", "^%{NGINX_COMBINED}$"},
	{"v1", "%{NGINX_ACCESS}"},
	{"v1", "^%{APACHE_COMBINED}$"},
	{"v1", "%{HTTPD_COMBINEDLOG}"},
	{"v1", "%{HTTPD_COMMONLOG}"},
	{"disabled", "%{HTTPD_COMBINEDLOG}"},
	{"disabled", "%{HTTPD_COMMONLOG}"},
	{"v1", "%{SYSLOGBASE} %{GREEDYDATA:message}"},
	{"disabled", "%{SYSLOGLINE}"},
	{"v1", "^%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:msg}$"},
	{"v1", "^%{IP:client} %{WORD:method} %{URIPATHPARAM:request} %{NUMBER:bytes:int} %{NUMBER:duration:float}$"},
	{"v1", "^%{DATA:a} \\[%{DATA:b}\\] %{NOTSPACE:c}(?: %{INT:d})?$"},
	{"v1", "^%{WORD:w}%{INT:i}-%{DATA:d}\"%{GREEDYDATA:g}\"$"},
	{"v1", "^%{HTTPDATE:t} %{QS:q} %{BASE10NUM:n}$"},
}

var segmentLines = []string{
	`203.0.113.9 - alice [21/Nov/2026:05:41:35 +0000] "GET /api/v1/items?page=2&sort=price HTTP/1.1" 200 5120 "https://www.example.com/start" "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"`,
	`10.0.0.1 - - [01/Jan/2026:00:00:00 -0700] "POST /x HTTP/2.0" 404 - "-" "curl/8.0"`,
	`::1 - bob [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 200 0 "-" "a \"quoted\" agent"`,
	`host.example.com - - [21/Nov/2026:05:41:35 +0000] "-" 400 150 "-" "-"`,
	`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /x" 200 - "-" "-"`,
	`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /a"b HTTP/1.1" 200 5 "-x" "-"`,
	`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /x HTTP/1.1.5" 200 5 "r" "u" "v"`,
	`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /x HTTP/.5" -5 +3 "" ""`,
	`203.0.113.9 -x -- [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
	`203.0.113.9 - a-b [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 200 1 "--" "-x"`,
	`fe80::1%eth0 - - [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
	`fe80::1%my zone - - [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 200 1 "-" "-"`,
	`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /a b c HTTP/1.1" 200 12 "r" "u"`,
	`Nov 21 05:41:35 web-1 sshd[1234]: Accepted publickey for alice from 203.0.113.9 port 52222 ssh2`,
	`Nov  1 05:41:35 web-1 kernel: oops`,
	`2026-11-21T05:41:35.123Z WARN slow query took 1500ms`,
	`2026-11-21 05:41:35,123 ERROR something "bad" happened`,
	`55.3.244.1 GET /index.html 15824 0.043`,
	`55.3.244.1 GET /index.html?a=1 15824 0.043`,
	`alpha [beta] gamma 42`,
	`alpha [beta] gamma`,
	`x] [y] z 1`,
	`ab12-cd"ef"`,
	`21/Nov/2026:05:41:35 +0000 "q \" x" -3.5e2`,
	``,
}

// The segment engine decides only what it can decide exactly: on sample
// lines and random mutations of them, it gives the same match and
// captures as the linear engine, and both as the backtracking engine.
func TestGrokSegmentsAgree(t *testing.T) {
	rng := rand.New(rand.NewSource(23))
	alphabet := []byte("0123456789abcdefABCDEF:.-/ \"'\\[]()<>=@,;_|xyzTZ+%\t\né")
	var inputs []string
	for _, l := range segmentLines {
		inputs = append(inputs, l)
		for k := 0; k < 60; k++ {
			inputs = append(inputs, mutateLine(rng, l, alphabet))
		}
	}
	onSegments, matched, decided := segmentsAgree(t, segmentPatterns, inputs)
	testfig.Report(t, "grok segment engine: %d of %d patterns, %d lines each (%d matched), same captures as the linear and backtracking engines; %d lines decided in one pass", onSegments, len(segmentPatterns), len(inputs), matched, decided)
}

// segmentsAgree runs each pattern that compiles to the segment engine on
// inputs, on the segment, linear and backtracking engines, and reports
// any difference in match or captures. The web-server patterns must run
// on segments.
func segmentsAgree(t *testing.T, patterns []struct{ ecs, pattern string }, inputs []string) (onSegments, matched, decided int) {
	t.Helper()
	for _, c := range patterns {
		lookup := lookupIn(mergedSet(c.ecs))
		seg, err := grok.Compile(c.pattern, grok.Options{Lookup: lookup})
		if err != nil {
			t.Fatalf("%s: %v", c.pattern, err)
		}
		if seg.Engine != grok.EngineSegments {
			if strings.Contains(c.pattern, "NGINX") || strings.Contains(c.pattern, "APACHE") || strings.Contains(c.pattern, "HTTPD_COMBINEDLOG") {
				t.Errorf("%s: %s engine (%s), want segments", c.pattern, seg.Engine, seg.Reason)
			}
			t.Logf("%s (%s): %s engine: %s", c.pattern, c.ecs, seg.Engine, seg.Reason)
			continue
		}
		onSegments++
		lin, _ := grok.Compile(c.pattern, grok.Options{Lookup: lookup, NoSegments: true})
		// a budget no loaded machine reaches: this compares results, not time
		back, _ := grok.Compile(c.pattern, grok.Options{Lookup: lookup, ForceBacktracking: true, Budget: time.Minute})
		sm, lm, bm := seg.NewMatcher(), lin.NewMatcher(), back.NewMatcher()
		a, b, d := make([]int, seg.Slots()), make([]int, lin.Slots()), make([]int, back.Slots())
		for k, in := range inputs {
			if k%32 == 0 {
				// a fresh matcher now and then: a matcher that decides few
				// lines stops trying (after 64), and this test wants it to try
				decided += sm.Decided()
				sm = seg.NewMatcher()
			}
			ok1, _ := sm.Match([]byte(in), a)
			ok2, _ := lm.Match([]byte(in), b)
			ok3, err := bm.Match([]byte(in), d)
			if err != nil {
				t.Fatal(err)
			}
			if ok1 != ok2 || (ok1 && fmt.Sprint(a) != fmt.Sprint(b)) {
				t.Errorf("%s (%s) on %q: segments %v %v, linear %v %v", c.pattern, c.ecs, in, ok1, a, ok2, b)
			}
			if ok2 != ok3 || (ok2 && fmt.Sprint(b) != fmt.Sprint(d)) {
				t.Errorf("%s (%s) on %q: linear %v %v, backtracking %v %v", c.pattern, c.ecs, in, ok2, b, ok3, d)
			}
			if ok1 {
				matched++
			}
		}
		decided += sm.Decided()
	}
	return onSegments, matched, decided
}

// mergedSet is what parse "grok" looks names up in: the agent's patterns
// over Logstash's set.
func mergedSet(ecs string) map[string]string {
	m := map[string]string{}
	for k, v := range LogstashPatterns(ecs) {
		m[k] = v
	}
	for k, v := range Patterns {
		m[k] = v
	}
	return m
}

// quotedPatterns end in or hold %{QS}/%{QUOTEDSTRING}, whose end the
// segment engine finds with its forward DFA (a quoted string has one end
// from any start).
var quotedPatterns = []struct{ ecs, pattern string }{
	{"disabled", "%{HTTPD_COMBINEDLOG}"},
	{"v1", "%{HTTPD_COMBINEDLOG}"},
	{"v1", "^%{QS:a} %{QS:b}$"},
	{"v1", "%{QS:a} %{WORD:w}"},
	{"v1", "%{QS:a}"},
	{"v1", "x=%{QUOTEDSTRING:q},%{INT:i}"},
	{"disabled", "%{WORD:w} %{QS:a} %{QS:b}"},
	// a capture spanning a quoted string after literal alternatives: the
	// forward DFA over the group, the capture set from the text
	{"v1", "^%{WORD:w} (?:-|%{QS:r}) (?:-|%{QS:a})$"},
	{"v1", "^(?:-|%{QS:r}) %{WORD:w}"},
	{"v1", "^%{WORD:w} (?:-|''|%{QS:r})"},
	{"v1", "^x=(?:-|--|%{QUOTEDSTRING:q}),%{INT:i}"},
	{"v1", "^%{WORD:w} (?:-|%{NOTSPACE:n}) (?:-|%{QS:r})"},
}

// TestGrokQuotedStringsAgree: quoted strings as log lines write them and
// as they go wrong (quotes inside quotes, backslash escapes, an escaped
// quote last, empty strings, single quotes and backquotes, an unterminated
// string, missing fields, text after the last string), on the segment,
// linear and backtracking engines: the same match and captures.
func TestGrokQuotedStringsAgree(t *testing.T) {
	head := `203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /x HTTP/1.1" 200 5 `
	quoted := []string{
		`"-"`, `""`, `"a b"`, `"a \"b\" c"`, `"\""`, `"\\"`, `"a\\" b"`, `"a \\\"b"`,
		`"\"`, `"a`, `''`, `'a "b" c'`, `'it\'s'`, "`x y`", "``", `"a"b"`, `"a" "b"`,
		`"Mozilla/5.0 (X11; Linux x86_64) \"quoted\" agent"`, `"https://www.example.com/a?b=\"c\""`,
		`x"a"`, `\"a"`, `"a\`, `"" ""`, `"a\zb"`,
		`-`, `--`, `'-'`, `"-`, `-"a"`, `- "a"`,
	}
	rng := rand.New(rand.NewSource(27))
	var inputs []string
	for _, r := range quoted {
		for _, a := range quoted {
			inputs = append(inputs, head+r+" "+a, r+" "+a+" tail", "w "+r+" "+a)
		}
		inputs = append(inputs, head+r, head+r+" ", r, "x="+r+",12", "GET "+r+" x", r+" tail")
	}
	// random lines over an alphabet of quotes, backslashes and spaces
	alphabet := []byte("\"\"\"\\\\ '`ab-x=,1")
	for k := 0; k < 500; k++ {
		b := make([]byte, 1+rng.Intn(24))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		inputs = append(inputs, string(b), head+string(b), "x="+string(b))
	}
	for k, n := 0, len(inputs); k < n; k += 3 {
		inputs = append(inputs, mutateLine(rng, inputs[k], alphabet))
	}
	onSegments, matched, decided := segmentsAgree(t, quotedPatterns, inputs)
	// (unanchored patterns match past the line's start on most random
	// lines: those go to the linear engine)
	if onSegments < len(quotedPatterns) || 5*decided < matched {
		t.Errorf("%d patterns on segments, %d lines of %d matched decided in one pass: the forward DFA is not exercised", onSegments, decided, matched)
	}
	testfig.Report(t, "grok quoted strings: %d of %d patterns on segments, %d lines each (%d matched), same captures on the three engines; %d decided in one pass", onSegments, len(quotedPatterns), len(inputs), matched, decided)
}

// FuzzGrokSegments checks the segment engine (grok's one-pass front)
// against the linear engine on the segment patterns: the same match and
// the same captures on any line. The segment matchers are made afresh
// every 32 lines, as in segmentsAgree, to keep them trying (one that
// decides few lines hands them all to the linear engine); the linear
// matchers keep their DFA caches, which never change a result.
func FuzzGrokSegments(f *testing.F) {
	for _, l := range segmentLines {
		f.Add(l)
	}
	type pair struct {
		seg          *grok.Pattern
		sm, lm       *grok.Matcher
		segIn, linIn []int
	}
	var pats []*pair
	for _, c := range segmentPatterns {
		lookup := lookupIn(mergedSet(c.ecs))
		seg, err := grok.Compile(c.pattern, grok.Options{Lookup: lookup})
		if err != nil {
			f.Fatal(err)
		}
		if seg.Engine != grok.EngineSegments {
			continue
		}
		lin, err := grok.Compile(c.pattern, grok.Options{Lookup: lookup, NoSegments: true})
		if err != nil {
			f.Fatal(err)
		}
		pats = append(pats, &pair{seg: seg, lm: lin.NewMatcher(), segIn: make([]int, seg.Slots()), linIn: make([]int, lin.Slots())})
	}
	n := 0
	f.Fuzz(func(t *testing.T, in string) {
		for _, p := range pats {
			if n%32 == 0 {
				p.sm = p.seg.NewMatcher()
			}
			a, b := p.segIn, p.linIn
			ok1, _ := p.sm.Match([]byte(in), a)
			ok2, _ := p.lm.Match([]byte(in), b)
			if ok1 != ok2 || (ok1 && fmt.Sprint(a) != fmt.Sprint(b)) {
				t.Fatalf("%s on %q: segments %v %v, linear %v %v", p.seg.Source, in, ok1, a, ok2, b)
			}
		}
		n++
	})
}

// BenchmarkGrokMatchers is the matcher alone, without the record around
// it, on the bench's generated lines (NginxGenLines): grok's three bench
// patterns against the nginx pack's regex on agent/scan (issue 23.1: grok
// at the regex's cost).
func BenchmarkGrokMatchers(b *testing.B) {
	lines := NginxGenLines(b)
	b.Run("regex_scan", func(b *testing.B) {
		re := regexp.MustCompile(`^(?P<client_ip>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>[^ "]+) (?P<protocol>[^"]+)" (?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referer>[^"]*)" "(?P<user_agent>[^"]*)"$`)
		sc := scan.Compile(re)
		loc := make([]int, 2*(re.NumSubexp()+1))
		for i := 0; b.Loop(); i++ {
			sc.Match(lines[i%len(lines)], loc)
		}
	})
	for _, c := range []struct{ name, ecs, pattern string }{
		{"nginx_combined", "v1", "^%{NGINX_COMBINED}$"},
		{"httpd_ecs", "v1", "%{HTTPD_COMBINEDLOG}"},
		{"httpd_legacy", "disabled", "%{HTTPD_COMBINEDLOG}"},
	} {
		b.Run(c.name, func(b *testing.B) {
			p, err := grok.Compile(c.pattern, grok.Options{Lookup: lookupIn(mergedSet(c.ecs))})
			if err != nil {
				b.Fatal(err)
			}
			m, slots := p.NewMatcher(), make([]int, p.Slots())
			for i := 0; b.Loop(); i++ {
				m.Match(lines[i%len(lines)], slots)
			}
		})
	}
}
