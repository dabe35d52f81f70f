package agent

import (
	"fmt"
	"log/slog"
	"reflect"
	"strings"
)

// Redacted is what a Secret prints as, everywhere.
const Redacted = "[REDACTED]"

// Secret holds a credential (a token, a password). It prints as
// [REDACTED] through fmt (every verb, %#v included), encoding/json,
// encoding (text) and log/slog, so a config or an error that carries it
// cannot leak it by accident. Reveal returns the value, for the one place
// that needs it (an Authorization header).
//
// A config field of type Secret decodes from an HCL string like a string.
type Secret string

// Reveal returns the secret's value. Call it only where the value leaves
// the process on purpose.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

func (s Secret) String() string   { return Redacted }
func (s Secret) GoString() string { return `agent.Secret("` + Redacted + `")` }

// Format makes every fmt verb print [REDACTED].
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(Redacted))
}

// LogValue redacts the secret in log/slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON writes "[REDACTED]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText writes [REDACTED] (used by encoding/xml, yaml and others).
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Scrub replaces every occurrence of the given secrets' values in text by
// [REDACTED]. Use it on text that comes from outside (an HTTP response body,
// an error from a library) before logging it or putting it in a record:
// a server that echoes the token back must not make the agent log it.
func Scrub(text string, secrets ...Secret) string {
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(text, string(s)) {
			text = strings.ReplaceAll(text, string(s), Redacted)
		}
	}
	return text
}

// SecretAttributes lists the HCL attribute names of a component config
// (and of its nested blocks and embedded parts) that hold secrets: fields
// of type Secret ([]Secret, map[string]Secret, *Secret), and fields tagged
// `secret:"true"` (a map of HTTP headers, whose values carry credentials).
// The config loader never quotes their values in a diagnostic.
func SecretAttributes(cfg any) []string {
	var out []string
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("hcl"), ",")
			if name != "" && (f.Tag.Get("secret") == "true" || holdsSecret(f.Type)) {
				out = append(out, name)
				continue
			}
			if f.IsExported() || f.Anonymous {
				walk(f.Type)
			}
		}
	}
	if cfg != nil {
		walk(reflect.TypeOf(cfg))
	}
	return out
}

var secretType = reflect.TypeOf(Secret(""))

func holdsSecret(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	return t == secretType
}
