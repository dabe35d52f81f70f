package grok

import (
	"math/rand"
	"testing"
)

// quotedFwd is QUOTEDSTRING's forward DFA, which quotedEnd stands for.
func quotedFwd(tb testing.TB) *fwdMatcher {
	n, _, err := parse(quotedText)
	if err != nil {
		tb.Fatal(err)
	}
	fp, err := newProg(rewrite(n, endOfPattern), 0, true)
	if err != nil {
		tb.Fatal(err)
	}
	return newFwdMatcher(fp)
}

// checkQuoted compares quotedEnd with the forward DFA from every position
// of in (ASCII, no newline: the lines the segment engine runs on).
func checkQuoted(t *testing.T, fm *fwdMatcher, in []byte) (found int) {
	for pos := 0; pos <= len(in); pos++ {
		wend, wfound, more := fm.ends(in, pos)
		end, ok := quotedEnd(in, pos)
		if more || ok != wfound || (ok && end != wend) {
			t.Fatalf("%q from %d: quotedEnd %d %v, forward DFA %d %v (more %v)", in, pos, end, ok, wend, wfound, more)
		}
		if ok {
			found++
		}
	}
	return found
}

// quotedEnd finds the forward DFA's one end, or its none, on random lines
// over quotes, backslashes and spaces, from every position.
func TestQuotedEnd(t *testing.T) {
	fm := quotedFwd(t)
	rng := rand.New(rand.NewSource(7))
	alphabet := []byte("\"\"\"\\\\ '`ab")
	found := 0
	for k := 0; k < 20000; k++ {
		b := make([]byte, rng.Intn(24))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		found += checkQuoted(t, fm, b)
	}
	for _, s := range []string{`"-"`, `""`, `"a\"b" x`, `"a\\" x`, `"a\`, `\"a"`, `'it''s'`, "`a`", `"a'b"`, `"\\\""`} {
		found += checkQuoted(t, fm, []byte(s))
	}
	if found == 0 {
		t.Fatal("no line with a quoted string")
	}
}

// The spans of %{QS:f} are recognised (legacy HTTPD_COMBINEDLOG's
// referrer and agent); a quoted string of another shape is not.
func TestQuotedSpans(t *testing.T) {
	defs := map[string]string{"QUOTEDSTRING": quotedText, "QS": "%{QUOTEDSTRING}", "SQ": `"(?:\\.|[^\\"]+)+"`}
	lookup := func(n string) (string, bool) { v, ok := defs[n]; return v, ok }
	for _, c := range []struct {
		pat    string
		quoted []bool
	}{
		{`^%{QS:a} %{QS:b}`, []bool{true, true}},
		{`\d+ %{QS:a} %{QS:b}`, []bool{true, true}},
		{`\d+ %{SQ:a} %{SQ:b}`, []bool{false, false}},
	} {
		p, err := Compile(c.pat, Options{Lookup: lookup})
		if err != nil {
			t.Fatal(err)
		}
		if p.segs == nil || len(p.segs.spans) != len(c.quoted) {
			t.Fatalf("%s: not on segments with %d spans (%s)", c.pat, len(c.quoted), p.Reason)
		}
		for i, sp := range p.segs.spans {
			if sp.quoted != c.quoted[i] {
				t.Errorf("%s: span %d quoted %v, want %v", c.pat, i, sp.quoted, c.quoted[i])
			}
		}
	}
}

func FuzzQuotedEnd(f *testing.F) {
	for _, s := range []string{`"-" "curl/8.5.0"`, `"a\"b" 'c'`, `"\\" ""`, "`x` \"", `\"a"`} {
		f.Add(s)
	}
	fm := quotedFwd(f)
	f.Fuzz(func(t *testing.T, s string) {
		for i := 0; i < len(s); i++ {
			if s[i] == '\n' || s[i] >= 0x80 {
				return
			}
		}
		checkQuoted(t, fm, []byte(s))
	})
}
