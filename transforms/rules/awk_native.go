package rules

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/benhoyt/goawk/interp"
	"github.com/benhoyt/goawk/lexer"
	"github.com/benhoyt/goawk/parser"
	"github.com/benhoyt/goawk/syntax"
)

// The native path of parse "awk": a program made only of the common
// shapes (split() with a literal separator, $N, $NF, NF, array elements by
// number, substr, length, concatenation, + - *, comparisons, && || !, ~
// and !~ with a literal regex, if, next, patterns, print, set and fail,
// BEGIN { FS = "x" }) is compiled from GoAWK's syntax tree, when the
// config loads, into Go closures that run without the interpreter. They
// give what the interpreter gives on every line the native path takes:
//
//   - values keep AWK's kinds: a number (split's count, length, a literal,
//     a sum, a comparison), a string (a literal, substr, a concatenation),
//     or a field or split element ("strnum": a string that compares and
//     tests as a number when it reads as one, as GoAWK's isTrueStr
//     decides: interp.NumStr); arithmetic reads strings as GoAWK does
//     (interp.StrToNum), numbers become strings as CONVFMT "%.6g" makes
//     them, and an if on a comparison jumps as GoAWK's compiled jump does
//     (the inverse comparison: they differ on NaN);
//   - every variable and array the program reads it has set earlier in the
//     same run on every path (otherwise its value would come from the last
//     line: the interpreter keeps variables from run to run), so a line run
//     here and the next run by the interpreter see the same values;
//   - split() and the fields split as GoAWK splits them (FS " ": runs of
//     white space, strings.Fields; one ASCII byte: strings.Split; an
//     empty string: nothing); substr and length count bytes, as the
//     interpreter does without Config.Chars.
//
// Anything else (loops, printf, getline, functions, END, special
// variables but NF and FS, / and %, assignments to fields or elements, a
// regex computed per line, a separator of several bytes) leaves the
// program to the interpreter, whole; compileAwkNative says why.

// awkKind is the static type of a compiled expression.
type awkKind uint8

const (
	awkNum    awkKind = iota + 1 // a number
	awkStr                       // a string that never compares as a number
	awkStrNum                    // a field or split element
)

// awkExpr is a compiled expression: num is set for awkNum, str otherwise.
type awkExpr struct {
	kind awkKind
	num  func(m *awkMachine) float64
	str  func(m *awkMachine) string
}

// toStr is e's value as a string (numbers as CONVFMT "%.6g" formats them).
func (e awkExpr) toStr() func(m *awkMachine) string {
	if e.kind != awkNum {
		return e.str
	}
	num := e.num
	return func(m *awkMachine) string { return awkNumString(num(m)) }
}

// toNum is e's value as a number (strings as AWK reads their leading
// number).
func (e awkExpr) toNum() func(m *awkMachine) float64 {
	if e.kind == awkNum {
		return e.num
	}
	str := e.str
	return func(m *awkMachine) float64 { return interp.StrToNum(str(m)) }
}

// awkStmt is a compiled statement; it reports true when it ran next.
type awkStmt func(m *awkMachine) bool

// awkNative is a compiled program.
type awkNative struct {
	actions []awkNativeAction
	fs      string
	nvars   int
	narrays int
}

type awkNativeAction struct {
	pattern func(m *awkMachine) bool // nil: every line
	body    []awkStmt
}

// awkMachine is the state of one run of a native program over a line.
type awkMachine struct {
	line       string
	fs         string
	fields     []string
	haveFields bool
	nums       []float64
	strs       []string
	arrays     [][]string
	step       *awkStep
}

func newAwkMachine(p *awkNative, s *awkStep) *awkMachine {
	return &awkMachine{fs: p.fs, nums: make([]float64, p.nvars), strs: make([]string, p.nvars),
		arrays: make([][]string, p.narrays), step: s}
}

// run runs p over line: its sets go to the step's cur, a fail to its
// failure.
func (p *awkNative) run(m *awkMachine, line string) {
	m.line, m.haveFields = line, false
	for _, a := range p.actions {
		if a.pattern != nil && !a.pattern(m) {
			continue
		}
		if runAwkStmts(m, a.body) {
			return
		}
	}
}

func runAwkStmts(m *awkMachine, body []awkStmt) bool {
	for _, st := range body {
		if st(m) {
			return true
		}
	}
	return false
}

func (m *awkMachine) field(i int) string {
	if i == 0 {
		return m.line
	}
	if !m.haveFields {
		m.fields = awkSplitInto(m.fields[:0], m.line, m.fs)
		m.haveFields = true
	}
	if i <= len(m.fields) {
		return m.fields[i-1]
	}
	return ""
}

func (m *awkMachine) nf() float64 {
	m.field(1)
	return float64(len(m.fields))
}

// awkSplitInto appends the parts of s split at fs as GoAWK's split() and
// field splitting split them, for the separators the native path takes:
// " " (runs of white space, none at either end, Unicode white space
// included) or one ASCII byte (each byte a separator; nothing for "").
func awkSplitInto(parts []string, s, fs string) []string {
	if fs == " " {
		n := len(parts)
		i := 0
		for i < len(s) {
			for i < len(s) && awkByteClass[s[i]] == awkBlank {
				i++
			}
			start := i
			for i < len(s) && awkByteClass[s[i]] != awkBlank {
				if awkByteClass[s[i]] == awkNonASCII {
					return append(parts[:n], strings.Fields(s)...)
				}
				i++
			}
			if i > start {
				parts = append(parts, s[start:i])
			}
		}
		return parts
	}
	if s == "" {
		return parts
	}
	sep := fs[0]
	for {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return append(parts, s)
		}
		parts = append(parts, s[:i])
		s = s[i+1:]
	}
}

// awkByteClass sorts bytes for splitting at " ": the ASCII white space
// strings.Fields splits at, bytes of Unicode characters (which may be
// white space too), and the rest (0).
var awkByteClass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\v\f\r") {
		t[c] = awkBlank
	}
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = awkNonASCII
	}
	return t
}()

const (
	awkBlank    = 1
	awkNonASCII = 2
)

// awkNativeFS reports whether the native path splits at fs.
func awkNativeFS(fs string) bool {
	return fs == " " || len(fs) == 1 && fs[0] < utf8.RuneSelf
}

// awkNumString formats a number as GoAWK does with the default CONVFMT.
func awkNumString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 0):
		if f < 0 {
			return "-inf"
		}
		return "inf"
	case f == float64(int64(f)):
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 6, 64)
}

func awkBool(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// awkCompiler compiles a program's syntax tree; it gives up (ok false) on
// the first thing the native path does not do.
type awkCompiler struct {
	vars   map[string]int     // variable slots
	kinds  map[string]awkKind // each variable's one kind
	arrays map[string]int     // array slots
	ok     bool
	why    string // what the native path does not take
}

// awkDefs is what is set on every path so far: "v:name" and "a:name".
type awkDefs map[string]bool

func (d awkDefs) clone() awkDefs {
	c := make(awkDefs, len(d))
	for k := range d {
		c[k] = true
	}
	return c
}

func (d awkDefs) intersect(o awkDefs) awkDefs {
	c := awkDefs{}
	for k := range d {
		if o[k] {
			c[k] = true
		}
	}
	return c
}

// compileAwkNative returns the native form of prog, or nil and why the
// interpreter must run it.
func compileAwkNative(prog *parser.Program) (*awkNative, string) {
	tree := syntax.Of(prog)
	switch {
	case len(tree.End) > 0:
		return nil, "an END action"
	case len(tree.Functions) > 0:
		return nil, "a function"
	}
	p := &awkNative{fs: " "}
	for _, ss := range tree.Begin { // only FS = "literal"
		for _, st := range ss {
			es, ok := st.(*syntax.ExprStmt)
			if !ok {
				return nil, "a BEGIN action doing more than FS = \"x\""
			}
			as, ok := es.Expr.(*syntax.AssignExpr)
			if !ok {
				return nil, "a BEGIN action doing more than FS = \"x\""
			}
			v, ok1 := as.Left.(*syntax.VarExpr)
			lit, ok2 := as.Right.(*syntax.StrExpr)
			if !ok1 || !ok2 || v.Name != "FS" || lit.Regex {
				return nil, "a BEGIN action doing more than FS = \"x\""
			}
			p.fs = lit.Value
		}
	}
	if !awkNativeFS(p.fs) {
		return nil, "FS " + strconv.Quote(p.fs) + " (a regex)"
	}
	c := &awkCompiler{vars: map[string]int{}, kinds: map[string]awkKind{}, arrays: map[string]int{}, ok: true}
	defs := awkDefs{}
	for _, a := range tree.Actions {
		var act awkNativeAction
		switch len(a.Pattern) {
		case 0:
		case 1:
			act.pattern = c.cond(a.Pattern[0], defs)
		default:
			return nil, "a range pattern" // it keeps state across lines
		}
		if a.Stmts == nil {
			return nil, "a pattern without an action"
		}
		in := defs
		if act.pattern != nil {
			in = defs.clone() // what a conditional body sets is not set after it
		}
		act.body, _ = c.stmts(a.Stmts, in)
		if !c.ok {
			return nil, c.why
		}
		p.actions = append(p.actions, act)
	}
	if !c.ok {
		return nil, c.why
	}
	p.nvars, p.narrays = len(c.vars), len(c.arrays)
	return p, ""
}

// fail gives up on the native path; the first reason (the innermost
// construct) is kept.
func (c *awkCompiler) fail(why string) {
	if c.ok {
		c.ok, c.why = false, why
	}
}

// quoteAwk is a construct as a note quotes it: on one line, shortened.
func quoteAwk(n interface{ String() string }) string {
	s := strings.Join(strings.Fields(n.String()), " ")
	if len(s) > 60 {
		s = strings.ToValidUTF8(s[:57], "") + "..."
	}
	return "`" + s + "`"
}

// stmts compiles a list; it returns the compiled statements and whether
// the list always ends in next. defs is updated with what it sets.
func (c *awkCompiler) stmts(ss syntax.Stmts, defs awkDefs) ([]awkStmt, bool) {
	var out []awkStmt
	for _, st := range ss {
		s, term := c.stmt(st, defs)
		if !c.ok {
			return nil, false
		}
		out = append(out, s)
		if term {
			return out, true // what follows never runs
		}
	}
	return out, false
}

func (c *awkCompiler) stmt(st syntax.Stmt, defs awkDefs) (awkStmt, bool) {
	switch st := st.(type) {
	case *syntax.NextStmt:
		return func(*awkMachine) bool { return true }, true
	case *syntax.BlockStmt:
		body, term := c.stmts(st.Body, defs)
		return func(m *awkMachine) bool { return runAwkStmts(m, body) }, term
	case *syntax.IfStmt:
		cond := c.ifCond(st.Cond, defs)
		if !c.ok {
			return nil, false
		}
		bdefs, edefs := defs.clone(), defs.clone()
		body, bterm := c.stmts(st.Body, bdefs)
		els, eterm := c.stmts(st.Else, edefs)
		if !c.ok {
			return nil, false
		}
		var after awkDefs
		switch {
		case bterm && eterm:
			after = bdefs
		case bterm:
			after = edefs
		case eterm:
			after = bdefs
		default:
			after = bdefs.intersect(edefs)
		}
		for k := range defs {
			delete(defs, k)
		}
		for k := range after {
			defs[k] = true
		}
		return func(m *awkMachine) bool {
			if cond(m) {
				return runAwkStmts(m, body)
			}
			return runAwkStmts(m, els)
		}, bterm && eterm
	case *syntax.PrintStmt:
		// The output is discarded: print only evaluates its arguments.
		if st.Redirect != lexer.ILLEGAL {
			c.fail("print with a redirect")
			return nil, false
		}
		var args []func(*awkMachine) string
		for _, a := range st.Args {
			e := c.expr(a, defs)
			if !c.ok {
				return nil, false
			}
			args = append(args, e.toStr())
		}
		return func(m *awkMachine) bool {
			for _, a := range args {
				a(m)
			}
			return false
		}, false
	case *syntax.ExprStmt:
		return c.exprStmt(st.Expr, defs), false
	}
	c.fail(quoteAwk(st))
	return nil, false
}

// exprStmt compiles an expression used as a statement: set, fail, an
// assignment to a variable, or any expression the native path evaluates.
func (c *awkCompiler) exprStmt(x syntax.Expr, defs awkDefs) awkStmt {
	switch x := x.(type) {
	case *syntax.UserCallExpr:
		switch {
		case x.Name == "set" && len(x.Args) == 2:
			name, value := c.expr(x.Args[0], defs).toStr(), c.expr(x.Args[1], defs).toStr()
			if !c.ok {
				return nil
			}
			return func(m *awkMachine) bool {
				n := name(m)
				m.step.cur = append(m.step.cur, awkSet{n, value(m)})
				return false
			}
		case x.Name == "fail" && len(x.Args) == 1:
			reason := c.expr(x.Args[0], defs).toStr()
			if !c.ok {
				return nil
			}
			return func(m *awkMachine) bool {
				r := reason(m)
				if m.step.failure == "" {
					m.step.failure = r
				}
				return false
			}
		}
		c.fail(quoteAwk(x))
		return nil
	case *syntax.AssignExpr:
		v, ok := x.Left.(*syntax.VarExpr)
		if !ok || syntax.IsSpecialVar(v.Name) {
			c.fail("`" + x.String() + "`: only variables are assigned")
			return nil
		}
		e := c.expr(x.Right, defs)
		if !c.ok {
			return nil
		}
		if _, isArray := c.arrays[v.Name]; isArray {
			c.fail(v.Name + ": an array assigned as a variable")
			return nil
		}
		if k, seen := c.kinds[v.Name]; seen && k != e.kind {
			c.fail(v.Name + ": a variable given a number and a string")
			return nil
		}
		slot, seen := c.vars[v.Name]
		if !seen {
			slot = len(c.vars)
			c.vars[v.Name] = slot
		}
		c.kinds[v.Name] = e.kind
		defs["v:"+v.Name] = true
		if e.kind == awkNum {
			f := e.num
			return func(m *awkMachine) bool { m.nums[slot] = f(m); return false }
		}
		f := e.str
		return func(m *awkMachine) bool { m.strs[slot] = f(m); return false }
	}
	e := c.expr(x, defs)
	if !c.ok {
		return nil
	}
	if e.kind == awkNum {
		f := e.num
		return func(m *awkMachine) bool { f(m); return false }
	}
	f := e.str
	return func(m *awkMachine) bool { f(m); return false }
}

// cond compiles x as a condition: its truth.
func (c *awkCompiler) cond(x syntax.Expr, defs awkDefs) func(*awkMachine) bool {
	e := c.expr(x, defs)
	if !c.ok {
		return nil
	}
	return c.truth(e)
}

// ifCond compiles the condition of an if. GoAWK compiles a comparison
// there into a jump on the inverse comparison (if (a < b) jumps past the
// body when a >= b), which differs from the comparison itself when a
// number is NaN: so does this.
func (c *awkCompiler) ifCond(x syntax.Expr, defs awkDefs) func(*awkMachine) bool {
	b, ok := x.(*syntax.BinaryExpr)
	if !ok {
		return c.cond(x, defs)
	}
	inv, isCmp := awkInverse[b.Op]
	if !isCmp {
		return c.cond(x, defs)
	}
	l := c.expr(b.Left, defs)
	r := c.expr(b.Right, defs)
	if !c.ok {
		return nil
	}
	f := c.compare(inv, l, r).num
	return func(m *awkMachine) bool { return f(m) == 0 }
}

// awkInverse is each comparison's inverse.
var awkInverse = map[lexer.Token]lexer.Token{
	lexer.EQUALS: lexer.NOT_EQUALS, lexer.NOT_EQUALS: lexer.EQUALS,
	lexer.LESS: lexer.GTE, lexer.GTE: lexer.LESS,
	lexer.LTE: lexer.GREATER, lexer.GREATER: lexer.LTE,
}

// intConst returns x as an integer constant.
func intConst(x syntax.Expr) (int, bool) {
	n, ok := x.(*syntax.NumExpr)
	if !ok || n.Value != float64(int64(n.Value)) || n.Value < 0 || n.Value > 1<<20 {
		return 0, false
	}
	return int(n.Value), true
}

func (c *awkCompiler) expr(x syntax.Expr, defs awkDefs) awkExpr {
	if !c.ok {
		return awkExpr{}
	}
	switch x := x.(type) {
	case *syntax.GroupingExpr:
		return c.expr(x.Expr, defs)
	case *syntax.NumExpr:
		v := x.Value
		return awkExpr{kind: awkNum, num: func(*awkMachine) float64 { return v }}
	case *syntax.StrExpr:
		if x.Regex {
			break
		}
		v := x.Value
		return awkExpr{kind: awkStr, str: func(*awkMachine) string { return v }}
	case *syntax.FieldExpr:
		if i, ok := intConst(x.Index); ok {
			return awkExpr{kind: awkStrNum, str: func(m *awkMachine) string { return m.field(i) }}
		}
		if v, ok := x.Index.(*syntax.VarExpr); ok && v.Name == "NF" {
			return awkExpr{kind: awkStrNum, str: func(m *awkMachine) string { return m.field(int(m.nf())) }}
		}
	case *syntax.VarExpr:
		if x.Name == "NF" {
			return awkExpr{kind: awkNum, num: (*awkMachine).nf}
		}
		if !defs["v:"+x.Name] {
			// Its value would be the last line's, or depend on the path.
			c.fail(x.Name + ": read where it is not set on every path before")
			return awkExpr{}
		}
		slot, k := c.vars[x.Name], c.kinds[x.Name]
		if k == awkNum {
			return awkExpr{kind: k, num: func(m *awkMachine) float64 { return m.nums[slot] }}
		}
		return awkExpr{kind: k, str: func(m *awkMachine) string { return m.strs[slot] }}
	case *syntax.IndexExpr:
		i, ok := 0, len(x.Index) == 1
		if ok {
			i, ok = intConst(x.Index[0])
		}
		if !ok || !defs["a:"+x.Array] {
			break
		}
		slot := c.arrays[x.Array]
		return awkExpr{kind: awkStrNum, str: func(m *awkMachine) string {
			if a := m.arrays[slot]; i >= 1 && i <= len(a) {
				return a[i-1]
			}
			return ""
		}}
	case *syntax.CallExpr:
		return c.call(x, defs)
	case *syntax.UnaryExpr:
		e := c.expr(x.Value, defs)
		switch {
		case !c.ok:
		case x.Op == lexer.SUB:
			f := e.toNum()
			return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return -f(m) }}
		case x.Op == lexer.ADD:
			return awkExpr{kind: awkNum, num: e.toNum()}
		case x.Op == lexer.NOT:
			f := c.truth(e)
			return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return awkBool(!f(m)) }}
		}
	case *syntax.BinaryExpr:
		return c.binary(x, defs)
	case *syntax.RegExpr: // /re/ alone: $0 ~ /re/
		re := awkRegex(x.Regex)
		if re == nil {
			break
		}
		return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return awkBool(re.MatchString(m.line)) }}
	}
	c.fail(quoteAwk(x))
	return awkExpr{}
}

// awkRegex compiles an AWK regular expression as GoAWK does
// (compiler.AddRegexFlags: "." matches a newline too); nil when it does
// not compile (the interpreter reports the error).
func awkRegex(src string) *regexp.Regexp {
	re, err := regexp.Compile("(?s:" + src + ")")
	if err != nil {
		return nil
	}
	return re
}

func (c *awkCompiler) call(x *syntax.CallExpr, defs awkDefs) awkExpr {
	switch x.Func {
	case lexer.F_SPLIT:
		src := c.expr(x.Args[0], defs).toStr()
		arr, ok := x.Args[1].(*syntax.VarExpr)
		fs := "" // the FS of the program
		if len(x.Args) == 3 {
			lit, isLit := x.Args[2].(*syntax.StrExpr)
			if !isLit || !awkNativeFS(lit.Value) {
				break
			}
			fs = lit.Value
		}
		if !c.ok || !ok || syntax.IsSpecialVar(arr.Name) {
			break
		}
		if _, isVar := c.vars[arr.Name]; isVar {
			break
		}
		slot, seen := c.arrays[arr.Name]
		if !seen {
			slot = len(c.arrays)
			c.arrays[arr.Name] = slot
		}
		defs["a:"+arr.Name] = true
		return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 {
			sep := fs
			if sep == "" {
				sep = m.fs
			}
			m.arrays[slot] = awkSplitInto(m.arrays[slot][:0], src(m), sep)
			return float64(len(m.arrays[slot]))
		}}
	case lexer.F_LENGTH:
		if len(x.Args) == 0 {
			return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return float64(len(m.line)) }}
		}
		if v, isVar := x.Args[0].(*syntax.VarExpr); isVar && !defs["v:"+v.Name] && v.Name != "NF" {
			break // an array's length, or a variable not set on this line
		}
		s := c.expr(x.Args[0], defs).toStr()
		if !c.ok {
			break
		}
		return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return float64(len(s(m))) }}
	case lexer.F_SUBSTR:
		s := c.expr(x.Args[0], defs).toStr()
		pos := c.expr(x.Args[1], defs)
		if !c.ok {
			break
		}
		pf := pos.toNum()
		if len(x.Args) == 2 {
			return awkExpr{kind: awkStr, str: func(m *awkMachine) string {
				return awkSubstr(s(m), int(pf(m)), -1, false)
			}}
		}
		n := c.expr(x.Args[2], defs)
		if !c.ok {
			break
		}
		nf := n.toNum()
		return awkExpr{kind: awkStr, str: func(m *awkMachine) string {
			return awkSubstr(s(m), int(pf(m)), int(nf(m)), true)
		}}
	}
	c.fail(quoteAwk(x))
	return awkExpr{}
}

// awkSubstr is GoAWK's substr in bytes: from pos (1-based, clamped), at
// most length bytes when withLength.
func awkSubstr(s string, pos, length int, withLength bool) string {
	if pos > len(s) {
		pos = len(s) + 1
	}
	if pos < 1 {
		pos = 1
	}
	maxLength := len(s) - pos + 1
	if !withLength {
		length = maxLength
	}
	if length < 0 {
		length = 0
	}
	if length > maxLength {
		length = maxLength
	}
	return s[pos-1 : pos-1+length]
}

func (c *awkCompiler) binary(x *syntax.BinaryExpr, defs awkDefs) awkExpr {
	if x.Op == lexer.CONCAT {
		return c.concat(x, defs)
	}
	if x.Op == lexer.MATCH || x.Op == lexer.NOT_MATCH {
		lit, ok := x.Right.(*syntax.StrExpr)
		if !ok {
			c.fail("`" + x.String() + "`: a regex computed on each line")
			return awkExpr{}
		}
		re := awkRegex(lit.Value)
		l := c.expr(x.Left, defs)
		if re == nil || !c.ok {
			c.fail(quoteAwk(x))
			return awkExpr{}
		}
		ls, want := l.toStr(), x.Op == lexer.MATCH
		return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return awkBool(re.MatchString(ls(m)) == want) }}
	}
	l := c.expr(x.Left, defs)
	var r awkExpr
	switch x.Op {
	case lexer.AND, lexer.OR:
		r = c.expr(x.Right, defs.clone()) // the right side may not run
	default:
		r = c.expr(x.Right, defs)
	}
	if !c.ok {
		return awkExpr{}
	}
	switch x.Op {
	case lexer.ADD, lexer.SUB, lexer.MUL:
		lf, rf := l.toNum(), r.toNum()
		switch x.Op {
		case lexer.ADD:
			return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return lf(m) + rf(m) }}
		case lexer.SUB:
			return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return lf(m) - rf(m) }}
		}
		return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return lf(m) * rf(m) }}
	case lexer.AND, lexer.OR:
		lc, rc := c.truth(l), c.truth(r)
		if !c.ok {
			break
		}
		if x.Op == lexer.AND {
			return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return awkBool(lc(m) && rc(m)) }}
		}
		return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return awkBool(lc(m) || rc(m)) }}
	case lexer.EQUALS, lexer.NOT_EQUALS, lexer.LESS, lexer.LTE, lexer.GREATER, lexer.GTE:
		return c.compare(x.Op, l, r)
	}
	c.fail(quoteAwk(x))
	return awkExpr{}
}

// concat compiles a chain of concatenations, a b c, as one: one string
// made, its parts evaluated left to right.
func (c *awkCompiler) concat(x *syntax.BinaryExpr, defs awkDefs) awkExpr {
	var operands []syntax.Expr
	var walk func(e syntax.Expr)
	walk = func(e syntax.Expr) {
		if b, ok := e.(*syntax.BinaryExpr); ok && b.Op == lexer.CONCAT {
			walk(b.Left)
			walk(b.Right)
			return
		}
		operands = append(operands, e)
	}
	walk(x)
	var p []func(*awkMachine) string
	for _, o := range operands {
		p = append(p, c.expr(o, defs).toStr())
	}
	if !c.ok {
		return awkExpr{}
	}
	var f func(m *awkMachine) string
	switch len(p) {
	case 2:
		f = func(m *awkMachine) string { return p[0](m) + p[1](m) }
	case 3:
		f = func(m *awkMachine) string { return p[0](m) + p[1](m) + p[2](m) }
	case 4:
		f = func(m *awkMachine) string { return p[0](m) + p[1](m) + p[2](m) + p[3](m) }
	default:
		f = func(m *awkMachine) string {
			var b strings.Builder
			for _, part := range p {
				b.WriteString(part(m))
			}
			return b.String()
		}
	}
	return awkExpr{kind: awkStr, str: f}
}

// truth is AWK's truth of e: a number not 0, a string not empty, a
// numeric string as its number when it is one.
func (c *awkCompiler) truth(e awkExpr) func(*awkMachine) bool {
	switch e.kind {
	case awkNum:
		f := e.num
		return func(m *awkMachine) bool { return f(m) != 0 }
	case awkStr:
		f := e.str
		return func(m *awkMachine) bool { return f(m) != "" }
	}
	f := e.str
	return func(m *awkMachine) bool {
		s := f(m)
		if n, ok := interp.NumStr(s); ok {
			return n != 0
		}
		return s != ""
	}
}

// compare compiles a comparison: numeric when both sides are numbers,
// of strings when either is a plain string (AWK's rule); a strnum
// against a number or strnum is left to the interpreter.
func (c *awkCompiler) compare(op lexer.Token, l, r awkExpr) awkExpr {
	if l.kind == awkNum && r.kind == awkNum {
		lf, rf := l.num, r.num
		return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return awkBool(awkCmp(op, lf(m), rf(m))) }}
	}
	if l.kind == awkStr || r.kind == awkStr {
		ls, rs := l.toStr(), r.toStr()
		return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 { return awkBool(awkCmp(op, ls(m), rs(m))) }}
	}
	// A numeric string and a number or another numeric string: numbers
	// if both read as numbers, else strings (GoAWK's isTrueStr).
	lv, rv := l.value(), r.value()
	return awkExpr{kind: awkNum, num: func(m *awkMachine) float64 {
		a, b := lv(m), rv(m)
		an, aStr := a.trueStr()
		bn, bStr := b.trueStr()
		if aStr || bStr {
			return awkBool(awkCmp(op, a.String(), b.String()))
		}
		return awkBool(awkCmp(op, an, bn))
	}}
}

// awkValue is a value of a known kind, for the comparisons decided on
// each line.
type awkValue struct {
	kind awkKind
	n    float64
	s    string
}

// value evaluates e into an awkValue.
func (e awkExpr) value() func(m *awkMachine) awkValue {
	if e.kind == awkNum {
		f := e.num
		return func(m *awkMachine) awkValue { return awkValue{kind: awkNum, n: f(m)} }
	}
	f, k := e.str, e.kind
	return func(m *awkMachine) awkValue { return awkValue{kind: k, s: f(m)} }
}

// trueStr is GoAWK's isTrueStr: the number, and whether v compares as a
// string.
func (v awkValue) trueStr() (float64, bool) {
	switch v.kind {
	case awkNum:
		return v.n, false
	case awkStrNum:
		n, ok := interp.NumStr(v.s)
		return n, !ok
	}
	return 0, true
}

func (v awkValue) String() string {
	if v.kind == awkNum {
		return awkNumString(v.n)
	}
	return v.s
}

func awkCmp[T float64 | string](op lexer.Token, a, b T) bool {
	switch op {
	case lexer.EQUALS:
		return a == b
	case lexer.NOT_EQUALS:
		return a != b
	case lexer.LESS:
		return a < b
	case lexer.LTE:
		return a <= b
	case lexer.GREATER:
		return a > b
	}
	return a >= b
}
