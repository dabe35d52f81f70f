package grok

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
)

// dstate is a state of the right-to-left pass: the class instructions from
// which the rest of the line can complete a match.
// Its instructions are bits[s*words:(s+1)*words]; the state one character
// to the left is trans[s*stride+class*(nctx+1)+prevCtx], -1 when not yet
// known. Flat tables keep the per-character lookups in few cache lines.

// maxStates bounds the lazy DFA's cache; past it, the cache is dropped
// before the next line (the result never changes, only the speed).
const maxStates = 10000

// fastMatcher runs a prog. It keeps its cache and buffers between lines,
// so it is used by one goroutine at a time.
type fastMatcher struct {
	p       *prog
	classes []int // class instructions
	dfaStates
	initial []int32 // by prevCtx
	starts  []int8  // accepts: by state and class, 1 yes, -1 no, 0 not known

	cls  []uint16
	offs []int
	vst  []int32
	// by ASCII byte: its class times the contexts (a column of a state's
	// transitions) and its context
	bcol, bctx [128]int32
}

func newFastMatcher(p *prog) *fastMatcher {
	m := &fastMatcher{p: p}
	for i, in := range p.insts {
		if in.op == opClass {
			m.classes = append(m.classes, i)
		}
	}
	m.words = (len(p.insts) + 63) / 64
	m.stride = p.ncls * (p.nctx + 1)
	for b, cl := range p.ascii {
		m.bcol[b] = int32(int(cl) * (p.nctx + 1))
		m.bctx[b] = int32(p.ctxOf[cl])
	}
	m.reset()
	return m
}

func (m *fastMatcher) reset() {
	m.resetStates()
	m.starts = m.starts[:0]
	m.initial = make([]int32, m.p.nctx+1)
	for i := range m.initial {
		m.initial[i] = -1
	}
}

func (m *fastMatcher) holds(w *way, prev, next int) bool {
	n := m.p.nctx + 1
	for _, a := range w.asserts {
		if !m.p.holds[a][prev*n+next] {
			return false
		}
	}
	return true
}

func (m *fastMatcher) has(s int32, inst int) bool {
	return m.bits[int(s)*m.words+inst>>6]&(1<<(inst&63)) != 0
}

// intern returns the state of a set of instructions.
func (m *fastMatcher) intern(bits []uint64) int32 {
	id, added := m.internState(bits)
	if added {
		for i := 0; i < m.p.ncls; i++ {
			m.starts = append(m.starts, 0)
		}
	}
	return id
}

// dfaStates are a lazy DFA's states (sets of instructions, words uint64s
// each) and transitions (stride a state, -1 when not yet known).
type dfaStates struct {
	words   int
	stride  int
	nstates int
	bits    []uint64
	trans   []int32
	index   map[string]int32
}

func (d *dfaStates) resetStates() {
	d.nstates = 0
	d.bits = d.bits[:0]
	d.trans = d.trans[:0]
	d.index = map[string]int32{}
}

// internState returns the state of a set of instructions, and whether it
// is new.
func (d *dfaStates) internState(bits []uint64) (int32, bool) {
	k := stateKey(bits)
	if id, ok := d.index[k]; ok {
		return id, false
	}
	d.bits = append(d.bits, bits...)
	for i := 0; i < d.stride; i++ {
		d.trans = append(d.trans, -1)
	}
	id := int32(d.nstates)
	d.nstates++
	d.index[k] = id
	return id, true
}

// stateKey is a set of instructions as a key of a DFA's index of states.
func stateKey(bits []uint64) string {
	var sb strings.Builder
	for _, b := range bits {
		sb.WriteString(strconv.FormatUint(b, 36))
		sb.WriteByte(',')
	}
	return sb.String()
}

// step computes the state at a position from the state one character to
// the right, the class of the character between them and the context
// before the position.
func (m *fastMatcher) step(s int32, cl uint16, prev int) int32 {
	p := m.p
	next := int(p.ctxOf[cl])
	set := make([]uint64, (len(p.insts)+63)/64)
	// A step is in the state when one of its ways ends the match or leads
	// to a step of s that takes cl: only those steps, and the steps with a
	// way to one of them (prog.into), are looked at, not every step of a
	// large program (ECS's HTTPD_COMBINEDLOG has 9,000).
	try := func(q int) {
		if set[q>>6]&(1<<(q&63)) != 0 {
			return
		}
		for k := range p.ways[q] {
			w := &p.ways[q][k]
			if !m.holds(w, prev, next) {
				continue
			}
			if w.to < 0 || (p.accept[w.to][cl] && s >= 0 && m.has(s, w.to)) {
				set[q>>6] |= 1 << (q & 63)
				break
			}
		}
	}
	for _, q := range p.ending {
		try(int(q))
	}
	if s >= 0 {
		base := int(s) * m.words
		for wi := 0; wi < m.words; wi++ {
			for word := m.bits[base+wi]; word != 0; word &= word - 1 {
				t := wi<<6 + bits.TrailingZeros64(word)
				if !p.accept[t][cl] {
					continue
				}
				for _, q := range p.intoList[p.intoStart[t]:p.intoStart[t+1]] {
					try(int(q))
				}
			}
		}
	}
	return m.intern(set)
}

func (m *fastMatcher) end(prev int) int32 {
	if m.initial[prev] >= 0 {
		return m.initial[prev]
	}
	edge := m.p.nctx
	bits := make([]uint64, (len(m.p.insts)+63)/64)
	for _, q := range m.classes {
		for k := range m.p.ways[q] {
			w := &m.p.ways[q][k]
			if w.to < 0 && m.holds(w, prev, edge) {
				bits[q>>6] |= 1 << (q & 63)
				break
			}
		}
	}
	id := m.intern(bits)
	m.initial[prev] = id
	return id
}

// match finds the leftmost match in in, as a backtracking engine would,
// and fills slots (byte offsets, -1 for a group that took no part).
func (m *fastMatcher) match(in []byte, slots []int) bool {
	for i := range slots {
		slots[i] = -1
	}
	n, ascii := m.backward(in)
	return m.forward(in, n, ascii, slots)
}

// accepts reports whether the prog matches in (for anchored progs that
// end with \z: whether in is in its language), with the right-to-left
// pass alone. An ASCII text (the segment engine's) is run in one loop that
// keeps only the current state.
func (m *fastMatcher) accepts(in []byte) bool {
	p := m.p
	edge := p.nctx
	n := len(in)
	if n == 0 || !isASCII(in) {
		n, _ = m.backward(in)
		next, vs, cl := edge, int32(-1), uint16(0)
		if n > 0 {
			next, vs, cl = int(p.ctxOf[m.cls[0]]), m.vst[1], m.cls[0]
		}
		return m.firstViableAt(p.first, n > 0, vs, cl, edge, next) != nil
	}
	if m.nstates > maxStates {
		m.reset()
	}
	s := m.end(int(m.bctx[in[n-1]&0x7f]))
	for j := n - 1; j >= 1; j-- {
		b, prev := in[j]&0x7f, in[j-1]&0x7f // ASCII: the mask only drops bounds checks
		k := int(s)*m.stride + int(m.bcol[b]+m.bctx[prev])
		t := m.trans[k]
		if t < 0 {
			t = m.step(s, p.ascii[b], int(m.bctx[prev]))
			m.trans[k] = t
		}
		s = t
	}
	// whether the text can start there: kept by state and first class
	c := p.ascii[in[0]]
	k := int(s)*p.ncls + int(c)
	if v := m.starts[k]; v != 0 {
		return v > 0
	}
	ok := m.firstViableAt(p.first, true, s, c, edge, int(p.ctxOf[c])) != nil
	m.starts[k] = -1
	if ok {
		m.starts[k] = 1
	}
	return ok
}

// isASCII reports whether b holds only ASCII bytes, eight at a time.
func isASCII(b []byte) bool {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(b); i++ {
		if b[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// firstViable returns the first of ways, at position i of n, whose
// assertions hold between the contexts prev and next and that ends the
// match or leads to a step from which the rest of the text can complete
// one (by the right-to-left pass); nil if none does.
func (m *fastMatcher) firstViable(ways []way, i, n, prev, next int) *way {
	if i < n {
		return m.firstViableAt(ways, true, m.vst[i+1], m.cls[i], prev, next)
	}
	return m.firstViableAt(ways, false, -1, 0, prev, next)
}

// firstViableAt is firstViable before a character of class cl (more is
// true) after which the right-to-left pass's state is vs, or at the end.
func (m *fastMatcher) firstViableAt(ways []way, more bool, vs int32, cl uint16, prev, next int) *way {
	p := m.p
	nc := p.nctx + 1
	vbase := int(vs) * m.words
	for k := range ways {
		c := &ways[k]
		ok := true
		for _, a := range c.asserts {
			if !p.holds[a][prev*nc+next] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if c.to < 0 {
			return c
		}
		if more && c.acc[cl] && m.bits[vbase+c.to>>6]&(1<<(c.to&63)) != 0 {
			return c
		}
	}
	return nil
}

// backward classifies in's characters and runs the right-to-left pass:
// vst[j] is the state at position j. It returns the number of characters
// and whether in is all ASCII (offsets are then indexes).
func (m *fastMatcher) backward(in []byte) (int, bool) {
	p := m.p
	if m.nstates > maxStates {
		m.reset()
	}
	// classify
	ascii := isASCII(in)
	n := 0
	if ascii {
		n = len(in)
		if cap(m.cls) < n {
			m.cls = make([]uint16, n, 2*n)
		}
		m.cls = m.cls[:n]
		for i, b := range in {
			m.cls[i] = p.ascii[b]
		}
	} else {
		m.cls, m.offs = m.cls[:0], m.offs[:0]
		for i := 0; i < len(in); {
			r, size := rune(in[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRune(in[i:])
			}
			m.cls = append(m.cls, p.classOf(r))
			m.offs = append(m.offs, i)
			i += size
		}
		n = len(m.cls)
		m.offs = append(m.offs, len(in))
	}
	edge := p.nctx
	// right to left
	if cap(m.vst) < n+1 {
		m.vst = make([]int32, n+1, 2*(n+1))
	}
	m.vst = m.vst[:n+1]
	if n > 0 {
		last := edge
		if n > 0 {
			last = int(p.ctxOf[m.cls[n-1]])
		}
		m.vst[n] = m.end(last)
		nc := p.nctx + 1
		for j := n - 1; j >= 1; j-- {
			s := m.vst[j+1]
			cl := m.cls[j]
			prev := int(p.ctxOf[m.cls[j-1]])
			k := int(cl)*nc + prev
			t := m.trans[int(s)*m.stride+k]
			if t < 0 {
				t = m.step(s, cl, prev)
				m.trans[int(s)*m.stride+k] = t
			}
			m.vst[j] = t
		}
	}
	return n, ascii
}

// forward is the left-to-right pass of match, after backward.
func (m *fastMatcher) forward(in []byte, n int, ascii bool, slots []int) bool {
	p := m.p
	edge := p.nctx
	ctx := func(j int) int { // the context before position j
		if j == 0 {
			return edge
		}
		return int(p.ctxOf[m.cls[j-1]])
	}
	// left to right
	ways := p.first
	for i := 0; ; i++ {
		prev := ctx(i)
		next := edge
		if i < n {
			next = int(p.ctxOf[m.cls[i]])
		}
		w := m.firstViable(ways, i, n, prev, next)
		if w == nil {
			return false
		}
		if len(w.slots) > 0 {
			off := i
			if !ascii {
				off = m.offs[i]
			}
			for _, s := range w.slots {
				slots[s] = off
			}
		}
		if w.to < 0 {
			return true
		}
		ways = p.ways[w.to]
	}
}
