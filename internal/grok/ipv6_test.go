package grok

import (
	"regexp"
	"strings"
	"testing"
)

// ipv6Re is IPV6 for Go's regexp (it has no lookaround), the reference
// for texts of hex digits and colons.
var ipv6Re = regexp.MustCompile(`^(?:` + ipv6Text + `)$`)

// hexColons reports whether t is hex digits and colons only, with a colon.
func hexColons(t string) bool {
	return strings.Contains(t, ":") && strings.Trim(t, "0123456789ABCDEFabcdef:") == ""
}

// checkIPv6 compares ipv6Accepts with the span's DFA on text between lead
// and trail (0: the line's start or end), for every IPv6 span: an
// accepted window must be in the span's language; on a text of hex
// digits and colons with a colon (which only IPV6 of the span's
// alternatives can match) the verdicts are equal, and equal to Go's
// regexp of IPV6.
func checkIPv6(t *testing.T, spans []*segItem, ms []*segMatcher, text string, lead, trail byte) {
	hc := hexColons(text)
	if got, want := ipv6Accepts([]byte(text)), ipv6Re.MatchString(text); hc && got != want {
		t.Fatalf("%q: ipv6Accepts %v, regexp %v", text, got, want)
	}
	for k, it := range spans {
		in, pos, end := spanWindow(it, text, lead, trail)
		got := ipv6Accepts(in[pos:end])
		dfa := ms[k].spans[it.id].accepts(in)
		if got && !dfa {
			t.Fatalf("span %d on %q: ipv6 accepts, the DFA does not", k, in)
		}
		if hc && got != dfa {
			t.Fatalf("span %d on %q: ipv6 %v, the DFA %v", k, in, got, dfa)
		}
	}
}

// TestIPv6: every text of up to 17 characters of '1' and ':' (groups of
// up to 5 digits, ":::", a single ':' first or last, "::" twice, 9
// groups), then addresses of 0 to 9 groups of varied hex (uppercase, 5
// digits, non-hex letters) with and without one "::" in every place, and
// neighbouring characters: ipv6Accepts agrees with the span's DFA and
// with Go's regexp of IPV6.
func TestIPv6(t *testing.T) {
	spans, ms := ipSpans(t, func(it *segItem) bool { return it.ipv6 })
	buf := make([]byte, 0, 17)
	var all func()
	all = func() {
		checkIPv6(t, spans, ms, string(buf), ' ', ' ')
		if len(buf) == cap(buf) {
			return
		}
		for _, c := range []byte{'1', ':'} {
			buf = append(buf, c)
			all()
			buf = buf[:len(buf)-1]
		}
	}
	all()
	groups := []string{"2001", "db8", "0", "FFFF", "cAfE", "a96b", "12345", "00000", "g1", "", "1.2", "z"}
	for n := 0; n <= 9; n++ {
		for v := 0; v < 3*len(groups); v++ {
			gs := make([]string, n)
			for i := range gs {
				gs[i] = groups[(v+i*i)%4] // valid ones
			}
			if n > 0 && v >= len(groups) {
				gs[v%n] = groups[v%len(groups)] // one of any
			}
			if v >= 2*len(groups) && n > 1 {
				gs[(v+1)%n] = groups[(v*7)%len(groups)]
			}
			text := strings.Join(gs, ":")
			checkIPv6(t, spans, ms, text, ' ', ' ')
			for gap := 0; gap <= n; gap++ {
				w := strings.Join(gs[:gap], ":") + "::" + strings.Join(gs[gap:], ":")
				for _, nb := range [][2]byte{{' ', ' '}, {'a', 'f'}, {'1', '9'}, {':', ':'}, {'.', '%'}, {0, 0}} {
					checkIPv6(t, spans, ms, w, nb[0], nb[1])
				}
			}
		}
	}
	for _, text := range []string{
		"2001:db8:bc10:a96b::cfcc", "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7::8", "1::2::3", ":::", "1:::2", ":1::2", "1::2:", ":1:2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8:", "12345::1", "FFFF:ffff::AbCd", "fffg::1", "::ffff:1.2.3.4", "fe80::1%eth0",
		"1:2:3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19:20", "aaaa:bbbb:cccc:dddd:eeee:ffff:0000:11111",
	} {
		checkIPv6(t, spans, ms, text, ' ', ' ')
	}
}

// FuzzSpanIPv6: on any text between any two characters, a window that
// ipv6Accepts accepts is one the span's DFA accepts, and on hex digits
// and colons the verdicts are equal.
func FuzzSpanIPv6(f *testing.F) {
	for _, s := range []string{"2001:db8:bc10:a96b::cfcc", "::", "1:2:3:4:5:6:7:8", "1::2::3", "12345::1", "fe80::1%eth0", "::ffff:1.2.3.4", "10.1.2.3"} {
		f.Add(s, byte(' '), byte(' '))
	}
	spans, ms := ipSpans(f, func(it *segItem) bool { return it.ipv6 })
	f.Fuzz(func(t *testing.T, text string, lead, trail byte) {
		checkIPv6(t, spans, ms, text, lead, trail)
	})
}
