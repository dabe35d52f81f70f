package grok

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The regex dialect of grok patterns is Oniguruma's, as Logstash runs it
// (Ruby syntax, compiled with Regexp::MULTILINE: "." matches a newline, "^"
// and "$" are line anchors). parse reads it into a tree that the compiler
// can analyse and print for either engine.

type kind uint8

const (
	kClass   kind = iota // one character of set
	kConcat              // subs in order
	kAlt                 // subs, tried in order
	kRepeat              // subs[0] repeated min..max (max -1: no bound)
	kGroup               // subs[0]; a capture when name != ""
	kAtomic              // (?>subs[0])
	kLook                // lookahead or lookbehind of subs[0]
	kAssert              // a zero-width assertion: at
	kBackref             // \1, \k<name>
	kEmpty               // matches the empty string
	kFail                // never matches
)

type assertion uint8

const (
	aBOL    assertion = iota // ^: start of a line
	aEOL                     // $: end of a line
	aBOT                     // \A
	aEOT                     // \z
	aEOTZ                    // \Z: end, or before a final newline
	aWordB                   // \b
	aNWordB                  // \B
	aPrevIn                  // the previous character is in set (lookbehind of one character)
	aPrevNotIn
	aNextIn // the next character is in set (lookahead of one character)
	aNextNotIn
)

type node struct {
	kind       kind
	subs       []*node
	set        runeSet // kClass; aPrev*/aNext* assertions
	min, max   int     // kRepeat
	greedy     bool    // kRepeat
	possessive bool    // kRepeat
	name       string  // kGroup: capture name ("" for a non-capturing group); kBackref by name
	cap        int     // kGroup: capture number (1-based) when name != ""; kBackref by number
	behind     bool    // kLook
	neg        bool    // kLook
	at         assertion
}

// runeSet is a set of runes as sorted, disjoint, non-adjacent ranges [lo, hi].
type runeSet []rune

const maxRune = unicode.MaxRune

func (s runeSet) norm() runeSet {
	if len(s) <= 2 {
		return s
	}
	type r struct{ lo, hi rune }
	rs := make([]r, 0, len(s)/2)
	for i := 0; i < len(s); i += 2 {
		rs = append(rs, r{s[i], s[i+1]})
	}
	sort.Slice(rs, func(a, b int) bool { return rs[a].lo < rs[b].lo })
	out := make(runeSet, 0, len(s))
	for _, x := range rs {
		n := len(out)
		if n > 0 && x.lo <= out[n-1]+1 {
			if x.hi > out[n-1] {
				out[n-1] = x.hi
			}
			continue
		}
		out = append(out, x.lo, x.hi)
	}
	return out
}

func (s runeSet) union(t runeSet) runeSet {
	return append(append(runeSet{}, s...), t...).norm()
}

func (s runeSet) negate() runeSet {
	s = s.norm()
	var out runeSet
	next := rune(0)
	for i := 0; i < len(s); i += 2 {
		if s[i] > next {
			out = append(out, next, s[i]-1)
		}
		next = s[i+1] + 1
	}
	if next <= maxRune {
		out = append(out, next, maxRune)
	}
	return out
}

func (s runeSet) intersect(t runeSet) runeSet {
	return s.negate().union(t.negate()).negate()
}

func (s runeSet) disjoint(t runeSet) bool { return len(s.intersect(t)) == 0 }

func (s runeSet) subsetOf(t runeSet) bool { return len(s.intersect(t.negate())) == 0 }

func (s runeSet) has(r rune) bool {
	i := sort.Search(len(s)/2, func(i int) bool { return s[2*i+1] >= r })
	return i < len(s)/2 && s[2*i] <= r
}

func (s runeSet) equal(t runeSet) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// foldCase adds the other cases of every letter in s.
func (s runeSet) foldCase() runeSet {
	out := append(runeSet{}, s...)
	for i := 0; i < len(s); i += 2 {
		lo, hi := s[i], s[i+1]
		if hi-lo > 5000 {
			continue // a wide range: its folds are (nearly) in it already
		}
		for r := lo; r <= hi; r++ {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				out = append(out, f, f)
			}
		}
	}
	return out.norm()
}

var (
	setDigit = runeSet{'0', '9'}
	setWord  = runeSet{'0', '9', 'A', 'Z', '_', '_', 'a', 'z'}
	// Ruby's \s: space, \t, \n, \v, \f, \r.
	setSpace = runeSet{'\t', '\r', ' ', ' '}
	setHex   = runeSet{'0', '9', 'A', 'F', 'a', 'f'}
	setAny   = runeSet{0, maxRune}
)

// posixClass returns the set of a bracketed POSIX class such as [:alpha:].
// As in Ruby, they cover Unicode (\d and \w stay ASCII).
func posixClass(name string) (runeSet, bool) {
	tab := func(ts ...*unicode.RangeTable) runeSet {
		var s runeSet
		for _, t := range ts {
			s = append(s, tableSet(t)...)
		}
		return s.norm()
	}
	switch name {
	case "alpha":
		return tab(unicode.L, unicode.M), true
	case "digit":
		return tab(unicode.Nd), true
	case "alnum":
		return tab(unicode.L, unicode.M, unicode.Nd), true
	case "upper":
		return tab(unicode.Lu), true
	case "lower":
		return tab(unicode.Ll), true
	case "space":
		return tab(unicode.White_Space), true
	case "blank":
		return tab(unicode.Zs).union(runeSet{'\t', '\t'}), true
	case "punct":
		return tab(unicode.P).union(runeSet{'$', '$', '+', '+', '<', '>', '^', '^', '`', '`', '|', '|', '~', '~'}), true
	case "cntrl":
		return tab(unicode.Cc), true
	case "xdigit":
		return setHex, true
	case "word":
		return tab(unicode.L, unicode.M, unicode.Nd, unicode.Pc), true
	case "print":
		return tab(unicode.Cc, unicode.Cs, unicode.Co, unicode.Cn).negate(), true
	case "graph":
		return tab(unicode.Cc, unicode.Cs, unicode.Co, unicode.Cn, unicode.White_Space).negate(), true
	case "ascii":
		return runeSet{0, 0x7f}, true
	}
	return nil, false
}

func tableSet(t *unicode.RangeTable) runeSet {
	var s runeSet
	for _, r := range t.R16 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
			if r.Stride == 1 {
				s = append(s, rune(r.Lo), rune(r.Hi))
				break
			}
			s = append(s, c, c)
		}
	}
	for _, r := range t.R32 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
			if r.Stride == 1 {
				s = append(s, rune(r.Lo), rune(r.Hi))
				break
			}
			s = append(s, c, c)
		}
	}
	return s
}

// SyntaxError is a pattern that does not parse, with the byte offset of
// the problem in the expanded pattern.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset) }

type parser struct {
	src      string
	pos      int
	icase    bool
	extended bool
	ncap     int
	names    []string // capture names by number-1
}

// parse reads a pattern in the grok (Oniguruma) dialect. Named groups are
// captures; as in Ruby, plain (...) groups do not capture when the pattern
// has named groups (grok patterns always do), so every plain group is
// non-capturing here.
func parse(src string) (*node, []string, error) {
	p := &parser{src: src}
	n, err := p.alt()
	if err != nil {
		return nil, nil, err
	}
	if p.pos < len(p.src) {
		return nil, nil, p.errf("unmatched )")
	}
	return n, p.names, nil
}

func (p *parser) errf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) more() bool { return p.pos < len(p.src) }

func (p *parser) peek() byte { return p.src[p.pos] }

func (p *parser) alt() (*node, error) {
	var branches []*node
	for {
		c, err := p.concat()
		if err != nil {
			return nil, err
		}
		branches = append(branches, c)
		if p.more() && p.peek() == '|' {
			p.pos++
			continue
		}
		break
	}
	if len(branches) == 1 {
		return branches[0], nil
	}
	return &node{kind: kAlt, subs: branches}, nil
}

func (p *parser) concat() (*node, error) {
	var items []*node
	for p.more() {
		c := p.peek()
		if c == '|' || c == ')' {
			break
		}
		if p.extended && (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			p.pos++
			continue
		}
		if p.extended && c == '#' {
			for p.more() && p.peek() != '\n' {
				p.pos++
			}
			continue
		}
		start := p.pos
		atom, err := p.atom()
		if err != nil {
			return nil, err
		}
		if atom == nil {
			continue // a flag group or a comment
		}
		atom, err = p.quantifiers(atom, start)
		if err != nil {
			return nil, err
		}
		items = append(items, atom)
	}
	switch len(items) {
	case 0:
		return &node{kind: kEmpty}, nil
	case 1:
		return items[0], nil
	}
	return &node{kind: kConcat, subs: items}, nil
}

const maxRepeat = 100000

func (p *parser) quantifiers(atom *node, start int) (*node, error) {
	for p.more() {
		min, max := -1, -1
		c := p.peek()
		braces := false
		switch c {
		case '*':
			min, max = 0, -1
			p.pos++
		case '+':
			min, max = 1, -1
			p.pos++
		case '?':
			min, max = 0, 1
			p.pos++
		case '{':
			lo, hi, n, ok := parseBraces(p.src[p.pos:])
			if !ok {
				return atom, nil // a literal {
			}
			min, max = lo, hi
			p.pos += n
			braces = true
		default:
			return atom, nil
		}
		if atom.kind == kAssert || atom.kind == kLook || atom.kind == kEmpty {
			// Ruby allows (and ignores) quantified anchors; keep the meaning
			// of "optional" for {0,...}.
			if min == 0 {
				atom = &node{kind: kRepeat, subs: []*node{atom}, min: 0, max: 1, greedy: true}
			}
			continue
		}
		if min > maxRepeat || max > maxRepeat {
			return nil, p.errf("repetition count above %d", maxRepeat)
		}
		if max >= 0 && max < min {
			return nil, p.errf("repetition {%d,%d}: the maximum is below the minimum", min, max)
		}
		r := &node{kind: kRepeat, subs: []*node{atom}, min: min, max: max, greedy: true}
		if p.more() && p.peek() == '?' {
			r.greedy = false
			p.pos++
		} else if p.more() && p.peek() == '+' && !braces {
			// In Ruby syntax, a+ after {n,m} repeats again; after *, + or ? it is possessive.
			r.possessive = true
			p.pos++
		}
		atom = r
	}
	return atom, nil
}

// parseBraces reads {n}, {n,}, {,m} or {n,m}; ok is false for anything
// else, which is a literal brace in Ruby.
func parseBraces(s string) (lo, hi, n int, ok bool) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return 0, 0, 0, false
	}
	body := s[1:end]
	num := func(t string) (int, bool) {
		if t == "" || len(t) > 7 {
			return 0, false
		}
		for _, c := range t {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		v, _ := strconv.Atoi(t)
		return v, true
	}
	comma := strings.IndexByte(body, ',')
	if comma < 0 {
		v, ok := num(body)
		return v, v, end + 1, ok
	}
	a, b := body[:comma], body[comma+1:]
	lo, hi = 0, -1
	if a != "" {
		v, ok := num(a)
		if !ok {
			return 0, 0, 0, false
		}
		lo = v
	}
	if b != "" {
		v, ok := num(b)
		if !ok {
			return 0, 0, 0, false
		}
		hi = v
	}
	if a == "" && b == "" {
		return 0, 0, 0, false
	}
	return lo, hi, end + 1, true
}

func (p *parser) lit(r rune) *node {
	s := runeSet{r, r}
	if p.icase {
		s = s.foldCase()
	}
	return &node{kind: kClass, set: s}
}

func (p *parser) class(s runeSet) *node {
	if p.icase {
		s = s.foldCase()
	}
	return &node{kind: kClass, set: s}
}

func (p *parser) atom() (*node, error) {
	c := p.peek()
	switch c {
	case '(':
		return p.group()
	case '[':
		s, err := p.bracket()
		if err != nil {
			return nil, err
		}
		return p.class(s), nil
	case '.':
		p.pos++
		return &node{kind: kClass, set: setAny}, nil
	case '^':
		p.pos++
		return &node{kind: kAssert, at: aBOL}, nil
	case '$':
		p.pos++
		return &node{kind: kAssert, at: aEOL}, nil
	case '\\':
		return p.escape()
	case '*', '+', '?':
		return nil, p.errf("missing argument to repetition operator %q", c)
	}
	r, size := utf8.DecodeRuneInString(p.src[p.pos:])
	p.pos += size
	return p.lit(r), nil
}

func (p *parser) group() (*node, error) {
	start := p.pos
	p.pos++ // (
	rest := p.src[p.pos:]
	n := &node{kind: kGroup}
	switch {
	case strings.HasPrefix(rest, "?#"):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return nil, p.errf("unterminated comment")
		}
		p.pos += end + 1
		return nil, nil
	case strings.HasPrefix(rest, "?:"):
		p.pos += 2
	case strings.HasPrefix(rest, "?>"):
		p.pos += 2
		n = &node{kind: kAtomic}
	case strings.HasPrefix(rest, "?="), strings.HasPrefix(rest, "?!"):
		n = &node{kind: kLook, neg: rest[1] == '!'}
		p.pos += 2
	case strings.HasPrefix(rest, "?<="), strings.HasPrefix(rest, "?<!"):
		n = &node{kind: kLook, behind: true, neg: rest[2] == '!'}
		p.pos += 3
	case strings.HasPrefix(rest, "?<"), strings.HasPrefix(rest, "?P<"), strings.HasPrefix(rest, "?'"):
		skip, close := 2, ">"
		if rest[1] == 'P' {
			skip = 3
		} else if rest[1] == '\'' {
			close = "'"
		}
		end := strings.Index(rest[skip:], close)
		if end <= 0 {
			return nil, p.errf("invalid group name")
		}
		n.name = rest[skip : skip+end]
		p.ncap++
		n.cap = p.ncap
		p.names = append(p.names, n.name)
		p.pos += skip + end + 1
	case strings.HasPrefix(rest, "?"):
		// flags: (?imx-imx) or (?imx-imx:...)
		i := 1
		on := true
		icase, ext := p.icase, p.extended
		for ; i < len(rest); i++ {
			switch rest[i] {
			case 'i':
				icase = on
			case 'x':
				ext = on
			case 'm': // Ruby's m is dot-all, always on in grok
			case '-':
				on = false
			case ':', ')':
				goto done
			default:
				p.pos += i
				return nil, p.errf("unknown group flag %q", rest[i])
			}
		}
	done:
		if i >= len(rest) {
			return nil, p.errf("missing )")
		}
		p.pos += i + 1
		if rest[i] == ')' {
			p.icase, p.extended = icase, ext // to the end of the enclosing group
			return nil, nil
		}
		saveI, saveX := p.icase, p.extended
		p.icase, p.extended = icase, ext
		sub, err := p.alt()
		p.icase, p.extended = saveI, saveX
		if err != nil {
			return nil, err
		}
		if !p.more() || p.peek() != ')' {
			return nil, &SyntaxError{Offset: start, Msg: "missing )"}
		}
		p.pos++
		return &node{kind: kGroup, subs: []*node{sub}}, nil
	}
	saveI, saveX := p.icase, p.extended
	sub, err := p.alt()
	p.icase, p.extended = saveI, saveX
	if err != nil {
		return nil, err
	}
	if !p.more() || p.peek() != ')' {
		return nil, &SyntaxError{Offset: start, Msg: "missing )"}
	}
	p.pos++
	n.subs = []*node{sub}
	return n, nil
}

// escape reads a backslash sequence outside brackets.
func (p *parser) escape() (*node, error) {
	if p.pos+1 >= len(p.src) {
		return nil, p.errf("trailing backslash")
	}
	c := p.src[p.pos+1]
	// \G: grok matches from the start, so it is \A
	if at, ok := map[byte]assertion{'b': aWordB, 'B': aNWordB, 'A': aBOT, 'z': aEOT, 'Z': aEOTZ, 'G': aBOT}[c]; ok {
		p.pos += 2
		return &node{kind: kAssert, at: at}, nil
	}
	switch c {
	case 'k':
		rest := p.src[p.pos+2:]
		if len(rest) > 0 && rest[0] == '<' {
			end := strings.IndexByte(rest, '>')
			if end > 1 {
				p.pos += 2 + end + 1
				name := rest[1:end]
				if v, err := strconv.Atoi(name); err == nil {
					return &node{kind: kBackref, cap: v}, nil
				}
				return &node{kind: kBackref, name: name}, nil
			}
		}
		return nil, p.errf("invalid \\k reference")
	}
	if c >= '1' && c <= '9' {
		j := p.pos + 1
		for j < len(p.src) && p.src[j] >= '0' && p.src[j] <= '9' {
			j++
		}
		v, _ := strconv.Atoi(p.src[p.pos+1 : j])
		p.pos = j
		return &node{kind: kBackref, cap: v}, nil
	}
	s, err := p.classEscape()
	if err != nil {
		return nil, err
	}
	return p.class(s), nil
}

// classEscape reads an escape that stands for characters: \d, \x41, \n,
// \p{L}, \. and so on (the same inside and outside brackets).
func (p *parser) classEscape() (runeSet, error) {
	c := p.src[p.pos+1]
	p.pos += 2
	one := func(r rune) (runeSet, error) { return runeSet{r, r}, nil }
	switch c {
	case 'd':
		return setDigit, nil
	case 'D':
		return setDigit.negate(), nil
	case 'w':
		return setWord, nil
	case 'W':
		return setWord.negate(), nil
	case 's':
		return setSpace, nil
	case 'S':
		return setSpace.negate(), nil
	case 'h':
		return setHex, nil
	case 'H':
		return setHex.negate(), nil
	case 'n':
		return one('\n')
	case 't':
		return one('\t')
	case 'r':
		return one('\r')
	case 'f':
		return one('\f')
	case 'v':
		return one('\v')
	case 'a':
		return one('\a')
	case 'e':
		return one(0x1b)
	case '0':
		v := 0
		for i := 0; i < 2 && p.more() && p.peek() >= '0' && p.peek() <= '7'; i++ {
			v = v*8 + int(p.peek()-'0')
			p.pos++
		}
		return one(rune(v))
	case 'x':
		if p.more() && p.peek() == '{' {
			end := strings.IndexByte(p.src[p.pos:], '}')
			if end < 0 {
				return nil, p.errf("invalid \\x{...}")
			}
			v, err := strconv.ParseUint(p.src[p.pos+1:p.pos+end], 16, 32)
			if err != nil || v > maxRune {
				return nil, p.errf("invalid \\x{...}")
			}
			p.pos += end + 1
			return one(rune(v))
		}
		j := p.pos
		for j < len(p.src) && j < p.pos+2 && isHex(p.src[j]) {
			j++
		}
		if j == p.pos {
			return nil, p.errf("invalid \\x escape")
		}
		v, _ := strconv.ParseUint(p.src[p.pos:j], 16, 32)
		p.pos = j
		return one(rune(v))
	case 'u':
		if p.pos+4 > len(p.src) {
			return nil, p.errf("invalid \\u escape")
		}
		v, err := strconv.ParseUint(p.src[p.pos:p.pos+4], 16, 32)
		if err != nil {
			return nil, p.errf("invalid \\u escape")
		}
		p.pos += 4
		return one(rune(v))
	case 'p', 'P':
		neg := c == 'P'
		if !p.more() || p.peek() != '{' {
			return nil, p.errf("invalid \\%c: write \\%c{Name}", c, c)
		}
		end := strings.IndexByte(p.src[p.pos:], '}')
		if end < 0 {
			return nil, p.errf("invalid \\%c{...}", c)
		}
		name := p.src[p.pos+1 : p.pos+end]
		p.pos += end + 1
		if strings.HasPrefix(name, "^") {
			neg, name = !neg, name[1:]
		}
		s, ok := unicodeClass(name)
		if !ok {
			return nil, p.errf("unknown Unicode class %q", name)
		}
		if neg {
			s = s.negate()
		}
		return s, nil
	}
	if c >= 0x80 {
		p.pos -= 2
		p.pos++
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		p.pos += size
		return one(r)
	}
	if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
		p.pos -= 2
		return nil, p.errf("unsupported escape \\%c", c)
	}
	return one(rune(c))
}

func unicodeClass(name string) (runeSet, bool) {
	switch strings.ToLower(name) {
	case "alpha", "alnum", "digit", "upper", "lower", "space", "punct", "word", "xdigit", "cntrl", "print", "graph", "blank", "ascii":
		return posixClass(strings.ToLower(name))
	case "any":
		return setAny, true
	}
	if t, ok := unicode.Categories[name]; ok {
		return tableSet(t).norm(), true
	}
	if t, ok := unicode.Scripts[name]; ok {
		return tableSet(t).norm(), true
	}
	return nil, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// bracket reads [...], with ranges, escapes, POSIX classes ([:alpha:],
// [:^alpha:]), nested sets ([a[b-c]]) and intersections (&&), as Oniguruma
// reads them.
func (p *parser) bracket() (runeSet, error) {
	start := p.pos
	p.pos++ // [
	neg := false
	if p.more() && p.peek() == '^' {
		neg = true
		p.pos++
	}
	var set runeSet
	var inter []runeSet // sets before each &&
	first := true
	for {
		if !p.more() {
			return nil, &SyntaxError{Offset: start, Msg: "missing ]"}
		}
		c := p.peek()
		if c == ']' && !first {
			p.pos++
			break
		}
		first = false
		if strings.HasPrefix(p.src[p.pos:], "&&") {
			p.pos += 2
			inter = append(inter, set.norm())
			set = nil
			continue
		}
		if c == '[' {
			if strings.HasPrefix(p.src[p.pos:], "[:") {
				end := strings.Index(p.src[p.pos+2:], ":]")
				if end >= 0 {
					name := p.src[p.pos+2 : p.pos+2+end]
					pneg := strings.HasPrefix(name, "^")
					if s, ok := posixClass(strings.TrimPrefix(name, "^")); ok {
						if pneg {
							s = s.negate()
						}
						set = append(set, s...)
						p.pos += 2 + end + 2
						continue
					}
				}
			}
			s, err := p.bracket() // a nested set
			if err != nil {
				return nil, err
			}
			set = append(set, s...)
			continue
		}
		lo, err := p.bracketChar()
		if err != nil {
			return nil, err
		}
		if lo.multi != nil {
			set = append(set, lo.multi...)
			continue
		}
		if p.pos+1 < len(p.src) && p.peek() == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			hi, err := p.bracketChar()
			if err != nil {
				return nil, err
			}
			if hi.multi != nil {
				// [a-\d]: the - is literal
				set = append(set, lo.r, lo.r, '-', '-')
				set = append(set, hi.multi...)
				continue
			}
			if hi.r < lo.r {
				return nil, p.errf("invalid range %q-%q in a bracket", lo.r, hi.r)
			}
			set = append(set, lo.r, hi.r)
			continue
		}
		set = append(set, lo.r, lo.r)
	}
	out := set.norm()
	for _, s := range inter {
		out = out.intersect(s)
	}
	if p.icase {
		out = out.foldCase()
	}
	if neg {
		out = out.negate()
	}
	return out, nil
}

type bracketItem struct {
	r     rune
	multi runeSet // an escape that stands for a set (\d, \s, \p{...})
}

func (p *parser) bracketChar() (bracketItem, error) {
	c := p.peek()
	if c == '\\' {
		if p.pos+1 >= len(p.src) {
			return bracketItem{}, p.errf("trailing backslash")
		}
		switch p.src[p.pos+1] {
		case 'b':
			p.pos += 2
			return bracketItem{r: '\b'}, nil
		}
		s, err := p.classEscape()
		if err != nil {
			return bracketItem{}, err
		}
		if len(s) == 2 && s[0] == s[1] {
			return bracketItem{r: s[0]}, nil
		}
		return bracketItem{multi: s}, nil
	}
	r, size := utf8.DecodeRuneInString(p.src[p.pos:])
	p.pos += size
	return bracketItem{r: r}, nil
}
