package agent

import "time"

// StepEvent is what one step of a transform did to one record, as a
// StepTracer sees it: the rule playground (`octoagent playground`) shows
// the fields after each step, the pattern that matched and the time taken.
type StepEvent struct {
	// Step is the step as written: "parse.regex", "jq", "set", "where".
	Step string
	// Index is the step's number in its transform, from 1, in the order
	// the steps are written.
	Index int
	// Record is the record as the step left it. The tracer must not keep it or change it: it reads what it
	// needs (Record.All) before it returns.
	Record *Record
	// Made holds the fields of each record a step made from one input
	// (a jq query with several outputs); nil for the other steps.
	Made []map[string]any
	// Pattern is the 1-based number of the pattern that matched, for a
	// step with patterns (parse "regex", parse "grok"); 0 otherwise.
	Pattern int
	// PatternText is that pattern as written.
	PatternText string
	// Took is the time the step took on this record.
	Took time.Duration
	// Err is why the step failed or dropped the record; nil when it passed.
	Err error
	// Panic is set when the step panicked: the value and the stack. The
	// panic goes on after the tracer returns.
	Panic string
}

// StepTracer receives every step of a transform on every record, in order.
// It is called on the transform's goroutine.
type StepTracer func(StepEvent)

// Traceable is a transform that can report the work of each of its steps.
// Trace is called once, after Create and before the first Process; a
// transform that is never traced pays nothing for it.
type Traceable interface {
	Trace(StepTracer)
}
