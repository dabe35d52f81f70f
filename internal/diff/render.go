package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ANSI colours of the text form.
const (
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	cyan   = "\x1b[36m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

// Text writes the result for people: a header naming both records, one
// line per difference (+ added, - removed, ~ changed, * reordered), and a
// count. color adds ANSI colours (for a terminal).
func (r *Result) Text(w io.Writer, color bool) error {
	paint := func(c, s string) string {
		if !color {
			return s
		}
		return c + s + reset
	}
	var b strings.Builder
	b.WriteString(paint(bold, fmt.Sprintf("--- a %s %s %s", r.A.ID, r.A.Kind, r.A.Time.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"))) + "\n")
	b.WriteString(paint(bold, fmt.Sprintf("+++ b %s %s %s", r.B.ID, r.B.Kind, r.B.Time.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"))) + "\n")
	for _, d := range r.Differences {
		switch d.Op {
		case Added:
			b.WriteString(paint(green, "+ "+d.Path+": "+show(d.B)) + "\n")
		case Removed:
			b.WriteString(paint(red, "- "+d.Path+": "+show(d.A)) + "\n")
		case Reordered:
			b.WriteString(paint(cyan, "* "+d.Path+": order "+names(d.A)+" -> "+names(d.B)) + "\n")
		case Changed:
			line := "~ " + d.Path + ": " + show(d.A) + " -> " + show(d.B)
			if extra := deltaText(d); extra != "" {
				line += " (" + extra + ")"
			}
			b.WriteString(paint(yellow, line) + "\n")
		}
	}
	switch n := len(r.Differences); {
	case n == 0:
		b.WriteString("no differences")
	case n == 1:
		b.WriteString("1 difference")
	default:
		b.WriteString(strconv.Itoa(n) + " differences")
	}
	if len(r.Ignored) > 0 {
		b.WriteString(" (volatile fields left out: " + strings.Join(r.Ignored, ", ") + "; --all compares them)")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON writes the result for machines: one JSON object, indented.
func (r *Result) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func deltaText(d Difference) string {
	var parts []string
	switch v := d.Delta.(type) {
	case nil:
		return ""
	case int64:
		parts = append(parts, fmt.Sprintf("%+d", v))
	case float64:
		parts = append(parts, signed(v))
	case string:
		if !strings.HasPrefix(v, "-") {
			v = "+" + v
		}
		parts = append(parts, v)
	}
	if d.Ratio != nil {
		parts = append(parts, "x"+strconv.FormatFloat(*d.Ratio, 'f', 2, 64))
	}
	return strings.Join(parts, ", ")
}

func signed(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if f >= 0 {
		s = "+" + s
	}
	return s
}

// show writes a value as compact JSON.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func names(v any) string {
	l, _ := v.([]any)
	s := make([]string, len(l))
	for i, x := range l {
		if str, ok := x.(string); ok {
			s[i] = str
		} else {
			s[i] = show(x)
		}
	}
	return strings.Join(s, ", ")
}
