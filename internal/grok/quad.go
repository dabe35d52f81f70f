package grok

import "sync"

// A dotted quad (an IPv4 address, most client addresses of a web log) is
// accepted without the linear engine by a span that holds Logstash's IPV4
// (both sets') as one of its alternatives: `%{IPORHOST}`, `%{IP}`
// (`%{IPV4}` alone runs as items). The span's language then holds every
// window whose text IPV4 matches, and IPV4 matches exactly the texts of
// four numbers of one to three digits, each at most 255
// (`[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]`), between dots, with no digit
// either side (its lookarounds). Anything else (an IPv6 address, a name,
// 256.1.1.1) goes to the span's DFA as before: the verdict never differs
// (TestDottedQuad, FuzzSpanQuad).
//
// On `^%{NGINX_COMBINED}$` the client address's check took about 800
// instructions a line (the trigger's scan, the last window's compare and
// copy, the DFA over 15 characters), the quad's about 170
// (BenchmarkGrokMatchers under callgrind).
const quadText = `(?<![0-9])(?:(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]))(?![0-9])`

// quadPrinted is quadText rewritten and printed, as a span's alternative
// prints when it is IPV4.
var quadPrinted = sync.OnceValue(func() string {
	n, _, err := parse(quadText)
	if err != nil {
		panic(err)
	}
	s, err := printNode(rewrite(n, endOfPattern), dialectNET)
	if err != nil {
		panic(err)
	}
	return s
})

// holdsQuad reports whether n matches every text that IPV4 matches: it is
// IPV4, or groups and alternations of which one is.
func holdsQuad(n *node) bool {
	switch n.kind {
	case kConcat:
		if len(n.subs) == 1 {
			return holdsQuad(n.subs[0])
		}
		if len(n.subs) != 3 || n.subs[0].kind != kAssert || n.subs[2].kind != kAssert {
			return false // printed only when it has IPV4's shape
		}
		s, err := printNode(n, dialectNET)
		return err == nil && s == quadPrinted()
	case kGroup:
		return holdsQuad(n.subs[0])
	case kAlt:
		for _, s := range n.subs {
			if holdsQuad(s) {
				return true
			}
		}
	}
	return false
}

// quadSpan reports whether a span's check may take dotted quads first: it
// holds IPV4, is checked on its window capture-free, and its trigger (the
// characters that send its window to the prefix program) holds no digit
// nor dot, so a dotted quad never needs that program.
func quadSpan(it *segItem) bool {
	if (len(it.caps) > 0 && !it.whole) || it.open || it.fwd != nil || !holdsQuad(it.node) {
		return false
	}
	if it.trigger != nil {
		for b := '0'; b <= '9'; b++ {
			if it.trigger[b] {
				return false
			}
		}
		if it.trigger['.'] {
			return false
		}
	}
	return true
}

// quadAccepts reports whether a quad span's window in[lo:hi], text
// in[pos:end], is a dotted quad that IPV4 matches: false is no verdict.
func quadAccepts(in []byte, lo, pos, end, hi int) bool {
	if (lo < pos && in[lo]-'0' <= 9) || (end < hi && in[end]-'0' <= 9) || end-pos > 15 {
		return false
	}
	return dottedQuad(in[pos:end])
}

// dottedQuad runs t through quadDFA, one table lookup a byte: about 130
// instructions on a bench address, where parsing the numbers took 190.
// Not inlined: in span, its loop's state went to the stack (230).
//
//go:noinline
func dottedQuad(t []byte) bool {
	d := &quadDFA
	s := uint8(0)
	for _, b := range t {
		s = d.next[s&63][b]
	}
	return d.accept[s]
}

// A state of quadDFA is 8*octet + where in the octet it is.
const (
	quadStart = iota // before its first digit
	quadLow          // after 0 or 1: any two more digits
	quadTwo          // after 2: 0-4 then any, 5 then 0-5, 6-9 and no more
	quadHigh         // after 3-9: one more digit
	quadAny          // one more digit, any
	quadTo5          // after 25: one more digit, 0-5
	quadFull         // no more digits
	quadDead  = 32   // no dotted quad
)

// quadDFA is the automaton of IPV4's texts: four numbers of one to three
// digits, each at most 255, between dots.
var quadDFA = func() (d struct {
	next   [64][256]uint8 // by state and byte
	accept [64]bool
}) {
	var byDigit [quadDead + 1][10]uint8 // the next state by digit
	for s := range byDigit {
		for c := range byDigit[s] {
			byDigit[s][c] = quadDead
		}
	}
	for k := uint8(0); k < 4; k++ {
		at := func(x uint8) uint8 { return 8*k + x }
		n := &byDigit
		n[at(quadStart)] = [10]uint8{at(quadLow), at(quadLow), at(quadTwo), at(quadHigh), at(quadHigh), at(quadHigh), at(quadHigh), at(quadHigh), at(quadHigh), at(quadHigh)}
		for c := range 10 {
			n[at(quadLow)][c] = at(quadAny)
			n[at(quadHigh)][c] = at(quadFull)
			n[at(quadAny)][c] = at(quadFull)
			switch {
			case c <= 4:
				n[at(quadTwo)][c] = at(quadAny)
			case c == 5:
				n[at(quadTwo)][c] = at(quadTo5)
			default:
				n[at(quadTwo)][c] = at(quadFull)
			}
			if c <= 5 {
				n[at(quadTo5)][c] = at(quadFull)
			}
		}
	}
	for s := range d.next {
		for b := range d.next[s] {
			d.next[s][b] = quadDead
			if b >= '0' && b <= '9' && s <= quadDead {
				d.next[s][b] = byDigit[s][b-'0']
			}
		}
		if k, x := s/8, s%8; s < quadDead && x != quadStart && x <= quadFull {
			if k < 3 {
				d.next[s]['.'] = uint8(8*(k+1) + quadStart)
			} else {
				d.accept[s] = true
			}
		}
	}
	return d
}()
