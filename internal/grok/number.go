package grok

import "sync"

// A decimal number, the body of Logstash's BASE10NUM (NUMBER's, both
// sets'; its lookbehind stays an assertion item), recognised by its
// rewritten tree as IPV4 is (quad.go), is one item (segNumber) instead of
// an optional sign and two alternations of repeats: its first choice, the
// one a backtracking engine takes first, is its longest match (the sign
// if there is one, the digits, then a dot and digits if there are; or a
// dot and digits). Any shorter match ends before a digit or a dot, so
// when what follows cannot start with either (a space, a quote) the
// first choice is its only possible one (forced), as the atomic group
// Logstash wrote around it says.
//
// Legacy %{HTTPD_COMBINEDLOG}'s three numbers (httpversion, response,
// bytes): the matcher 5,261 -> 4,307 instructions a line
// (BenchmarkGrokMatchers httpd_legacy under callgrind; the walk through
// the alternations' items and calls, 2,750 -> 1,850, and their repeats'
// runs, 440 -> 210, against 180 in numberEnd).
const numberText = `[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+))`

// numberPrinted is numberText rewritten and printed, as BASE10NUM's body
// prints.
var numberPrinted = sync.OnceValue(func() string { return printedRewritten(numberText) })

// numberChars are the characters a number may hold, numberExtends
// those that may extend a match of it.
var numberChars, numberExtends = func() (c, e [128]bool) {
	for b := '0'; b <= '9'; b++ {
		c[b], e[b] = true, true
	}
	c['.'], e['.'] = true, true
	c['+'], c['-'] = true, true
	return c, e
}()

// isNumber reports whether n is BASE10NUM's body.
func isNumber(n *node) bool {
	if n.kind != kConcat || len(n.subs) != 2 || n.subs[0].kind != kRepeat || n.subs[0].min != 0 || n.subs[0].max != 1 {
		return false // printed only when it has the number's shape
	}
	s, err := printNode(n, dialectNET)
	return err == nil && s == numberPrinted()
}

// numberEnd is where a number's longest match from pos in in ends; ok is
// false when there is none.
func numberEnd(in []byte, pos int) (end int, ok bool) {
	i := pos
	if i < len(in) && (in[i] == '+' || in[i] == '-') {
		i++
	}
	d := digitRun(in, i)
	if d == i {
		// no digits: a dot and digits, or nothing
		if i < len(in) && in[i] == '.' {
			if e := digitRun(in, i+1); e > i+1 {
				return e, true
			}
		}
		return 0, false
	}
	if d < len(in) && in[d] == '.' {
		if e := digitRun(in, d+1); e > d+1 {
			return e, true
		}
	}
	return d, true
}
