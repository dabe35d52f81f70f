// Package replay runs dead letters again through the transform that
// rejected them (`octoagent replay`). A dead letter carries the raw line,
// the time and entity it was read with and its origin, and a record's id is
// derived from its origin: so Rebuild gives back the very record the source
// emitted on the first read, and what the transform makes of it now has the
// ids it would have had if the rule had been right from the start.
package replay

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/octostore/agent/agent"
)

// Reasons of the per-record errors, stable (they label the summary).
const (
	ReasonNotDeadLetter    = "not_a_dead_letter"
	ReasonNotTransform     = "not_from_a_transform"
	ReasonNoRaw            = "no_raw_line"
	ReasonNotRaw           = "input_not_raw"
	ReasonBadOrigin        = "bad_origin"
	ReasonUnknownTransform = "unknown_transform"
)

// Error is why one dead letter cannot be replayed.
type Error struct {
	Reason string // one of the Reason constants
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func errorf(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// Rebuild returns the record that the transform named by dead letter dl was
// given when the line was first read, and that transform's id. The record
// is raw (its line in Raw) with dl's time, entity and origin, the origin's
// rule and index put back as they were before the transform derived them.
// Only dead letters a transform made from a raw line can be rebuilt: a
// source's (a cut line) or a sink's (a record the store refused) cannot,
// nor one whose input a transform before it had already typed.
func Rebuild(dl *agent.Record) (agent.Record, string, error) {
	if dl.Kind != agent.KindDeadLetter {
		return agent.Record{}, "", errorf(ReasonNotDeadLetter, "not a dead letter: kind is %q", dl.Kind)
	}
	comp, _ := fieldString(dl, "component")
	if !strings.HasPrefix(comp, "transform.") {
		if comp == "" {
			return agent.Record{}, "", errorf(ReasonNotDeadLetter, `not a dead letter: no "component" field`)
		}
		return agent.Record{}, "", errorf(ReasonNotTransform, "dead-lettered by %s, not by a transform: there is no rule to run it through", comp)
	}
	raw, ok := fieldString(dl, "raw")
	if !ok {
		return agent.Record{}, "", errorf(ReasonNoRaw, `dead letter of %s has no "raw" line to run again`, comp)
	}
	if k, ok := fieldString(dl, "kind"); ok && k != agent.KindRaw {
		return agent.Record{}, "", errorf(ReasonNotRaw, "%s was given a %q record, not a raw line: replay the dead letters of the transform that made it", comp, k)
	}
	o := dl.Origin
	rule, index, err := inputRule(o.Rule, comp)
	if err != nil {
		return agent.Record{}, "", err
	}
	if rule != "" {
		return agent.Record{}, "", errorf(ReasonNotRaw, "%s was given a record made by %s, not a raw line: replay the dead letters of that transform", comp, rule)
	}
	o.Rule, o.Index = rule, index
	in := agent.Record{Time: dl.Time, Raw: []byte(raw), Entity: dl.Entity, Origin: o}
	return in, comp, nil
}

// inputRule inverts agent.Origin.Derive: the rule and index the input of
// component comp had, from the rule of the dead letter comp made of it.
func inputRule(rule, comp string) (string, int, error) {
	suffix := comp + ".dead_letter"
	prefix, ok := strings.CutSuffix(rule, suffix)
	if !ok {
		return "", 0, errorf(ReasonBadOrigin, "origin.rule %q does not end in %q: the dead letter was edited or not made by %s", rule, suffix, comp)
	}
	if prefix == "" {
		return "", 0, nil
	}
	prefix, ok = strings.CutSuffix(prefix, ">")
	if !ok || prefix == "" {
		return "", 0, errorf(ReasonBadOrigin, "origin.rule %q is not a chain of rules", rule)
	}
	if strings.HasSuffix(prefix, "]") {
		if i := strings.LastIndexByte(prefix, '['); i > 0 {
			if n, err := strconv.Atoi(prefix[i+1 : len(prefix)-1]); err == nil && n > 0 {
				return prefix[:i], n, nil
			}
		}
	}
	return prefix, 0, nil
}

func fieldString(r *agent.Record, key string) (string, bool) {
	v, ok := r.Get(key)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}
