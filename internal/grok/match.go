package grok

import (
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
	words   int   // uint64s per state
	stride  int   // transitions per state
	nstates int
	bits    []uint64
	trans   []int32
	index   map[string]int32
	initial []int32 // by prevCtx

	cls  []uint16
	offs []int
	vst  []int32
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
	m.reset()
	return m
}

func (m *fastMatcher) reset() {
	m.nstates = 0
	m.bits = m.bits[:0]
	m.trans = m.trans[:0]
	m.index = map[string]int32{}
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
	var sb strings.Builder
	for _, b := range bits {
		sb.WriteString(strconv.FormatUint(b, 36))
		sb.WriteByte(',')
	}
	k := sb.String()
	if id, ok := m.index[k]; ok {
		return id
	}
	m.bits = append(m.bits, bits...)
	for i := 0; i < m.stride; i++ {
		m.trans = append(m.trans, -1)
	}
	id := int32(m.nstates)
	m.nstates++
	m.index[k] = id
	return id
}

// step computes the state at a position from the state one character to
// the right, the class of the character between them and the context
// before the position.
func (m *fastMatcher) step(s int32, cl uint16, prev int) int32 {
	next := int(m.p.ctxOf[cl])
	bits := make([]uint64, (len(m.p.insts)+63)/64)
	for _, q := range m.classes {
		for k := range m.p.ways[q] {
			w := &m.p.ways[q][k]
			if !m.holds(w, prev, next) {
				continue
			}
			if w.to < 0 || (m.p.accept[w.to][cl] && s >= 0 && m.has(s, w.to)) {
				bits[q>>6] |= 1 << (q & 63)
				break
			}
		}
	}
	return m.intern(bits)
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
// pass alone.
func (m *fastMatcher) accepts(in []byte) bool {
	n, _ := m.backward(in)
	p := m.p
	edge := p.nctx
	next := edge
	if n > 0 {
		next = int(p.ctxOf[m.cls[0]])
	}
	return m.firstViable(p.first, 0, n, edge, next) != nil
}

// firstViable returns the first of ways, at position i of n, whose
// assertions hold between the contexts prev and next and that ends the
// match or leads to a step from which the rest of the text can complete
// one (by the right-to-left pass); nil if none does.
func (m *fastMatcher) firstViable(ways []way, i, n, prev, next int) *way {
	p := m.p
	nc := p.nctx + 1
	vbase := 0
	if i < n {
		vbase = int(m.vst[i+1]) * m.words
	}
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
		if i < n && c.acc[m.cls[i]] && m.bits[vbase+c.to>>6]&(1<<(c.to&63)) != 0 {
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
	ascii := true
	for _, b := range in {
		if b >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
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
