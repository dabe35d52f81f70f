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

// packTransform loads a shipped pack (the shared schemas, its source.hcl
// and the given files) and returns the named transform.
func packTransform(tb testing.TB, transform string, files ...string) *config.Component {
	c, _ := packTransformIn(tb, transform, files...)
	return c
}

// packTransformIn is packTransform, with the loaded config.
func packTransformIn(tb testing.TB, transform string, files ...string) (*config.Component, *config.Result) {
	paths := []string{"../../configs/schemas", "../../configs/" + packDir(files[0]) + "/source.hcl"}
	for _, p := range files {
		paths = append(paths, "../../configs/"+p)
	}
	reg := agent.NewRegistry(append(fullRegistry().All(), kuberneteslogs.NewFactory())...)
	res, diags := config.Load(paths, reg)
	if diags.HasErrors() {
		tb.Fatal(diags)
	}
	for _, comp := range res.Components {
		if comp.ID == "transform."+transform {
			return comp, res
		}
	}
	tb.Fatalf("no transform.%s", transform)
	return nil, nil
}

// sampleLines reads a pack's sample file, a line a record.
func sampleLines(tb testing.TB, sample string) [][]byte {
	fh, err := os.Open("../../configs/samples/" + sample)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	var out [][]byte
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// fuzzPack returns a function that runs one line through a shipped pack's
// transform. The seeds are the lines of the pack's sample file.
func fuzzPack(f *testing.F, transform string) func(*testing.T, []byte) {
	pc := findPackCase(f, transform)
	c := packTransform(f, transform, pc.files...)
	for _, l := range sampleLines(f, pc.sample) {
		f.Add(l)
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

func packDir(file string) string {
	for i := range file {
		if file[i] == '/' {
			return file[:i]
		}
	}
	return file
}

// packCases are the shipped packs' transforms with the sample each is
// fuzzed and benchmarked on, and the pack files that define it.
var packCases = []packCase{
	{"syslog", "syslog.log", []string{"syslog/schemas.hcl", "syslog/rules.hcl"}},
	{"kubernetes_audit", "kubernetes_audit.log", []string{"kubernetes-audit/schemas.hcl", "kubernetes-audit/rules.hcl"}},
	{"kubelet", "kubelet.log", []string{"kube-system/schemas.hcl", "kube-system/rules.hcl"}},
	{"containerd", "containerd.log", []string{"kube-system/schemas.hcl", "kube-system/rules.hcl"}},
	{"coredns", "coredns.log", []string{"kube-system/schemas.hcl", "kube-system/rules.hcl"}},
	{"postgresql", "postgresql.log", []string{"postgresql/schemas.hcl", "postgresql/rules.hcl"}},
	{"postgresql_csv", "postgresql.csv", []string{"postgresql/schemas.hcl", "postgresql/rules.hcl"}},
	{"postgresql_json", "postgresql.json", []string{"postgresql/schemas.hcl", "postgresql/rules.hcl"}},
	{"haproxy", "haproxy.log", []string{"haproxy/rules.hcl"}},
	{"envoy", "envoy.log", []string{"envoy/rules.hcl"}},
	{"envoy_json", "envoy.json", []string{"envoy/rules.hcl"}},
	{"traefik", "traefik.json", []string{"traefik/rules.hcl"}},
	{"nginx_access", "nginx_access.log", []string{"nginx/rules.hcl"}}, // the reference
}

type packCase struct {
	transform, sample string
	files             []string
}

func findPackCase(tb testing.TB, transform string) packCase {
	for _, c := range packCases {
		if c.transform == transform {
			return c
		}
	}
	tb.Fatalf("no pack case %s", transform)
	return packCase{}
}

func FuzzSyslog(f *testing.F) { f.Fuzz(fuzzPack(f, "syslog")) }

func FuzzKubernetesAudit(f *testing.F) { f.Fuzz(fuzzPack(f, "kubernetes_audit")) }

func FuzzKlog(f *testing.F) { f.Fuzz(fuzzPack(f, "kubelet")) }

func FuzzContainerd(f *testing.F) { f.Fuzz(fuzzPack(f, "containerd")) }

func FuzzCoreDNS(f *testing.F) { f.Fuzz(fuzzPack(f, "coredns")) }

func FuzzPostgreSQL(f *testing.F) { f.Fuzz(fuzzPack(f, "postgresql")) }

func FuzzPostgreSQLCSV(f *testing.F) { f.Fuzz(fuzzPack(f, "postgresql_csv")) }

func FuzzPostgreSQLJSON(f *testing.F) { f.Fuzz(fuzzPack(f, "postgresql_json")) }

func FuzzHAProxy(f *testing.F) { f.Fuzz(fuzzPack(f, "haproxy")) }

func FuzzEnvoy(f *testing.F) { f.Fuzz(fuzzPack(f, "envoy")) }

func FuzzEnvoyJSON(f *testing.F) { f.Fuzz(fuzzPack(f, "envoy_json")) }

func FuzzTraefik(f *testing.F) { f.Fuzz(fuzzPack(f, "traefik")) }
