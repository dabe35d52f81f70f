package config_test

import (
	"fmt"
	"testing"

	"github.com/octostore/agent/agent/config"
)

func TestZZProbe(t *testing.T) {
	cases := map[string]string{
		"dl_name": `
source "stdin" "in" {}
transform "dead_letter" { inputs = [source.stdin.in] }
sink "stdout" "out" { inputs = [transform.dead_letter] }
`,
		"dl_source_name": `
source "stdin" "dead_letter" {}
sink "stdout" "out" { inputs = [source.stdin.dead_letter] }
`,
		"claims_cascade": `
source "stdin" "in" {}
sink "file" "a" {
  inputs = [source.stdin.in]
  path = ""
}
sink "file" "b" {
  inputs = [source.stdin.in]
  path = ""
}
`,
		"unknown_type_ref": `
source "fiel" "x" {}
sink "stdout" "out" { inputs = [source.fiel.x] }
`,
		"bad_name_ref": `
source "stdin" "1x" {}
sink "stdout" "out" { inputs = [source.stdin.1x] }
`,
		"utf8_caret": `
source "stdin" "in" {}
sink "stdout" "out" { inputs = ["été", source.stdin.ni] }
`,
		"env3": `
source "stdin" "in" {}
transform "t" {
  inputs = [source.stdin.in]
  kind = env("OCTO_NOPE", "a", "b")
}
sink "stdout" "out" { inputs = [transform.t.dead_letter] }
`,
		"empty_inputs": `
source "stdin" "in" {}
sink "stdout" "out" { inputs = [] }
`,
		"buffer_on_source": `
source "stdin" "in" {
  buffer { max_records = 1 }
}
sink "stdout" "out" { inputs = [source.stdin.in] }
`,
		"queue0": `
agent { queue_capacity = 0 }
source "stdin" "in" {}
sink "stdout" "out" { inputs = [source.stdin.in] }
`,
		"not_list": `
source "stdin" "in" {}
sink "stdout" "out" { inputs = source.stdin.in }
`,
		"self": `
source "stdin" "in" {}
transform "t" { inputs = [source.stdin.in, transform.t.dead_letter] }
sink "stdout" "out" { inputs = [transform.t] }
`,
		"labels": `
source "file" {}
transform "a" "b" {}
sink "stdout" "out" { inputs = [] }
`,
		"sink_cycle": `
source "stdin" "in" {}
transform "t" { inputs = [source.stdin.in, sink.stdout.out] }
sink "stdout" "out" { inputs = [transform.t] }
`,
		"regex_both": `
source "stdin" "in" {}
transform "t" {
  inputs = [source.stdin.in]
  parse "regex" {
    pattern = "ok"
    patterns = ["ok2", "(bad"]
  }
}
sink "stdout" "out" { inputs = [transform.t] }
`,
		"src_dl": `
source "stdin" "in" {}
sink "stdout" "out" { inputs = [source.stdin.in.dead_letter] }
`,
		"empty": ``,
		"parse_err": `
source "stdin" "in" {
sink "stdout" "out" { inputs = [source.stdin.in] }
`,
		"tab_caret": "source \"stdin\" \"in\" {}\nsink \"stdout\" \"out\" {\n\tinputs = [source.stdin.ni]\n}\n",
	}
	for name, src := range cases {
		res, diags := config.LoadSources([]config.Source{{Name: name + ".hcl", Data: []byte(src)}}, registry())
		fmt.Printf("===== %s (%d diags, %d nodes)\n%s", name, len(diags), len(res.Graph.Nodes), render(res, diags))
	}
	res, diags := config.Load([]string{"testdata/valid/minimal.hcl", "testdata/valid/minimal.hcl"}, registry())
	fmt.Printf("===== same file twice\n%s", render(res, diags))
	res, diags = config.Load([]string{"testdata/valid/minimal.hcl", "testdata/valid/"}, registry())
	fmt.Printf("===== file + its dir\n%s", render(res, diags))
}
