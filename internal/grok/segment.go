package grok

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sort"
	"sync"

	"github.com/octostore/agent/internal/lines"
)

// The segment engine: the common shape of a log pattern, literal separators
// between fields, matched the way agent/scan matches parse "regex": one
// left-to-right pass that finds each field's end from the separator after
// it (bytes.IndexByte), and checks only the fields that need it with the
// linear engine, on the field's bytes alone.
//
// The pattern (rewritten, as the linear engine runs it) is flattened into
// items: literals, zero-width assertions, capture marks, repeats of one
// character class, and spans (any other subpattern, checked by the linear
// engine on its bytes with one character of context each side). Each
// item's end is the first choice a backtracking engine makes:
//
//   - a repeat whose class cannot start what follows ends where its run
//     ends; otherwise at the last (greedy) or first (lazy) place in its run
//     where the next literal's first byte is;
//   - a span whose characters exclude the next literal's first byte ends
//     there (its only possible end); a last span before $ ends at the end.
//
// Alternatives (X|Y, X?) whose alternatives are literals, repeats and
// assertions are walked in place, tried in order; the walk goes back to
// the next alternative only when every item since the choice was forced
// (its first choice was its only one), which is exactly where a
// backtracking engine would go next.
//
// If any item fails on that first choice, or the line holds a newline or a
// non-ASCII byte, the line goes to the linear engine, which explores every
// choice: so a match here is the match a backtracking engine finds first at
// position 0, which is the leftmost match, and everything else is decided
// by the linear engine. The result never differs from it.

type segKind uint8

const (
	segLit    segKind = iota // lit
	segAssert                // at, set: checked on the bytes around the position
	segOpen                  // capture cap starts here
	segClose                 // capture cap ends here
	segRepeat                // a run of class, min..max, greedy or lazy
	segSpan                  // sub, checked by its own linear matcher
	segAlt                   // alternatives (X|Y, X?), each a list of items, tried in order
	segGoto                  // the end of an alternative's list: the walk goes on with next
	segNumber                // BASE10NUM's body, its longest match (number.go)
)

type segItem struct {
	kind segKind
	lit  []byte
	// litWord: a literal of up to eight bytes as a little-endian word,
	// litMask its bytes, compared with one load where the line has eight
	// bytes left (a call to memequal took about 30 instructions a literal)
	litWord, litMask uint64
	at               assertion
	cap              int
	// class: a repeat's characters, or a one-character lookaround's
	// (ASCII: the engine runs on ASCII lines only), looked up by a table:
	// the runeSet's binary search took about 40 instructions a check,
	// BASE10NUM's (?<![0-9.+-]) on every number of legacy
	// %{HTTPD_COMBINEDLOG}
	class *[128]bool
	min   int
	max   int // -1: no bound
	// greedy repeats take the longest run first, lazy ones the shortest
	greedy bool
	// How a repeat or span finds its end: stopByte is the next literal's
	// first byte (hasStop); toEnd: only $ or the pattern's end follows.
	stopByte byte
	hasStop  bool
	toEnd    bool
	open     bool // a span last in the pattern, with no $ after it
	// disjoint: a repeat's class cannot start what follows, so it ends
	// where its run ends.
	disjoint bool
	// any: a repeat's class holds every character of the lines the engine
	// runs on (ASCII but a newline), so its run is not checked.
	any bool
	// wide: a repeat's class holds every character from '!' up (\S,
	// [^ ]), so its run skips eight such bytes at a time (runEnd).
	wide bool
	// digits: a repeat's class is [0-9] (INT's, NUMBER's), its run's end
	// found a word at a time (digitRun).
	digits bool
	// plain: a greedy repeat that ends where its run ends (disjoint, or
	// no literal follows), unbounded or of one character at most, and
	// not any: the walk finds its end itself, without repeatEnd's
	// choices (\S+, \w+, \d+, [+-]?: 8 of the 10 repeats of
	// `^%{NGINX_COMBINED}$`, about 40 instructions each less).
	plain bool
	// upTo: a lazy repeat of any character, of no bound, before a literal
	// (DATA's .*?): its first choice is the first place of the literal's
	// first byte, found by the walk itself, without repeatEnd's choices
	// (the referer and agent of `^%{NGINX_COMBINED}$`: matching 3,110 ->
	// 3,014 instructions a line; ECS HTTPD_COMBINEDLOG 4,092 -> 4,014,
	// legacy 4,006 -> 3,996).
	upTo bool
	// A span: node, compiled as [any] node [any] \z over the span and one
	// character each side (lead/trail false at the line's start/end); caps
	// are the capture numbers inside it.
	node *node
	sub  *prog
	// pre: when the span may hold its separator, its prefixes; its
	// tables are built on the first window with a trigger character
	// (segMatcher.pre)
	pre *prog
	// fwd: a capture-free span that may hold its separator or that ends
	// the pattern, compiled alone for the forward DFA (forward.go), which
	// finds all its ends in one pass.
	fwd *prog
	// trigger: the characters one of which the span must take before it
	// can take its separator (IPORHOST: an IPv6 zone's %): a window
	// without any cannot go on past the separator, and pre is not run.
	trigger     *[128]bool
	lead, trail bool
	// quad: a dotted quad's window is accepted without the DFA (quad.go);
	// ipv6: an IPv6 address's of hex digits and colons (ipv6.go)
	quad, ipv6 bool
	// quoted: a fwd span that is QUOTEDSTRING, its end found without the
	// forward DFA (quoted.go)
	quoted bool
	caps   []int
	// whole: the span is alternatives of literals (altLits, tried first)
	// then one capture spanning the last alternative, caps[0] (-|%{X:f}):
	// its end decides the capture, so it is checked capture-free.
	whole   bool
	altLits [][]byte
	id      int // a span's index in segments.spans
	// alts: a segAlt's alternatives, in the order a backtracking engine
	// tries them.
	alts [][]segItem
	// altFirst: each alternative's first character when it starts with a
	// literal (past capture marks), else -1: an alternative whose literal
	// is not at the position fails there, forced, without being run.
	altFirst []int16
	// altLists: each alternative's list (in segments.lists), which ends
	// with a segGoto to what follows the alternation
	altLists [][]segItem
	// next: where a segGoto goes on, the rest of a list in segments.lists
	next []segItem
	// reset: the slots that a segAlt's alternatives and what follows it
	// set (each in one place: -1 when the choice is made), which the next
	// alternative starts without.
	reset []int
	// forced: the item's first choice is its only possible one (a repeat
	// that ends where its run ends, a span whose end is its separator), so
	// a failure after it may go on with the next alternative.
	forced bool
	// post: the slot of a capture mark that followed the item, set where
	// the item ends (0: none; slots 0 and 1 are the match's own)
	post int32
	// then: a literal of up to eight bytes that followed the item, checked
	// where the item ends as a segLit would be (thenWord, thenMask), with
	// its own post slot (thenPost): see fuseLits.
	then               []byte
	thenWord, thenMask uint64
	thenPost           int32
}

// segments is the compiled segment engine of a pattern.
type segments struct {
	items []segItem
	spans []*segItem // by id
	// preOnce: by span, finishing its prefix program
	preOnce []sync.Once
	nslot   int
	// progs are the spans' programs by their text, while compiling
	progs map[string]*prog
	// lists are the item lists the walk runs: items (0), then every
	// alternative's, each followed by what follows its alternation
	lists [][]segItem
}

// compileSegments returns the segment engine for the rewritten tree n, or
// nil and why not when its shape is not one the engine decides.
func compileSegments(n *node, ncap int) (*segments, string) {
	var items []segItem
	if !flatten(n, &items) {
		return nil, "a part it cannot split (a lookaround, an atomic group, an empty capture)"
	}
	sg := &segments{nslot: 2 * (ncap + 1)}
	if why := sg.resolve(items, nil, false, ncap); why != "" {
		return nil, why
	}
	if len(sg.spans) > 16 {
		return nil, "more than 16 fields that need checking" // each span is a call to the linear engine: past many, the whole line is cheaper there
	}
	sg.progs = nil
	sg.preOnce = make([]sync.Once, len(sg.spans))
	// Each slot is set in one place, so it is -1 until the walk gets there
	// and an alternative that fails gives back its slots by resetting
	// those set from the choice on (no trail of old values to keep).
	seen := make([]bool, sg.nslot)
	for _, x := range slotsSet(items) {
		if seen[x] {
			return nil, "a capture set in two places"
		}
		seen[x] = true
	}
	resets(items, nil)
	if len(items) > 0 && items[0].kind == segAssert && (items[0].at == aBOL || items[0].at == aBOT) {
		// The walk starts at 0, where ^ holds: `^%{NGINX_COMBINED}$`'s
		// matching 3,014 -> 2,984 instructions a line.
		items = items[1:]
	}
	items = fuseLits(foldMarks(dropWordBounds(items, false)))
	sg.items = items
	sg.lists = [][]segItem{items}
	sg.listAlts(items)
	for _, l := range sg.lists {
		litWords(l)
		for k := range l {
			if l[k].kind == segSpan {
				sg.spans[l[k].id] = &l[k]
			}
		}
	}
	return sg, ""
}

// dropWordBounds returns items without the \b that hold wherever the
// walk reaches them: WORD's `\b\w+\b` after a literal that ends in a
// non-word byte (the run's first byte, a word byte, must be there), and
// after a run of \w that ends where its run ends (a word byte, then none),
// alternatives' items too; nonWord says the byte before items is not a
// word byte. The repeat fails where the first \b would, with the same
// forced verdict. `^%{NGINX_COMBINED}$`'s method: matching 3,497 ->
// 3,345 instructions a line, ECS HTTPD_COMBINEDLOG 4,368 -> 4,216, legacy
// 4,308 -> 4,156 (BenchmarkGrokMatchers under callgrind).
func dropWordBounds(items []segItem, nonWord bool) []segItem {
	out := make([]segItem, 0, len(items))
	var last *segItem // the last item out that is not a capture mark
	for i, it := range items {
		switch it.kind {
		case segOpen, segClose:
			out = append(out, it)
			continue
		case segAlt:
			it.alts = mapLists(it.alts, func(a []segItem) []segItem { return dropWordBounds(a, nonWord) })
		case segAssert:
			if it.at == aWordB && ((nonWord && wordRunNext(items[i+1:])) || (last != nil && wordRun(last, false))) {
				continue
			}
		}
		out = append(out, it)
		last = &out[len(out)-1]
		switch it.kind {
		case segLit:
			nonWord = len(it.lit) > 0 && !wordBytes[it.lit[len(it.lit)-1]&0x7f] && it.lit[len(it.lit)-1] < 0x80
		case segAssert:
		default:
			nonWord = false
		}
	}
	return out
}

// wordRunNext reports whether the first item of items past capture marks
// is a repeat of word bytes only, of one at least.
func wordRunNext(items []segItem) bool {
	for k := range items {
		if it := &items[k]; it.kind != segOpen && it.kind != segClose {
			return wordRun(it, true)
		}
	}
	return false
}

// wordRun reports whether it is a repeat of one word byte at least, of
// word bytes only (sub), or of every word byte and no other, ending where
// its run ends (not sub).
func wordRun(it *segItem, sub bool) bool {
	if it.kind != segRepeat || it.min < 1 || it.class == nil || it.any {
		return false
	}
	for b, in := range it.class {
		if in && !wordBytes[b] || !sub && wordBytes[b] && !in {
			return false
		}
	}
	return sub || it.plain && it.max < 0
}

// mapLists returns f of each of lists (an alternation's alternatives).
func mapLists(lists [][]segItem, f func([]segItem) []segItem) [][]segItem {
	out := make([][]segItem, len(lists))
	for k, l := range lists {
		out[k] = f(l)
	}
	return out
}

// foldMarks returns items with each capture mark that follows a
// literal, an assertion, a repeat or a span folded into it (its post
// slot), alternatives' items too: of the 20 marks of
// `^%{NGINX_COMBINED}$`, 19 are no longer items of their own to take
// (about 10 instructions each, against 2 for a post slot's check).
func foldMarks(items []segItem) []segItem {
	out := make([]segItem, 0, len(items))
	for _, it := range items {
		if it.kind == segAlt {
			it.alts = mapLists(it.alts, foldMarks)
		}
		if it.kind == segOpen || it.kind == segClose {
			if k := len(out) - 1; k >= 0 && out[k].post == 0 && (out[k].kind == segLit || out[k].kind == segAssert || out[k].kind == segRepeat || out[k].kind == segSpan || out[k].kind == segNumber) {
				out[k].post = int32(2 * it.cap)
				if it.kind == segClose {
					out[k].post++
				}
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

// fuseLits returns items with each literal of up to eight bytes that
// follows an item which the walk goes on from (not an alternation or a
// jump) checked at that item's end (its then), alternatives' items too:
// 9 of the 10 literals of `^%{NGINX_COMBINED}$` are no longer items of
// their own to take, and capture marks skip the post and then checks:
// matching 3,345 -> 3,232 instructions a line, legacy HTTPD_COMBINEDLOG
// 4,156 -> 4,093, ECS 4,208 -> 4,187 (BenchmarkGrokMatchers under
// callgrind, the matcher's own functions).
func fuseLits(items []segItem) []segItem {
	out := make([]segItem, 0, len(items))
	for _, it := range items {
		if it.kind == segAlt {
			it.alts = mapLists(it.alts, fuseLits)
		}
		if it.kind == segLit && len(it.lit) > 0 && len(it.lit) <= 8 {
			if k := len(out) - 1; k >= 0 && out[k].then == nil && out[k].kind != segAlt && out[k].kind != segGoto && out[k].kind != segOpen && out[k].kind != segClose {
				out[k].then, out[k].thenPost = it.lit, it.post
				out[k].thenWord, out[k].thenMask = litWord(it.lit)
				continue
			}
		}
		out = append(out, it)
	}
	return out
}

// litWords sets the word and mask of the literals of up to eight bytes in
// items.
func litWords(items []segItem) {
	for i := range items {
		if it := &items[i]; it.kind == segLit && len(it.lit) <= 8 {
			it.litWord, it.litMask = litWord(it.lit)
		}
	}
}

// litWord is a literal of up to eight bytes as a little-endian word, and
// the mask of its bytes.
func litWord(lit []byte) (word, mask uint64) {
	for k, b := range lit {
		word |= uint64(b) << (8 * k)
		mask |= 0xff << (8 * k)
	}
	return word, mask
}

// litAt reports whether lit (its word and mask when up to eight bytes) is
// at pos.
func litAt(in []byte, pos int, lit []byte, word, mask uint64) bool {
	if mask != 0 && len(in)-pos >= 8 {
		return binary.LittleEndian.Uint64(in[pos:])&mask == word
	}
	return len(in)-pos >= len(lit) && string(in[pos:pos+len(lit)]) == string(lit)
}

// slotsSet is every slot that items may set.
func slotsSet(items []segItem) []int {
	var out []int
	for i := range items {
		it := &items[i]
		switch it.kind {
		case segOpen:
			out = append(out, 2*it.cap)
		case segClose:
			out = append(out, 2*it.cap+1)
		case segSpan:
			for _, c := range it.caps {
				out = append(out, 2*c, 2*c+1)
			}
		case segAlt:
			for _, a := range it.alts {
				out = append(out, slotsSet(a)...)
			}
		}
	}
	return out
}

// resets gives each alternation in items its reset slots: those its
// alternatives set and those set after it (by the rest of items, then
// follow).
func resets(items []segItem, follow []int) {
	for i := range items {
		it := &items[i]
		if it.kind != segAlt {
			continue
		}
		after := append(slotsSet(items[i+1:]), follow...)
		it.reset = append(slotsSet(items[i:i+1]), after...)
		for _, a := range it.alts {
			resets(a, after)
		}
	}
}

func isEnd(it *segItem) bool {
	return it.kind == segAssert && (it.at == aEOL || it.at == aEOT || it.at == aEOTZ)
}

func consumes(it *segItem) bool {
	if it.kind == segAlt {
		for _, a := range it.alts {
			for k := range a {
				if consumes(&a[k]) {
					return true
				}
			}
		}
		return false
	}
	return it.kind == segLit || it.kind == segRepeat || it.kind == segSpan || it.kind == segNumber
}

// resolve decides how each repeat and span of items finds its end; follow
// is what comes after items (the rest of the pattern), consumed whether
// something before items may have consumed characters.
func (sg *segments) resolve(items, follow []segItem, consumed bool, ncap int) string {
	for i := range items {
		it := &items[i]
		it.forced = true
		if it.kind != segRepeat && it.kind != segSpan && it.kind != segAlt && it.kind != segNumber {
			continue
		}
		// what follows, past captures marks and assertions
		after := append(items[i+1:len(items):len(items)], follow...)
		if it.kind == segNumber {
			fc := firstChars(after)
			it.forced = classesDisjoint(&numberExtends, &fc)
			continue
		}
		if it.kind == segAlt {
			before := consumed
			for k := 0; k < i && !before; k++ {
				before = consumes(&items[k])
			}
			for _, a := range it.alts {
				if why := sg.resolve(a, after, before, ncap); why != "" {
					return why
				}
				it.altFirst = append(it.altFirst, leadLiteral(a))
			}
			continue
		}
		j := 0
		for j < len(after) && (after[j].kind == segOpen || after[j].kind == segClose || after[j].kind == segAssert) && !isEnd(&after[j]) {
			j++
		}
		last := j == len(after)         // nothing follows: the pattern ends here
		end := last || isEnd(&after[j]) // or $ follows
		if it.kind == segRepeat {
			switch {
			case end && it.greedy:
				it.toEnd, it.disjoint = true, true
			case end:
				return "a lazy repeat at the end" // a lazy repeat last: rare, left to the linear engine
			case after[j].kind == segLit:
				c := after[j].lit[0]
				it.stopByte, it.hasStop = c, true
				it.disjoint = !it.class[c]
			default:
				fc := firstChars(after[j:])
				switch {
				case classesDisjoint(it.class, &fc):
					it.disjoint = true
				case !it.greedy:
					return "a lazy repeat whose end the next part does not decide"
				}
				// else greedy: its whole run first, the rest undecided
			}
			it.forced = it.disjoint
			it.plain = it.greedy && (it.disjoint || !it.hasStop) && (it.max < 0 || it.max == 1) && !it.any
			it.upTo = !it.greedy && it.any && it.hasStop && !it.disjoint && it.min == 0 && it.max < 0
			continue
		}
		// lead: something before it may consume characters (else it starts
		// the line, and the line's start is its context)
		it.lead = consumed
		for k := 0; k < i && !it.lead; k++ {
			it.lead = consumes(&items[k])
		}
		switch {
		case end && !last:
			it.toEnd = true
		case end:
			// last, with no $: it ends where its first path does, which its
			// matcher finds on the rest of the line
			it.open = true
		case after[j].kind == segLit:
			it.stopByte, it.hasStop = after[j].lit[0], true
			if spanChars(it.node).has(rune(it.stopByte)) {
				// It could hold the separator (IPORHOST: an IPv6 zone, %.+):
				// its end at the first one is its only end only if it
				// cannot go on through it, checked on each line.
				pre, err := compilePrefixProg(it.node, ncap, it.lead)
				if err != nil {
					return "too large"
				}
				it.pre = pre
				it.trigger = stopTrigger(pre, it.stopByte, it.lead)
			}
		default:
			return "a field not followed by a literal separator"
		}
		it.trail = !it.toEnd && !it.open
		contains(it.node, func(x *node) bool {
			if x.kind == kGroup && x.name != "" {
				it.caps = append(it.caps, x.cap)
			}
			return false
		})
		if len(it.caps) == 1 {
			it.altLits, it.whole = wholeCapture(it.node, it.caps[0])
		}
		checked := it.node
		if it.whole && !it.open {
			// Only checked (its capture is set from its text): compiled
			// without the capture, one program serves every span of that
			// shape (ECS's two (?:-|%{HTTPDUSER:f}), 8,000 instructions
			// each).
			checked = withoutCaptures(it.node)
		}
		body := &node{kind: kConcat}
		if it.lead {
			body.subs = append(body.subs, &node{kind: kClass, set: setAny})
		}
		body.subs = append(body.subs, checked)
		if it.trail {
			body.subs = append(body.subs, &node{kind: kClass, set: setAny})
		}
		if !it.open {
			body.subs = append(body.subs, &node{kind: kAssert, at: aEOT})
		}
		p, err := sg.spanProg(body, ncap)
		if err != nil {
			return "too large"
		}
		it.sub = p
		if (len(it.caps) == 0 || it.whole) && (it.open || it.pre != nil) {
			// one end from any start (a quoted string): the forward DFA
			// finds it; else it would mostly find several
			if fp, err := compileProg(it.node, ncap, true); err == nil && fp.prefixFree() {
				it.fwd, _ = fp.finish() // it cannot fail: compileProg checked its size
				it.quoted = isQuoted(checked)
			}
		}
		it.quad = quadSpan(it)
		it.ipv6 = ipv6Span(it)
		it.id = len(sg.spans)
		sg.spans = append(sg.spans, it)
	}
	return ""
}

// spanProg compiles a span's program, or returns the one compiled for a
// span of the same text.
func (sg *segments) spanProg(body *node, ncap int) (*prog, error) {
	key, err := printNode(body, dialectNET)
	if err == nil {
		if p := sg.progs[key]; p != nil {
			return p, nil
		}
	}
	p, err := newProg(body, ncap, true)
	if err == nil && key != "" {
		if sg.progs == nil {
			sg.progs = map[string]*prog{}
		}
		sg.progs[key] = p
	}
	return p, err
}

// withoutCaptures returns a copy of n whose capture groups are plain
// groups.
func withoutCaptures(n *node) *node {
	c := *n
	if c.kind == kGroup {
		c.name, c.cap = "", 0
	}
	if len(n.subs) > 0 {
		c.subs = make([]*node, len(n.subs))
		for i, s := range n.subs {
			c.subs[i] = withoutCaptures(s)
		}
	}
	return &c
}

// listAlts gives the alternations in items (nested ones too) their
// alternatives' lists, in sg.lists: each alternative followed by a jump
// (segGoto) to what follows the alternation, so that the walk never
// comes back to a list it left (a stack of continuations, written and
// read back on every alternative, took about 500 instructions a line of
// ECS %{HTTPD_COMBINEDLOG}, counted by callgrind). A jump, not a copy of
// what follows: copies took the item lists of the Logstash spec's 101
// patterns on this engine from 5,224 items (1.7 MB) to 39,951 (12.8
// MB), 5,357 of them for one pattern; the jumps add one item an
// alternative, and about 5% to matching ECS %{HTTPD_COMBINEDLOG}.
func (sg *segments) listAlts(items []segItem) {
	for i := range items {
		it := &items[i]
		if it.kind != segAlt {
			continue
		}
		// What follows the alternation: the rest of items, or where the
		// jump that ends items goes (no jump to a jump), or nothing (the
		// end of the pattern).
		var next []segItem
		if i+1 < len(items) {
			next = items[i+1:]
			if items[i+1].kind == segGoto {
				next = items[i+1].next
			}
		}
		for _, a := range it.alts {
			l := append(make([]segItem, 0, len(a)+1), a...)
			if next != nil {
				l = append(l, segItem{kind: segGoto, next: next})
			}
			it.altLists = append(it.altLists, l)
			sg.lists = append(sg.lists, l)
			sg.listAlts(l)
		}
	}
}

// leadLiteral is the first character of items when they start with a
// literal past capture marks, else -1.
func leadLiteral(items []segItem) int16 {
	for k := range items {
		switch items[k].kind {
		case segOpen, segClose:
			continue
		case segLit:
			return int16(items[k].lit[0])
		}
		break
	}
	return -1
}

// wholeCapture reports whether n (past non-capturing groups) is
// alternatives whose last is the capture c alone and whose others are
// literals, and returns those: (?:-|%{X:f}). Matched exactly on a span's
// text, it is the first literal equal to the text, else the capture, which
// then spans the whole text (the literals come first, as a backtracking
// engine tries them).
func wholeCapture(n *node, c int) ([][]byte, bool) {
	for n.kind == kGroup && n.name == "" {
		n = n.subs[0]
	}
	if n.kind != kAlt || len(n.subs) < 2 {
		return nil, false
	}
	last := n.subs[len(n.subs)-1]
	if last.kind != kGroup || last.name == "" || last.cap != c {
		return nil, false
	}
	var lits [][]byte
	for _, a := range n.subs[:len(n.subs)-1] {
		var items []segItem
		if !flatten(a, &items) {
			return nil, false
		}
		var lit []byte
		for _, it := range items {
			if it.kind != segLit {
				return nil, false
			}
			lit = append(lit, it.lit...)
		}
		lits = append(lits, lit)
	}
	return lits, true
}

// wholeLit reports whether a whole span's text is one of its literal
// alternatives, which a backtracking engine tries first: then the span
// matches, its capture unset.
func wholeLit(it *segItem, text []byte) bool {
	for _, l := range it.altLits {
		if string(text) == string(l) {
			return true
		}
	}
	return false
}

// setWhole sets a whole span's capture for its text in[pos:end]: unset
// when a literal alternative is the text, else the text.
func (m *segMatcher) setWhole(it *segItem, in []byte, pos, end int, slots []int) {
	if !wholeLit(it, in[pos:end]) {
		c := it.caps[0]
		slots[2*c], slots[2*c+1] = pos, end
	}
}

// firstChars is every ASCII character the items after may start with
// (more than that where it cannot tell).
func firstChars(after []segItem) (s [128]bool) {
	for k := range after {
		it := &after[k]
		switch it.kind {
		case segLit:
			s[it.lit[0]] = true
			return s
		case segAssert:
			if isEnd(it) {
				return s
			}
		case segRepeat:
			for b, in := range it.class {
				s[b] = s[b] || in
			}
			if it.min > 0 {
				return s
			}
		case segNumber:
			for b, in := range numberChars {
				s[b] = s[b] || in
			}
			return s
		case segSpan:
			cs := spanChars(it.node)
			for b := range s {
				s[b] = s[b] || cs.has(rune(b))
			}
		case segAlt:
			for _, a := range it.alts {
				fc := firstChars(append(a[:len(a):len(a)], after[k+1:]...))
				for b := range s {
					s[b] = s[b] || fc[b]
				}
			}
			return s
		}
	}
	return s
}

// flatten appends n's items; false if n has a part the engine cannot
// decide.
func flatten(n *node, out *[]segItem) bool {
	if isNumber(n) {
		*out = append(*out, segItem{kind: segNumber})
		return true
	}
	switch n.kind {
	case kConcat:
		for _, s := range n.subs {
			if !flatten(s, out) {
				return false
			}
		}
		return true
	case kEmpty:
		return true
	case kGroup:
		// A capture's content is inlined when it is literals, repeats and
		// assertions (%{WORD:f}, %{INT:f}, %{NOTSPACE:f}); else it is one
		// span (%{IPORHOST:f}, %{HTTPDATE:f}), checked as a whole. Other
		// groups (the expansion of %{NAME}) are inlined.
		var inner []segItem
		if !flatten(n.subs[0], &inner) || len(inner) == 0 {
			return false
		}
		for _, it := range inner {
			if it.kind == segSpan && n.name != "" {
				inner = []segItem{{kind: segSpan, node: n.subs[0]}}
				if fastUnsupported(n.subs[0]) != "" {
					return false
				}
				break
			}
		}
		if n.name != "" {
			*out = append(*out, segItem{kind: segOpen, cap: n.cap})
		}
		for _, it := range inner {
			if it.kind == segLit {
				if k := len(*out) - 1; k >= 0 && (*out)[k].kind == segLit {
					(*out)[k].lit = append((*out)[k].lit, it.lit...)
					continue
				}
			}
			*out = append(*out, it)
		}
		if n.name != "" {
			*out = append(*out, segItem{kind: segClose, cap: n.cap})
		}
		return true
	case kClass:
		if len(n.set) == 2 && n.set[0] == n.set[1] && n.set[0] < 128 {
			b := byte(n.set[0])
			if k := len(*out) - 1; k >= 0 && (*out)[k].kind == segLit {
				(*out)[k].lit = append((*out)[k].lit, b)
			} else {
				*out = append(*out, segItem{kind: segLit, lit: []byte{b}})
			}
			return true
		}
		*out = append(*out, repeatItem(n.set, 1, 1, true))
		return true
	case kRepeat:
		if n.subs[0].kind == kClass && !n.possessive {
			*out = append(*out, repeatItem(n.subs[0].set, n.min, n.max, n.greedy))
			return true
		}
		if n.min == 0 && n.max == 1 && !n.possessive {
			// X? is X|(nothing), or (nothing)|X when lazy
			subs := []*node{n.subs[0], {kind: kEmpty}}
			if !n.greedy {
				subs[0], subs[1] = subs[1], subs[0]
			}
			return appendAlt(n, subs, out)
		}
		return appendSpan(n, out)
	case kAssert:
		it := segItem{kind: segAssert, at: n.at}
		switch n.at {
		case aPrevIn, aPrevNotIn, aNextIn, aNextNotIn:
			it.class = asciiClass(n.set)
		}
		*out = append(*out, it)
		return true
	case kAlt:
		return appendAlt(n, n.subs, out)
	}
	return false // atomic groups, lookarounds, backreferences, failures
}

// appendAlt makes n, whose alternatives are subs, one segAlt item when
// each alternative is literals, repeats and assertions (-|%{INT:f},
// (?: HTTP/%{NUMBER:v})?), else one span.
func appendAlt(n *node, subs []*node, out *[]segItem) bool {
	alts := make([][]segItem, 0, len(subs))
	for _, sub := range subs {
		var a []segItem
		if !flatten(sub, &a) {
			return appendSpan(n, out)
		}
		for k := range a {
			if a[k].kind == segSpan {
				return appendSpan(n, out)
			}
		}
		alts = append(alts, a)
	}
	*out = append(*out, segItem{kind: segAlt, alts: alts})
	return true
}

// appendSpan makes n one span, if the linear engine can run it.
func appendSpan(n *node, out *[]segItem) bool {
	if fastUnsupported(n) != "" {
		return false
	}
	*out = append(*out, segItem{kind: segSpan, node: n})
	return true
}

// stopTrigger returns a set of ASCII characters such that the prefix
// program p (a span's prefixes, after one lead character when lead) cannot
// take stop, on ASCII text, unless it took one of them first. It starts
// from every character and gives back those without which stop stays out
// of reach (assertions are ignored: reach is over-estimated, so the set is
// safe). It walks p's instructions, without the tables finish builds (4 of
// 10 of the compile of `^%{NGINX_COMBINED}$` for IPORHOST's prefixes):
// each class instruction's set as a mask of ASCII bytes, the bytes in
// classes that every set treats alike, given back a class at a time.
func stopTrigger(p *prog, stop byte, lead bool) *[128]bool {
	type mask [2]uint64
	has := func(m mask, b int) bool { return m[b>>6]&(1<<(b&63)) != 0 }
	masks := make([]mask, len(p.insts))
	var uniq []mask
	bySet := map[*rune]int{} // the copies of a counted repeat share their set's array
	for q := range p.insts {
		in := &p.insts[q]
		if in.op != opClass || len(in.set) == 0 {
			continue
		}
		if k, ok := bySet[&in.set[0]]; ok {
			masks[q] = uniq[k]
			continue
		}
		var m mask
		for b := 0; b < 128; b++ {
			if in.set.has(rune(b)) {
				m[b>>6] |= 1 << (b & 63)
			}
		}
		masks[q] = m
		bySet[&in.set[0]] = len(uniq)
		uniq = append(uniq, m)
	}
	// classes of bytes, numbered in order of their first byte; stop is
	// in one of its own, which is never given back, so that the bytes
	// every set treats as it (IPORHOST: those only an IPv6 zone's .+
	// takes, : among them) may be
	var cls [128]int
	ids := map[string]int{}
	sig := make([]byte, len(uniq)+1)
	for b := 0; b < 128; b++ {
		for k, m := range uniq {
			sig[k] = 0
			if has(m, b) {
				sig[k] = 1
			}
		}
		sig[len(uniq)] = 0
		if b == int(stop) {
			sig[len(uniq)] = 1
		}
		id, ok := ids[string(sig)]
		if !ok {
			id = len(ids)
			ids[string(sig)] = id
		}
		cls[b] = id
	}
	var trig mask // the bytes still in the set
	trig[0], trig[1] = ^uint64(0), ^uint64(0)
	// start: the first instructions, past the lead character
	start := []int{p.start}
	seen := make([]bool, len(p.insts))
	if lead {
		var next []int
		p.walkInsts(start, seen, func(q int) (bool, bool) {
			if p.insts[q].op == opClass {
				next = append(next, p.insts[q].out)
			}
			return false, false
		})
		start = next
	}
	reach := func() bool { // can stop be taken with only the bytes not in trig?
		return p.walkInsts(start, seen, func(q int) (bool, bool) {
			m := masks[q]
			return has(m, int(stop)), m[0]&^trig[0] != 0 || m[1]&^trig[1] != 0
		})
	}
	if reach() {
		// stop right at the start: always run the prefix program
		var all [128]bool
		for b := range all {
			all[b] = true
		}
		return &all
	}
	// The classes are given back nearest the start first (the fewest
	// characters into the span where one is taken), so that the set left
	// is those nearest stop: IPORHOST's is an IPv6 zone's %, where by
	// their first byte it was the : of every IPv6 address, and a tenth of
	// the bench's lines ran the prefix program.
	depth := make([]int, len(ids))
	for id := range depth {
		depth[id] = len(p.insts) // not taken: last
	}
	done := make([]bool, len(p.insts))
	for d, layer := 0, start; len(layer) > 0; d++ {
		var next []int
		p.walkInsts(layer, seen, func(q int) (bool, bool) {
			if p.insts[q].op == opClass && !done[q] {
				done[q] = true
				for b := 0; b < 128; b++ {
					if has(masks[q], b) {
						depth[cls[b]] = min(depth[cls[b]], d)
					}
				}
				next = append(next, p.insts[q].out)
			}
			return false, false
		})
		layer = next
	}
	order := make([]int, len(ids))
	for id := range order {
		order[id] = id
	}
	sort.SliceStable(order, func(a, b int) bool { return depth[order[a]] < depth[order[b]] })
	for _, id := range order {
		if id == cls[stop] {
			continue
		}
		var m mask
		for b := 0; b < 128; b++ {
			if cls[b] == id {
				m[b>>6] |= 1 << (b & 63)
			}
		}
		trig[0] &^= m[0]
		trig[1] &^= m[1]
		if reach() {
			trig[0] |= m[0]
			trig[1] |= m[1]
		}
	}
	var out [128]bool
	for b := range out {
		out[b] = has(trig, b)
	}
	return &out
}

// walkInsts walks p's instructions from starts, each once (seen, cleared
// first), through every instruction that consumes nothing (assertions are
// ignored); at a class instruction or the match, class says whether the
// walk is done (walkInsts then returns true) and whether it goes on past
// it.
func (p *prog) walkInsts(starts []int, seen []bool, class func(q int) (done, past bool)) bool {
	clear(seen)
	stack := append([]int(nil), starts...)
	for len(stack) > 0 {
		q := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[q] {
			continue
		}
		seen[q] = true
		in := &p.insts[q]
		switch in.op {
		case opClass, opMatch:
			done, past := class(q)
			if done {
				return true
			}
			if past {
				stack = append(stack, in.out)
			}
		case opSplit:
			stack = append(stack, in.alts...)
		case opSave, opAssert, opNop:
			stack = append(stack, in.out)
		}
	}
	return false
}

// holdsAny reports whether text has a character of set.
func holdsAny(set *[128]bool, text []byte) bool {
	for _, b := range text {
		if set[b] {
			return true
		}
	}
	return false
}

// repeatItem is a repeat of a class.
func repeatItem(set runeSet, lo, hi int, greedy bool) segItem {
	c := asciiClass(set)
	all := true
	for b, in := range c {
		all = all && (in || b == '\n')
	}
	wide, digits := true, true
	for b := range c {
		wide = wide && (c[b] || b < '!')
		digits = digits && c[b] == (b >= '0' && b <= '9')
	}
	return segItem{kind: segRepeat, class: c, min: lo, max: hi, greedy: greedy, any: all, wide: wide, digits: digits}
}

// asciiClass is set's ASCII part (the engine runs on ASCII lines only).
func asciiClass(set runeSet) *[128]bool {
	var c [128]bool
	for r := range c {
		c[r] = set.has(rune(r))
	}
	return &c
}

func classesDisjoint(a, b *[128]bool) bool {
	for i := range a {
		if a[i] && b[i] {
			return false
		}
	}
	return true
}

func classDisjoint(a *[128]bool, s runeSet) bool {
	for i := range a {
		if a[i] && s.has(rune(i)) {
			return false
		}
	}
	return true
}

// spanChars is every character n may consume.
func spanChars(n *node) runeSet {
	var s runeSet
	contains(n, func(x *node) bool {
		if x.kind == kClass {
			s = s.union(x.set)
		}
		return false
	})
	return s
}

// segMatcher runs segments; one per goroutine (spans keep DFA caches).
type segMatcher struct {
	s     *segments
	spans []*fastMatcher // by span id
	pres  []*fastMatcher
	fwds  []*fwdMatcher
	sub   []int
	last  [][2]verdict // by span id: a capture-free span's last two windows, the latest first
	unset []int        // nslot -1s, copied over the slots a line starts with
}

type verdict struct {
	text      []byte
	ok, valid bool
}

func newSegMatcher(s *segments) *segMatcher {
	m := &segMatcher{s: s, spans: make([]*fastMatcher, len(s.spans)), pres: make([]*fastMatcher, len(s.spans)), fwds: make([]*fwdMatcher, len(s.spans)), sub: make([]int, s.nslot), unset: make([]int, s.nslot), last: make([][2]verdict, len(s.spans))}
	for i := range m.unset {
		m.unset[i] = -1
	}
	shared := map[*prog]*fastMatcher{} // spans of one program share its matcher and its DFA
	for i, it := range s.spans {
		if m.spans[i] = shared[it.sub]; m.spans[i] == nil {
			m.spans[i] = newFastMatcher(it.sub)
			shared[it.sub] = m.spans[i]
		}
		if it.fwd != nil && !it.quoted {
			m.fwds[i] = newFwdMatcher(it.fwd)
		}
	}
	return m
}

// match tries the pattern at position 0 of an ASCII line with no newline,
// taking each item's first choice. decided is false when the linear
// engine must decide (another choice might match, or the line is not of
// that kind); when decided, ok says whether it matched, with slots set.
func (m *segMatcher) match(in []byte, slots []int) (ok, decided bool) {
	if !plainLine(in) {
		return false, false
	}
	// one copy (memmove), not a loop: matching `^%{NGINX_COMBINED}$`
	// 3,148 -> 3,110 instructions a line (ECS HTTPD_COMBINEDLOG 4,141 ->
	// 4,092, legacy 4,064 -> 4,035)
	for i := copy(slots, m.unset); i < len(slots); i++ {
		slots[i] = -1
	}
	ok, _ = m.run(in, 0, m.s.items, slots)
	return ok, ok
}

// run matches items, and the lists its jumps go on to, from pos, taking
// each item's first choice, and each alternative in turn while everything
// since it was forced. On a failure, forced says that every choice since
// run was called was forced, so the caller's next alternative is what a
// backtracking engine tries next; else the line is left to the linear
// engine.
func (m *segMatcher) run(in []byte, pos int, items []segItem, slots []int) (ok, forced bool) {
	det := true // every item so far was forced
walk:
	for {
		for i := range items {
			it := &items[i]
			switch it.kind {
			case segLit:
				if !litAt(in, pos, it.lit, it.litWord, it.litMask) {
					return false, det
				}
				pos += len(it.lit)
			case segAssert:
				if !assertAt(it, in, pos) {
					return false, det
				}
			case segOpen:
				slots[2*it.cap] = pos
				continue // a mark has no post slot (foldMarks) nor then
			case segClose:
				slots[2*it.cap+1] = pos
				continue
			case segRepeat:
				if it.plain {
					end := pos
					if it.max < 0 {
						end = runEnd(it, in, pos)
					} else if pos < len(in) && it.class[in[pos]&0x7f] {
						end++
					}
					if end-pos < it.min {
						return false, det // no choice of it can be followed
					}
					pos = end
				} else if it.upTo {
					k := bytes.IndexByte(in[pos:], it.stopByte)
					if k < 0 {
						return false, det // no choice of it can be followed
					}
					pos += k
				} else {
					end, ok := repeatEnd(it, in, pos)
					if !ok {
						return false, det // no choice of it can be followed
					}
					pos = end
				}
				det = det && it.forced
			case segAlt:
				last := len(it.alts) - 1
				ran := false // an alternative before ran (and set slots)
				for k := range it.alts {
					if b := it.altFirst[k]; b >= 0 && (pos == len(in) || in[pos] != byte(b)) {
						continue // its first literal is not here: it fails, forced
					}
					if ran {
						for _, x := range it.reset {
							slots[x] = -1
						}
					}
					if k == last {
						// The last alternative: nothing is tried after it,
						// so it goes on here (its failure, forced or not,
						// is this run's, as the call below would return).
						items = it.altLists[k]
						continue walk
					}
					ok, f := m.run(in, pos, it.altLists[k], slots)
					if ok || !f {
						return ok, false
					}
					ran = true
				}
				return false, det // every alternative failed, forced
			case segGoto:
				items = it.next
				continue walk
			case segNumber:
				end, ok := numberEnd(in, pos)
				if !ok {
					return false, det // no choice of it can be followed
				}
				pos = end
				det = det && it.forced
			case segSpan:
				end, ok, f := m.span(it, in, pos, slots)
				if !ok {
					return false, det && f
				}
				pos = end
			}
			if it.post != 0 {
				slots[it.post] = pos
			}
			if it.thenMask != 0 {
				if !litAt(in, pos, it.then, it.thenWord, it.thenMask) {
					return false, det
				}
				pos += len(it.then)
				if it.thenPost != 0 {
					slots[it.thenPost] = pos
				}
			}
		}
		break
	}
	slots[0], slots[1] = 0, pos
	return true, true
}

// span checks a span at pos and returns where it ends; on a failure,
// forced says that no other end could do.
func (m *segMatcher) span(it *segItem, in []byte, pos int, slots []int) (end int, ok, forced bool) {
	// The paths that web-log patterns' hot spans (an address, a date) do
	// not take are functions of their own (spanFwd, spanOpen, spanCaps,
	// judge), so that what runs on every line is a few cache lines of
	// code: the walk and the rest of the pipeline share the core's 32 KiB
	// instruction cache. With them inline, span was 4.7 KB of code and
	// took 3.8 of a grok line's 41 instruction-cache misses
	// (`^%{NGINX_COMBINED}$`, cachegrind, 100k lines; the regex pack's
	// line took 6).
	if it.fwd != nil {
		if end, ok, forced, decided := m.spanFwd(it, in, pos, slots); decided {
			return end, ok, forced
		}
	}
	if it.open {
		return m.spanOpen(it, in, pos, slots)
	}
	end = len(in)
	if it.hasStop {
		k := bytes.IndexByte(in[pos:], it.stopByte)
		if k < 0 {
			return 0, false, it.pre == nil
		}
		end = pos + k
	}
	lo, hi := pos, end
	if it.lead {
		if lo == 0 {
			return 0, false, false
		}
		lo--
	}
	if it.trail {
		hi++
	}
	if (it.quad && quadAccepts(in, lo, pos, end, hi)) || (it.ipv6 && ipv6Accepts(in[pos:end])) {
		if it.whole {
			m.setWhole(it, in, pos, end, slots)
		}
		return end, true, true
	}
	if it.pre != nil && holdsAny(it.trigger, in[pos:end]) && m.pre(it.id).accepts(in[lo:hi]) {
		return 0, false, false // it could go on past the separator
	}
	if len(it.caps) > 0 && !it.whole {
		return m.spanCaps(it, in, lo, hi, end, slots)
	}
	if it.whole && wholeLit(it, in[pos:end]) {
		// ECS's - user: its literal, without the window's verdict
		// (about 70 instructions each less)
		return end, true, true
	}
	// Consecutive lines often repeat a field (the same second of a
	// timestamp), or one of two (legacy's user, - or a name): the last
	// two windows' verdicts are kept.
	w := in[lo:hi]
	vs := &m.last[it.id]
	if !vs[0].valid || string(vs[0].text) != string(w) {
		m.judge(vs, it.id, w)
	}
	if !vs[0].ok {
		return 0, false, true
	}
	if it.whole {
		c := it.caps[0] // not a literal (above): the whole text
		slots[2*c], slots[2*c+1] = pos, end
	}
	return end, true, true
}

// judge makes vs[0] the verdict of span i on window w: the one kept in
// vs[1] if it is w's, else the DFA's, kept in its place.
func (m *segMatcher) judge(vs *[2]verdict, i int, w []byte) {
	if !vs[1].valid || string(vs[1].text) != string(w) {
		vs[1].ok = m.spans[i].accepts(w)
		vs[1].text = append(vs[1].text[:0], w...)
		vs[1].valid = true
	}
	vs[0], vs[1] = vs[1], vs[0]
}

// spanFwd checks a span that has a forward DFA (fwd): a quoted string,
// or a span that may hold its separator or ends the pattern. decided is
// false when the window's check (span, below it) is to decide: the span
// cannot reach past its first separator.
func (m *segMatcher) spanFwd(it *segItem, in []byte, pos int, slots []int) (end int, ok, forced, decided bool) {
	// A quoted string: its ends, found in one pass, are one at most, its
	// only choice. (Where it finds more, which first is for the linear
	// engine to say.)
	var found, more bool
	if it.quoted {
		end, found = quotedEnd(in, pos)
	} else {
		if !it.open {
			if k := bytes.IndexByte(in[pos:], it.stopByte); k >= 0 && !holdsAny(it.trigger, in[pos:pos+k]) {
				return 0, false, false, false // it cannot reach past its first separator
			}
		}
		end, found, more = m.fwds[it.id].ends(in, pos)
	}
	switch {
	case more:
		return 0, false, false, true
	case !found:
		return 0, false, true, true
	}
	if it.whole {
		m.setWhole(it, in, pos, end, slots)
	}
	return end, true, true, true
}

// spanOpen checks a span last in the pattern, with no $ after it: its
// matcher finds where it ends.
func (m *segMatcher) spanOpen(it *segItem, in []byte, pos int, slots []int) (end int, ok, forced bool) {
	lo := pos
	if it.lead {
		if lo == 0 {
			return 0, false, false
		}
		lo--
	}
	if !m.spans[it.id].match(in[lo:], m.sub) {
		return 0, false, true
	}
	m.setCaps(it, lo, slots)
	return m.sub[1] + lo, true, true
}

// spanCaps checks a span with captures on its window in[lo:hi], which
// ends at end, and sets them.
func (m *segMatcher) spanCaps(it *segItem, in []byte, lo, hi, end int, slots []int) (int, bool, bool) {
	if !m.spans[it.id].match(in[lo:hi], m.sub) {
		return 0, false, true
	}
	m.setCaps(it, lo, slots)
	return end, true, true
}

// setCaps sets the span's captures from its matcher's, found on a window
// that starts at lo.
func (m *segMatcher) setCaps(it *segItem, lo int, slots []int) {
	for _, c := range it.caps {
		if m.sub[2*c] >= 0 {
			slots[2*c], slots[2*c+1] = m.sub[2*c]+lo, m.sub[2*c+1]+lo
		}
	}
}

// pre returns the matcher of span i's prefix program, made on first use,
// its tables built then (once for every matcher): IPORHOST's, an IPv6
// zone's, is the largest program of `^%{NGINX_COMBINED}$` (2,200
// instructions), and runs only on a window with a %.
func (m *segMatcher) pre(i int) *fastMatcher {
	if m.pres[i] == nil {
		p := m.s.spans[i].pre
		m.s.preOnce[i].Do(func() { _, _ = p.finish() }) // it cannot fail: compilePrefixProg checked its size
		m.pres[i] = newFastMatcher(p)
	}
	return m.pres[i]
}

// plainLine reports whether in is ASCII with no newline (the lines the
// segment engine runs on): the newline found by bytes.IndexByte (SIMD),
// the high bits by lines.ASCII, 32 bytes a turn, as the tailer checks
// every line. Both passes take about 150 instructions on the bench's
// 190-byte lines, where one pass of 16 bytes a turn doing both took 580.
func plainLine(in []byte) bool {
	return bytes.IndexByte(in, '\n') < 0 && lines.ASCII(in)
}

// repeatEnd is where a repeat's first choice ends.
func repeatEnd(it *segItem, in []byte, pos int) (int, bool) {
	limit := len(in)
	if it.max >= 0 && pos+it.max < limit {
		limit = pos + it.max
	}
	if !it.greedy && it.hasStop && !it.disjoint {
		// Lazy, before a literal its class may hold: the first place of
		// that literal's first byte at or past min, if the run reaches it.
		from := pos + it.min
		if from > limit {
			return 0, false
		}
		k := bytes.IndexByte(in[from:min(limit+1, len(in))], it.stopByte)
		if k < 0 {
			return 0, false
		}
		if !it.any {
			for _, b := range in[pos : from+k] {
				if !it.class[b] {
					return 0, false
				}
			}
		}
		return from + k, true
	}
	run := limit
	if !it.any {
		run = runEnd(it, in[:limit], pos)
	}
	if run-pos < it.min {
		return 0, false
	}
	if it.disjoint || !it.hasStop {
		if !it.greedy && !it.disjoint {
			return 0, false
		}
		return run, true
	}
	// The next literal's first byte is in the class: the greedy choice is
	// its last place in [pos+min, run], the lazy one its first.
	from := pos + it.min
	to := min(run+1, len(in))
	if from > to {
		return 0, false
	}
	var k int
	if it.greedy {
		k = bytes.LastIndexByte(in[from:to], it.stopByte)
	} else {
		k = bytes.IndexByte(in[from:to], it.stopByte)
	}
	if k < 0 {
		return 0, false
	}
	return from + k, true
}

// runEnd is where the run of a repeat's class from pos stops in an ASCII
// line: a wide class's run goes on first through eight bytes at a time
// (wideRun), then byte by byte. The walk's runs are mostly of a few bytes
// (a method, a status, a size): without the slice of the line from pos
// the old loops took, `^%{NGINX_COMBINED}$`'s matching 3,232 -> 3,148
// instructions a line (ECS HTTPD_COMBINEDLOG 4,187 -> 4,132, legacy 4,093
// -> 4,064, BenchmarkGrokMatchers under callgrind). Inlined in the walk
// (without c, below), it took 3,181: the walk spills more.
func runEnd(it *segItem, in []byte, pos int) int {
	i := pos
	if it.wide {
		i = wideRun(in, pos)
	} else if it.digits {
		return digitRun(in, pos)
	}
	c := it.class
	for i < len(in) && c[in[i]&0x7f] { // ASCII: the mask only drops a bounds check
		i++
	}
	return i
}

// wideRun is where a wide class's run from pos may stop: past the bytes
// of the words of eight none of which is below '!' (the first such byte
// is the lowest flagged one of the word test: a borrow only carries
// upwards).
func wideRun(in []byte, pos int) int {
	i := pos
	for ; i+8 <= len(in); i += 8 {
		x := binary.LittleEndian.Uint64(in[i:])
		if t := (x - 0x2121212121212121) &^ x & 0x8080808080808080; t != 0 {
			return i + bits.TrailingZeros64(t)>>3
		}
	}
	return i
}

// digitRun is where a run of [0-9] from pos ends: the first byte of a
// word of eight that is not a digit, flagged by its high bit (x-'0'
// borrows below '0', x+0x46 carries past '9' and wraps past 0xb9, where
// x-'0' flags it; a borrow or carry only moves a flag upwards, past the
// lowest one), then a byte at a time for the last seven bytes. A status
// or a size ends in the first word, without the mispredicted exit of a
// loop a byte. BASE10NUM's body (numberEnd) runs its digits here too.
func digitRun(in []byte, pos int) int {
	i := pos
	for ; i+8 <= len(in); i += 8 {
		x := binary.LittleEndian.Uint64(in[i:])
		if t := ((x + 0x4646464646464646) | (x - 0x3030303030303030)) & 0x8080808080808080; t != 0 {
			return i + bits.TrailingZeros64(t)>>3
		}
	}
	for i < len(in) && in[i]-'0' <= 9 {
		i++
	}
	return i
}

// wordBytes are \w's characters, ASCII as Ruby's.
var wordBytes = func() (t [128]bool) {
	for b := range t {
		t[b] = b == '_' || (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
	}
	return t
}()

// assertAt checks an assertion at pos of an ASCII line with no newline.
func assertAt(it *segItem, in []byte, pos int) bool {
	switch it.at {
	case aBOL, aBOT:
		return pos == 0
	case aEOL, aEOT, aEOTZ:
		return pos == len(in)
	case aWordB, aNWordB:
		// the word test only here, by a table: the anchors, on every
		// line, took about 30 instructions each with it
		prevWord, nextWord := pos > 0 && wordBytes[in[pos-1]&0x7f], pos < len(in) && wordBytes[in[pos]&0x7f]
		return (prevWord != nextWord) == (it.at == aWordB)
	case aPrevIn:
		return pos > 0 && it.class[in[pos-1]&0x7f]
	case aPrevNotIn:
		return pos == 0 || !it.class[in[pos-1]&0x7f]
	case aNextIn:
		return pos < len(in) && it.class[in[pos]&0x7f]
	case aNextNotIn:
		return pos == len(in) || !it.class[in[pos]&0x7f]
	}
	return false
}
