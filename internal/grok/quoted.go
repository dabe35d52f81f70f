package grok

import (
	"bytes"
	"sync"
)

// A span that is Logstash's QUOTEDSTRING (both sets'; `%{QS:referrer}
// %{QS:agent}` of legacy `%{HTTPD_COMBINEDLOG}`), recognised by its
// rewritten tree as IPV4 is (quad.go), has its end found without the
// forward DFA. Rewritten (its atomic groups dropped: it is prefix-free),
// it is, not after a backslash, one of three quotes (double, single,
// backquote), then backslash pairs (a backslash and any character) and
// runs without a backslash or that quote, then the same quote; or the
// quote twice. The backslash pairs are the only way over a backslash, so
// the match, when there is one, ends at the first quote not taken by a
// pair: one end at most, found with IndexByte. The verdict never differs
// from the forward DFA's (TestQuotedEnd, FuzzQuotedEnd).
//
// Legacy %{HTTPD_COMBINEDLOG}'s two quoted strings took about 750
// instructions a line more through the forward DFA (its start state,
// about four steps of 60 instructions each, the skips) than with the
// scan: the matcher 6,047 -> 5,296 instructions a line
// (BenchmarkGrokMatchers httpd_legacy under callgrind).
const quotedText = "(?>(?<!\\\\)(?>\"(?>\\\\.|[^\\\\\"]+)+\"|\"\"|(?>'(?>\\\\.|[^\\\\']+)+')|''|(?>`(?>\\\\.|[^\\\\`]+)+`)|``))"

// quotedPrinted is quotedText rewritten and printed, as a span prints
// when it is QUOTEDSTRING.
var quotedPrinted = sync.OnceValue(func() string { return printedRewritten(quotedText) })

// isQuoted reports whether n, a span's capture-free node, is QUOTEDSTRING.
func isQuoted(n *node) bool {
	n = ungroup(n)
	if n.kind != kConcat || len(n.subs) != 2 || n.subs[0].kind != kAssert {
		return false // printed only when it has QUOTEDSTRING's shape
	}
	s, err := printNode(n, dialectNET)
	return err == nil && s == quotedPrinted()
}

// quotedEnd is where QUOTEDSTRING's match from pos in in (a line with no
// newline) ends; ok is false when there is none.
func quotedEnd(in []byte, pos int) (end int, ok bool) {
	if pos >= len(in) || (pos > 0 && in[pos-1] == '\\') {
		return 0, false
	}
	q := in[pos]
	if q != '"' && q != '\'' && q != '`' {
		return 0, false
	}
	i, qi := pos+1, -1 // qi: the next quote at or after i, once found
	for {
		if qi < i {
			k := bytes.IndexByte(in[i:], q)
			if k < 0 {
				return 0, false
			}
			qi = i + k
		}
		b := bytes.IndexByte(in[i:qi], '\\')
		if b < 0 {
			return qi + 1, true
		}
		i += b + 2 // past the pair (its second character is at most qi)
	}
}
