package decode

import (
	"fmt"
	"strings"

	"github.com/agext/levenshtein"
)

// suggest returns the option closest to given, if it is close enough to be
// a likely typo, else "".
func suggest(given string, options []string) string {
	best, bestDist := "", 0
	for _, o := range options {
		d := levenshtein.Distance(given, o, nil)
		limit := 3
		if len(o) > 12 {
			limit = len(o) / 4
		}
		if d <= limit && (best == "" || d < bestDist) {
			best, bestDist = o, d
		}
	}
	return best
}

// DidYouMean formats a hint that names the closest option, if one is close
// enough to be a likely typo, and lists them all: the loader uses it for
// types and references, components for their own names (parsers, schemas).
func DidYouMean(given string, options []string, what string) string {
	var b strings.Builder
	if s := suggest(given, options); s != "" {
		fmt.Fprintf(&b, "Did you mean %q? ", s)
	}
	if len(options) == 0 {
		fmt.Fprintf(&b, "There are no %s.", what)
	} else {
		fmt.Fprintf(&b, "Known %s: %s.", what, strings.Join(options, ", "))
	}
	return b.String()
}
