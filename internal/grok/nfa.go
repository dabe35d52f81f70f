package grok

import (
	"errors"
	"fmt"
	"sort"
)

// The fast engine. A pattern (after the rewrites of rewrite.go: no atomic
// group, no lookaround longer than one character, no backreference) is
// compiled to an NFA whose epsilon moves are precomputed: for each
// character step, the ordered list of ways to reach the next character
// step (or the end of the match), with the assertions to check and the
// capture slots to set on the way. The order is the backtracking order, so
// the first way that can still lead to a match is the one a backtracking
// engine (Oniguruma, .NET, Perl) would take.
//
// Matching is two passes over the line (Frisch and Cardelli's greedy
// matching): a right-to-left pass computes, at every position, the set of
// steps from which the rest of the line can still complete a match (a lazy
// DFA over those sets: one table lookup per character once warm); then a
// left-to-right pass follows the single path that a backtracking engine
// would find, taking at each choice the first way that the first pass
// marked viable. No backtracking, linear time, and the same captures as a
// backtracking engine.

type op uint8

const (
	opClass  op = iota // consume one character in cls
	opSplit            // continue at alts, in order
	opSave             // capture slot
	opAssert           // check at
	opMatch
	opNop
)

type inst struct {
	op   op
	out  int
	alts []int
	set  runeSet // opClass; opAssert with a set
	slot int
	at   assertion
}

// way is one epsilon path from a step: the assertions it passes, the slots
// it sets, and where it ends (a class instruction, or -1: the match).
type way struct {
	asserts []int // indexes into prog.asserts
	slots   []int
	to      int
	acc     []bool // accept[to]
}

type prog struct {
	insts   []inst
	start   int
	nslots  int
	asserts []assertCheck

	// Classes of characters: every character is mapped to the class of
	// characters that every set of the pattern treats alike.
	ascii   [128]uint16
	bounds  []rune   // non-ASCII: sorted starts of ranges, ...
	boundCl []uint16 // ... and their classes
	ncls    int
	ctxOf   []uint8 // class -> context (what assertions see)
	nctx    int     // contexts, plus ctxEdge (start or end of text) = nctx
	ctxRep  []rune  // a character of each context

	accept [][]bool // accept[inst][class] for class instructions
	ways   [][]way  // ways[inst] for class instructions, ways after consuming
	first  []way    // ways from the start

	// asserts evaluated per (prevCtx, nextCtx): holds[a][prev*(nctx+1)+next]
	holds [][]bool

	// The ways backwards, for the right-to-left pass: ending are the
	// class instructions with a way that ends the match, and the class
	// instructions with a way to t are intoList[intoStart[t]:intoStart[t+1]].
	ending              []int32
	intoStart, intoList []int32
}

type assertCheck struct {
	at  assertion
	set runeSet
}

const maxInsts = 60000

type compiler struct {
	p *prog
	// prefix: compile the prefixes of the pattern (see compilePrefixProg):
	// before each character, the text may end (zend), and assertions are
	// dropped.
	prefix bool
	zend   int
}

func (c *compiler) emit(i inst) int {
	c.p.insts = append(c.p.insts, i)
	return len(c.p.insts) - 1
}

// compileNode appends the instructions of n so that they continue at next;
// it returns the entry.
func (c *compiler) compileNode(n *node, next int) (int, error) {
	if len(c.p.insts) > maxInsts {
		return 0, fmt.Errorf("pattern too large for the fast engine")
	}
	switch n.kind {
	case kClass:
		cls := c.emit(inst{op: opClass, set: n.set, out: next})
		if c.prefix {
			return c.emit(inst{op: opSplit, alts: []int{cls, c.zend}}), nil
		}
		return cls, nil
	case kEmpty:
		return next, nil
	case kFail:
		return c.emit(inst{op: opSplit}), nil
	case kConcat:
		at := next
		for i := len(n.subs) - 1; i >= 0; i-- {
			e, err := c.compileNode(n.subs[i], at)
			if err != nil {
				return 0, err
			}
			at = e
		}
		return at, nil
	case kAlt:
		alts := make([]int, len(n.subs))
		for i, s := range n.subs {
			e, err := c.compileNode(s, next)
			if err != nil {
				return 0, err
			}
			alts[i] = e
		}
		return c.emit(inst{op: opSplit, alts: alts}), nil
	case kGroup:
		if n.name == "" {
			return c.compileNode(n.subs[0], next)
		}
		end := c.emit(inst{op: opSave, slot: 2*n.cap + 1, out: next})
		body, err := c.compileNode(n.subs[0], end)
		if err != nil {
			return 0, err
		}
		return c.emit(inst{op: opSave, slot: 2 * n.cap, out: body}), nil
	case kAssert:
		if c.prefix {
			return next, nil
		}
		return c.emit(inst{op: opAssert, at: n.at, set: n.set, out: next}), nil
	case kRepeat:
		return c.repeat(n, next)
	}
	return 0, fmt.Errorf("construct not supported by the fast engine")
}

func (c *compiler) repeat(n *node, next int) (int, error) {
	if n.possessive {
		return 0, fmt.Errorf("possessive repetition not supported by the fast engine")
	}
	sub := n.subs[0]
	split := func(body, exit int) inst {
		if n.greedy {
			return inst{op: opSplit, alts: []int{body, exit}}
		}
		return inst{op: opSplit, alts: []int{exit, body}}
	}
	at := next
	if n.max < 0 {
		// X*: a loop
		loop := c.emit(inst{op: opSplit})
		body, err := c.compileNode(sub, loop)
		if err != nil {
			return 0, err
		}
		c.p.insts[loop] = split(body, next)
		at = loop
	} else {
		// X{0,2} = (?:X(?:X)?)?: each optional copy exits to the continuation.
		for i := n.min; i < n.max; i++ {
			body, err := c.compileNode(sub, at)
			if err != nil {
				return 0, err
			}
			at = c.emit(split(body, next))
		}
	}
	for i := 0; i < n.min; i++ {
		e, err := c.compileNode(sub, at)
		if err != nil {
			return 0, err
		}
		at = e
	}
	return at, nil
}

func newProg(n *node, ncap int, anchored bool) (*prog, error) {
	p, err := compileProg(n, ncap, anchored)
	if err != nil {
		return nil, err
	}
	return p.finish()
}

// compileProg compiles n's instructions, without the tables that finish
// builds: it fails exactly when newProg would, and finish then cannot.
func compileProg(n *node, ncap int, anchored bool) (*prog, error) {
	p := &prog{nslots: 2 * (ncap + 1)}
	c := &compiler{p: p}
	match := c.emit(inst{op: opMatch})
	end := c.emit(inst{op: opSave, slot: 1, out: match})
	body, err := c.compileNode(n, end)
	if err != nil {
		return nil, err
	}
	start := c.emit(inst{op: opSave, slot: 0, out: body})
	if !anchored {
		// (?s:.*?) before the pattern: the leftmost match.
		loop := c.emit(inst{op: opSplit})
		any := c.emit(inst{op: opClass, set: setAny, out: loop})
		c.p.insts[loop].alts = []int{start, any}
		start = loop
	}
	p.start = start
	if len(p.insts) > maxInsts {
		return nil, errTooLarge
	}
	return p, nil
}

var errTooLarge = errors.New("pattern too large for the fast engine")

// finish builds the tables of a compiled program.
func (p *prog) finish() (*prog, error) {
	if len(p.insts) > maxInsts {
		return nil, errTooLarge
	}
	if p.accept == nil { // prefixFree may have built them
		p.classes()
	}
	p.closures()
	p.insts = append([]inst(nil), p.insts...) // the room append left is dropped
	return p, nil
}

// compilePrefixProg compiles a program that matches, anchored at both
// ends, one character (when lead) followed by a prefix of a string n
// matches, or by a whole one. Assertions in n are dropped, so it may match
// a little more than that: it answers "could n go on past this text?", and
// a yes that should have been a no only costs a slower path. Its tables
// are left to finish, as compileProg's.
func compilePrefixProg(n *node, ncap int, lead bool) (*prog, error) {
	p := &prog{nslots: 2 * (ncap + 1)}
	c := &compiler{p: p}
	match := c.emit(inst{op: opMatch})
	end := c.emit(inst{op: opSave, slot: 1, out: match})
	c.zend = c.emit(inst{op: opAssert, at: aEOT, out: end})
	c.prefix = true
	body, err := c.compileNode(n, c.zend)
	if err != nil {
		return nil, err
	}
	c.prefix = false
	if lead {
		body = c.emit(inst{op: opClass, set: setAny, out: body})
	}
	p.start = c.emit(inst{op: opSave, slot: 0, out: body})
	if len(p.insts) > maxInsts {
		return nil, errTooLarge
	}
	return p, nil
}

// classes partitions the characters by how the pattern's sets treat them.
func (p *prog) classes() {
	var sets []runeSet
	var ctxSets []runeSet
	for _, in := range p.insts {
		if in.op == opClass {
			sets = append(sets, in.set)
		}
		if in.op == opAssert {
			switch in.at {
			case aWordB, aNWordB:
				ctxSets = append(ctxSets, setWord)
			case aBOL, aEOL, aEOTZ:
				ctxSets = append(ctxSets, runeSet{'\n', '\n'})
			case aPrevIn, aPrevNotIn, aNextIn, aNextNotIn:
				ctxSets = append(ctxSets, in.set)
			}
		}
	}
	ctxSets = uniqSets(ctxSets)
	all := append(uniqSets(sets), ctxSets...)
	// boundaries
	bset := map[rune]bool{0: true}
	for _, s := range all {
		for i := 0; i < len(s); i += 2 {
			bset[s[i]] = true
			if s[i+1] < maxRune {
				bset[s[i+1]+1] = true
			}
		}
	}
	for r := rune(0); r <= 128; r++ {
		bset[r] = true
	}
	starts := make([]rune, 0, len(bset))
	for r := range bset {
		starts = append(starts, r)
	}
	sort.Slice(starts, func(a, b int) bool { return starts[a] < starts[b] })
	sig := func(r rune) string {
		b := make([]byte, (len(all)+7)/8)
		for i, s := range all {
			if s.has(r) {
				b[i/8] |= 1 << (i % 8)
			}
		}
		return string(b)
	}
	ids := map[string]uint16{}
	classOf := func(r rune) uint16 {
		k := sig(r)
		id, ok := ids[k]
		if !ok {
			id = uint16(len(ids))
			ids[k] = id
		}
		return id
	}
	// rep is a character of each class, by class number (they are
	// numbered densely in order of first sight).
	var rep []rune
	for _, r := range starts {
		id := classOf(r)
		if int(id) == len(rep) {
			rep = append(rep, r)
		}
		if r < 128 {
			continue
		}
		p.bounds = append(p.bounds, r)
		p.boundCl = append(p.boundCl, id)
	}
	for r := rune(0); r < 128; r++ {
		p.ascii[r] = classOf(r)
		if int(p.ascii[r]) == len(rep) {
			rep = append(rep, r)
		}
	}
	p.ncls = len(ids)
	// accept tables, one for the instructions of one set (a counted
	// repeat's copies: EMAILLOCALPART's {1,62} has thousands)
	p.accept = make([][]bool, len(p.insts))
	tables := map[string][]bool{}
	key := make([]byte, p.ncls)
	// The copies of a counted repeat share their set's array: its table
	// is looked up once for all (ECS's HTTPD_COMBINEDLOG has 4,000 class
	// instructions and a few dozen sets).
	type setID struct {
		first *rune
		n     int
	}
	bySet := map[setID][]bool{}
	for i, in := range p.insts {
		if in.op != opClass {
			continue
		}
		var id setID
		if len(in.set) > 0 {
			id = setID{&in.set[0], len(in.set)}
			if a, ok := bySet[id]; ok {
				p.accept[i] = a
				continue
			}
		}
		for cl, r := range rep {
			key[cl] = 0
			if in.set.has(r) {
				key[cl] = 1
			}
		}
		a, ok := tables[string(key)]
		if !ok {
			a = make([]bool, p.ncls)
			for cl, k := range key {
				a[cl] = k == 1
			}
			tables[string(key)] = a
		}
		if id.first != nil {
			bySet[id] = a
		}
		p.accept[i] = a
	}
	// contexts
	cids := map[string]uint8{}
	p.ctxOf = make([]uint8, p.ncls)
	for cl := 0; cl < p.ncls; cl++ {
		r := rep[cl]
		b := make([]byte, len(ctxSets))
		for i, s := range ctxSets {
			if s.has(r) {
				b[i] = 1
			}
		}
		id, ok := cids[string(b)]
		if !ok {
			id = uint8(len(cids))
			cids[string(b)] = id
		}
		p.ctxOf[cl] = id
	}
	p.nctx = len(cids)
	ctxRep := make([]rune, p.nctx)
	for cl := p.ncls - 1; cl >= 0; cl-- {
		ctxRep[p.ctxOf[cl]] = rep[cl]
	}
	p.ctxRep = ctxRep
}

func uniqSets(sets []runeSet) []runeSet {
	var out []runeSet
	for _, s := range sets {
		dup := false
		for _, o := range out {
			if o.equal(s) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// classOf returns the class of a character.
func (p *prog) classOf(r rune) uint16 {
	if r < 128 {
		return p.ascii[r]
	}
	i := sort.Search(len(p.bounds), func(i int) bool { return p.bounds[i] > r }) - 1
	return p.boundCl[i]
}

// closures computes the ways from the start and after every class
// instruction.
func (p *prog) closures() {
	aidx := map[string]int{}
	// aids: each assertion instruction's id + 1, its key formatted once
	aids := make([]int32, len(p.insts))
	assertID := func(pc int) int {
		if id := aids[pc]; id > 0 {
			return int(id - 1)
		}
		in := &p.insts[pc]
		k := fmt.Sprint(in.at, in.set)
		id, ok := aidx[k]
		if !ok {
			id = len(p.asserts)
			aidx[k] = id
			p.asserts = append(p.asserts, assertCheck{at: in.at, set: in.set})
		}
		aids[pc] = int32(id + 1)
		return id
	}
	// The ways in slabs of up to waysSlab, each list its exact length: each
	// closure is walked into one buffer, with one map of the steps seen,
	// both reused, and copied to the slab. A closure of its own for each
	// of ECS HTTPD_COMBINEDLOG's 4,000 class instructions was a third of
	// its compile's garbage.
	cw := &closureWalk{p: p, assertID: assertID, seen: make([][][]int, len(p.insts))}
	p.ways = make([][]way, len(p.insts))
	var slab []way
	for i, in := range p.insts {
		if in.op != opClass {
			continue
		}
		cw.walk(in.out)
		n := len(cw.out)
		if n == 0 {
			continue
		}
		if cap(slab)-len(slab) < n {
			// Slabs double up to waysSlab: a small program (a span's)
			// holds a few ways, not a slab's worth.
			slab = make([]way, 0, max(n, min(2*cap(slab), waysSlab), 16))
		}
		slab = append(slab, cw.out...)
		p.ways[i] = slab[len(slab)-n : len(slab) : len(slab)]
	}
	cw.walk(p.start)
	p.first = append([]way(nil), cw.out...)
	setAcc := func(ws []way) {
		for k := range ws {
			if ws[k].to >= 0 {
				ws[k].acc = p.accept[ws[k].to]
			}
		}
	}
	setAcc(p.first)
	for _, ws := range p.ways {
		setAcc(ws)
	}
	p.backwards()
	// assertion tables
	n := p.nctx + 1
	p.holds = make([][]bool, len(p.asserts))
	for a, ac := range p.asserts {
		h := make([]bool, n*n)
		for prev := 0; prev < n; prev++ {
			for next := 0; next < n; next++ {
				h[prev*n+next] = p.evalAssert(ac, prev, next)
			}
		}
		p.holds[a] = h
	}
}

// backwards lists the ways backwards (ending, into): each class
// instruction under every instruction it has a way to, once.
func (p *prog) backwards() {
	count := make([]int32, len(p.insts)+1)
	for q, ws := range p.ways {
		for k, w := range ws {
			switch {
			case w.to < 0:
				if k == 0 || !hasWayTo(ws[:k], -1) {
					p.ending = append(p.ending, int32(q))
				}
			case !hasWayTo(ws[:k], w.to):
				count[w.to+1]++
			}
		}
	}
	for t := 1; t < len(count); t++ {
		count[t] += count[t-1]
	}
	p.intoStart = count
	p.intoList = make([]int32, count[len(count)-1])
	fill := append([]int32(nil), count[:len(count)-1]...)
	for q, ws := range p.ways {
		for k, w := range ws {
			if w.to >= 0 && !hasWayTo(ws[:k], w.to) {
				p.intoList[fill[w.to]] = int32(q)
				fill[w.to]++
			}
		}
	}
}

func hasWayTo(ws []way, to int) bool {
	for _, w := range ws {
		if w.to == to {
			return true
		}
	}
	return false
}

// evalAssert decides an assertion from the contexts around a position
// (nctx: the start or end of the text).
func (p *prog) evalAssert(a assertCheck, prev, next int) bool {
	edge := p.nctx
	in := func(ctx int, s runeSet) bool { return ctx != edge && s.has(p.ctxRep[ctx]) }
	switch a.at {
	case aBOL:
		return prev == edge || in(prev, runeSet{'\n', '\n'})
	case aEOL:
		return next == edge || in(next, runeSet{'\n', '\n'})
	case aBOT:
		return prev == edge
	case aEOT:
		return next == edge
	case aWordB:
		return in(prev, setWord) != in(next, setWord)
	case aNWordB:
		return in(prev, setWord) == in(next, setWord)
	case aPrevIn:
		return in(prev, a.set)
	case aPrevNotIn:
		return !in(prev, a.set)
	case aNextIn:
		return in(next, a.set)
	case aNextNotIn:
		return !in(next, a.set)
	}
	return false
}

// waysSlab is how many ways one allocation of a program holds at most.
const waysSlab = 1024

// closureWalk lists the ways of a step's closure.
type closureWalk struct {
	p        *prog
	assertID func(pc int) int
	// seen: by instruction, the assertion lists the walk reached it
	// under; touched: the instructions whose lists are not empty. A map
	// cleared for each walk was most of the closures' time: clearing
	// costs its size, which grows to the largest closure (a third of
	// the compile of `^%{NGINX_COMBINED}$`).
	seen    [][][]int
	touched []int
	out     []way
}

// walk lists the ways from pc in out, in backtracking order. A step
// reached again is skipped when an earlier way reached it under no more
// assertions (it would be tried first, with the same future).
func (w *closureWalk) walk(pc int) {
	for _, q := range w.touched {
		w.seen[q] = w.seen[q][:0]
	}
	w.touched = w.touched[:0]
	w.out = w.out[:0]
	w.step(pc, nil, nil, 0)
}

func (w *closureWalk) step(pc int, asserts, slots []int, depth int) {
	if depth > 10000 {
		return
	}
	seen := w.seen[pc]
	for _, prev := range seen {
		if subset(prev, asserts) {
			return
		}
	}
	if len(seen) == 0 {
		w.touched = append(w.touched, pc)
	}
	w.seen[pc] = append(seen, asserts)
	in := &w.p.insts[pc]
	switch in.op {
	case opClass:
		w.out = append(w.out, way{asserts: asserts, slots: slots, to: pc})
	case opMatch:
		w.out = append(w.out, way{asserts: asserts, slots: slots, to: -1})
	case opSplit:
		for _, a := range in.alts {
			w.step(a, asserts, slots, depth+1)
		}
	case opSave:
		w.step(in.out, asserts, append(slots[:len(slots):len(slots)], in.slot), depth+1)
	case opAssert:
		w.step(in.out, append(asserts[:len(asserts):len(asserts)], w.assertID(pc)), slots, depth+1)
	case opNop:
		w.step(in.out, asserts, slots, depth+1)
	}
}

func subset(a, b []int) bool {
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
