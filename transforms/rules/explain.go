package rules

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
)

// heredocHint is how to write a pattern without doubling backslashes.
const heredocHint = `Tip: write patterns in a heredoc, where a backslash is literal (pattern = <<-EOT, the pattern on the next line, EOT on the line after); in a quoted string every backslash is doubled ("\\d").`

// explainRegexError says what is wrong with a regular expression in the
// user's terms, with the fix: Go's messages name RE2's error codes.
func explainRegexError(err error) string {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return err.Error() + ". " + heredocHint
	}
	at := se.Expr
	var what string
	switch se.Code {
	case syntax.ErrMissingParen:
		what = fmt.Sprintf("a group opened with ( is never closed (in `%s`): add the ), or write \\( for a literal parenthesis", at)
	case syntax.ErrUnexpectedParen:
		what = fmt.Sprintf("a ) closes no group (in `%s`): remove it, or write \\) for a literal parenthesis", at)
	case syntax.ErrMissingBracket:
		what = fmt.Sprintf("a character class opened with [ is never closed (`%s`): add the ], or write \\[ for a literal bracket", at)
	case syntax.ErrInvalidCharRange:
		what = fmt.Sprintf("the class range `%s` runs backwards: write the lower character first (a-z, 0-9); a literal - goes last in the class ([a-z-])", at)
	case syntax.ErrInvalidPerlOp:
		switch {
		case strings.HasPrefix(at, "(?=") || strings.HasPrefix(at, "(?!") || strings.HasPrefix(at, "(?<=") || strings.HasPrefix(at, "(?<!"):
			what = fmt.Sprintf("`%s` is a lookaround, which RE2 (the regex engine, linear in time) does not have: capture the text instead and test it with a where condition, or use parse \"grok\", which runs lookarounds with a time budget", at)
		case strings.HasPrefix(at, "(?<"):
			what = fmt.Sprintf("`%s`: a named group is written (?P<name>...) or (?<name>...) with a name of letters, digits and _", at)
		default:
			what = fmt.Sprintf("`%s` is not RE2 syntax: groups are (...), (?:...) and (?P<name>...); flags are (?i), (?s), (?m), (?U)", at)
		}
	case syntax.ErrInvalidNamedCapture:
		what = fmt.Sprintf("the group name in `%s` is not valid: write (?P<name>...) with letters, digits and _", at)
	case syntax.ErrInvalidRepeatOp:
		what = fmt.Sprintf("`%s` repeats a repetition: write the repeat once (a+, a*, a?), or add ? for a lazy repeat (a+?)", at)
	case syntax.ErrMissingRepeatArgument:
		what = fmt.Sprintf("`%s` repeats nothing: a *, + or ? must follow something; write \\* \\+ \\? for the literal character", at)
	case syntax.ErrInvalidRepeatSize:
		what = fmt.Sprintf("the repeat count in `%s` is invalid: {n}, {n,} or {n,m} with n <= m <= 1000", at)
	case syntax.ErrInvalidEscape:
		what = fmt.Sprintf("`%s` is not an escape RE2 knows (it knows \\d \\w \\s \\b \\. \\[ and the like, \\pL, \\x41)", at)
	case syntax.ErrTrailingBackslash:
		what = "the pattern ends with a lone backslash: remove it or write \\\\ for a literal one"
	case syntax.ErrNestingDepth, syntax.ErrLarge:
		what = "the pattern is too deeply nested or too large for RE2: simplify it or split it into several patterns"
	default:
		what = fmt.Sprintf("`%s`", at)
	}
	// RE2's own words first (what a search finds), then the explanation.
	if se.Code != syntax.ErrInternalError && !strings.HasPrefix(what, string(se.Code)) {
		what = string(se.Code) + ": " + what
	}
	return what + ". Patterns use RE2 syntax (https://github.com/google/re2/wiki/Syntax). " + heredocHint
}

// nearestNames returns up to n names closest to given: those within a
// small edit distance first, then those that share its longest prefix.
func nearestNames(given string, names []string, n int) []string {
	type cand struct {
		name string
		dist int
	}
	up := strings.ToUpper(given)
	var cs []cand
	for _, nm := range names {
		d := levenshtein.Distance(up, strings.ToUpper(nm), nil)
		if strings.Contains(strings.ToUpper(nm), up) || strings.Contains(up, strings.ToUpper(nm)) {
			d = min(d, 2) // SYSLOG → SYSLOGBASE: a part of the name
		}
		cs = append(cs, cand{nm, d})
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].dist != cs[j].dist {
			return cs[i].dist < cs[j].dist
		}
		return cs[i].name < cs[j].name
	})
	limit := max(3, len(given)/2)
	var out []string
	for _, c := range cs {
		if len(out) == n || c.dist > limit {
			break
		}
		out = append(out, c.name)
	}
	return out
}

// nearestHint names the known patterns closest to an unknown one.
func nearestHint(given string, names []string) string {
	near := nearestNames(given, names, 5)
	if len(near) == 0 {
		return "No known pattern has a name close to it."
	}
	return "Did you mean " + strings.Join(near, ", ") + "?"
}
