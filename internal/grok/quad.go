package grok

import (
	"sync"
	"unsafe"

	"github.com/octostore/agent/agent/dottedquad"
)

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
var quadPrinted = sync.OnceValue(func() string { return printedRewritten(quadText) })

// holdsQuad reports whether n matches every text that IPV4 matches.
func holdsQuad(n *node) bool {
	return holds(n, func(n *node) bool {
		return len(n.subs) == 3 && n.subs[0].kind == kAssert && n.subs[2].kind == kAssert
	}, quadPrinted())
}

// holds reports whether n matches every text that the definition printed
// (rewritten) as printed matches: it is that definition, or groups and
// alternations of which one is. shaped says whether a concatenation may be
// it, before it is printed (printing every one would cost the compile).
func holds(n *node, shaped func(*node) bool, printed string) bool {
	switch n.kind {
	case kConcat:
		if len(n.subs) == 1 {
			return holds(n.subs[0], shaped, printed)
		}
		if !shaped(n) {
			return false
		}
		s, err := printNode(n, dialectNET)
		return err == nil && s == printed
	case kGroup:
		return holds(n.subs[0], shaped, printed)
	case kAlt:
		for _, s := range n.subs {
			if holds(s, shaped, printed) {
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
func quadSpan(it *segItem) bool { return checkedSpan(it, "0123456789.") && holdsQuad(it.node) }

// checkedSpan reports whether a span is checked on its window capture-free
// (or is a whole capture) and its trigger holds none of chars: a window of
// those characters only never needs the prefix program.
func checkedSpan(it *segItem, chars string) bool {
	if (len(it.caps) > 0 && !it.whole) || it.open || it.fwd != nil {
		return false
	}
	if it.trigger != nil {
		for i := 0; i < len(chars); i++ {
			if it.trigger[chars[i]] {
				return false
			}
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

// dottedQuad runs t through dottedquad.LeadingZeros (IPV4's spelling), a
// word at a time: 115 instructions a line of the grok bench (callgrind,
// 100k lines), where the table DFA it replaced, one dependent load a
// byte, took 133 and 3.2% of the run (perf, 1M lines), now 0.6%. Parsing
// the numbers had taken 190. Inlined here: it was kept out of span while
// the DFA's loop state went to the stack there.
//
// t goes in as a string: the schema's ip type checks the same address
// next, as a string, and one copy of Match's code (700 bytes a copy)
// then serves both in the instruction cache.
func dottedQuad(t []byte) bool {
	return dottedquad.Match(dottedquad.LeadingZeros, unsafe.String(unsafe.SliceData(t), len(t)))
}
