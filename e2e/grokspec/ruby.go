package main

// A reader for the subset of Ruby that Logstash's pattern specs are
// written in: literals, arrays and hashes, method calls with or without
// parentheses, blocks, if/unless/else, modifiers, lambdas, string
// interpolation and heredocs. Anything else is a parse error with its
// line, and the example that holds it is counted as unread.

import (
	"fmt"
	"strconv"
	"strings"
)

type tokKind int

const (
	tEOF tokKind = iota
	tNL
	tStr
	tInt
	tFloat
	tSym
	tIdent
	tConst
	tLabel // key: in a hash
	tOp
)

type strPart struct {
	lit  string
	expr string // #{...}
}

type token struct {
	kind  tokKind
	text  string
	parts []strPart // tStr
	line  int
	space bool // whitespace before the token
}

type lexer struct {
	src      []rune
	pos      int
	line     int
	toks     []token
	heredocs []*token // pending bodies, read at the next newline
	hdTerms  []string
	hdSquig  []bool
}

func lex(src string) ([]token, error) {
	l := &lexer{src: []rune(src), line: 1}
	for {
		space := false
		for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t' || l.src[l.pos] == '\r' ||
			(l.src[l.pos] == '\\' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '\n')) {
			if l.src[l.pos] == '\\' {
				l.pos++
				l.line++
			}
			l.pos++
			space = true
		}
		if l.pos >= len(l.src) {
			l.toks = append(l.toks, token{kind: tEOF, line: l.line})
			return l.toks, nil
		}
		c := l.src[l.pos]
		start := l.line
		switch {
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
			continue
		case c == '\n':
			l.pos++
			l.line++
			l.toks = append(l.toks, token{kind: tNL, line: start})
			if err := l.readHeredocs(); err != nil {
				return nil, err
			}
			if l.pos == 0 || l.atLineStart("=begin") {
				for l.pos < len(l.src) && !l.atLineStart("=end") {
					l.skipLine()
				}
				l.skipLine()
			}
			continue
		case c == '\'' || c == '"':
			parts, err := l.readString(c)
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, token{kind: tStr, parts: parts, line: start, space: space})
			continue
		case c == '<' && l.peek(1) == '<' && (isIdentStart(l.peek(2)) || l.peek(2) == '~' || l.peek(2) == '-'):
			l.pos += 2
			squig := false
			if l.src[l.pos] == '~' || l.src[l.pos] == '-' {
				squig = l.src[l.pos] == '~'
				l.pos++
			}
			s := l.pos
			for l.pos < len(l.src) && isIdent(l.src[l.pos]) {
				l.pos++
			}
			l.toks = append(l.toks, token{kind: tStr, line: start, space: space})
			l.heredocs = append(l.heredocs, &l.toks[len(l.toks)-1])
			l.hdTerms = append(l.hdTerms, string(l.src[s:l.pos]))
			l.hdSquig = append(l.hdSquig, squig)
			continue
		case c >= '0' && c <= '9':
			s := l.pos
			float := false
			for l.pos < len(l.src) && (isDigit(l.src[l.pos]) || l.src[l.pos] == '_' ||
				(l.src[l.pos] == '.' && isDigit(l.peek(1)) && !float)) {
				if l.src[l.pos] == '.' {
					float = true
				}
				l.pos++
			}
			k := tInt
			if float {
				k = tFloat
			}
			l.toks = append(l.toks, token{kind: k, text: strings.ReplaceAll(string(l.src[s:l.pos]), "_", ""), line: start, space: space})
			continue
		case c == ':' && l.peek(1) == '"':
			l.pos++
			parts, err := l.readString('"')
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, token{kind: tSym, text: parts[0].lit, line: start, space: space})
			continue
		case c == ':' && isIdentStart(l.peek(1)):
			l.pos++
			s := l.pos
			for l.pos < len(l.src) && isIdent(l.src[l.pos]) {
				l.pos++
			}
			if l.pos < len(l.src) && (l.src[l.pos] == '?' || l.src[l.pos] == '!') {
				l.pos++
			}
			l.toks = append(l.toks, token{kind: tSym, text: string(l.src[s:l.pos]), line: start, space: space})
			continue
		case c == '@' || isIdentStart(c):
			s := l.pos
			for l.pos < len(l.src) && (isIdent(l.src[l.pos]) || l.src[l.pos] == '@') {
				l.pos++
			}
			if l.pos < len(l.src) && (l.src[l.pos] == '?' || l.src[l.pos] == '!') && l.peek(1) != '=' {
				l.pos++
			}
			text := string(l.src[s:l.pos])
			if l.pos < len(l.src) && l.src[l.pos] == ':' && l.peek(1) != ':' {
				l.pos++
				l.toks = append(l.toks, token{kind: tLabel, text: text, line: start, space: space})
				continue
			}
			k := tIdent
			if c >= 'A' && c <= 'Z' {
				k = tConst
			}
			l.toks = append(l.toks, token{kind: k, text: text, line: start, space: space})
			continue
		}
		if c == '%' && (l.peek(1) == 'w' || l.peek(1) == 'q' || l.peek(1) == 'Q') && strings.ContainsRune("{([<|!/", l.peek(2)) && space {
			kind := l.peek(1)
			open := l.peek(2)
			close := map[rune]rune{'{': '}', '(': ')', '[': ']', '<': '>'}[open]
			if close == 0 {
				close = open
			}
			l.pos += 3
			s, depth := l.pos, 0
			for l.pos < len(l.src) && (l.src[l.pos] != close || depth > 0) {
				if l.src[l.pos] == open && open != close {
					depth++
				} else if l.src[l.pos] == close {
					depth--
				}
				if l.src[l.pos] == '\\' {
					l.pos++
				}
				l.pos++
			}
			body := string(l.src[s:l.pos])
			l.pos++
			if kind == 'w' {
				l.toks = append(l.toks, token{kind: tOp, text: "[", line: start, space: space})
				for i, w := range strings.Fields(body) {
					if i > 0 {
						l.toks = append(l.toks, token{kind: tOp, text: ",", line: start})
					}
					l.toks = append(l.toks, token{kind: tStr, parts: []strPart{{lit: w}}, line: start, space: true})
				}
				l.toks = append(l.toks, token{kind: tOp, text: "]", line: start})
				continue
			}
			parts := []strPart{{lit: singleQuoted([]rune(body))}}
			if kind == 'Q' {
				var err error
				if parts, err = interpolate([]rune(body), true); err != nil {
					return nil, err
				}
			}
			l.toks = append(l.toks, token{kind: tStr, parts: parts, line: start, space: space})
			continue
		}
		for _, op := range []string{"...", "**", "||=", "=>", "->", "==", "!=", "||", "&&", "..", "::", "<<", "+=", "=~", "<=", ">="} {
			if l.has(op) {
				l.pos += len([]rune(op))
				l.toks = append(l.toks, token{kind: tOp, text: op, line: start, space: space})
				goto next
			}
		}
		if strings.ContainsRune("()[]{},.|+-*/=!?:;<>%&", c) {
			l.pos++
			l.toks = append(l.toks, token{kind: tOp, text: string(c), line: start, space: space})
			continue
		}
		return nil, fmt.Errorf("line %d: unexpected character %q", l.line, c)
	next:
	}
}

func (l *lexer) peek(n int) rune {
	if l.pos+n < len(l.src) {
		return l.src[l.pos+n]
	}
	return 0
}

func (l *lexer) has(s string) bool {
	r := []rune(s)
	if l.pos+len(r) > len(l.src) {
		return false
	}
	return string(l.src[l.pos:l.pos+len(r)]) == s
}

func (l *lexer) atLineStart(s string) bool { return l.has(s) }

func (l *lexer) skipLine() {
	for l.pos < len(l.src) && l.src[l.pos] != '\n' {
		l.pos++
	}
	if l.pos < len(l.src) {
		l.pos++
		l.line++
	}
}

// readHeredocs reads the bodies of the heredocs opened on the line just
// ended.
func (l *lexer) readHeredocs() error {
	for i, t := range l.heredocs {
		var lines []string
		for {
			if l.pos >= len(l.src) {
				return fmt.Errorf("line %d: heredoc %s not closed", l.line, l.hdTerms[i])
			}
			s := l.pos
			l.skipLine()
			ln := strings.TrimSuffix(string(l.src[s:l.pos]), "\n")
			if strings.TrimSpace(ln) == l.hdTerms[i] {
				break
			}
			lines = append(lines, ln)
		}
		if l.hdSquig[i] {
			lines = dedent(lines)
		}
		body := strings.Join(lines, "\n") + "\n"
		parts, err := interpolate([]rune(body), true)
		if err != nil {
			return err
		}
		t.parts = parts
	}
	l.heredocs, l.hdTerms, l.hdSquig = nil, nil, nil
	return nil
}

func dedent(lines []string) []string {
	min := -1
	for _, ln := range lines {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		n := len(ln) - len(strings.TrimLeft(ln, " \t"))
		if min < 0 || n < min {
			min = n
		}
	}
	out := make([]string, len(lines))
	for i, ln := range lines {
		if len(ln) >= min && min > 0 {
			ln = ln[min:]
		}
		out[i] = ln
	}
	return out
}

// readString reads a quoted string from its opening quote.
func (l *lexer) readString(q rune) ([]strPart, error) {
	l.pos++
	s := l.pos
	depth := 0
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '\\' {
			l.pos += 2
			continue
		}
		if c == '\n' {
			l.line++
		}
		if q == '"' && c == '#' && l.peek(1) == '{' {
			depth++
			l.pos += 2
			continue
		}
		if depth > 0 && c == '}' {
			depth--
		} else if depth == 0 && c == q {
			body := l.src[s:l.pos]
			l.pos++
			if q == '\'' {
				return []strPart{{lit: singleQuoted(body)}}, nil
			}
			return interpolate(body, true)
		}
		l.pos++
	}
	return nil, fmt.Errorf("line %d: string not closed", l.line)
}

func singleQuoted(b []rune) string {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == '\\' || b[i+1] == '\'') {
			i++
		}
		sb.WriteRune(b[i])
	}
	return sb.String()
}

// interpolate reads a double-quoted body: escapes and #{expr}.
func interpolate(b []rune, escapes bool) ([]strPart, error) {
	var parts []strPart
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '#' && i+1 < len(b) && b[i+1] == '{' {
			depth, j := 1, i+2
			for ; j < len(b) && depth > 0; j++ {
				if b[j] == '{' {
					depth++
				} else if b[j] == '}' {
					depth--
				}
			}
			parts = append(parts, strPart{lit: sb.String()}, strPart{expr: string(b[i+2 : j-1])})
			sb.Reset()
			i = j - 1
			continue
		}
		if c != '\\' || !escapes || i+1 >= len(b) {
			sb.WriteRune(c)
			continue
		}
		i++
		switch e := b[i]; e {
		case 'n':
			sb.WriteByte('\n')
		case 't':
			sb.WriteByte('\t')
		case 'r':
			sb.WriteByte('\r')
		case 'e':
			sb.WriteByte(0x1b)
		case 's':
			sb.WriteByte(' ')
		case '0':
			sb.WriteByte(0)
		case 'a':
			sb.WriteByte(7)
		case 'b':
			sb.WriteByte(8)
		case 'v':
			sb.WriteByte(11)
		case 'f':
			sb.WriteByte(12)
		case 'x':
			j := i + 1
			for j < len(b) && j < i+3 && isHex(b[j]) {
				j++
			}
			n, err := strconv.ParseUint(string(b[i+1:j]), 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad \\x escape")
			}
			sb.WriteByte(byte(n))
			i = j - 1
		case 'u':
			if i+1 < len(b) && b[i+1] == '{' {
				j := i + 2
				for j < len(b) && b[j] != '}' {
					j++
				}
				n, err := strconv.ParseUint(string(b[i+2:j]), 16, 32)
				if err != nil {
					return nil, fmt.Errorf("bad \\u escape")
				}
				sb.WriteRune(rune(n))
				i = j
				continue
			}
			if i+4 >= len(b) {
				return nil, fmt.Errorf("bad \\u escape")
			}
			n, err := strconv.ParseUint(string(b[i+1:i+5]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("bad \\u escape")
			}
			sb.WriteRune(rune(n))
			i += 4
		case '\n':
		default:
			sb.WriteRune(e)
		}
	}
	parts = append(parts, strPart{lit: sb.String()})
	return parts, nil
}

func isDigit(c rune) bool      { return c >= '0' && c <= '9' }
func isHex(c rune) bool        { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }
func isIdentStart(c rune) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isIdent(c rune) bool      { return isIdentStart(c) || isDigit(c) }

// The syntax tree.

type node interface{ pos() int }

type (
	strNode struct {
		line  int
		parts []strPart
		exprs []node // parsed #{...}
	}
	numNode struct {
		line int
		v    any
	}
	symNode struct {
		line int
		name string
	}
	arrayNode struct {
		line  int
		elems []node
	}
	pairNode struct{ k, v node }
	hashNode struct {
		line  int
		pairs []pairNode
	}
	// callNode is a method call, a local variable or a constant:
	// recv.name(args) { block }. A name without receiver, arguments or
	// parentheses may be a local variable.
	callNode struct {
		line   int
		recv   node
		name   string
		args   []node
		parens bool
		block  *blockNode
	}
	blockNode struct {
		line   int
		params []string
		body   []node
	}
	binNode struct {
		line int
		op   string
		l, r node
	}
	unNode struct {
		line int
		op   string
		x    node
	}
	indexNode struct {
		line int
		recv node
		args []node
	}
	ifNode struct {
		line      int
		cond      node
		then, els []node
		negate    bool
	}
	assignNode struct {
		line int
		name string
		x    node
	}
	lambdaNode struct {
		line int
		blk  *blockNode
	}
)

func (n *strNode) pos() int    { return n.line }
func (n *numNode) pos() int    { return n.line }
func (n *symNode) pos() int    { return n.line }
func (n *arrayNode) pos() int  { return n.line }
func (n *hashNode) pos() int   { return n.line }
func (n *callNode) pos() int   { return n.line }
func (n *blockNode) pos() int  { return n.line }
func (n *binNode) pos() int    { return n.line }
func (n *unNode) pos() int     { return n.line }
func (n *indexNode) pos() int  { return n.line }
func (n *ifNode) pos() int     { return n.line }
func (n *assignNode) pos() int { return n.line }
func (n *lambdaNode) pos() int { return n.line }

type parser struct {
	toks []token
	i    int
}

type parseError struct {
	line int
	msg  string
}

func (e *parseError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func parseRuby(src string) (nodes []node, err error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*parseError)
			if !ok {
				panic(r)
			}
			err = pe
		}
	}()
	nodes = p.stmts("")
	if p.cur().kind != tEOF {
		p.fail("unexpected %q", p.cur().text)
	}
	return nodes, nil
}

func (p *parser) cur() token  { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }
func (p *parser) fail(f string, a ...any) {
	panic(&parseError{p.cur().line, fmt.Sprintf(f, a...)})
}
func (p *parser) isOp(s string) bool   { t := p.cur(); return t.kind == tOp && t.text == s }
func (p *parser) isWord(s string) bool { t := p.cur(); return t.kind == tIdent && t.text == s }
func (p *parser) expectOp(s string) {
	if !p.isOp(s) {
		p.fail("want %q, found %q", s, p.cur().text)
	}
	p.i++
}
func (p *parser) skipNL() {
	for p.cur().kind == tNL || p.isOp(";") {
		p.i++
	}
}

// stmts reads statements up to one of the closing words (or "}").
func (p *parser) stmts(closers ...string) []node {
	var out []node
	for {
		p.skipNL()
		t := p.cur()
		if t.kind == tEOF {
			return out
		}
		for _, c := range closers {
			if (c == "}" && p.isOp("}")) || (c != "}" && c != "" && p.isWord(c)) {
				return out
			}
		}
		out = append(out, p.stmt())
	}
}

func (p *parser) stmt() node {
	n := p.expr()
	for {
		line := p.cur().line
		switch {
		case p.isWord("if"):
			p.i++
			n = &ifNode{line: line, cond: p.expr(), then: []node{n}}
		case p.isWord("unless"):
			p.i++
			n = &ifNode{line: line, cond: p.expr(), then: []node{n}, negate: true}
		default:
			return n
		}
	}
}

func (p *parser) expr() node {
	if p.isWord("not") {
		line := p.next().line
		return &unNode{line: line, op: "!", x: p.expr()}
	}
	n := p.assign()
	for p.isWord("and") || p.isWord("or") {
		op := map[string]string{"and": "&&", "or": "||"}[p.next().text]
		n = &binNode{line: n.pos(), op: op, l: n, r: p.assign()}
	}
	return n
}

func (p *parser) assign() node {
	t := p.cur()
	if t.kind == tIdent || t.kind == tConst {
		nx := p.toks[p.i+1]
		if nx.kind == tOp && (nx.text == "=" || nx.text == "||=" || nx.text == "+=") {
			p.i += 2
			p.skipNL()
			x := p.assign()
			if nx.text == "+=" {
				x = &binNode{line: t.line, op: "+", l: &callNode{line: t.line, name: t.text}, r: x}
			}
			return &assignNode{line: t.line, name: t.text, x: x}
		}
	}
	n := p.binary(0)
	if t := p.cur(); t.kind == tOp && t.text == "?" && t.space {
		p.i++
		p.skipNL()
		a := p.assign()
		p.skipNL()
		p.expectOp(":")
		p.skipNL()
		b := p.assign()
		return &ifNode{line: t.line, cond: n, then: []node{a}, els: []node{b}}
	}
	return n
}

var precedence = []map[string]bool{
	{"||": true},
	{"&&": true},
	{"==": true, "!=": true, "=~": true},
	{"<": true, ">": true, "<=": true, ">=": true},
	{"..": true, "...": true},
	{"+": true, "-": true},
	{"*": true, "/": true, "%": true},
}

func (p *parser) binary(level int) node {
	if level == len(precedence) {
		return p.unary()
	}
	n := p.binary(level + 1)
	for {
		t := p.cur()
		if t.kind != tOp || !precedence[level][t.text] {
			return n
		}
		p.i++
		p.skipNL()
		n = &binNode{line: t.line, op: t.text, l: n, r: p.binary(level + 1)}
	}
}

func (p *parser) unary() node {
	t := p.cur()
	if t.kind == tOp && t.text == "*" {
		p.i++
		return &unNode{line: t.line, op: t.text, x: p.binary(4)}
	}
	if t.kind == tOp && (t.text == "!" || t.text == "-") {
		p.i++
		return &unNode{line: t.line, op: t.text, x: p.unary()}
	}
	return p.postfix(p.primary())
}

func (p *parser) postfix(n node) node {
	for {
		t := p.cur()
		switch {
		case t.kind == tOp && (t.text == "." || t.text == "::") ||
			(t.kind == tNL && p.toks[p.i+1].kind == tOp && p.toks[p.i+1].text == "."):
			if t.kind == tNL {
				p.i++
			}
			p.i++
			p.skipNL()
			if p.isOp("(") { // f.(args)
				c := &callNode{line: t.line, recv: n, name: "call", parens: true}
				c.args = p.parenArgs()
				n = c
				continue
			}
			name := p.next()
			if name.kind != tIdent && name.kind != tConst {
				p.fail("method name expected after %q, found %q", t.text, name.text)
			}
			c := &callNode{line: name.line, recv: n, name: name.text}
			p.callArgs(c)
			n = c
		case t.kind == tOp && t.text == "[" && !t.space:
			p.i++
			p.skipNL()
			args := p.list("]")
			n = &indexNode{line: t.line, recv: n, args: args}
		default:
			return n
		}
	}
}

// callArgs reads the arguments and block of a call whose name was read.
func (p *parser) callArgs(c *callNode) {
	t := p.cur()
	if t.kind == tOp && t.text == "(" && !t.space {
		c.args = p.parenArgs()
		c.parens = true
	} else if p.startsCommandArg() {
		c.args = p.commandArgs()
	}
	if p.isOp("{") {
		c.block = p.braceBlock()
	} else if p.isWord("do") {
		c.block = p.doBlock()
	}
}

func (p *parser) parenArgs() []node {
	p.expectOp("(")
	p.skipNL()
	return p.list(")")
}

// list reads comma-separated arguments (with bare key => value pairs
// gathered into a trailing hash) up to the closer.
func (p *parser) list(closer string) []node {
	var args []node
	var h *hashNode
	for !p.isOp(closer) {
		args, h = p.arg(args, h)
		p.skipNL()
		if p.isOp(",") {
			p.i++
			p.skipNL()
			continue
		}
		if !p.isOp(closer) {
			p.fail("want %q or \",\", found %q", closer, p.cur().text)
		}
	}
	p.i++
	return args
}

// arg reads one argument: a value, or a key => value pair that goes into
// the trailing hash h (created at the first pair).
func (p *parser) arg(args []node, h *hashNode) ([]node, *hashNode) {
	k, v, ok := p.pair()
	if !ok {
		return append(args, v), h
	}
	if h == nil {
		h = &hashNode{line: k.pos()}
		args = append(args, h)
	}
	h.pairs = append(h.pairs, pairNode{k, v})
	return args, h
}

// pair reads `key => value`, `key: value`, or a lone value (ok false).
func (p *parser) pair() (node, node, bool) {
	if t := p.cur(); t.kind == tLabel {
		p.i++
		p.skipNL()
		return &symNode{line: t.line, name: t.text}, p.expr(), true
	}
	v := p.expr()
	if p.isOp("=>") {
		p.i++
		p.skipNL()
		return v, p.expr(), true
	}
	return nil, v, false
}

// startsCommandArg says whether the token after a bare method name starts
// its first argument (a call without parentheses: `include "a" => 1`).
func (p *parser) startsCommandArg() bool {
	t := p.cur()
	if !t.space {
		return false
	}
	switch t.kind {
	case tStr, tInt, tFloat, tSym, tConst, tLabel:
		return true
	case tIdent:
		switch t.text {
		case "if", "unless", "do", "end", "and", "or", "then", "else", "elsif":
			return false
		}
		return true
	case tOp:
		nx := p.toks[p.i+1]
		switch t.text {
		case "[", "->":
			return true
		case "(":
			return true
		case "-", "*", "!":
			return !nx.space
		}
	}
	return false
}

func (p *parser) commandArgs() []node {
	var args []node
	var h *hashNode
	for {
		args, h = p.arg(args, h)
		if !p.isOp(",") {
			return args
		}
		p.i++
		p.skipNL()
	}
}

func (p *parser) braceBlock() *blockNode {
	line := p.next().line
	b := &blockNode{line: line, params: p.blockParams()}
	b.body = p.stmts("}")
	p.expectOp("}")
	return b
}

func (p *parser) doBlock() *blockNode {
	line := p.next().line
	b := &blockNode{line: line, params: p.blockParams()}
	b.body = p.stmts("end")
	p.next()
	return b
}

func (p *parser) blockParams() []string {
	p.skipNLOnly()
	if !p.isOp("|") {
		return nil
	}
	p.i++
	var ps []string
	for !p.isOp("|") {
		t := p.next()
		if t.kind == tIdent {
			ps = append(ps, t.text)
		} else if !(t.kind == tOp && t.text == ",") {
			p.fail("block parameter expected, found %q", t.text)
		}
	}
	p.i++
	return ps
}

func (p *parser) skipNLOnly() {
	for p.cur().kind == tNL {
		p.i++
	}
}

func (p *parser) primary() node {
	t := p.cur()
	switch t.kind {
	case tStr:
		p.i++
		n := &strNode{line: t.line, parts: t.parts}
		for _, part := range t.parts {
			if part.expr != "" {
				sub, err := parseRuby(part.expr)
				if err != nil || len(sub) != 1 {
					p.fail("cannot read #{%s}", part.expr)
				}
				n.exprs = append(n.exprs, sub[0])
			} else {
				n.exprs = append(n.exprs, nil)
			}
		}
		// adjacent literals concatenate
		for p.cur().kind == tStr {
			nx := p.next()
			n.parts = append(n.parts, nx.parts...)
			for _, part := range nx.parts {
				if part.expr != "" {
					p.fail("interpolation in a continued string")
				}
				n.exprs = append(n.exprs, nil)
			}
		}
		return n
	case tInt:
		p.i++
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			p.fail("bad integer %s", t.text)
		}
		return &numNode{line: t.line, v: v}
	case tFloat:
		p.i++
		v, _ := strconv.ParseFloat(t.text, 64)
		return &numNode{line: t.line, v: v}
	case tSym:
		p.i++
		return &symNode{line: t.line, name: t.text}
	case tConst:
		p.i++
		c := &callNode{line: t.line, name: t.text}
		p.callArgs(c)
		return c
	case tIdent:
		switch t.text {
		case "if", "unless":
			return p.ifExpr()
		case "lambda", "proc":
			p.i++
			if p.isOp("{") {
				return &lambdaNode{line: t.line, blk: p.braceBlock()}
			}
			return &lambdaNode{line: t.line, blk: p.doBlock()}
		case "nil", "true", "false", "self":
			p.i++
			return &callNode{line: t.line, name: t.text}
		case "begin":
			p.i++
			body := p.stmts("end")
			p.next()
			return &ifNode{line: t.line, cond: &callNode{line: t.line, name: "true"}, then: body}
		}
		p.i++
		c := &callNode{line: t.line, name: t.text}
		p.callArgs(c)
		return c
	case tOp:
		switch t.text {
		case "(":
			p.i++
			p.skipNL()
			n := p.stmt()
			p.skipNL()
			p.expectOp(")")
			return n
		case "[":
			p.i++
			p.skipNL()
			return &arrayNode{line: t.line, elems: p.list("]")}
		case "{":
			p.i++
			p.skipNL()
			h := &hashNode{line: t.line}
			for !p.isOp("}") {
				k, v, ok := p.pair()
				if !ok {
					p.fail("hash pair expected")
				}
				h.pairs = append(h.pairs, pairNode{k, v})
				p.skipNL()
				if p.isOp(",") {
					p.i++
					p.skipNL()
				}
			}
			p.i++
			return h
		case "->":
			p.i++
			if p.isOp("{") {
				return &lambdaNode{line: t.line, blk: p.braceBlock()}
			}
			return &lambdaNode{line: t.line, blk: p.doBlock()}
		}
	}
	p.fail("unexpected %q", t.text)
	return nil
}

func (p *parser) ifExpr() node {
	t := p.next()
	n := &ifNode{line: t.line, cond: p.expr(), negate: t.text == "unless"}
	if p.isWord("then") {
		p.i++
	}
	n.then = p.stmts("else", "elsif", "end")
	switch {
	case p.isWord("elsif"):
		n.els = []node{p.ifExpr()}
		return n
	case p.isWord("else"):
		p.i++
		n.els = p.stmts("end")
	}
	if !p.isWord("end") {
		p.fail("want end, found %q", p.cur().text)
	}
	p.i++
	return n
}
