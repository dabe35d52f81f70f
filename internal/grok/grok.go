// Package grok compiles grok patterns, as Logstash writes them, into
// matchers: Logstash's pattern files (legacy and ECS) compile whole, field
// references such as %{IP:[source][address]:int} are read, and each
// pattern runs on the fastest engine that keeps its meaning (see
// README.md).
package grok

import (
	"bufio"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/dlclark/regexp2/v2"

	"github.com/octostore/agent/agent/scan"
)

// ParseDefinitions reads a pattern file: one "NAME REGEX" a line, # for
// comments, blank lines ignored.
func ParseDefinitions(src string) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.IndexAny(l, " \t")
		if i <= 0 {
			return nil, fmt.Errorf("line %d: expected NAME REGEX, got %q", line, l)
		}
		name := l[:i]
		if !validName(name) {
			return nil, fmt.Errorf("line %d: invalid pattern name %q (letters, digits and _)", line, name)
		}
		out[name] = strings.TrimLeft(l[i:], " \t")
	}
	return out, sc.Err()
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// Capture is a named capture of a compiled pattern: the field it sets.
type Capture struct {
	Ref  string   // as written: "[source][address]", "client_ip"
	Path []string // the field's path: ["source", "address"]
	Type string   // "", "int", "float" or "bool"
}

// Engine says how a pattern runs.
type Engine uint8

const (
	// EngineScan is agent/scan's one-pass matcher (anchored patterns of
	// literals and repeated classes), as parse "regex" uses.
	EngineScan Engine = iota
	// EngineLinear is the two-pass DFA matcher of this package: any
	// regular pattern, one-character lookarounds included, in linear time.
	EngineLinear
	// EngineBacktracking is github.com/dlclark/regexp2, with a time budget
	// per line, for what the others cannot run.
	EngineBacktracking
	// EngineSegments is the linear engine with a one-pass front
	// (segment.go): literal separators between fields, each field's end
	// found from the separator after it, the fields that need it checked
	// by the linear engine; lines it cannot decide go to the linear engine.
	EngineSegments
)

func (e Engine) String() string {
	return [...]string{"scan", "linear", "backtracking", "segments"}[e]
}

// Pattern is a compiled grok pattern.
type Pattern struct {
	Source   string    // the pattern as given
	Expanded string    // after %{...} expansion, in the grok dialect
	Captures []Capture // by capture number - 1
	Engine   Engine
	Reason   string // why the engine was chosen
	// RE2 is the pattern in Go's syntax when it has an exact equivalent
	// (captures named g1, g2, ... by capture number), else "".
	RE2 string

	budget time.Duration
	// prog is the linear engine's program, its tables built on first
	// use (progOnce, see Matcher.linear).
	prog     *prog
	progOnce sync.Once
	re       *regexp.Regexp
	scanner  *scan.Scanner
	segs     *segments
	slow     *regexp2.Regexp
	slowNum  []int // regexp2 group number of each capture
	tree     *node
}

// Options are the compile options.
type Options struct {
	// Lookup returns a pattern's definition by name.
	Lookup func(name string) (string, bool)
	// Budget is the longest the backtracking engine may run on one line
	// (default 100ms).
	Budget time.Duration
	// ForceBacktracking runs the pattern on the backtracking engine as
	// written (for tests that compare the engines).
	ForceBacktracking bool
	// NoSegments keeps a pattern off the segment engine (for tests that
	// compare it with the linear engine).
	NoSegments bool
}

var refStart = "%{"

// expand replaces %{NAME}, %{NAME:field} and %{NAME:field:type} as
// Logstash does: a reference with a field becomes a named group, one
// without a plain group.
func expand(pattern string, lookup func(string) (string, bool)) (string, []Capture, error) {
	var caps []Capture
	var b strings.Builder
	var walk func(p string, stack []string) error
	walk = func(p string, stack []string) error {
		for {
			i := strings.Index(p, refStart)
			if i < 0 {
				b.WriteString(p)
				return nil
			}
			if i > 0 && p[i-1] == '\\' && (i < 2 || p[i-2] != '\\') {
				b.WriteString(p[:i+2]) // \%{ is a literal
				p = p[i+2:]
				continue
			}
			b.WriteString(p[:i])
			end := strings.IndexByte(p[i:], '}')
			if end < 0 {
				return fmt.Errorf("unterminated reference %q: write %%{NAME} or %%{NAME:field}", trunc(p[i:]))
			}
			ref := p[i+2 : i+end]
			p = p[i+end+1:]
			name, sub := ref, ""
			if c := strings.IndexByte(ref, ':'); c >= 0 {
				name, sub = ref[:c], ref[c+1:]
			}
			if sp := strings.IndexAny(name, " \t"); sp > 0 && sub == "" && !strings.ContainsRune(name, '=') {
				// As Logstash reads %{NAME ...}: text after the name and a
				// space is skipped ("%{NAGIOSLOGLINE - SERVICE ALERT}").
				name = name[:sp]
			}
			if strings.ContainsRune(name, '=') {
				return fmt.Errorf("%%{%s}: inline definitions are not supported; add it to definitions", ref)
			}
			if !validName(name) {
				return fmt.Errorf("%%{%s}: invalid pattern name %q (letters, digits and _)", ref, name)
			}
			def, ok := lookup(name)
			if !ok {
				return &UnknownPatternError{Name: name}
			}
			for _, s := range stack {
				if s == name {
					return fmt.Errorf("pattern %s refers to itself (%s)", name, strings.Join(append(stack, name), " -> "))
				}
			}
			if len(stack) > 100 {
				return fmt.Errorf("patterns nested more than 100 deep at %s", name)
			}
			if sub == "" {
				b.WriteString("(?:")
			} else {
				c, err := parseCaptureRef(sub)
				if err != nil {
					return fmt.Errorf("%%{%s}: %v", ref, err)
				}
				caps = append(caps, c)
				fmt.Fprintf(&b, "(?<%%%d>", len(caps)-1)
			}
			if err := walk(def, append(stack, name)); err != nil {
				return err
			}
			b.WriteString(")")
		}
	}
	if err := walk(pattern, nil); err != nil {
		return "", nil, err
	}
	return b.String(), caps, nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// UnknownPatternError is a reference to a pattern no library defines.
type UnknownPatternError struct{ Name string }

func (e *UnknownPatternError) Error() string { return fmt.Sprintf("unknown pattern %%{%s}", e.Name) }

// parseCaptureRef reads "field", "field:type", "[a][b]" or "[a][b]:type".
// Anything after the field that Logstash skips (such as a trailing "?")
// is skipped too.
func parseCaptureRef(sub string) (Capture, error) {
	field, typ := sub, ""
	if strings.HasPrefix(sub, "[") {
		end := strings.LastIndexByte(sub, ']')
		if end < 0 {
			return Capture{}, fmt.Errorf("field reference %q is missing ]", sub)
		}
		field, typ = sub[:end+1], strings.TrimPrefix(sub[end+1:], ":")
		if strings.HasPrefix(typ, "?") || typ == "" {
			typ = ""
		} else if !strings.HasPrefix(sub[end+1:], ":") {
			return Capture{}, fmt.Errorf("unexpected %q after field reference %s", sub[end+1:], field)
		}
	} else if c := strings.IndexByte(sub, ':'); c >= 0 {
		field, typ = sub[:c], sub[c+1:]
	}
	typ = strings.TrimSuffix(typ, "?")
	path, err := FieldPath(field)
	if err != nil {
		return Capture{}, err
	}
	switch typ {
	case "", "int", "float", "bool":
	default:
		return Capture{}, fmt.Errorf("unknown type :%s (use :int or :float)", typ)
	}
	return Capture{Ref: field, Path: path, Type: typ}, nil
}

// FieldPath reads a field reference as Logstash does: "name" is a
// top-level field (dots and dashes are part of the name), "[a][b]" the
// field b inside a.
func FieldPath(ref string) ([]string, error) {
	if ref == "" {
		return nil, errors.New("empty field name")
	}
	if !strings.HasPrefix(ref, "[") {
		if strings.ContainsAny(ref, "[]") {
			return nil, fmt.Errorf("field reference %q: write [a][b] for a nested field", ref)
		}
		return []string{ref}, nil
	}
	var path []string
	for s := ref; s != ""; {
		if s[0] != '[' {
			return nil, fmt.Errorf("field reference %q: expected [ at %q", ref, s)
		}
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return nil, fmt.Errorf("field reference %q is missing ]", ref)
		}
		seg := s[1:end]
		if seg == "" || strings.ContainsRune(seg, '[') {
			return nil, fmt.Errorf("field reference %q has an empty or invalid part", ref)
		}
		path = append(path, seg)
		s = s[end+1:]
	}
	return path, nil
}

// Compile expands and compiles a grok pattern.
func Compile(pattern string, o Options) (*Pattern, error) {
	exp, refs, err := expand(pattern, o.Lookup)
	if err != nil {
		return nil, err
	}
	tree, names, err := parse(exp)
	if err != nil {
		return nil, fmt.Errorf("in the expanded pattern: %v (near %q)", err, near(exp, err))
	}
	p := &Pattern{Source: pattern, Expanded: exp, tree: tree, budget: o.Budget}
	if p.budget <= 0 {
		p.budget = 100 * time.Millisecond
	}
	for _, n := range names {
		if strings.HasPrefix(n, "%") {
			i, _ := strconv.Atoi(n[1:])
			p.Captures = append(p.Captures, refs[i])
			continue
		}
		// a named group written in a definition: (?<name>...) or (?<[a][b]>...)
		c, err := parseCaptureRef(n)
		if err != nil {
			return nil, fmt.Errorf("group (?<%s>...): %v", n, err)
		}
		p.Captures = append(p.Captures, c)
	}
	if err := resolveBackrefs(tree, names); err != nil {
		return nil, err
	}
	fast := rewrite(tree, endOfPattern)
	why := fastUnsupported(fast)
	if o.ForceBacktracking {
		why = "forced"
	}
	if why == "" {
		pr, err := compileProg(fast, len(names), false)
		if err != nil {
			why = err.Error()
		} else {
			p.prog = pr
			p.Engine = EngineLinear
			p.Reason = "regular once rewritten: linear-time DFA matcher"
			if s, err := printNode(fast, dialectRE2); err == nil {
				if re, err := regexp.Compile(s); err == nil {
					p.RE2, p.re = s, re
					if sc := scan.Compile(re); sc != nil {
						p.scanner = sc
						p.Engine = EngineScan
						p.Reason = "anchored literals and repeated classes: one-pass scanner"
					}
				}
			}
			if p.scanner == nil && !o.NoSegments {
				if sg, why := compileSegments(fast, len(names)); sg != nil {
					p.segs = sg
					p.Engine = EngineSegments
					p.Reason = "literal separators between fields: one pass, fields checked by the linear-time DFA matcher (which takes the lines this cannot decide)"
				} else {
					p.Reason += "; not one pass: " + why
				}
			}
			return p, nil
		}
	}
	src, err := printNode(tree, dialectNET)
	if err != nil {
		return nil, err
	}
	re, err := regexp2.Compile(src, regexp2.Multiline|regexp2.Singleline)
	if err != nil {
		return nil, fmt.Errorf("backtracking engine: %v", err)
	}
	re.MatchTimeout = p.budget
	p.slow = re
	p.slowNum = make([]int, len(names))
	for i := range names {
		p.slowNum[i] = re.GroupNumberFromName(groupName(i + 1))
	}
	p.Engine = EngineBacktracking
	p.Reason = "backtracking engine (time budget per line): " + why
	return p, nil
}

func near(s string, err error) string {
	var se *SyntaxError
	if errors.As(err, &se) {
		lo := max(0, se.Offset-20)
		hi := min(len(s), se.Offset+20)
		return s[lo:hi]
	}
	return trunc(s)
}

// resolveBackrefs gives \k<name> references their capture number.
func resolveBackrefs(n *node, names []string) error {
	var err error
	contains(n, func(x *node) bool {
		if x.kind != kBackref {
			return false
		}
		if x.name != "" {
			for i, nm := range names {
				if nm == x.name {
					x.cap = i + 1
				}
			}
			if x.cap == 0 {
				err = fmt.Errorf(`\k<%s>: no group of that name`, x.name)
			}
		} else if x.cap < 1 || x.cap > len(names) {
			err = fmt.Errorf(`\%d: no such group (patterns with named groups refer to them by name: \k<name>)`, x.cap)
		}
		return err != nil
	})
	return err
}

// ErrTimeout is returned by Match when the backtracking engine ran past
// its budget on a line.
var ErrTimeout = errors.New("pattern ran past its time budget")

// Matcher matches one pattern; it keeps buffers and caches, so each
// goroutine needs its own.
type Matcher struct {
	p    *Pattern
	fast *fastMatcher
	seg  *segMatcher
	// tried and decided count the lines given to the segment engine and
	// those it decided on its own.
	tried, decided int
}

// Decided returns how many lines the segment engine decided in one pass
// (the others went to the linear engine).
func (m *Matcher) Decided() int { return m.decided }

// NewMatcher returns a matcher for p.
func (p *Pattern) NewMatcher() *Matcher {
	m := &Matcher{p: p}
	if p.prog != nil && p.segs == nil && p.scanner == nil {
		m.linear()
	}
	if p.segs != nil {
		m.seg = newSegMatcher(p.segs)
	}
	return m
}

// linear returns the linear engine's matcher, made on first use. Behind
// the segment engine it runs only the lines that engine does not decide
// (none of the bench's nginx lines): its program's tables, built then,
// were a fifth of the compile of `^%{NGINX_COMBINED}$`.
func (m *Matcher) linear() *fastMatcher {
	if m.fast == nil {
		p := m.p
		p.progOnce.Do(func() { _, _ = p.prog.finish() }) // it cannot fail: compileProg checked its size
		m.fast = newFastMatcher(p.prog)
	}
	return m.fast
}

// Slots is the number of ints Match fills: 2 per capture, plus the match.
func (p *Pattern) Slots() int { return 2 * (len(p.Captures) + 1) }

// Match finds the leftmost match of the pattern in in, as Logstash would,
// and fills slots with the byte offsets of each capture (-1 for a capture
// that took no part). The error is ErrTimeout when the backtracking
// engine ran past its budget.
func (m *Matcher) Match(in []byte, slots []int) (bool, error) {
	p := m.p
	switch {
	case p.scanner != nil:
		return p.scanner.Match(in, slots), nil
	case m.seg != nil:
		m.tried++
		if ok, decided := m.seg.match(in, slots); decided {
			m.decided++
			return ok, nil
		}
		if m.tried >= 64 && 2*m.decided < m.tried {
			// It decides too few of these lines to pay for itself (a field
			// that may hold its separator, such as %{DATA} in a quoted
			// request): the linear engine takes them all from now on.
			m.seg = nil
		}
		return m.linear().match(in, slots), nil
	case m.fast != nil:
		return m.fast.match(in, slots), nil
	}
	for i := range slots {
		slots[i] = -1
	}
	var s string
	if len(in) > 0 {
		s = unsafe.String(&in[0], len(in))
	}
	res, err := p.slow.FindStringMatch(s)
	if err != nil {
		if errors.Is(err, regexp2.ErrMatchTimeout) {
			return false, ErrTimeout
		}
		return false, err
	}
	if res == nil {
		return false, nil
	}
	slots[0], slots[1] = byteRange(&res.Group.Capture)
	for i, num := range p.slowNum {
		g := res.GroupByNumber(num)
		if g == nil || len(g.Captures) == 0 {
			continue
		}
		slots[2*(i+1)], slots[2*(i+1)+1] = byteRange(&g.Capture)
	}
	return true, nil
}

func byteRange(c *regexp2.Capture) (int, int) {
	i, n := c.ByteRange()
	return i, i + n
}
