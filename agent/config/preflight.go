package config

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/octostore/agent/agent"
)

// Preflight runs the checks `octoagent run` makes before it starts
// anything, on a loaded config (res) and the graph about to run (g: res's,
// with the command line's overrides): a config with no source has nothing
// to run; and, when machine is set, what depends on this machine: the data
// dir can be written, and every component's agent.Preflighter passes (TLS
// files load, files to write can be created). `run`, `validate` and a
// reload call it, so validate refuses what run would, at the same
// file:line:col. `validate --offline` (a config checked on another
// machine than the one it will run on) leaves machine out.
func Preflight(res *Result, g agent.Graph, machine bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	sources := 0
	for _, n := range g.Nodes {
		if n.Kind == agent.KindSource {
			sources++
		}
	}
	if sources == 0 {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Nothing to run: the config has no source",
			Detail: `The agent reads from sources and has none to read from. Add one, such as source "file" "app" { paths = ["/var/log/app/*.log"] }, or pass the directory that holds it with -c (several -c merge into one config).`}
		if len(g.Nodes) == 0 {
			d.Summary = "Nothing to run: the config has no component"
		}
		diags = append(diags, d)
	}
	if !machine {
		return diags
	}
	if err := agent.CheckWritableDir(g.Agent.DataDir); err != nil {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid data_dir",
			Detail: err.Error() + ". The agent keeps its checkpoints and buffers in agent.data_dir (or --data-dir): give a directory it can write to, or one it can create."}
		if b := res.agentBlock; b != nil && res.Graph.Agent.DataDir == g.Agent.DataDir {
			if r := attrRange(b.Body, "data_dir", hcl.Range{}); r.Filename != "" {
				d.Subject = r.Ptr()
			}
		}
		diags = append(diags, d)
	}
	for _, c := range res.Components {
		p, ok := c.Config.(agent.Preflighter)
		if !ok {
			continue
		}
		diags = append(diags, attrDiags(c.Body, c.DefRange, string(c.Kind), p.Preflight())...)
	}
	return diags
}
