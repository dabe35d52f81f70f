package rules

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
)

func fuzzStep(f *testing.F, body string) Step {
	file, d := hclsyntax.ParseConfig([]byte(body), "fuzz.hcl", hcl.InitialPos)
	if d.HasErrors() {
		f.Fatal(d)
	}
	c := &Config{}
	if d := c.DecodeHCL(file.Body, nil, &decode.Env{}); d.HasErrors() {
		f.Fatal(d)
	}
	return c.Steps[0]
}

// checkStep runs a step on arbitrary input: it must not panic, and it
// either fills fields or fails with a *StepError.
func checkStep(t *testing.T, s Step, line []byte) {
	r := agent.Record{Raw: line}
	err := s.Apply(context.Background(), &r)
	if err != nil {
		if _, ok := err.(*StepError); !ok {
			t.Fatalf("%s returned %T %v on %q, not a *StepError", s.Name(), err, err, line)
		}
		return
	}
	if r.MaterializeFields() == nil && !r.Typed() {
		t.Fatalf("%s succeeded on %q without setting fields", s.Name(), line)
	}
}

var fuzzSeeds = []string{
	`203.0.113.9 - alice [21/Nov/2026:05:41:35 +0000] "GET /a?b=1 HTTP/1.1" 200 512 "-" "curl/8"`,
	`10.0.0.1 - - [21/Nov/2026:05:41:35 +0000] "\x16\x03\x01" 400 157 "-" "-"`,
	`a=1 b="x y" c`,
	`{"a":1,"b":[true,null,"x"]}`,
	``, `"`, `[`, `\`, `a b "c\" d" [e f]`, "\xff\xfe", `{"a":1} trailing`,
}

func FuzzRegex(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	s := fuzzStep(f, `parse "regex" { patterns = ["^(?P<ip>\\S+) - (?P<user>\\S+) \\[(?P<time>[^\\]]+)\\] \"(?P<req>[^\"]*)\" (?P<status>\\d+)", "^(?P<word>\\w+)$"] }`)
	f.Fuzz(func(t *testing.T, line []byte) { checkStep(t, s, line) })
}

func FuzzSplit(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	s := fuzzStep(f, `parse "split" { fields = ["client_ip", "-", "user", "time", "request", "status", "bytes", "referer", "user_agent"] }`)
	f.Fuzz(func(t *testing.T, line []byte) {
		checkStep(t, s, line)
		toks, err := splitTokens(line, ' ', true, nil)
		for _, tk := range toks {
			if tk.start < 0 || tk.end > len(line) || tk.start > tk.end {
				t.Fatalf("token %v out of %d bytes (err %v)", tk, len(line), err)
			}
		}
	})
}

// FuzzClosingQuote compares closingQuote, which searches for the quote and
// counts the backslashes before it, with a walk byte by byte.
func FuzzClosingQuote(f *testing.F) {
	for _, s := range append(fuzzSeeds, `a\\"b"`, `\\\"x"`, `\"`, `x\`, `\\\\"`, `""`) {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, line []byte, from int) {
		if from < 0 || from > len(line) {
			return
		}
		if got, want := closingQuote(line, from), closingQuoteByByte(line, from); got != want {
			t.Fatalf("closingQuote(%q, %d) = %d, byte by byte %d", line, from, got, want)
		}
	})
}

// closingQuoteByByte is closingQuote's meaning, one byte at a time.
func closingQuoteByByte(line []byte, from int) int {
	for j := from; j < len(line); j++ {
		switch line[j] {
		case '\\':
			j++ // the byte it escapes
		case '"':
			return j
		}
	}
	return -1
}

func FuzzAwk(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	s := fuzzStep(f, `parse "awk" { program = "NF < 2 { fail(\"short\"); next } { set(\"first\", $1); set(\"n\", NF); set(\"last\", $NF) }" }`)
	f.Fuzz(func(t *testing.T, line []byte) {
		if strings.ContainsAny(string(line), "\n\r") {
			return // one record is one line
		}
		checkStep(t, s, line)
	})
}

func FuzzJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	s := fuzzStep(f, `parse "json" {}`)
	f.Fuzz(func(t *testing.T, line []byte) { checkStep(t, s, line) })
}

func FuzzLogfmt(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	s := fuzzStep(f, `parse "logfmt" {}`)
	f.Fuzz(func(t *testing.T, line []byte) { checkStep(t, s, line) })
}

// TestSplitTokensMatchesByteLoop compares splitTokens (which jumps with
// bytes.IndexByte) with the plain byte loop it replaced, on random lines
// made of the bytes that matter.
func TestSplitTokensMatchesByteLoop(t *testing.T) {
	ref := func(line []byte, sep byte, collapse bool) ([]span, bool) {
		var out []span
		i, n := 0, len(line)
		for i <= n {
			if collapse {
				for i < n && line[i] == sep {
					i++
				}
				if i == n {
					break
				}
			}
			if i == n {
				out = append(out, span{i, i})
				break
			}
			switch line[i] {
			case '"':
				j := i + 1
				for j < n && line[j] != '"' {
					if line[j] == '\\' {
						j++
					}
					j++
				}
				if j >= n {
					return out, false
				}
				out = append(out, span{i + 1, j})
				i = j + 1
			case '[':
				j := i + 1
				for j < n && line[j] != ']' {
					j++
				}
				if j >= n {
					return out, false
				}
				out = append(out, span{i + 1, j})
				i = j + 1
			default:
				j := i
				for j < n && line[j] != sep {
					j++
				}
				out = append(out, span{i, j})
				i = j
			}
			if i < n && line[i] != sep {
				return out, false
			}
			i++
			if i > n {
				break
			}
		}
		return out, true
	}
	rng := rand.New(rand.NewPCG(9, 10))
	alphabet := []byte(` ",[]\a`)
	for range 200000 {
		line := make([]byte, rng.IntN(24))
		for i := range line {
			line[i] = alphabet[rng.IntN(len(alphabet))]
		}
		for _, sep := range []byte{' ', ','} {
			collapse := sep == ' '
			want, wok := ref(line, sep, collapse)
			got, err := splitTokens(line, sep, collapse, nil)
			if (err == nil) != wok || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%q sep %q: got %v %v, want %v ok=%v", line, sep, got, err, want, wok)
			}
		}
	}
}

// FuzzSplitTokens compares splitTokens, which looks for a field's end
// eight bytes at a time, with splitTokensRef, the bytes.IndexByte search
// it replaced: the same fields and the same error, with any separator
// (collapsed when it is ' ', as the step does).
func FuzzSplitTokens(f *testing.F) {
	for _, s := range append(fuzzSeeds, `"`+strings.Repeat("x", 70)+`\" y" [`+strings.Repeat("z", 80)+`] "\\"`) {
		f.Add([]byte(s), byte(' '))
		f.Add([]byte(s), byte(','))
	}
	f.Add([]byte("a\x00\x00b\x00\"c\x00d\"\x00[\x00]"), byte(0))
	f.Fuzz(func(t *testing.T, line []byte, sep byte) {
		checkSplitTokens(t, line, sep)
	})
}

// checkSplitTokens fails t when splitTokens and splitTokensRef disagree
// on line.
func checkSplitTokens(t *testing.T, line []byte, sep byte) {
	t.Helper()
	collapse := sep == ' '
	got, err := splitTokens(line, sep, collapse, nil)
	want, werr := splitTokensRef(line, sep, collapse, nil)
	if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(err) != fmt.Sprint(werr) {
		t.Fatalf("%q sep %q: got %v %v, want %v %v", line, sep, got, err, want, werr)
	}
}

// TestSplitTokensMatchesRef compares splitTokens with splitTokensRef on
// random lines long enough for its word loop and for its hand-over to
// bytes.IndexByte past nearBytes: fields of every length up to twice
// that, of plain bytes and the ones that matter.
func TestSplitTokensMatchesRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	special := []byte(` ",[]\\`)
	for range 100000 {
		line := make([]byte, rng.IntN(3*nearBytes))
		odds := 2 + rng.IntN(40) // one special byte in odds
		for i := range line {
			if rng.IntN(odds) == 0 {
				line[i] = special[rng.IntN(len(special))]
			} else {
				line[i] = 'a' + byte(rng.IntN(3))
			}
		}
		for _, sep := range []byte{' ', ',', 'a', 0} {
			checkSplitTokens(t, line, sep)
		}
	}
}

// splitTokensRef is splitTokens as it was before the word loop: each
// field's end found with bytes.IndexByte (closingQuote for a quoted one).
func splitTokensRef(line []byte, sep byte, collapse bool, out []span) ([]span, error) {
	i, n := 0, len(line)
	for i <= n {
		if collapse {
			for i < n && line[i] == sep {
				i++
			}
			if i == n {
				break
			}
		} else if i == n {
			out = append(out, span{i, i})
			break
		}
		switch line[i] {
		case '"':
			j := closingQuote(line, i+1)
			if j < 0 {
				return out, fmt.Errorf("unterminated quote at byte %d", i)
			}
			out = append(out, span{i + 1, j})
			i = j + 1
		case '[':
			j := bytes.IndexByte(line[i+1:], ']')
			if j < 0 {
				return out, fmt.Errorf("unterminated [ at byte %d", i)
			}
			j += i + 1
			out = append(out, span{i + 1, j})
			i = j + 1
		default:
			j := bytes.IndexByte(line[i:], sep)
			if j < 0 {
				j = n - i
			}
			out = append(out, span{i, i + j})
			i += j + 1
			continue
		}
		if i < n && line[i] != sep {
			return out, fmt.Errorf("separator expected at byte %d", i)
		}
		i++
	}
	return out, nil
}

// FuzzGrokNestedEncode runs %{HTTPD_COMBINEDLOG} with ECS names (nested
// fields, :int conversions, typedFresh) and legacy names on any line, and
// encodes what it stores with one encoder kept across lines (its layout of
// nested steps, agent.pathLayout, seeing records of every shape): the bytes
// must be those of the record encoded afresh, and of its fields as a map.
func FuzzGrokNestedEncode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET / HTTP/1.1" 200 - "-" "-"`))
	f.Add([]byte(`203.0.113.9 x alice [21/Nov/2026:05:41:35 +0000] "garbage" - 99999999999999999999 "r" "ua"`))
	steps := []Step{
		fuzzStep(f, `parse "grok" { pattern = "%%{HTTPD_COMBINEDLOG}" }`),
		fuzzStep(f, `parse "grok" {
  pattern           = "%%{HTTPD_COMBINEDLOG}"
  ecs_compatibility = "disabled"
}`),
	}
	var enc agent.Encoder
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, s := range steps {
			r := agent.Record{Raw: line, Origin: agent.Origin{Host: "h"}}
			if err := s.Apply(context.Background(), &r); err != nil {
				if _, ok := err.(*StepError); !ok {
					t.Fatalf("%T %v on %q", err, err, line)
				}
				continue
			}
			got := string(enc.Append(nil, &r))
			if want := string(agent.AppendJSON(nil, &r)); got != want {
				t.Fatalf("on %q:\n got %s\nwant %s", line, got, want)
			}
			m := r
			m.SetFields(r.MaterializeFields())
			if want := string(agent.AppendJSON(nil, &m)); got != want {
				t.Fatalf("on %q, as a map:\n got %s\nwant %s", line, got, want)
			}
		}
	})
}
