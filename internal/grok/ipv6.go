package grok

import (
	"bytes"
	"sync"
)

// An IPv6 client address (a tenth of the bench's lines) is accepted
// without the linear engine by a span that holds Logstash's IPV6 (both
// sets', identical) as one of its alternatives: `%{IPORHOST}`, `%{IP}`.
// On a text of hex digits and colons only, IPV6's branches that end in a
// dotted quad (they need a '.') and its zone (`(%.+)?`, a '%') cannot
// match, and what is left matches exactly eight groups of one to four hex
// digits between colons (`([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}`), or
// one "::" with a groups before it and b after, a+b <= 7: the branch of
// a groups ends `(h:){a}(:h){b}` with b from 1 to 7-a, or
// `(h:){a}:` for b = 0 (a = 7: `(h:){7}:`; a = 0: `:(:h){1,7}`, `::`).
// IPV6 has no lookaround, so the characters either side do not matter.
// Any other window (a '.', a '%', a name) goes to the span's DFA as
// before: the verdict never differs (TestIPv6, FuzzSpanIPv6).
//
// The bench input's IPv6 clients (2001:db8:bc10:a96b::cfcc) had each
// taken the span's DFA about 2,000 instructions (its table walk, about
// 670, and the states it built); ipv6Accepts takes about 435. The whole
// grok run (callgrind, 100k lines, the Go runtime left out): 10,570 ->
// 10,400 instructions a line on `^%{NGINX_COMBINED}$`, ECS
// %{HTTPD_COMBINEDLOG} 11,080 -> 10,950, legacy 11,090 -> 10,960; the
// DFA's calls on `^%{NGINX_COMBINED}$` 10,875 -> 949 (the timestamp's
// windows not kept from the lines before). A single pass instead of the
// split at "::" took 385 (not kept: 5 instructions a line).
const ipv6Text = `((([0-9A-Fa-f]{1,4}:){7}([0-9A-Fa-f]{1,4}|:))|(([0-9A-Fa-f]{1,4}:){6}(:[0-9A-Fa-f]{1,4}|((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){5}(((:[0-9A-Fa-f]{1,4}){1,2})|:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})|:))|(([0-9A-Fa-f]{1,4}:){4}(((:[0-9A-Fa-f]{1,4}){1,3})|((:[0-9A-Fa-f]{1,4})?:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){3}(((:[0-9A-Fa-f]{1,4}){1,4})|((:[0-9A-Fa-f]{1,4}){0,2}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){2}(((:[0-9A-Fa-f]{1,4}){1,5})|((:[0-9A-Fa-f]{1,4}){0,3}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(([0-9A-Fa-f]{1,4}:){1}(((:[0-9A-Fa-f]{1,4}){1,6})|((:[0-9A-Fa-f]{1,4}){0,4}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:))|(:(((:[0-9A-Fa-f]{1,4}){1,7})|((:[0-9A-Fa-f]{1,4}){0,5}:((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}))|:)))(%.+)?`

// ipv6Printed is ipv6Text rewritten and printed, as a span's alternative
// prints when it is IPV6.
var ipv6Printed = sync.OnceValue(func() string { return printedRewritten(ipv6Text) })

// holdsIPv6 reports whether n matches every text that IPV6 matches.
func holdsIPv6(n *node) bool {
	return holds(n, func(n *node) bool {
		return len(n.subs) == 2 && n.subs[1].kind == kRepeat
	}, ipv6Printed())
}

// ipv6Span reports whether a span's check may take IPv6 addresses of hex
// digits and colons first: it holds IPV6, is checked on its window
// capture-free, and its trigger holds no hex digit nor colon.
func ipv6Span(it *segItem) bool {
	return checkedSpan(it, "0123456789ABCDEFabcdef:") && holdsIPv6(it.node)
}

// ipv6Accepts reports whether t is an IPv6 address of hex digits and
// colons that IPV6 matches: false is no verdict.
func ipv6Accepts(t []byte) bool {
	if len(t) > 39 {
		return false
	}
	k := bytes.Index(t, []byte("::"))
	if k < 0 {
		return hexGroups(t) == 8
	}
	a, b := hexGroups(t[:k]), hexGroups(t[k+2:])
	return a >= 0 && b >= 0 && a+b <= 7
}

// hexGroups returns how many groups of one to four hex digits between
// colons t is, -1 if it is not (an empty group, a colon first or last,
// another character).
func hexGroups(t []byte) int {
	if len(t) == 0 {
		return 0
	}
	n, d := 1, 0
	for _, c := range t {
		switch {
		case c == ':':
			if d == 0 {
				return -1
			}
			n, d = n+1, 0
		case c-'0' <= 9 || (c|0x20)-'a' <= 5:
			if d++; d > 4 {
				return -1
			}
		default:
			return -1
		}
	}
	if d == 0 {
		return -1
	}
	return n
}
