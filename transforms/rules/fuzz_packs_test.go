package rules_test

import (
	"bufio"
	"context"
	"os"
	"testing"

	"github.com/octostore/agent/adapters/kuberneteslogs"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/agent/ruletest"
)

// fuzzPack loads a shipped pack's rules and returns a function that runs
// one line through the named transform. The seeds are the lines of the
// pack's sample file.
func fuzzPack(f *testing.F, transform, sample string, files ...string) func(*testing.T, []byte) {
	paths := []string{"../../configs/schemas", "../../configs/" + packDir(files[0]) + "/source.hcl"}
	for _, p := range files {
		paths = append(paths, "../../configs/"+p)
	}
	reg := agent.NewRegistry(append(fullRegistry().All(), kuberneteslogs.NewFactory())...)
	res, diags := config.Load(paths, reg)
	if diags.HasErrors() {
		f.Fatal(diags)
	}
	var c *config.Component
	for _, comp := range res.Components {
		if comp.ID == "transform."+transform {
			c = comp
		}
	}
	if c == nil {
		f.Fatalf("no transform.%s", transform)
	}
	fh, err := os.Open("../../configs/samples/" + sample)
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f.Add(append([]byte(nil), sc.Bytes()...))
	}
	m := agent.NewMetrics(nil)
	return func(t *testing.T, line []byte) {
		out, dead := &collect{}, &collect{}
		tr, err := c.Factory.Create(agent.Settings{ID: c.ID, Name: c.Name, Metrics: m.For(c.ID), Out: out, DeadLetter: dead}, c.Config)
		if err != nil {
			t.Fatal(err)
		}
		b := agent.Batch{{Time: ruletest.Time, Raw: line}}
		if err := tr.(agent.Transform).Process(context.Background(), b); err != nil {
			t.Fatalf("Process: %v", err)
		}
		// Every line ends as records or one dead letter, never both, and
		// never silently (these packs have no where filter).
		if (len(out.got) == 0) == (len(dead.got) == 0) {
			t.Fatalf("%q: %d records and %d dead letters", line, len(out.got), len(dead.got))
		}
		for i := range out.got {
			agent.AppendJSON(nil, &out.got[i])
		}
		for i := range dead.got {
			agent.AppendJSON(nil, &dead.got[i])
		}
	}
}

func FuzzSyslog(f *testing.F) {
	f.Fuzz(fuzzPack(f, "syslog", "syslog.log", "syslog/schemas.hcl", "syslog/rules.hcl"))
}

func packDir(file string) string {
	for i := range file {
		if file[i] == '/' {
			return file[:i]
		}
	}
	return file
}

func FuzzKubernetesAudit(f *testing.F) {
	f.Fuzz(fuzzPack(f, "kubernetes_audit", "kubernetes_audit.log", "kubernetes-audit/schemas.hcl", "kubernetes-audit/rules.hcl"))
}

func FuzzKlog(f *testing.F) {
	f.Fuzz(fuzzPack(f, "kubelet", "kubelet.log", "kube-system/schemas.hcl", "kube-system/rules.hcl"))
}

func FuzzContainerd(f *testing.F) {
	f.Fuzz(fuzzPack(f, "containerd", "containerd.log", "kube-system/schemas.hcl", "kube-system/rules.hcl"))
}

func FuzzCoreDNS(f *testing.F) {
	f.Fuzz(fuzzPack(f, "coredns", "coredns.log", "kube-system/schemas.hcl", "kube-system/rules.hcl"))
}

func FuzzPostgreSQL(f *testing.F) {
	f.Fuzz(fuzzPack(f, "postgresql", "postgresql.log", "postgresql/schemas.hcl", "postgresql/rules.hcl"))
}

func FuzzPostgreSQLCSV(f *testing.F) {
	f.Fuzz(fuzzPack(f, "postgresql_csv", "postgresql.csv", "postgresql/schemas.hcl", "postgresql/rules.hcl"))
}

func FuzzPostgreSQLJSON(f *testing.F) {
	f.Fuzz(fuzzPack(f, "postgresql_json", "postgresql.json", "postgresql/schemas.hcl", "postgresql/rules.hcl"))
}

func FuzzHAProxy(f *testing.F) {
	f.Fuzz(fuzzPack(f, "haproxy", "haproxy.log", "haproxy/rules.hcl"))
}

func FuzzEnvoy(f *testing.F) {
	f.Fuzz(fuzzPack(f, "envoy", "envoy.log", "envoy/rules.hcl"))
}

func FuzzEnvoyJSON(f *testing.F) {
	f.Fuzz(fuzzPack(f, "envoy_json", "envoy.json", "envoy/rules.hcl"))
}

func FuzzTraefik(f *testing.F) {
	f.Fuzz(fuzzPack(f, "traefik", "traefik.json", "traefik/rules.hcl"))
}
