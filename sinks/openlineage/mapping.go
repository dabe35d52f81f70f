package openlineage

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/decode"
	"github.com/octostore/agent/agent/schema"
)

// A `mapping "KIND"` block says how records of one kind become RunEvents.
// Every value is an expression of expr, the language of the rules' where
// and set, compiled once when the config loads: against the mapping's
// schema when it names one (an unknown field or a wrong type is then a
// diagnostic at its file:line:col), else untyped.

// want is what an expression must give.
type want int

const (
	wantString  want = iota // a string (a number is printed)
	wantKey                 // a scalar: string, number, bool or time
	wantTime                // a time, or an RFC 3339 string
	wantList                // a list
	wantDataset             // a map: {namespace, name[, version]}
)

func (w want) String() string {
	return [...]string{"a string", "a string, number, bool or time", "a time or an RFC 3339 string", "a list", "a dataset ({namespace, name})"}[w]
}

// program is one compiled attribute.
type program struct {
	attr string // where it is written: "job_name", "parent.run_key", "output.artifacts.dataset"
	prog *vm.Program
}

// run evaluates the expression on a record's fields.
func (p *program) run(env map[string]any) (any, error) {
	v, err := expr.Run(p.prog, env)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, p.errorf("%s", fe.Message) // without the snippet: one line
		}
		return nil, p.errorf("%v", err)
	}
	return v, nil
}

func (p *program) errorf(format string, args ...any) error {
	return &mappingError{agent.FieldError{Field: p.attr, Error: fmt.Sprintf(format, args...)}}
}

// mappingError is a record the mapping cannot turn into an event (an
// expression failed or gave a value of the wrong type): it becomes a dead
// letter with the attribute concerned.
type mappingError struct{ agent.FieldError }

func (e *mappingError) Error() string { return e.Field + ": " + e.FieldError.Error }

// mapping is one compiled `mapping` block.
type mapping struct {
	kind   string
	schema *schema.Schema

	eventType, eventTime          *program
	jobNamespace, jobName, runKey *program

	parent  *runRef
	errMsg  *errorMessage
	jobType *jobType
	engine  *engine
	nominal *nominal
	inputs  []*datasetRule
	outputs []*datasetRule

	// reads are the fields the expressions read: with
	// record_facet_fields = "unmapped", the others go to the record facet.
	reads map[string]bool
}

type runRef struct{ jobNamespace, jobName, runKey *program }

type errorMessage struct{ message, language, stackTrace *program }

type jobType struct{ processingType, integration, jobType *program }

type engine struct{ name, version, adapterVersion *program }

type nominal struct{ start, end *program }

// datasetRule is one `input "LABEL"` or `output "LABEL"` block: one
// dataset, or one per item of for_each (the item is `each`).
type datasetRule struct {
	forEach                  *program
	dataset                  *program // or namespace + name (+ version)
	namespace, name, version *program
}

// compiler compiles the attributes of one mapping block.
type compiler struct {
	ctx    *hcl.EvalContext
	schema *schema.Schema
	diags  hcl.Diagnostics
	reads  map[string]bool
}

// attrs is the content of a block: its attributes by name, and its blocks.
func (c *compiler) content(body hcl.Body, attrs, required []string, blocks ...hcl.BlockHeaderSchema) *hcl.BodyContent {
	s := &hcl.BodySchema{Blocks: blocks}
	for _, a := range attrs {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: a})
	}
	for _, a := range required {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: a, Required: true})
	}
	content, d := body.Content(s)
	c.diags = append(c.diags, d...)
	return content
}

// one returns the single block of a type, with a diagnostic for a second.
func (c *compiler) one(blocks hcl.Blocks, typ string) *hcl.Block {
	var first *hcl.Block
	for _, b := range blocks.OfType(typ) {
		if first != nil {
			c.diags = append(c.diags, decode.Errorf(b.DefRange, "Duplicate "+typ+" block",
				"A mapping takes one %s block; the first is at %s:%d.", typ, first.DefRange.Filename, first.DefRange.Start.Line)...)
			continue
		}
		first = b
	}
	return first
}

// compile compiles the attribute name of content (nil when it is not
// written), which must give w; each says that `each` is bound (in the
// blocks of a for_each).
func (c *compiler) compile(content *hcl.BodyContent, name, path string, w want, each bool) *program {
	a, ok := content.Attributes[name]
	if !ok {
		return nil
	}
	if path != "" {
		name = path + "." + name
	}
	var src string
	if d := gohcl.DecodeExpression(a.Expr, c.ctx, &src); d.HasErrors() {
		c.diags = append(c.diags, d...)
		return nil
	}
	// Undeclared names compile (as values of any type); with a schema,
	// checkNames then refuses those the schema does not declare.
	env := c.schema.ExprEnv()
	opts := append(functions(), expr.DisableBuiltin("now"), expr.Env(env), expr.AllowUndefinedVariables())
	p, err := expr.Compile(src, opts...)
	if err != nil {
		c.diags = append(c.diags, c.compileError(a, src, err))
		return nil
	}
	if d := checkCalls(a, src, p.Node()); d != nil {
		c.diags = append(c.diags, d)
		return nil
	}
	if c.schema != nil {
		if d := c.checkNames(a, src, p.Node(), each); d != nil {
			c.diags = append(c.diags, d)
			return nil
		}
	}
	if t := p.Node().Type(); !accepts(w, t) {
		hint := "Convert it (string(x), for instance) or use another field."
		if id, ok := p.Node().(*ast.IdentifierNode); ok && t.Kind() == reflect.Func {
			hint = fmt.Sprintf("%s is a builtin function of expr: read a field of that name as $env[%q].", id.Value, id.Value)
		}
		c.diags = append(c.diags, decode.Errorf(a.Expr.Range(), "Wrong type for "+name,
			"%s must give %s; this expression gives %s. %s", name, w, typeName(t), hint)...)
		return nil
	}
	if strings.HasSuffix(name, "event_type") {
		for _, v := range constantResults(p.Node()) {
			if !isEventType(v) {
				c.diags = append(c.diags, decode.Errorf(a.Expr.Range(), "Unknown event type "+strconv.Quote(v),
					"%s", decode.DidYouMean(v, EventTypes, "event types"))...)
			}
		}
	}
	c.noteReads(p.Node())
	return &program{attr: name, prog: p}
}

// compileError turns a compile error into a diagnostic, at the place in the
// expression when the attribute is a one-line string without escapes, with
// a hint when a name in it is one of expr's builtins.
func (c *compiler) compileError(a *hcl.Attribute, src string, err error) *hcl.Diagnostic {
	rng := a.Expr.Range()
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
		rng = within(a, src, fe.From, fe.To)
	}
	// A field named like a builtin (type, len, ...) reads as the function.
	if tree, perr := parser.Parse(src); perr == nil {
		told := map[string]bool{}
		ast.Walk(&tree.Node, visitFunc(func(n ast.Node) {
			id, ok := n.(*ast.IdentifierNode)
			if !ok || told[id.Value] {
				return
			}
			if _, isBuiltin := builtin.Index[id.Value]; isBuiltin {
				told[id.Value] = true
				msg += fmt.Sprintf(". %s is a builtin function of expr: read a field of that name as $env[%q]", id.Value, id.Value)
			}
		}))
	}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid expression", Detail: msg, Subject: rng.Ptr()}
}

// within returns the range of the runes from to to of an expression, when
// the attribute is a one-line quoted string without escapes (the text in
// the file is then the expression); else the attribute's value.
func within(a *hcl.Attribute, src string, from, to int) hcl.Range {
	rng := a.Expr.Range()
	if rng.Start.Line != rng.End.Line || rng.End.Byte-rng.Start.Byte != len(src)+2 || from < 0 || from > utf8.RuneCountInString(src) {
		return rng
	}
	runes := []rune(src) // expr counts runes; columns count characters
	off := len(string(runes[:from]))
	width := max(to-from, 1)
	start := hcl.Pos{Line: rng.Start.Line, Column: rng.Start.Column + 1 + from, Byte: rng.Start.Byte + 1 + off}
	end := hcl.Pos{Line: start.Line, Column: start.Column + width, Byte: start.Byte + len(string(runes[from:min(from+width, len(runes))]))}
	return hcl.Range{Filename: rng.Filename, Start: start, End: end}
}

// checkNames refuses a name the mapping's schema does not declare: a typo
// would otherwise read nil on every record. A field the schema does not
// declare is read as $env["name"]; `each` is bound in for_each blocks; let
// binds its own names.
func (c *compiler) checkNames(a *hcl.Attribute, src string, root ast.Node, each bool) *hcl.Diagnostic {
	skip := map[ast.Node]bool{}
	declared := map[string]bool{"$env": true}
	if each {
		declared["each"] = true
	}
	ast.Walk(&root, visitFunc(func(n ast.Node) {
		switch n := n.(type) {
		case *ast.CallNode:
			skip[n.Callee] = true
		case *ast.VariableDeclaratorNode:
			declared[n.Name] = true
		}
	}))
	var bad *ast.IdentifierNode
	ast.Walk(&root, visitFunc(func(n ast.Node) {
		id, ok := n.(*ast.IdentifierNode)
		if !ok || bad != nil || skip[n] || declared[id.Value] {
			return
		}
		if _, ok := c.schema.Field(id.Value); !ok {
			bad = id
		}
	}))
	if bad == nil {
		return nil
	}
	fields := make([]string, 0, len(c.schema.Fields))
	for _, f := range c.schema.Fields {
		fields = append(fields, f.Name)
	}
	sort.Strings(fields)
	loc := bad.Location()
	rng := within(a, src, loc.From, loc.To)
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown field " + bad.Value, Subject: rng.Ptr(),
		Detail: fmt.Sprintf("Schema %s declares no field %s. %s A field the schema does not declare is read as $env[%q].",
			c.schema.Name, bad.Value, decode.DidYouMean(bad.Value, append(fields, functionNames...), "fields and functions"), bad.Value)}
}

// checkCalls refuses a call of a function that is neither one of expr's
// builtins nor one of the sink's (undeclared names compile, as values that
// would fail on every record), and now(): an event must be the same every
// time its record is read.
func checkCalls(a *hcl.Attribute, src string, root ast.Node) *hcl.Diagnostic {
	var bad *ast.IdentifierNode
	ast.Walk(&root, visitFunc(func(n ast.Node) {
		call, ok := n.(*ast.CallNode)
		if !ok || bad != nil {
			return
		}
		if id, ok := call.Callee.(*ast.IdentifierNode); ok && !slices.Contains(functionNames, id.Value) {
			bad = id
		}
	}))
	if bad == nil {
		return nil
	}
	loc := bad.Location()
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown function " + bad.Value, Subject: within(a, src, loc.From, loc.From+len(bad.Value)).Ptr(),
		Detail: decode.DidYouMean(bad.Value, functionNames, "functions besides expr's builtins")}
	if bad.Value == "now" {
		d.Detail = "now() is not available in a mapping: an event must be the same each time its record is read (a replay sends identical events). Use a time of the record, such as its event_time default."
	}
	return d
}

// visitFunc is an ast.Visitor.
type visitFunc func(ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(*n) }

var timeType = reflect.TypeOf(time.Time{})

// accepts reports whether an expression of static type t can give w (an
// untyped expression can give anything; it is checked when it runs).
func accepts(w want, t reflect.Type) bool {
	if t == nil || t.Kind() == reflect.Interface {
		return true
	}
	k := t.Kind()
	switch w {
	case wantString:
		return k == reflect.String || isNumber(k)
	case wantKey:
		return k == reflect.String || isNumber(k) || k == reflect.Bool || t == timeType
	case wantTime:
		return k == reflect.String || t == timeType
	case wantList:
		return k == reflect.Slice || k == reflect.Array
	case wantDataset:
		return k == reflect.Map
	}
	return false
}

func isNumber(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Float64
}

func typeName(t reflect.Type) string {
	switch {
	case t == timeType:
		return "a time"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "a bool"
	case isNumber(t.Kind()):
		return "a number"
	case t.Kind() == reflect.Map:
		return "a map"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return "a list"
	case t.Kind() == reflect.Func:
		return "a function"
	}
	return t.String()
}

// constantResults returns the string constants an expression can give:
// itself, or the branches of its conditionals and ?? operators.
func constantResults(n ast.Node) []string {
	switch n := n.(type) {
	case *ast.StringNode:
		return []string{n.Value}
	case *ast.ConditionalNode:
		return append(constantResults(n.Exp1), constantResults(n.Exp2)...)
	case *ast.BinaryNode:
		if n.Operator == "??" {
			return append(constantResults(n.Left), constantResults(n.Right)...)
		}
	}
	return nil
}

func isEventType(s string) bool {
	for _, t := range EventTypes {
		if s == t {
			return true
		}
	}
	return false
}

// noteReads collects the names an expression reads: identifiers and
// $env["name"].
func (c *compiler) noteReads(root ast.Node) {
	ast.Walk(&root, visitFunc(func(n ast.Node) {
		switch n := n.(type) {
		case *ast.IdentifierNode:
			c.reads[n.Value] = true
		case *ast.MemberNode:
			if id, ok := n.Node.(*ast.IdentifierNode); ok && id.Value == "$env" {
				if s, ok := n.Property.(*ast.StringNode); ok {
					c.reads[s.Value] = true
				}
			}
		}
	}))
}

// decodeMapping compiles one `mapping "KIND"` block.
func decodeMapping(blk *hcl.Block, ctx *hcl.EvalContext, env *decode.Env) (*mapping, hcl.Diagnostics) {
	m := &mapping{kind: blk.Labels[0], reads: map[string]bool{}}
	c := &compiler{ctx: ctx, reads: m.reads}
	content := c.content(blk.Body, []string{"schema", "event_time"}, []string{"event_type", "job_namespace", "job_name", "run_key"},
		hcl.BlockHeaderSchema{Type: "parent"}, hcl.BlockHeaderSchema{Type: "error_message"},
		hcl.BlockHeaderSchema{Type: "job_type"}, hcl.BlockHeaderSchema{Type: "processing_engine"},
		hcl.BlockHeaderSchema{Type: "nominal_time"},
		hcl.BlockHeaderSchema{Type: "input", LabelNames: []string{"name"}},
		hcl.BlockHeaderSchema{Type: "output", LabelNames: []string{"name"}})
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	if a, ok := content.Attributes["schema"]; ok {
		s, d := env.SchemaRef(a)
		c.diags = append(c.diags, d...)
		m.schema, c.schema = s, s
		if d.HasErrors() {
			return nil, c.diags
		}
	}
	m.eventType = c.compile(content, "event_type", "", wantString, false)
	m.eventTime = c.compile(content, "event_time", "", wantTime, false)
	m.jobNamespace = c.compile(content, "job_namespace", "", wantString, false)
	m.jobName = c.compile(content, "job_name", "", wantString, false)
	m.runKey = c.compile(content, "run_key", "", wantKey, false)
	if p := c.block(content.Blocks, "parent", need("job_namespace", wantString), need("job_name", wantString), need("run_key", wantKey)); p != nil {
		m.parent = &runRef{p[0], p[1], p[2]}
	}
	if p := c.block(content.Blocks, "error_message", need("message", wantString), may("programming_language", wantString), may("stack_trace", wantString)); p != nil {
		m.errMsg = &errorMessage{p[0], p[1], p[2]}
	}
	if p := c.block(content.Blocks, "job_type", need("processing_type", wantString), need("integration", wantString), may("job_type", wantString)); p != nil {
		m.jobType = &jobType{p[0], p[1], p[2]}
	}
	if p := c.block(content.Blocks, "processing_engine", may("name", wantString), need("version", wantString), may("openlineage_adapter_version", wantString)); p != nil {
		m.engine = &engine{p[0], p[1], p[2]}
	}
	if p := c.block(content.Blocks, "nominal_time", need("start", wantTime), may("end", wantTime)); p != nil {
		m.nominal = &nominal{p[0], p[1]}
	}
	for _, b := range content.Blocks {
		if b.Type != "input" && b.Type != "output" {
			continue
		}
		r := c.datasetRule(b)
		if r == nil {
			continue
		}
		if b.Type == "input" {
			m.inputs = append(m.inputs, r)
		} else {
			m.outputs = append(m.outputs, r)
		}
	}
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	return m, c.diags
}

// attrSpec is one attribute of a block: its name, what it gives, whether
// it must be written.
type attrSpec struct {
	name     string
	w        want
	required bool
}

func need(name string, w want) attrSpec { return attrSpec{name, w, true} }
func may(name string, w want) attrSpec  { return attrSpec{name, w, false} }

// block compiles the attributes of the block typ (at most one), in the
// order of specs (nil for one not written); nil when there is no block.
func (c *compiler) block(blocks hcl.Blocks, typ string, specs ...attrSpec) []*program {
	b := c.one(blocks, typ)
	if b == nil {
		return nil
	}
	var opt, req []string
	for _, s := range specs {
		if s.required {
			req = append(req, s.name)
		} else {
			opt = append(opt, s.name)
		}
	}
	in := c.content(b.Body, opt, req)
	if in == nil {
		return nil
	}
	out := make([]*program, len(specs))
	for i, s := range specs {
		out[i] = c.compile(in, s.name, typ, s.w, false)
	}
	return out
}

// datasetRule compiles an input or output block.
func (c *compiler) datasetRule(b *hcl.Block) *datasetRule {
	in := c.content(b.Body, []string{"for_each", "dataset", "namespace", "name", "version"}, nil)
	if in == nil {
		return nil
	}
	path := b.Type + "." + b.Labels[0]
	_, hasDataset := in.Attributes["dataset"]
	_, hasNS := in.Attributes["namespace"]
	_, hasName := in.Attributes["name"]
	if hasDataset == (hasNS || hasName) || (!hasDataset && hasNS != hasName) {
		c.diags = append(c.diags, decode.Errorf(b.DefRange, "Incomplete "+b.Type+" block",
			"An %s block gives either dataset (an expression giving {namespace, name}, such as url_dataset(each)) or both namespace and name.", b.Type)...)
		return nil
	}
	r := &datasetRule{forEach: c.compile(in, "for_each", path, wantList, false)}
	each := r.forEach != nil
	r.dataset = c.compile(in, "dataset", path, wantDataset, each)
	r.namespace = c.compile(in, "namespace", path, wantString, each)
	r.name = c.compile(in, "name", path, wantString, each)
	r.version = c.compile(in, "version", path, wantString, each)
	return r
}

// describe names a value's type for an error message.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "nil"
	case string:
		return fmt.Sprintf("the string %q", t)
	case bool:
		return fmt.Sprintf("the bool %v", t)
	case int, int64, int32, float64, float32, uint, uint64:
		return fmt.Sprintf("the number %v", t)
	case time.Time:
		return "the time " + t.UTC().Format(time.RFC3339Nano)
	case []any:
		return fmt.Sprintf("a list of %d", len(t))
	case map[string]any:
		return fmt.Sprintf("a map of %d keys", len(t))
	}
	return fmt.Sprintf("a %T", v)
}
