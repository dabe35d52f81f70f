package rules

import (
	"context"
	"regexp"
	"sort"
	"strings"

	"github.com/elastic/go-grok"
	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
)

// Patterns is the grok library shipped with the agent, on top of the
// standard patterns of github.com/elastic/go-grok (IPORHOST, HTTPDATE,
// NUMBER, ...). The web-server patterns capture the field names of the
// http_request schema that the rule packs share.
var Patterns = map[string]string{
	"HTTP_REQUEST_LINE": `%{WORD:method} %{NOTSPACE:path} %{NOTSPACE:protocol}`,
	"COMMONAPACHELOG":   `%{IPORHOST:client_ip} %{NOTSPACE} %{NOTSPACE:user} \[%{HTTPDATE:time}\] "%{HTTP_REQUEST_LINE}" %{INT:status} (?:%{INT:bytes}|-)`,
	"COMBINEDAPACHELOG": `%{COMMONAPACHELOG} "%{DATA:referer}" "%{DATA:user_agent}"`,
	"NGINX_ACCESS":      `%{IPORHOST:client_ip} - %{NOTSPACE:user} \[%{HTTPDATE:time}\] "%{HTTP_REQUEST_LINE}" %{INT:status} (?:%{INT:bytes}|-) "%{DATA:referer}" "%{DATA:user_agent}"`,
	"NGINX_COMBINED":    `%{NGINX_ACCESS}`,
	"NGINX_MAIN":        `%{NGINX_ACCESS}(?: "%{DATA:forwarded_for}")?`,
	"NGINX_ERROR":       `%{DATA:time} \[%{LOGLEVEL:level}\] %{POSINT:pid}#%{NUMBER:tid}: (?:\*%{NUMBER:connection} )?%{GREEDYDATA:message}`,
}

type grokStep struct {
	input
	groks []*grok.Grok
	names []string
}

type grokBlock struct {
	Field       *string           `hcl:"field,optional"`
	RemoveField *bool             `hcl:"remove_field,optional"`
	Pattern     *string           `hcl:"pattern,optional"`
	Patterns    []string          `hcl:"patterns,optional"`
	Definitions map[string]string `hcl:"definitions,optional"`
}

var grokRef = regexp.MustCompile(`%\{(\w+)(?::([\w.]+))?(?::\w+)?\}`)

func newGrokStep(blk *hcl.Block, ctx *hcl.EvalContext, env *stepEnv) (Step, hcl.Diagnostics) {
	var c grokBlock
	if d := decodeStep(blk, ctx, &c); d.HasErrors() {
		return nil, d
	}
	pats, ranges := patternList(blk, c.Pattern, c.Patterns)
	if len(pats) == 0 {
		return nil, diag(blk.DefRange, "Missing pattern", `parse "grok" needs pattern = "%%{NGINX_COMBINED}" (or patterns = [...], tried in order).`)
	}
	s := &grokStep{input: newInput(parseCommon{c.Field, c.RemoveField}, env)}
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for i, p := range pats {
		g, err := grok.NewWithPatterns(Patterns, c.Definitions)
		if err == nil {
			err = g.Compile(p, true)
		}
		if err != nil {
			diags = append(diags, diag(ranges[i], "Invalid grok pattern",
				"%v. Patterns are %%{NAME} or %%{NAME:field} (optionally %%{NAME:field:int}); the shipped library has %s, plus the standard grok patterns; add your own with definitions = { NAME = \"regex\" }.",
				err, strings.Join(sortedKeys(Patterns), ", "))...)
			continue
		}
		s.groks = append(s.groks, g)
		for _, m := range grokRef.FindAllStringSubmatch(expandForNames(p, c.Definitions), -1) {
			if m[2] != "" && !seen[m[2]] {
				seen[m[2]] = true
				s.names = append(s.names, m[2])
			}
		}
	}
	return s, diags
}

// expandForNames expands shipped and user pattern names (not the standard
// ones, which capture nothing by name) so Produces sees nested captures.
func expandForNames(p string, defs map[string]string) string {
	for i := 0; i < 10; i++ {
		changed := false
		p = grokRef.ReplaceAllStringFunc(p, func(ref string) string {
			m := grokRef.FindStringSubmatch(ref)
			if m[2] != "" {
				return ref
			}
			if d, ok := defs[m[1]]; ok {
				changed = true
				return d
			}
			if d, ok := Patterns[m[1]]; ok {
				changed = true
				return d
			}
			return ref
		})
		if !changed {
			break
		}
	}
	return p
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *grokStep) Name() string               { return "parse.grok" }
func (s *grokStep) Produces() ([]string, bool) { return s.names, false }

func (s *grokStep) Apply(_ context.Context, r *agent.Record) error {
	in, err := s.read(r)
	if err != nil {
		return err
	}
	for _, g := range s.groks {
		m, err := g.ParseTyped(in)
		if err != nil || len(m) == 0 {
			continue // no match, or a :int/:float conversion failed: try the next pattern
		}
		var c captured
		s.begin(&c, r, len(m))
		for k, v := range m {
			if n, ok := v.(int); ok {
				v = int64(n)
			}
			c.set(k, v)
		}
		return c.done()
	}
	return stepErr("no_match", s.field, "no pattern matched (%d tried)", len(s.groks))
}
