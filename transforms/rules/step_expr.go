package rules

import (
	"context"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/octostore/agent/agent"
)

func compileExpr(src string, at hcl.Range, env *stepEnv, opts ...expr.Option) (*vm.Program, hcl.Diagnostics) {
	opts = append([]expr.Option{expr.Env(env.schema.ExprEnv()), expr.AllowUndefinedVariables()}, opts...)
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, diag(at, "Invalid expression", "%v", err)
	}
	return p, nil
}

// exprBudget is the budget of one evaluation of an expression, in expr's
// memory units (an item of a range or a built list is one): expr has no
// loop but its builtins over lists, so this bounds its run time too
// (nested loops over 1..999999 stop after about 20 ms, with the default
// budget of 1e6 they took about 190 ms).
const exprBudget = 100_000

// exprVM runs a step's expressions: one VM, reused (steps run on their
// transform's goroutine only), with the budget.
type exprVM struct{ vm vm.VM }

// run evaluates p over env; a run over budget fails with reason timeout.
func (x *exprVM) run(p *vm.Program, env any, reason, field string) (any, *StepError) {
	x.vm.MemoryBudget = exprBudget
	v, err := x.vm.Run(p, env)
	if err != nil {
		if strings.Contains(err.Error(), "memory budget exceeded") {
			return nil, stepErr("timeout", field, "the expression went over its budget (%d items) on this record, and was stopped: %v", exprBudget, err)
		}
		return nil, stepErr(reason, field, "%v", err)
	}
	return v, nil
}

// where drops the records for which its condition is false.
type whereStep struct {
	prog  *vm.Program
	reads []string // the fields it reads: where_unset.go
	exprVM
}

type whereBlock struct {
	Condition string `hcl:"condition"`
}

func newWhereBlockStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c whereBlock
	if d := gohcl.DecodeBody(blk.Body, ctx, &c); d.HasErrors() {
		return nil, d
	}
	return newWhere(c.Condition, attrRange(blk, "condition"), env)
}

func newWhere(src string, at hcl.Range, env *stepEnv) (Step, hcl.Diagnostics) {
	p, d := compileExpr(src, at, env, expr.AsBool())
	if d.HasErrors() {
		return nil, d
	}
	return &whereStep{prog: p, reads: readFields(p)}, nil
}

func (s *whereStep) Name() string { return "where" }

func (s *whereStep) Apply(_ context.Context, r *agent.Record) error {
	v, err := s.run(s.prog, r.MaterializeFields(), "where_error", "")
	if err != nil {
		if err.Reason != "timeout" && anyUnset(r, s.reads) {
			return errDrop // a field it reads is not set: false
		}
		return err
	}
	if keep, _ := v.(bool); !keep {
		return errDrop
	}
	return nil
}

// set computes fields from expressions, in the order written.
type setStep struct {
	names []string
	progs []*vm.Program
	exprVM
}

func newSetStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	attrs, diags := blk.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, diags
	}
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Range.Start.Byte < list[j].Range.Start.Byte })
	s := &setStep{}
	for _, a := range list {
		var src string
		if d := gohcl.DecodeExpression(a.Expr, ctx, &src); d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		p, d := compileExpr(src, a.Expr.Range(), env)
		diags = append(diags, d...)
		if p != nil {
			s.names = append(s.names, a.Name)
			s.progs = append(s.progs, p)
		}
	}
	if len(list) == 0 {
		return nil, diag(blk.DefRange, "Empty set block", `set assigns fields from expressions: set { status_class = "status / 100" }.`)
	}
	return s, diags
}

func (s *setStep) Name() string               { return "set" }
func (s *setStep) Produces() ([]string, bool) { return s.names, false }

func (s *setStep) Apply(_ context.Context, r *agent.Record) error {
	f := r.MaterializeFields()
	for i, p := range s.progs {
		v, err := s.run(p, f, "set_error", s.names[i])
		if err != nil {
			return err
		}
		f[s.names[i]] = agent.Normalize(v)
	}
	return nil
}
