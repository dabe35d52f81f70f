package openlineage

import (
	"fmt"
	"strings"
	"testing"

	"github.com/octostore/agent/adapters/stdin"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/sinks/filesink"
)

const stepSchema = `
schema "workflow_step" {
  unknown_fields = "allow"
  field "pipeline" {
    type     = "string"
    required = true
  }
  field "run_id" {
    type = "string"
  }
  field "status" {
    type = "string"
  }
  field "exit_code" {
    type = "int"
  }
  field "inputs" {
    type = "map"
  }
  field "finished_at" {
    type = "time"
  }
}
`

// typed is a sink whose mapping names the schema above; body goes in the
// mapping block, after the required attributes unless it sets them.
func typed(body string) string {
	base := map[string]string{
		"event_type":    `"status == 'success' ? 'COMPLETE' : 'START'"`,
		"job_namespace": `"'ci'"`,
		"job_name":      `"pipeline"`,
		"run_key":       `"run_id"`,
	}
	var b strings.Builder
	b.WriteString("  mapping \"workflow_step\" {\n    schema = schema.workflow_step\n")
	for _, k := range []string{"event_type", "job_namespace", "job_name", "run_key"} {
		if !strings.Contains("\n"+body, "\n    "+k+" ") {
			fmt.Fprintf(&b, "    %s = %s\n", k, base[k])
		}
	}
	b.WriteString(body)
	b.WriteString("\n  }\n")
	return stepSchema + sinkHCL("/tmp/x.jsonl", b.String())
}

// Mistakes in a mapping are diagnostics at their file:line:col, with a
// hint: an unknown attribute, an unknown field (at its place inside the
// expression), a wrong type, an event type that does not exist, an
// expression that does not parse.
func TestMappingDiagnostics(t *testing.T) {
	for _, c := range []struct {
		name, body    string
		at            string // the text the diagnostic starts at
		summary, hint string
	}{
		{"unknown attribute", `    event_tme = "started_at"`, `event_tme =`, "Unsupported argument", `Did you mean "event_time"?`},
		{"unknown field", `    job_name = "'ci/' + pipline"`, `pipline"`, "Unknown field pipline", `Did you mean "pipeline"?`},
		{"undeclared field read through $env", `    job_name = "pipeline + ($env['branch'] ?? '')"`, "", "", ""},
		{"wrong type", `    job_name = "inputs"`, `"inputs"`, "Wrong type for job_name", "job_name must give a string; this expression gives a map"},
		{"wrong type in a block", "    output \"x\" {\n      for_each = \"exit_code\"\n      dataset = \"url_dataset(each)\"\n    }", `"exit_code"`, "Wrong type for output.x.for_each", "must give a list"},
		{"builtin name", `    event_type = "type"`, `type"`, "Unknown field type", `read as $env["type"]`},
		{"event type", `    event_type = "status == 'success' ? 'COMPLETED' : 'START'"`, `"status == 'success'`, `Unknown event type "COMPLETED"`, `Did you mean "COMPLETE"?`},
		{"syntax", `    run_key = "run_id +"`, `+"`, "Invalid expression", "unexpected token EOF"},
		{"function argument", `    job_name = "url_dataset(exit_code)"`, `exit_code)`, "Invalid expression", "cannot use int64 as argument (type string) to call url_dataset"},
		{"unknown function", `    job_name = "lower(pipeline) + urldataset(pipeline)"`, `urldataset(`, "Unknown function urldataset", `Did you mean "url_dataset"?`},
		{"now is refused", `    event_time = "now()"`, `now()`, "Unknown function now", "must be the same each time its record is read"},
		{"dataset needs a name", "    input \"x\" {\n      namespace = \"'kafka://k:9092'\"\n    }", `input "x"`, "Incomplete input block", "both namespace and name"},
		{"second parent", "    parent {\n      job_namespace = \"'ci'\"\n      job_name = \"pipeline\"\n      run_key = \"run_id\"\n    }\n    parent {\n      job_namespace = \"'ci'\"\n      job_name = \"pipeline\"\n      run_key = \"run_id\"\n    }", `parent {`, "Duplicate parent block", "takes one parent block"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := typed(c.body)
			if c.summary == "" {
				mustConfig(t, src)
				return
			}
			checkDiag(t, src, c.at, c.summary, c.hint)
		})
	}
}

// checkDiag loads src, which must fail, and checks its first diagnostic:
// its summary, a hint in its detail, and that it points at the last place
// in src where the text at begins (line and column).
func checkDiag(t *testing.T, src, at, summary, hint string) {
	t.Helper()
	d := diagsOf(t, src)[0]
	i := strings.LastIndex(src, at)
	line := strings.Count(src[:i], "\n") + 1
	col := i - strings.LastIndex(src[:i], "\n")
	if d.Summary != summary || d.Subject == nil || d.Subject.Start.Line != line || d.Subject.Start.Column != col || !strings.Contains(d.Detail, hint) {
		t.Errorf("got %q at %v: %s\nwant %q at %d:%d (%s) with %q", d.Summary, d.Subject, d.Detail, summary, line, col, at, hint)
	}
}

// constMapping maps kind k with constants only.
const constMapping = `
  mapping "k" {
    event_type    = "'START'"
    job_namespace = "'ns'"
    job_name      = "'job'"
    run_key       = "'key'"
  }`

// Sink-level mistakes: no transport, an unknown transport, a transport
// attribute that is wrong (at the attribute, inside the transport block),
// a duplicate mapping, no mapping.
func TestSinkDiagnostics(t *testing.T) {
	m := constMapping
	for _, c := range []struct {
		name, src, at string
		summary, hint string
	}{
		{"no transport", "source \"stdin\" \"in\" {}\nsink \"openlineage\" \"ol\" {\n  inputs = [source.stdin.in]\n" + m + "\n}\n",
			"{\n  inputs", "Missing transport block", `transport "http"`},
		{"unknown transport", "source \"stdin\" \"in\" {}\nsink \"openlineage\" \"ol\" {\n  inputs = [source.stdin.in]\n  transport \"htpp\" {}\n" + m + "\n}\n",
			`"htpp"`, `Unknown transport "htpp"`, `Did you mean "http"?`},
		{"bad url", "source \"stdin\" \"in\" {}\nsink \"openlineage\" \"ol\" {\n  inputs = [source.stdin.in]\n  transport \"http\" {\n    url = \"marquez:5000\"\n  }\n" + m + "\n}\n",
			`"marquez:5000"`, "Invalid transport.url", "is not an http:// or https:// URL"},
		{"batching", "source \"stdin\" \"in\" {}\nsink \"openlineage\" \"ol\" {\n  inputs = [source.stdin.in]\n  transport \"http\" {\n    url = \"http://marquez:5000\"\n    batch_max_records = 50\n  }\n" + m + "\n}\n",
			`50`, "Invalid transport.batch_max_records", "one event per request"},
		{"kafka topic", "source \"stdin\" \"in\" {}\nsink \"openlineage\" \"ol\" {\n  inputs = [source.stdin.in]\n  transport \"kafka\" {\n    brokers = [\"k:9092\"]\n    topic = \"\"\n  }\n" + m + "\n}\n",
			`""`, "Invalid transport.topic", "Name the topic"},
		{"duplicate mapping", sinkHCL("/tmp/x.jsonl", m+m), `"k" {`, "Duplicate mapping k", "a kind has one mapping"},
		{"no mapping", sinkHCL("/tmp/x.jsonl", ""), "{\n  inputs", "No mapping block", `mapping "KIND"`},
		{"builtin name, untyped", sinkHCL("/tmp/x.jsonl", strings.Replace(m, `"'START'"`, `"type"`, 1)), `"type"`,
			"Wrong type for event_type", `type is a builtin function of expr: read a field of that name as $env["type"]`},
		{"producer", sinkHCL("/tmp/x.jsonl", `  producer = "octoagent"`+m), `"octoagent"`, "Invalid producer", "not an absolute URI"},
	} {
		t.Run(c.name, func(t *testing.T) { checkDiag(t, c.src, c.at, c.summary, c.hint) })
	}
}

// The sink takes a disk buffer in front of it, as every sink does, and a
// file transport claims its file against other sinks.
func TestBufferAndClaims(t *testing.T) {
	m := constMapping
	src := strings.Replace(sinkHCL("/tmp/ol-claims.jsonl", m), "inputs = [source.stdin.in]", "inputs = [source.stdin.in]\n  buffer {\n    type = \"disk\"\n  }", 1)
	mustConfig(t, src)
	src += "\nsink \"file\" \"same\" {\n  inputs = [source.stdin.in]\n  path = \"/tmp/ol-claims.jsonl\"\n}\n"
	reg := agent.NewRegistry(stdin.NewFactory(), filesink.NewFactory(), NewFactory())
	_, diags := config.LoadSources([]config.Source{{Name: "test.hcl", Data: []byte(src)}}, reg)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "ol-claims.jsonl") {
		t.Errorf("two sinks writing one file: %v", diags)
	}
}
