package grok

// Rewrites that keep a pattern's meaning and take it to the fast engine:
//
//   - a lookaround of one character, (?<![0-9]) or (?![0-9]), becomes an
//     assertion on the character before or after the position, which the
//     fast engine checks as it checks \b;
//   - a longer lookaround whose outcome the pattern around it decides is
//     dropped (always true) or becomes a failure: (?!<[0-9]) before a digit;
//   - an atomic group (?>X) is dropped (X is kept as a plain group) when no
//     backtracking into X could change the match: X has one end from any
//     start (its language is prefix-free); or X is deterministic and greedy
//     (its first match is its longest) and what follows cannot start with a
//     character that would extend X; or what follows always matches the
//     empty string; or it is a loop of disjoint tokens ((?>\\.|[^\\"]+)+)
//     followed by a character that no run can hold.
//
// What is left (backreferences, possessive repetition, other lookarounds
// and atomic groups) runs on the backtracking engine.

type follow struct {
	first    runeSet // characters that can start what follows (over-approximated)
	nullable bool    // what follows may match the empty string
	sure     bool    // what follows always matches the empty string, with no assertion
}

var endOfPattern = follow{nullable: true, sure: true}

// firstOf returns the characters that can start a match of n, and whether
// n can match the empty string (assertions are taken as passing, so both
// over-approximate).
func firstOf(n *node) (runeSet, bool) {
	switch n.kind {
	case kClass:
		return n.set, false
	case kEmpty, kAssert, kLook:
		return nil, true
	case kFail:
		return nil, false
	case kBackref:
		return setAny, true
	case kConcat:
		var s runeSet
		for _, c := range n.subs {
			f, null := firstOf(c)
			s = s.union(f)
			if !null {
				return s, false
			}
		}
		return s, true
	case kAlt:
		var s runeSet
		null := false
		for _, c := range n.subs {
			f, nl := firstOf(c)
			s = s.union(f)
			null = null || nl
		}
		return s, null
	case kRepeat:
		f, null := firstOf(n.subs[0])
		return f, null || n.min == 0
	case kGroup, kAtomic:
		return firstOf(n.subs[0])
	}
	return setAny, true
}

// surelyEmpty reports whether n always has a way to match the empty
// string that no assertion can block.
func surelyEmpty(n *node) bool {
	switch n.kind {
	case kEmpty:
		return true
	case kConcat:
		for _, c := range n.subs {
			if !surelyEmpty(c) {
				return false
			}
		}
		return true
	case kAlt:
		for _, c := range n.subs {
			if surelyEmpty(c) {
				return true
			}
		}
		return false
	case kRepeat:
		return n.min == 0 || surelyEmpty(n.subs[0])
	case kGroup, kAtomic:
		return surelyEmpty(n.subs[0])
	}
	return false
}

// then returns the follow of "n, then f".
func then(n *node, f follow) follow {
	first, null := firstOf(n)
	if !null {
		return follow{first: first}
	}
	return follow{first: first.union(f.first), nullable: f.nullable, sure: f.sure && surelyEmpty(n)}
}

// rewrite applies the rewrites to n, whose continuation is f.
func rewrite(n *node, f follow) *node {
	switch n.kind {
	case kConcat:
		subs := append([]*node(nil), n.subs...)
		// right to left, so each element knows what follows it
		for i := len(subs) - 1; i >= 0; i-- {
			fi := f
			for j := len(subs) - 1; j > i; j-- {
				fi = then(subs[j], fi)
			}
			subs[i] = rewrite(subs[i], fi)
		}
		// lookarounds decided by their neighbours
		for i, s := range subs {
			if s.kind != kLook {
				continue
			}
			if v, ok := decideLook(s, subs[:i], subs[i+1:], f); ok {
				if v {
					subs[i] = &node{kind: kEmpty}
				} else {
					subs[i] = &node{kind: kFail}
				}
			}
		}
		return &node{kind: kConcat, subs: subs}
	case kAlt:
		subs := make([]*node, len(n.subs))
		for i, s := range n.subs {
			subs[i] = rewrite(s, f)
		}
		return &node{kind: kAlt, subs: subs}
	case kGroup:
		c := *n
		c.subs = []*node{rewrite(n.subs[0], f)}
		return &c
	case kRepeat:
		c := *n
		body := n.subs[0]
		// the body is followed by another turn or by f
		bf := f
		if first, _ := firstOf(body); true {
			bf = follow{first: first.union(f.first), nullable: f.nullable, sure: false}
		}
		if a := loopAtomic(n, f); a != nil {
			c.subs = []*node{rewrite(a, bf)}
			return &c
		}
		c.subs = []*node{rewrite(body, bf)}
		if c.possessive && atomicDroppable(c.subs[0], f, &c) {
			c.possessive = false
		}
		return &c
	case kAtomic:
		body := rewrite(n.subs[0], f)
		if atomicDroppable(body, f, nil) {
			return &node{kind: kGroup, subs: []*node{body}}
		}
		return &node{kind: kAtomic, subs: []*node{body}}
	case kLook:
		if s, ok := oneChar(n.subs[0]); ok {
			at := map[[2]bool]assertion{{false, false}: aNextIn, {false, true}: aNextNotIn, {true, false}: aPrevIn, {true, true}: aPrevNotIn}[[2]bool{n.behind, n.neg}]
			return &node{kind: kAssert, at: at, set: s}
		}
		return n
	}
	return n
}

// oneChar reports whether n matches exactly one character, of set s, with
// no capture.
func oneChar(n *node) (runeSet, bool) {
	switch n.kind {
	case kClass:
		return n.set, true
	case kGroup:
		if n.name == "" {
			return oneChar(n.subs[0])
		}
	case kAtomic:
		return oneChar(n.subs[0])
	case kAlt:
		var s runeSet
		for _, c := range n.subs {
			cs, ok := oneChar(c)
			if !ok {
				return nil, false
			}
			s = s.union(cs)
		}
		return s, true
	case kConcat:
		if len(n.subs) == 1 {
			return oneChar(n.subs[0])
		}
	}
	return nil, false
}

// literalSeq returns the sets of a pattern made of single characters in a
// row, such as "{ " or \d-.
func literalSeq(n *node) ([]runeSet, bool) {
	switch n.kind {
	case kClass:
		return []runeSet{n.set}, true
	case kGroup:
		if n.name == "" {
			return literalSeq(n.subs[0])
		}
	case kConcat:
		var out []runeSet
		for _, c := range n.subs {
			s, ok := literalSeq(c)
			if !ok {
				return nil, false
			}
			out = append(out, s...)
		}
		return out, true
	}
	return nil, false
}

// decideLook decides a lookaround from the elements before and after it,
// when they fix its outcome.
func decideLook(l *node, before, after []*node, f follow) (value, ok bool) {
	if hasCapture(l.subs[0]) {
		return false, false
	}
	if !l.behind {
		rest := f
		for j := len(after) - 1; j >= 0; j-- {
			rest = then(after[j], rest)
		}
		lf, lnull := firstOf(l.subs[0])
		if !rest.nullable && !lnull && lf.disjoint(rest.first) {
			// the body cannot match where the rest must start
			return l.neg, true
		}
		return false, false
	}
	seq, ok := literalSeq(l.subs[0])
	if !ok || len(seq) > len(before) {
		return false, false
	}
	all := true
	for k := 1; k <= len(seq); k++ {
		prev, ok := oneChar(before[len(before)-k])
		if !ok {
			return false, false
		}
		want := seq[len(seq)-k]
		if prev.disjoint(want) {
			return l.neg, true
		}
		if !prev.subsetOf(want) {
			all = false
		}
	}
	if all {
		return !l.neg, true
	}
	return false, false
}

func hasCapture(n *node) bool {
	if n.kind == kGroup && n.name != "" {
		return true
	}
	for _, s := range n.subs {
		if hasCapture(s) {
			return true
		}
	}
	return false
}

func contains(n *node, pred func(*node) bool) bool {
	if pred(n) {
		return true
	}
	for _, s := range n.subs {
		if contains(s, pred) {
			return true
		}
	}
	return false
}

// atomicDroppable reports whether (?>body) means body where f follows.
// rep is set for a possessive repetition (body is then its repeated part).
func atomicDroppable(body *node, f follow, rep *node) bool {
	x := body
	if rep != nil {
		c := *rep
		c.possessive = false
		c.subs = []*node{body}
		x = &c
	}
	if contains(x, func(n *node) bool {
		return n.kind == kAtomic || n.kind == kLook || n.kind == kBackref || (n.kind == kRepeat && n.possessive)
	}) {
		return false
	}
	if f.sure {
		return true // what follows always matches: nothing backtracks into X
	}
	p, err := compileProg(x, 0, true)
	if err != nil {
		return false
	}
	if p.prefixFree() {
		return true
	}
	_, _ = p.finish() // it cannot fail: compileProg checked its size
	if ext, ok := p.greedyExtension(); ok && !f.nullable && ext.disjoint(f.first) {
		return true
	}
	return false
}

// loopAtomic handles (?:(?>A|B+|...))+ followed by f: when the branches
// start with different characters, each is prefix-free or a greedy run of
// one class, and no run's class can start f, the atomic group changes
// nothing. It returns the loop's body without the atomic group, or nil.
func loopAtomic(r *node, f follow) *node {
	if !r.greedy || r.max >= 0 || r.possessive || f.nullable {
		return nil
	}
	b := r.subs[0]
	for b.kind == kGroup && b.name == "" {
		b = b.subs[0]
	}
	if b.kind != kAtomic {
		return nil
	}
	inner := b.subs[0]
	branches := []*node{inner}
	if inner.kind == kAlt {
		branches = inner.subs
	}
	var seen runeSet
	for _, br := range branches {
		first, null := firstOf(br)
		if null || !first.disjoint(seen) {
			return nil
		}
		seen = seen.union(first)
		if contains(br, func(n *node) bool {
			return n.kind == kAtomic || n.kind == kLook || n.kind == kBackref || n.kind == kAssert || (n.kind == kRepeat && n.possessive)
		}) {
			return nil
		}
		if br.kind == kRepeat && br.greedy && br.max < 0 && br.min <= 1 {
			if s, ok := oneChar(br.subs[0]); ok {
				if !s.disjoint(f.first) {
					return nil
				}
				continue
			}
		}
		p, err := compileProg(br, 0, true)
		if err != nil || !p.prefixFree() {
			return nil
		}
	}
	return &node{kind: kGroup, subs: []*node{inner}}
}

// prefixFree reports whether no match of the (anchored) program is a
// proper prefix of another: from any start, a match has one end. It
// explores the subset automaton, up to a bound (then it says no). It needs
// the program's classes only: the ends of the ways from a step are found
// when the exploration gets there (IPORHOST's, 1,300 instructions, is
// decided in two steps, where building every way was a tenth of the
// compile of `^%{NGINX_COMBINED}$`).
func (p *prog) prefixFree() bool {
	if p.accept == nil {
		p.classes()
	}
	type set = string
	seen := make([]bool, len(p.insts))
	memo := map[int][]int{}
	ends := func(pc int) []int { // the class instructions, and -1 for the match, that pc's ways end at
		t, ok := memo[pc]
		if !ok {
			p.walkInsts([]int{pc}, seen, func(q int) (bool, bool) {
				if p.insts[q].op == opMatch {
					q = -1
				}
				t = append(t, q)
				return false, false
			})
			memo[pc] = t
		}
		return t
	}
	key := func(ends []int) (string, []int) {
		var ids []int
		seen := map[int]bool{}
		for _, to := range ends {
			if !seen[to] {
				seen[to] = true
				ids = append(ids, to)
			}
		}
		b := make([]byte, 0, 4*len(ids))
		for _, id := range sortedInts(ids) {
			b = append(b, byte(id), byte(id>>8), byte(id>>16), byte(id>>24))
		}
		return string(b), ids
	}
	k0, ids0 := key(ends(p.start))
	queue := [][]int{ids0}
	visited := map[set]bool{k0: true}
	for len(queue) > 0 {
		if len(visited) > 2000 {
			return false
		}
		ids := queue[0]
		queue = queue[1:]
		accepting, consuming := false, false
		for _, id := range ids {
			if id < 0 {
				accepting = true
			} else {
				consuming = true
			}
		}
		if accepting && consuming {
			return false // a match here, and a way to go on
		}
		for cl := 0; cl < p.ncls; cl++ {
			var next []int
			for _, id := range ids {
				if id >= 0 && p.accept[id][cl] {
					next = append(next, ends(p.insts[id].out)...)
				}
			}
			if len(next) == 0 {
				continue
			}
			k, nids := key(next)
			if !visited[k] {
				visited[k] = true
				queue = append(queue, nids)
			}
		}
	}
	return true
}

// greedyExtension reports whether the program's first match is always its
// longest (at every choice the ways that consume start with different
// characters and the end of the match comes last), and returns the
// characters that can extend a match.
func (p *prog) greedyExtension() (runeSet, bool) {
	var ext runeSet
	check := func(ws []way) bool {
		var seen runeSet
		for i, w := range ws {
			if len(w.asserts) > 0 {
				return false
			}
			if w.to < 0 {
				if i != len(ws)-1 {
					return false
				}
				for _, o := range ws[:i] {
					ext = ext.union(p.insts[o.to].set)
				}
				continue
			}
			s := p.insts[w.to].set
			if !s.disjoint(seen) {
				return false
			}
			seen = seen.union(s)
		}
		return true
	}
	if !check(p.first) {
		return nil, false
	}
	for i, ws := range p.ways {
		if p.insts[i].op == opClass && !check(ws) {
			return nil, false
		}
	}
	return ext, true
}

func sortedInts(a []int) []int {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	return a
}

// fastUnsupported names the first construct the fast engine cannot run,
// or "".
func fastUnsupported(n *node) string {
	var why string
	contains(n, func(n *node) bool {
		switch {
		case n.kind == kAtomic:
			why = "an atomic group (?>...) whose backtracking matters here"
		case n.kind == kLook:
			why = "a lookaround of more than one character"
		case n.kind == kBackref:
			why = "a backreference"
		case n.kind == kRepeat && n.possessive:
			why = "a possessive repetition"
		case n.kind == kAssert && n.at == aEOTZ:
			why = `\Z`
		}
		return why != ""
	})
	return why
}

// printedRewritten is text parsed, rewritten as at a pattern's end,
// without the groups around it, and printed: how a span's node prints
// when it is text. The fast paths for Logstash's building blocks (IPV4 in
// quad.go, IPV6 in ipv6.go, QUOTEDSTRING in quoted.go, BASE10NUM's body
// in number.go) recognise a node by comparing its print with their text's.
func printedRewritten(text string) string {
	n, _, err := parse(text)
	if err != nil {
		panic(err)
	}
	s, err := printNode(ungroup(rewrite(n, endOfPattern)), dialectNET)
	if err != nil {
		panic(err)
	}
	return s
}

// ungroup is n without the groups around it.
func ungroup(n *node) *node {
	for n.kind == kGroup || (n.kind == kConcat && len(n.subs) == 1) {
		n = n.subs[0]
	}
	return n
}
