package config

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/octostore/agent/agent"
)

// Diagnostics quote the config's source lines. A line that sets a secret
// (a token, a password, HTTP headers) must never be quoted with its value,
// whatever the error: the loader keeps, in Result.Files, copies of the
// files in which the value of every secret attribute is masked, and
// WriteDiagnostics prints a masked run as [REDACTED]. The masking is
// lexical, so it holds for a file that does not parse, and for an error
// on any attribute of the line.

// mask replaces a secret's bytes in Result.Files (newlines are kept, so
// lines and columns stay where they were).
const mask = 0

// secretNames lists the attribute names whose values are masked: every
// registered component's secret attributes (agent.SecretAttributes), and
// any name that looks like one (a misspelt "tokne" is still a token).
func secretNames(reg *agent.Registry) map[string]bool {
	names := map[string]bool{}
	if reg != nil {
		for _, f := range reg.All() {
			for _, n := range agent.SecretAttributes(f.NewConfig()) {
				names[n] = true
			}
		}
	}
	return names
}

// looksSecret reports whether an attribute name suggests a credential.
func looksSecret(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "_file") || strings.HasSuffix(n, "_path") || strings.HasSuffix(n, "_env") {
		return false // where the secret is, not the secret
	}
	for _, s := range []string{"token", "passw", "secret", "credential", "authorization", "api_key", "apikey", "private_key"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// redactSource returns src with the value of every secret attribute
// masked, and the string literals that were masked (to scrub from the text
// of diagnostics).
func redactSource(src []byte, filename string, names map[string]bool) ([]byte, []agent.Secret) {
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	var out []byte
	var values []agent.Secret
	prev := hclsyntax.TokenNewline // the token before the current one, comments skipped
	for i := 0; i < len(toks); i++ {
		tok := toks[i]
		atLineStart := prev == hclsyntax.TokenNewline || prev == hclsyntax.TokenOBrace || prev == hclsyntax.TokenComma
		if tok.Type != hclsyntax.TokenComment {
			prev = tok.Type
		}
		if tok.Type != hclsyntax.TokenIdent && tok.Type != hclsyntax.TokenQuotedLit {
			continue
		}
		name := string(tok.Bytes)
		if !atLineStart || (!names[name] && !looksSecret(name)) {
			continue
		}
		// NAME = VALUE (or NAME: VALUE, or a quoted key, inside an object).
		j := i + 1
		if tok.Type == hclsyntax.TokenQuotedLit && j < len(toks) && toks[j].Type == hclsyntax.TokenCQuote {
			j++
		}
		if j >= len(toks) || (toks[j].Type != hclsyntax.TokenEqual && toks[j].Type != hclsyntax.TokenColon) {
			continue
		}
		j++
		start, end := -1, -1
		depth, inQuote := 0, 0
	value:
		for ; j < len(toks); j++ {
			t := toks[j]
			switch t.Type {
			case hclsyntax.TokenEOF:
				break value
			case hclsyntax.TokenNewline:
				// A quoted string ends at its line, closed or not.
				depth -= inQuote
				inQuote = 0
				if depth <= 0 {
					break value
				}
			case hclsyntax.TokenComma:
				if depth == 0 {
					break value
				}
			case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen, hclsyntax.TokenTemplateInterp,
				hclsyntax.TokenTemplateControl, hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc:
				depth++
				if t.Type == hclsyntax.TokenOQuote {
					inQuote++
				}
			case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen, hclsyntax.TokenTemplateSeqEnd,
				hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
				if depth == 0 {
					break value // the end of the enclosing block or object
				}
				depth--
				if t.Type == hclsyntax.TokenCQuote && inQuote > 0 {
					inQuote--
				}
			case hclsyntax.TokenComment:
				continue
			}
			if t.Type == hclsyntax.TokenQuotedLit || t.Type == hclsyntax.TokenStringLit {
				values = append(values, agent.Secret(t.Bytes))
			}
			if start < 0 {
				start = t.Range.Start.Byte
			}
			end = t.Range.End.Byte
		}
		if start < 0 {
			continue
		}
		if out == nil {
			out = append([]byte(nil), src...)
		}
		for k := start; k < end && k < len(out); k++ {
			if out[k] != '\n' && out[k] != '\r' {
				out[k] = mask
			}
		}
		i = j - 1
		prev = hclsyntax.TokenNewline
	}
	if out == nil {
		return src, values
	}
	return out, values
}

// redactFiles returns copies of files whose secrets are masked, and the
// secret values found (to scrub from diagnostics).
func redactFiles(files map[string]*hcl.File, names map[string]bool) (map[string]*hcl.File, []agent.Secret) {
	out := make(map[string]*hcl.File, len(files))
	var values []agent.Secret
	for name, f := range files {
		if f == nil {
			out[name] = f
			continue
		}
		b, v := redactSource(f.Bytes, name, names)
		values = append(values, v...)
		out[name] = &hcl.File{Body: f.Body, Bytes: b, Nav: f.Nav}
	}
	return out, values
}

// scrubDiags removes the secret values from the text of diagnostics (an
// error message may quote the value it could not use).
func scrubDiags(diags hcl.Diagnostics, values []agent.Secret) {
	if len(values) == 0 {
		return
	}
	for _, d := range diags {
		d.Summary = agent.Scrub(d.Summary, values...)
		d.Detail = agent.Scrub(d.Detail, values...)
	}
}
