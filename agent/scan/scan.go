// Package scan matches the common log-pattern shape of regular
// expressions in one left-to-right pass, several times faster than regexp:
// literal separators between captures of repeated byte classes, such as
//
//	^(?P<ip>\S+) - \[(?P<time>[^\]]+)\] "(?P<req>[^"]*)" (?P<status>\d{3})
//
// Compile returns nil for any other pattern; callers then use regexp.
package scan

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
	"unsafe"
)

// Scanner is a compiled pattern. When every repeat's class excludes the
// byte that follows it, the match is unique and found without backtracking.
type Scanner struct {
	ops      []scanOp
	anchored bool // ^ at the start; without it the scanner is not used
	end      bool // $ at the end
	Groups   int  // number of capture groups (as in regexp)
	// run is set when the pattern is literals then one unbounded repeat
	// (^HTTP/[0-9.]+$): MatchString then compares the prefix and runs
	// the class table, with no loop over the ops (see setRun).
	run *prefixRun
}

// prefixRun is a pattern of a literal prefix and one unbounded repeat of
// a class, for MatchString.
type prefixRun struct {
	prefix string
	class  *[256]bool
	min    int
}

type scanOp struct {
	lit   []byte     // a literal, or
	class *[256]bool // a repeat of a byte class
	min   int
	max   int // -1: no limit
	group int // capture group index (>0), or 0
	alts  []scanOp
	first *[256]bool // for alternatives: the bytes each can start with
	// stop is set when class is every byte but one ([^"]*, [^\]]+): an
	// unbounded repeat then ends at the next stop byte, found with
	// bytes.IndexByte.
	stop    byte
	hasStop bool
	// kind is the op's shape, for matchOps to match the common ones
	// inline (setKind).
	kind opKind
	// word and mask are a literal of up to eight bytes as a
	// little-endian word (opLit8).
	word, mask uint64
	// ex are the bytes from '!' up that a wide run's class leaves out
	// (opWideRun), repeated in each byte of a word; 0 when fewer than two
	// (a zero byte is below '!': flagged anyway).
	ex [2]uint64
}

// opKind is the shape of an op.
type opKind uint8

const (
	opOther   opKind = iota // alternatives, bounded repeats: matchOp
	opByte                  // a one-byte literal
	opLit                   // a longer literal
	opUntil                 // an unbounded repeat of every byte but stop
	opRun                   // an unbounded repeat of a class
	opLit8                  // a literal of two to eight bytes
	opWideRun               // opRun of a class with every byte from '!' up but two at most
)

// opLit8 compares its literal as one masked word load, and opWideRun
// (\S+, [^ "]+) skips eight bytes at a time to the first that may end
// the run, where a call to compare literals and a byte loop took more:
// BenchmarkNginxPackGen/regex, callgrind: the scanner's share 2,480 ->
// 2,150 instructions a line, the bench 5,886 -> 5,464.

// setKind sets op.kind from its other settings (after setStop).
func setKind(op *scanOp) {
	switch {
	case op.lit != nil && len(op.lit) == 1:
		op.kind = opByte
	case op.lit != nil && len(op.lit) <= 8:
		op.kind = opLit8
		for i, b := range op.lit {
			op.word |= uint64(b) << (8 * i)
			op.mask |= 0xff << (8 * i)
		}
	case op.lit != nil:
		op.kind = opLit
	case op.hasStop:
		op.kind = opUntil
	case op.class != nil && op.max < 0:
		op.kind = opRun
		n := 0
		for b := '!'; b < 256; b++ {
			if op.class[b] {
				continue
			}
			if n == len(op.ex) {
				op.ex = [2]uint64{}
				return
			}
			op.ex[n] = lsb * uint64(b)
			n++
		}
		op.kind = opWideRun
	default:
		op.kind = opOther
	}
}

// lsb and msb are the lowest and the highest bit of each byte of a word.
const lsb, msb = 0x0101010101010101, 0x8080808080808080

// zeroBytes has the top bit set in the lowest zero byte of x (and maybe
// in bytes above it: a borrow only carries upwards).
func zeroBytes(x uint64) uint64 { return (x - lsb) &^ x & msb }

// Compile builds a scanner for re, or returns nil when re is not of the
// shape it handles (then use re itself).
func Compile(re *regexp.Regexp) *Scanner {
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	if t.Op != syntax.OpConcat || len(t.Sub) < 2 {
		return nil
	}
	s := &Scanner{Groups: re.NumSubexp()}
	subs := t.Sub
	if subs[0].Op != syntax.OpBeginText && subs[0].Op != syntax.OpBeginLine {
		return nil
	}
	s.anchored = true
	subs = subs[1:]
	if n := len(subs); n > 0 && (subs[n-1].Op == syntax.OpEndText || subs[n-1].Op == syntax.OpEndLine) {
		s.end = true
		subs = subs[:n-1]
	}
	for _, sub := range subs {
		op, ok := compileOp(sub, 0)
		if !ok {
			return nil
		}
		s.ops = append(s.ops, op)
	}
	for i := range s.ops {
		for j := range s.ops[i].alts {
			s.ops[i].alts[j].first = firstBytes(s.ops[i].alts[j])
			setStop(&s.ops[i].alts[j])
			setKind(&s.ops[i].alts[j])
		}
		setStop(&s.ops[i])
		setKind(&s.ops[i])
	}
	// Every repeat must stop at a byte that cannot continue it: the first
	// byte of what follows (or the end).
	for i, op := range s.ops {
		if !deterministic(op, s.ops[i+1:], s.end) {
			return nil
		}
	}
	s.setRun()
	return s
}

// setRun sets s.run when the ops are literals and then one unbounded
// repeat of a class.
func (s *Scanner) setRun() {
	n := len(s.ops)
	if n == 0 {
		return
	}
	last := &s.ops[n-1]
	if last.class == nil || last.max >= 0 {
		return
	}
	var prefix []byte
	for _, op := range s.ops[:n-1] {
		if op.lit == nil {
			return
		}
		prefix = append(prefix, op.lit...)
	}
	s.run = &prefixRun{prefix: string(prefix), class: last.class, min: last.min}
}

func compileOp(t *syntax.Regexp, group int) (scanOp, bool) {
	switch t.Op {
	case syntax.OpLiteral:
		if t.Flags&syntax.FoldCase != 0 {
			return scanOp{}, false
		}
		b := []byte(string(t.Rune))
		return scanOp{lit: b, group: group}, true
	case syntax.OpCapture:
		if group != 0 {
			return scanOp{}, false
		}
		return compileOp(t.Sub[0], t.Cap)
	case syntax.OpPlus, syntax.OpStar, syntax.OpRepeat, syntax.OpQuest:
		c, ok := byteClass(t.Sub[0])
		if !ok {
			return scanOp{}, false
		}
		op := scanOp{class: c, group: group}
		switch t.Op {
		case syntax.OpPlus:
			op.min, op.max = 1, -1
		case syntax.OpStar:
			op.min, op.max = 0, -1
		case syntax.OpQuest:
			op.min, op.max = 0, 1
		default:
			op.min, op.max = t.Min, t.Max
		}
		return op, true
	case syntax.OpCharClass, syntax.OpAnyCharNotNL:
		c, ok := byteClass(t)
		if !ok {
			return scanOp{}, false
		}
		return scanOp{class: c, min: 1, max: 1, group: group}, true
	case syntax.OpAlternate:
		if group == 0 {
			return scanOp{}, false
		}
		op := scanOp{group: group}
		for _, a := range t.Sub {
			sub, ok := compileOp(a, 0)
			if !ok || sub.alts != nil {
				return scanOp{}, false
			}
			op.alts = append(op.alts, sub)
		}
		return op, true
	case syntax.OpConcat:
		// A concatenation of plain literals inside a capture is a literal.
		var lit []byte
		for _, s := range t.Sub {
			if s.Op != syntax.OpLiteral || s.Flags&syntax.FoldCase != 0 {
				return scanOp{}, false
			}
			lit = append(lit, string(s.Rune)...)
		}
		return scanOp{lit: lit, group: group}, true
	}
	return scanOp{}, false
}

// byteClass turns a character class into a table over bytes. Classes that
// hold non-ASCII runes are accepted only when they hold all of them (as
// \S and [^"] do), so that matching byte by byte agrees with matching runes.
func byteClass(t *syntax.Regexp) (*[256]bool, bool) {
	var c [256]bool
	switch t.Op {
	case syntax.OpAnyCharNotNL:
		for i := range c {
			c[i] = i != '\n'
		}
		return &c, true
	case syntax.OpLiteral:
		if len(t.Rune) != 1 || t.Rune[0] >= utf8.RuneSelf || t.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		c[t.Rune[0]] = true
		return &c, true
	case syntax.OpCharClass:
	default:
		return nil, false
	}
	allNonASCII := false
	for i := 0; i+1 < len(t.Rune); i += 2 {
		lo, hi := t.Rune[i], t.Rune[i+1]
		if hi >= utf8.RuneSelf {
			if lo <= utf8.RuneSelf && hi == utf8.MaxRune {
				allNonASCII = true
			} else {
				return nil, false
			}
		}
		for r := lo; r <= hi && r < utf8.RuneSelf; r++ {
			c[r] = true
		}
	}
	if allNonASCII {
		for i := utf8.RuneSelf; i < 256; i++ {
			c[i] = true
		}
	}
	return &c, true
}

// firstBytes returns the bytes an op can start with (nil: it can be empty
// or is unknown).
func firstBytes(op scanOp) *[256]bool {
	switch {
	case op.lit != nil:
		var c [256]bool
		c[op.lit[0]] = true
		return &c
	case op.class != nil:
		if op.min == 0 {
			return nil
		}
		return op.class
	case op.alts != nil:
		var c [256]bool
		for _, a := range op.alts {
			f := firstBytes(a)
			if f == nil {
				return nil
			}
			for i := range c {
				c[i] = c[i] || f[i]
			}
		}
		return &c
	}
	return nil
}

func deterministic(op scanOp, rest []scanOp, end bool) bool {
	if op.alts != nil {
		// Alternatives must start differently, so at most one can match
		// at a given byte, and each must itself stop deterministically.
		var seen [256]bool
		for _, a := range op.alts {
			f := firstBytes(a)
			if f == nil {
				return false
			}
			for i := range f {
				if f[i] && seen[i] {
					return false
				}
				seen[i] = seen[i] || f[i]
			}
			if !deterministic(a, rest, end) {
				return false
			}
		}
		return true
	}
	if op.class == nil || (op.min == op.max && op.max >= 0) {
		return true // literals and fixed counts need no stop byte
	}
	if len(rest) == 0 {
		return true // greedy to the last byte of the class: one answer, $ or not
	}
	next := firstBytes(rest[0])
	if next == nil {
		return false
	}
	for i := range next {
		if next[i] && op.class[i] {
			return false
		}
	}
	return true
}

// Match fills loc (2 per group and 2 for the whole match, like
// regexp.FindSubmatchIndex) and reports whether in matches.
func (s *Scanner) Match(in []byte, loc []int) bool {
	for i := range loc {
		loc[i] = -1
	}
	pos, ok := matchOps(s.ops, in, 0, loc)
	if !ok || (s.end && pos != len(in)) {
		return false
	}
	loc[0], loc[1] = 0, pos
	return true
}

// setStop marks a repeat of every byte but one.
func setStop(op *scanOp) {
	if op.class == nil || op.max >= 0 {
		return
	}
	excluded := -1
	for b, in := range op.class {
		if !in {
			if excluded >= 0 {
				return
			}
			excluded = b
		}
	}
	if excluded >= 0 {
		op.stop, op.hasStop = byte(excluded), true
	}
}

// matchOps matches ops from pos, and records the groups in loc unless it
// is nil.
func matchOps(ops []scanOp, in []byte, pos int, loc []int) (int, bool) {
	for i := range ops {
		op := &ops[i]
		start := pos
		// The common ops inline (see kind); the others through matchOp.
		switch op.kind {
		case opByte:
			if pos >= len(in) || in[pos] != op.lit[0] {
				return pos, false
			}
			pos++
		case opLit:
			if len(in)-pos < len(op.lit) || string(in[pos:pos+len(op.lit)]) != string(op.lit) {
				return pos, false
			}
			pos += len(op.lit)
		case opUntil:
			n := bytes.IndexByte(in[pos:], op.stop)
			if n < 0 {
				n = len(in) - pos
			}
			if n < op.min {
				return pos + n, false
			}
			pos += n
		case opLit8:
			if len(in)-pos >= 8 {
				if binary.LittleEndian.Uint64(in[pos:])&op.mask != op.word {
					return pos, false
				}
			} else if len(in)-pos < len(op.lit) || string(in[pos:pos+len(op.lit)]) != string(op.lit) {
				return pos, false
			}
			pos += len(op.lit)
		case opRun, opWideRun:
			c := op.class
			p := pos
			if op.kind == opWideRun {
				// Eight bytes at a time up to the first that is below
				// '!' or left out (the lowest flagged: exact), then byte
				// by byte from there.
				for ; p+8 <= len(in); p += 8 {
					x := binary.LittleEndian.Uint64(in[p:])
					t := (x-lsb*'!')&^x&msb | zeroBytes(x^op.ex[0]) | zeroBytes(x^op.ex[1])
					if t != 0 {
						p += bits.TrailingZeros64(t) >> 3
						break
					}
				}
			}
			for p < len(in) && c[in[p]] {
				p++
			}
			if p-pos < op.min {
				return p, false
			}
			pos = p
		default:
			var ok bool
			if pos, ok = matchOp(op, in, pos, loc); !ok {
				return pos, false
			}
		}
		if op.group > 0 && loc != nil {
			loc[2*op.group], loc[2*op.group+1] = start, pos
		}
	}
	return pos, true
}

func matchOp(op *scanOp, in []byte, pos int, loc []int) (int, bool) {
	switch {
	case op.lit != nil:
		if len(in)-pos < len(op.lit) || string(in[pos:pos+len(op.lit)]) != string(op.lit) {
			return pos, false
		}
		return pos + len(op.lit), true
	case op.hasStop:
		n := bytes.IndexByte(in[pos:], op.stop)
		if n < 0 {
			n = len(in) - pos
		}
		return pos + n, n >= op.min
	case op.class != nil:
		c := op.class
		end := len(in)
		if op.max >= 0 && pos+op.max < end {
			end = pos + op.max
		}
		p := pos
		for p < end && c[in[p]] {
			p++
		}
		return p, p-pos >= op.min
	default:
		if pos >= len(in) {
			return pos, false
		}
		for i := range op.alts {
			if a := &op.alts[i]; a.first[in[pos]] {
				return matchOp(a, in, pos, loc)
			}
		}
		return pos, false
	}
}

// MatchString reports whether s matches (for patterns used as checks).
//
// A pattern of a literal prefix and a class run (the http_request
// schema's protocol, ^HTTP/[0-9.]+$) is decided without matchOps: 190 ->
// 100 instructions a line of BenchmarkNginxPackGen/split (callgrind).
func (s *Scanner) MatchString(str string) bool {
	if r := s.run; r != nil {
		if len(str) < len(r.prefix)+r.min || str[:len(r.prefix)] != r.prefix {
			return false
		}
		rest := str[len(r.prefix):]
		if !s.end {
			rest = rest[:r.min] // the run is greedy: its first min bytes decide
		}
		c := r.class
		for i := 0; i < len(rest); i++ {
			if !c[rest[i]] {
				return false
			}
		}
		return true
	}
	pos, ok := matchOps(s.ops, unsafe.Slice(unsafe.StringData(str), len(str)), 0, nil)
	return ok && (!s.end || pos == len(str))
}
