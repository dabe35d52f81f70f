package config_test

import (
	"fmt"
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
)

func TestZZProbe2(t *testing.T) {
	for _, src := range []string{`
source "stdin" "in" {}
transform "dead_letter" { inputs = [source.stdin.in] }
sink "stdout" "out" { inputs = [transform.dead_letter] }
`, `
source "stdin" "dead_letter" {}
sink "stdout" "out" { inputs = [source.stdin.dead_letter] }
`} {
		res, diags := config.LoadSources([]config.Source{{Name: "x.hcl", Data: []byte(src)}}, registry())
		g := res.Graph
		g.Agent.DataDir = t.TempDir()
		g.Agent.HTTPAddr = ""
		_, err := agent.New(g, agent.Options{})
		fmt.Println(diags.HasErrors(), err)
	}
}
