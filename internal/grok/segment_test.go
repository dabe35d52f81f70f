package grok

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
	"unicode/utf8"
)

// TestPlainLine: plainLine's word-at-a-time pass says what a byte loop
// says, for a newline or a non-ASCII byte at every position of lines of
// every length around the word sizes.
func TestPlainLine(t *testing.T) {
	want := func(in []byte) bool {
		for _, b := range in {
			if b == '\n' || b >= utf8.RuneSelf {
				return false
			}
		}
		return true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 70; n++ {
		base := make([]byte, n)
		for i := range base {
			base[i] = byte(' ' + rng.IntN(95))
		}
		if !plainLine(base) {
			t.Fatalf("%q: not plain", base)
		}
		for i := 0; i < n; i++ {
			for _, b := range []byte{'\n', 0x0b, 0x09, 0x00, 0x8a, 0x80, 0xff, 0x7f, 0x0a ^ 0x80} {
				in := bytes.Clone(base)
				in[i] = b
				if got := plainLine(in); got != want(in) {
					t.Fatalf("%q (byte %#x at %d): got %v", in, b, i, got)
				}
			}
		}
	}
	for range 20000 {
		in := make([]byte, rng.IntN(80))
		for i := range in {
			in[i] = byte(rng.IntN(256))
			if rng.IntN(4) > 0 {
				in[i] &= 0x7f
			}
		}
		if got := plainLine(in); got != want(in) {
			t.Fatalf("%q: got %v", in, got)
		}
	}
}

// TestLazyTablesConcurrent: the tables built on first use (the linear
// engine's, a span's prefixes') are built once for matchers that reach
// them together, and they match as the linear engine compiled alone does;
// the span's trigger set is its zone's %. Run with -race.
func TestLazyTablesConcurrent(t *testing.T) {
	defs := map[string]string{
		"HOSTISH": `(?:(?:[0-9a-f]*:)+[0-9a-f]*(?:%.+)?|[a-z.]+)`,
		"WORD":    `\b\w+\b`,
	}
	lookup := func(n string) (string, bool) { v, ok := defs[n]; return v, ok }
	const pattern = `^%{HOSTISH:host} - \[%{WORD:w}\]$`
	p, err := Compile(pattern, Options{Lookup: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if p.Engine != EngineSegments || p.segs.spans[0].pre == nil {
		t.Fatalf("%s engine (%s), want segments with a prefix program", p.Engine, p.Reason)
	}
	if tr := p.segs.spans[0].trigger; !tr['%'] || tr[':'] {
		t.Errorf("trigger set %v: want the zone's %%, not the : of every address", tr)
	}
	lin, err := Compile(pattern, Options{Lookup: lookup, NoSegments: true})
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		"fe80::1 - [a]",
		"fe80::1%eth0 - [b]",
		"fe80::1%my zone - [c]",
		"host.example - [d]",
		"no match here",
		"fe80::1%x - [e] - [f]",
	}
	want := make([][]int, len(lines))
	lm := lin.NewMatcher()
	for i, l := range lines {
		want[i] = make([]int, lin.Slots())
		if ok, _ := lm.Match([]byte(l), want[i]); !ok {
			want[i] = nil
		}
	}
	done := make(chan string)
	for g := range 4 {
		go func() {
			m := p.NewMatcher()
			slots := make([]int, p.Slots())
			for k := range lines {
				i := (k + g) % len(lines)
				ok, _ := m.Match([]byte(lines[i]), slots)
				if ok != (want[i] != nil) || (ok && !slices.Equal(slots, want[i])) {
					done <- lines[i]
					return
				}
			}
			done <- ""
		}()
	}
	for range 4 {
		if l := <-done; l != "" {
			t.Errorf("%q: segments and linear engines differ", l)
		}
	}
}

// TestDigitRun checks digitRun's word test against a byte loop, at every
// length and start, on ASCII texts of digits and the bytes around them
// ('/' and ':' border the digits; a borrow from a byte below '0' must not
// move the end).
func TestDigitRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	alphabet := []byte("0123456789/:  !\x00\x7f9")
	for n := 0; n < 2000; n++ {
		in := make([]byte, rng.IntN(40))
		for i := range in {
			if rng.IntN(4) > 0 {
				in[i] = '0' + byte(rng.IntN(10))
			} else {
				in[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		for pos := 0; pos <= len(in); pos++ {
			want := pos
			for want < len(in) && in[want] >= '0' && in[want] <= '9' {
				want++
			}
			if got := digitRun(in, pos); got != want {
				t.Fatalf("digitRun(%q, %d) = %d, want %d", in, pos, got, want)
			}
		}
	}
}
