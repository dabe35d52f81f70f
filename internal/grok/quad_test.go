package grok

import (
	"fmt"
	"os"
	"testing"
)

// quadPatterns are patterns whose spans hold IPV4 and IPV6, in Logstash's sets:
// the span first (no lead), between fields, last before $ (no trail),
// and as the last alternative after a literal (checked capture-free).
var quadPatterns = []string{
	`^%{IPORHOST:c} %{WORD:w}$`,
	`^%{WORD:w} %{IPORHOST:c} %{WORD:x}$`,
	`^%{WORD:w} %{IP:c}$`,
	`^%{WORD:w} (?:-|%{IP:c}) %{WORD:x}$`,
}

// quadSpans compiles quadPatterns with both shipped sets and returns
// their spans that take dotted quads first, with a matcher each.
func quadSpans(tb testing.TB) (spans []*segItem, ms []*segMatcher) {
	return ipSpans(tb, func(it *segItem) bool { return it.quad })
}

// ipSpans compiles quadPatterns with both shipped sets and returns their
// spans that fast says take an address first, one a pattern, with a
// matcher each.
func ipSpans(tb testing.TB, fast func(*segItem) bool) (spans []*segItem, ms []*segMatcher) {
	for _, set := range []string{"legacy", "ecs-v1"} {
		b, err := os.ReadFile("../../transforms/rules/patterns/" + set + "/grok-patterns")
		if err != nil {
			tb.Fatal(err)
		}
		defs, err := ParseDefinitions(string(b))
		if err != nil {
			tb.Fatal(err)
		}
		lookup := func(n string) (string, bool) { v, ok := defs[n]; return v, ok }
		for _, pat := range quadPatterns {
			p, err := Compile(pat, Options{Lookup: lookup})
			if err != nil {
				tb.Fatal(err)
			}
			if p.segs == nil {
				tb.Fatalf("%s (%s): not on segments: %s", pat, set, p.Reason)
			}
			n := len(spans)
			for _, it := range p.segs.spans {
				if fast(it) {
					spans = append(spans, it)
					ms = append(ms, newSegMatcher(p.segs))
				}
			}
			if len(spans) != n+1 {
				tb.Fatalf("%s (%s): %d fast spans, want 1", pat, set, len(spans)-n)
			}
		}
	}
	return spans, ms
}

// checkQuad compares quadAccepts with the span's DFA on text between lead
// and trail (0: the line's start or end), for every quad span: an accepted
// window must be in the span's language, and a text that IPV4 matches
// (want, when the caller knows) accepted when no digit is either side.
func checkQuad(t *testing.T, spans []*segItem, ms []*segMatcher, text string, lead, trail byte, want int) {
	for k, it := range spans {
		in, pos, end := spanWindow(it, text, lead, trail)
		lo, hi := 0, len(in)
		got := quadAccepts(in, lo, pos, end, hi)
		dfa := ms[k].spans[it.id].accepts(in[lo:hi])
		if got && !dfa {
			t.Fatalf("span %d on %q: quad accepts, the DFA does not", k, in)
		}
		digit := func(b byte) bool { return b-'0' <= 9 }
		if want >= 0 && got != (want == 1 && !(it.lead && digit(lead)) && !(it.trail && digit(trail))) {
			t.Fatalf("span %d on %q: quad %v, want %v", k, in, got, want == 1)
		}
	}
}

// spanWindow returns span it's window of text between lead and trail (as
// far as it has them), and where text is in it.
func spanWindow(it *segItem, text string, lead, trail byte) (in []byte, pos, end int) {
	if it.lead {
		in = append(in, lead)
	}
	pos = len(in)
	in = append(in, text...)
	end = len(in)
	if it.trail {
		in = append(in, trail)
	}
	return in, pos, end
}

// TestDottedQuad: every octet of one to three digits (0 to 999, with
// leading zeros) in every place of a quad, with IPV4's verdict (at most
// 255), and quads with a digit or a letter either side, too many or too
// few parts, empty parts: quadAccepts accepts exactly IPV4's, and the
// span's DFA agrees.
func TestDottedQuad(t *testing.T) {
	spans, ms := quadSpans(t)
	var octets []string
	for v := 0; v < 1000; v++ {
		octets = append(octets, fmt.Sprint(v))
		if v < 100 {
			octets = append(octets, fmt.Sprintf("%03d", v))
		}
		if v < 10 {
			octets = append(octets, fmt.Sprintf("%02d", v))
		}
	}
	ok := func(o string) int {
		var v int
		fmt.Sscan(o, &v)
		if len(o) <= 3 && v <= 255 {
			return 1
		}
		return 0
	}
	for _, o := range octets {
		for place := 0; place < 4; place++ {
			q := []string{"10", "0", "255", "7"}
			q[place] = o
			text := q[0] + "." + q[1] + "." + q[2] + "." + q[3]
			checkQuad(t, spans, ms, text, ' ', ' ', ok(o))
		}
	}
	for _, c := range []struct {
		text        string
		lead, trail byte
		want        int
	}{
		{"1.2.3.4", '5', ' ', 1}, {"1.2.3.4", ' ', '5', 1}, {"1.2.3.4", 'a', 'b', 1},
		{"1.2.3", ' ', ' ', 0}, {"1.2.3.4.5", ' ', ' ', 0}, {"1..3.4", ' ', ' ', 0},
		{".1.2.3", ' ', ' ', 0}, {"1.2.3.", ' ', ' ', 0}, {"1.2.3.0004", ' ', ' ', 0},
		{"1.2.3.4a", ' ', ' ', 0}, {"a1.2.3.4", ' ', ' ', 0}, {"1.2.3.4:80", ' ', ' ', 0},
		{"::ffff:1.2.3.4", ' ', ' ', 0}, {"1.2.3.4%eth0", ' ', ' ', 0},
		{"255.255.255.255", '-', '"', 1}, {"000.000.000.000", ' ', ' ', 1},
	} {
		checkQuad(t, spans, ms, c.text, c.lead, c.trail, c.want)
	}
}

// FuzzSpanQuad: on any text between any two characters, a window that
// quadAccepts accepts is one the span's DFA accepts.
func FuzzSpanQuad(f *testing.F) {
	for _, s := range []string{"10.90.132.230", "255.255.255.255", "256.1.1.1", "1.2.3", "01.002.3.4", "1.2.3.4.5", "a1.2.3.4", "2001:db8::1", "1.2.3.4%x"} {
		f.Add(s, byte(' '), byte(' '))
	}
	spans, ms := quadSpans(f)
	f.Fuzz(func(t *testing.T, text string, lead, trail byte) {
		checkQuad(t, spans, ms, text, lead, trail, -1)
	})
}
