package grok

import "bytes"

// The forward DFA: a capture-free span's ends, found in one left-to-right
// pass. The segment engine asks it where a span that may hold its
// separator (the referrer's %{QS}: a quoted string holds spaces) or that
// ends the pattern (the user agent's %{QS}) can end. Its states are sets
// of the span program's class instructions (every path at once, so the set
// of ends is exact, not a guess); it stops when no path is left. A span
// with one end has one choice, which the segment engine takes as forced; a
// span with more than one is left to the linear engine, which knows which
// a backtracking engine tries first.
//
// A state whose every character but a few keeps it where it is (the inside
// of a quoted string: all but the quote and the backslash) skips ahead to
// the next of those few with bytes.IndexByte, as the accelerated states of
// regex-automata's DFAs do.

// fwdMatcher runs a span's program forward; one per goroutine.
type fwdMatcher struct {
	p  *prog
	nc int // contexts, the edge included
	// trans: the state after a character (by the class of the character
	// and the context of the one after it), 2*state+1 when a match ends
	// after it, 2*state otherwise; fwdUnknown when not yet computed.
	dfaStates
	initial []int32 // by prev*nc+next, as trans
	// escN: per state, how many ASCII bytes may move it (-1: not known
	// yet; 0: too many, the state does not skip); escB: those bytes.
	escN  []int8
	escB  [][2]byte
	empty int32 // the state with no instruction: no path left
}

const fwdUnknown = -1

// maxEscapeInsts bounds the programs whose states may skip ahead: finding
// which bytes move a state computes its step on every ASCII byte.
const maxEscapeInsts = 512

func newFwdMatcher(p *prog) *fwdMatcher {
	m := &fwdMatcher{p: p}
	m.words = (len(p.insts) + 63) / 64
	m.nc = p.nctx + 1
	m.stride = p.ncls * m.nc
	m.reset()
	return m
}

func (m *fwdMatcher) reset() {
	m.resetStates()
	m.escN = m.escN[:0]
	m.escB = m.escB[:0]
	m.initial = make([]int32, m.nc*m.nc)
	for i := range m.initial {
		m.initial[i] = fwdUnknown
	}
	m.empty = m.intern(make([]uint64, m.words))
}

func (m *fwdMatcher) intern(bits []uint64) int32 {
	id, added := m.internState(bits)
	if added {
		m.escN = append(m.escN, -1)
		m.escB = append(m.escB, [2]byte{})
	}
	return id
}

// follow is the state reached by ways, whose assertions are checked
// between the contexts prev and next, encoded as in trans.
func (m *fwdMatcher) follow(bits []uint64, ways []way, prev, next int) (acc bool) {
	for k := range ways {
		w := &ways[k]
		ok := true
		for _, a := range w.asserts {
			if !m.p.holds[a][prev*m.nc+next] {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if w.to < 0 {
			acc = true
		} else {
			bits[w.to>>6] |= 1 << (w.to & 63)
		}
	}
	return acc
}

func encode(s int32, acc bool) int32 {
	if acc {
		return 2*s + 1
	}
	return 2 * s
}

// start is the state before the span's first character, between the
// contexts prev and next.
func (m *fwdMatcher) start(prev, next int) int32 {
	k := prev*m.nc + next
	if t := m.initial[k]; t != fwdUnknown {
		return t
	}
	bits := make([]uint64, m.words)
	acc := m.follow(bits, m.p.first, prev, next)
	t := encode(m.intern(bits), acc)
	m.initial[k] = t
	return t
}

// step is the state after a character of class cl from s, before a
// character of context next.
func (m *fwdMatcher) step(s int32, cl uint16, next int) int32 {
	bits := make([]uint64, m.words)
	prev := int(m.p.ctxOf[cl])
	acc := false
	base := int(s) * m.words
	for q := range m.p.insts {
		if m.bits[base+q>>6]&(1<<(q&63)) == 0 || !m.p.accept[q][cl] {
			continue
		}
		if m.follow(bits, m.p.ways[q], prev, next) {
			acc = true
		}
	}
	return encode(m.intern(bits), acc)
}

func (m *fwdMatcher) next(s int32, cl uint16, next int) int32 {
	k := int(s)*m.stride + int(cl)*m.nc + next
	t := m.trans[k]
	if t == fwdUnknown {
		t = m.step(s, cl, next)
		m.trans[k] = t
	}
	return t
}

// escapes computes which ASCII bytes may move s: those whose step from s,
// before any context, is not s itself with no match ending.
func (m *fwdMatcher) escapes(s int32) {
	if len(m.p.insts) > maxEscapeInsts {
		m.escN[s] = 0 // a state's 127 steps cost too much on large programs
		return
	}
	n := int8(0)
	var first [2]byte
	for b := 0; b < 128; b++ {
		if b == '\n' {
			continue // not in the lines the segment engine runs on
		}
		cl := m.p.ascii[b]
		moves := false
		for nx := 0; nx < m.nc; nx++ {
			moves = moves || m.next(s, cl, nx) != 2*s
		}
		if moves {
			if n < 2 {
				first[n] = byte(b)
			}
			if n < 3 {
				n++
			}
		}
	}
	if n > 2 || s == m.empty {
		n = 0 // too many to skip to (or nothing to skip)
	}
	m.escN[s], m.escB[s] = n, first
}

// ends runs the span from pos of in (an ASCII line with no newline) and
// returns the first place a match of it ends and whether there is
// another; found is false when none does. The step is the table's
// lookup, taken here; next only fills a missing entry. (As calls, with
// the context of the next character found by a closure, the steps took
// about 450 instructions a line of legacy %{HTTPD_COMBINEDLOG}'s two
// quoted strings, counted by callgrind.)
func (m *fwdMatcher) ends(in []byte, pos int) (end int, found, more bool) {
	p := m.p
	if m.nstates > maxStates {
		m.reset()
	}
	// the ASCII table by pointer: a copy is 256 bytes (about 60
	// instructions a call, counted by callgrind)
	ascii, ctxOf, nc, edge := &p.ascii, p.ctxOf, m.nc, p.nctx
	prev, cur := edge, edge // the contexts of the characters at pos-1 and pos
	if pos > 0 {
		prev = int(ctxOf[ascii[in[pos-1]]])
	}
	if pos < len(in) {
		cur = int(ctxOf[ascii[in[pos]]])
	}
	t := m.start(prev, cur)
	end = -1
	if t&1 != 0 {
		end = pos
	}
	s := t >> 1
	for i := pos; i < len(in) && s != m.empty; {
		n := m.escN[s]
		if n < 0 {
			m.escapes(s)
			n = m.escN[s]
		}
		if n > 0 {
			// skip to the next byte that may move s
			k := bytes.IndexByte(in[i:], m.escB[s][0])
			if n == 2 {
				lim := len(in) - i
				if k >= 0 {
					lim = k
				}
				if k2 := bytes.IndexByte(in[i:i+lim], m.escB[s][1]); k2 >= 0 {
					k = k2
				}
			}
			if k < 0 {
				return end, end >= 0, false // s to the end: no more ends
			}
			i += k
		}
		cl := ascii[in[i]]
		i++
		nx := edge
		if i < len(in) {
			nx = int(ctxOf[ascii[in[i]]])
		}
		t := m.trans[int(s)*m.stride+int(cl)*nc+nx]
		if t == fwdUnknown {
			t = m.next(s, cl, nx)
		}
		if t&1 != 0 {
			if end >= 0 {
				return end, true, true
			}
			end = i
		}
		s = t >> 1
	}
	return end, end >= 0, false
}
