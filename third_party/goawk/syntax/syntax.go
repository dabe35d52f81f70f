// Package syntax lets a program read the syntax tree of a parsed AWK
// program (internal/ast), which Go's internal rule hides from other
// modules. Added to this copy for the agent (patch 4 in ../README.md);
// it is not part of upstream GoAWK.
package syntax

import (
	"github.com/benhoyt/goawk/internal/ast"
	"github.com/benhoyt/goawk/parser"
)

// The node types of the syntax tree, as internal/ast defines them.
type (
	Program      = ast.Program
	Action       = ast.Action
	Stmts        = ast.Stmts
	Stmt         = ast.Stmt
	Expr         = ast.Expr
	ExprStmt     = ast.ExprStmt
	PrintStmt    = ast.PrintStmt
	IfStmt       = ast.IfStmt
	BlockStmt    = ast.BlockStmt
	NextStmt     = ast.NextStmt
	FieldExpr    = ast.FieldExpr
	UnaryExpr    = ast.UnaryExpr
	BinaryExpr   = ast.BinaryExpr
	NumExpr      = ast.NumExpr
	StrExpr      = ast.StrExpr
	VarExpr      = ast.VarExpr
	IndexExpr    = ast.IndexExpr
	AssignExpr   = ast.AssignExpr
	CallExpr     = ast.CallExpr
	UserCallExpr = ast.UserCallExpr
	GroupingExpr = ast.GroupingExpr
	RegExpr      = ast.RegExpr
)

// Of returns the syntax tree of a parsed program.
func Of(p *parser.Program) *Program { return &p.ResolvedProgram.Program }

// IsSpecialVar reports whether name is one of AWK's special variables
// (NF, NR, FS, ...).
func IsSpecialVar(name string) bool { return ast.SpecialVarIndex(name) > 0 }
