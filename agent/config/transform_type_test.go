package config_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const typedTransformSrc = `
source "stdin" "in" {}

transform "rules" "typed" {
  inputs = [source.stdin.in]
  parse "regex" { pattern = "^(?P<a>\\S+)" }
}

transform "short" {
  inputs = [transform.typed]
  parse "regex" { pattern = "^(?P<a>\\S+)" }
}

sink "stdout" "out" {
  inputs = [transform.short, transform.typed.dead_letter]
}
`

// transform "TYPE" "NAME" and its shorthand transform "NAME" (type rules)
// load to the same kind of component, with IDs that omit the type.
func TestTransformTypeLabel(t *testing.T) {
	res, diags := loadString("typed.hcl", typedTransformSrc)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got []string
	for _, c := range res.Components {
		got = append(got, c.ID+"="+c.Type)
	}
	want := "source.stdin.in=stdin transform.typed=rules transform.short=rules sink.stdout.out=stdout"
	if strings.Join(got, " ") != want {
		t.Errorf("components %q, want %q (in the order written)", strings.Join(got, " "), want)
	}
}

func TestTransformTypeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src       string
		line, col       int
		summary, detail string
	}{
		{"unknown type", "source \"stdin\" \"in\" {}\ntransform \"rulez\" \"x\" {\n  inputs = [source.stdin.in]\n}\n",
			2, 11, `Unknown transform type "rulez"`, `Did you mean "rules"?`},
		{"three labels", "source \"stdin\" \"in\" {}\ntransform \"rules\" \"x\" \"y\" {\n  inputs = [source.stdin.in]\n}\n",
			2, 19, "Extraneous label for transform", `transform "rules" "NAME"`},
		{"no label", "transform {\n}\n", 1, 11, "Missing name for transform", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := loadString("t.hcl", tc.src)
			var d *hcl.Diagnostic
			for _, x := range diags {
				if x.Severity == hcl.DiagError {
					d = x
					break
				}
			}
			if d == nil {
				t.Fatalf("no error; diagnostics: %v", diags)
			}
			if d.Summary != tc.summary || !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("got %q: %q, want %q containing %q", d.Summary, d.Detail, tc.summary, tc.detail)
			}
			if d.Subject == nil || d.Subject.Start.Line != tc.line || d.Subject.Start.Column != tc.col {
				t.Errorf("subject %v, want %d:%d", d.Subject, tc.line, tc.col)
			}
		})
	}
}
