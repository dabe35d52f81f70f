package interp

// Added to this copy for the agent (patch 5 in ../README.md), so that its
// native path reads numeric strings exactly as the interpreter does.

// NumStr reports how a numeric string (a field, a split() element) is
// read where AWK compares it or takes its truth: its number, and whether
// the whole string is a number (else it compares as a string).
func NumStr(s string) (float64, bool) {
	f, err := parseFloat(s)
	return f, err == nil
}

// StrToNum is a string's value as a number in arithmetic: the number at
// its start ("1.5foo" is 1.5), or 0.
func StrToNum(s string) float64 { return parseFloatPrefix(s) }
