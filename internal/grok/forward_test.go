package grok

import (
	"math/rand"
	"testing"
)

// The forward DFA's ends are the ends that the linear engine accepts, one
// window at a time: on random lines over quotes, backslashes and spaces,
// for a quoted string (one end from any start) and for patterns with
// several ends, assertions on both sides included.
func TestForwardEnds(t *testing.T) {
	defs := map[string]string{
		// Logstash's, as in patterns/legacy/grok-patterns
		"QUOTEDSTRING": "(?>(?<!\\\\)(?>\"(?>\\\\.|[^\\\\\"]+)+\"|\"\"|(?>'(?>\\\\.|[^\\\\']+)+')|''|(?>`(?>\\\\.|[^\\\\`]+)+`)|``))",
	}
	lookup := func(n string) (string, bool) { v, ok := defs[n]; return v, ok }
	rng := rand.New(rand.NewSource(5))
	alphabet := []byte("\"\"\"\\\\ '`ab1")
	for _, pat := range []string{`%{QUOTEDSTRING}`, `a*`, `\b\w+\b`, `"[^"]*"|"`, `(?:\\.|[^\\"])*"`} {
		p, err := Compile(pat, Options{Lookup: lookup})
		if err != nil {
			t.Fatal(err)
		}
		n := rewrite(p.tree, endOfPattern)
		fp, err := newProg(n, len(p.Captures), true)
		if err != nil {
			t.Fatal(err)
		}
		win, err := newProg(&node{kind: kConcat, subs: []*node{{kind: kClass, set: setAny}, n, {kind: kClass, set: setAny}, {kind: kAssert, at: aEOT}}}, len(p.Captures), true)
		if err != nil {
			t.Fatal(err)
		}
		fm, wm := newFwdMatcher(fp), newFastMatcher(win)
		found1 := 0
		for k := 0; k < 3000; k++ {
			b := make([]byte, 1+rng.Intn(20))
			for i := range b {
				b[i] = alphabet[rng.Intn(len(alphabet))]
			}
			// a space each side: the window's context characters
			in := append(append([]byte{' '}, b...), ' ')
			pos := 1 + rng.Intn(len(b))
			var want []int
			for e := pos; e < len(in); e++ {
				if wm.accepts(in[pos-1 : e+1]) {
					want = append(want, e)
				}
			}
			// (no pattern here ends with a space: no end past the last one)
			end, found, more := fm.ends(in, pos)
			if found != (len(want) > 0) || (found && (end != want[0] || more != (len(want) > 1))) {
				t.Errorf("%s on %q from %d: ends %d %v %v, want %v", pat, in, pos, end, found, more, want)
			}
			if found && !more {
				found1++
			}
		}
		if pat == `%{QUOTEDSTRING}` && (!fp.prefixFree() || found1 == 0) {
			t.Errorf("QUOTEDSTRING: prefix-free %v, %d lines with one end", fp.prefixFree(), found1)
		}
	}
}

// A capture spanning the last alternative after literals ((?:-|%{QS:r}))
// is checked capture-free, its quoted string by the forward DFA; a
// capture elsewhere in the group, or literals after it, keeps the span's
// captures to the linear engine.
func TestForwardWholeCapture(t *testing.T) {
	defs := map[string]string{
		"QS":   "(?>(?<!\\\\)(?>\"(?>\\\\.|[^\\\\\"]+)+\"|\"\"|(?>'(?>\\\\.|[^\\\\']+)+')|''|(?>`(?>\\\\.|[^\\\\`]+)+`)|``))",
		"WORD": `\b\w+\b`,
	}
	lookup := func(n string) (string, bool) { v, ok := defs[n]; return v, ok }
	for _, c := range []struct {
		pat        string
		whole, fwd bool
	}{
		{`%{WORD:w} (?:-|%{QS:r}) %{WORD:x}`, true, true},
		{`%{WORD:w} (?:-|''|%{QS:r})`, true, true},
		{`%{WORD:w} (?:%{QS:r}|-) %{WORD:x}`, false, false},
		{`%{WORD:w} (?:-|x%{QS:r}) %{WORD:x}`, false, false},
	} {
		p, err := Compile(c.pat, Options{Lookup: lookup})
		if err != nil {
			t.Fatal(err)
		}
		if p.segs == nil || len(p.segs.spans) == 0 {
			t.Fatalf("%s: not on segments with a span (%s)", c.pat, p.Reason)
		}
		sp := p.segs.spans[len(p.segs.spans)-1]
		if sp.whole != c.whole || (sp.fwd != nil) != c.fwd {
			t.Errorf("%s: whole %v, forward DFA %v; want %v, %v", c.pat, sp.whole, sp.fwd != nil, c.whole, c.fwd)
		}
	}
}
