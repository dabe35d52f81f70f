package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/octostore/agent/internal/testfig"
)

// TestK8sNodeLogsMetadata runs the agent binary with a config of its own
// (not the chart's) under the documented RBAC
// (configs/kubernetes-logs/rbac.yaml, service account octoagent-node, as a
// kubeconfig), NODE_NAME=node-1, against a real API server, over a
// simulated /var/log/pods of node-1. It proves what the chart's pod
// (TestChartNodePod, which runs the rest: annotations exclude and
// multiline, rotation, the API server stopped, the deleted pod grace
// period, the mounted token) does not:
//
//   - that the documented RBAC is enough: the entity of a Deployment's pod
//     and of a CronJob's Job's pod, owners included, with no permission
//     error;
//   - octoagent.io/rules: a pod's lines go to the transform it names, from
//     the source's rules_transforms (not a chart value);
//   - lines of a pod the API never had, and of a pod of another node (not
//     in the informer's field selector), flow marked unknown_pod.
func TestK8sNodeLogsMetadata(t *testing.T) {
	c := startK8s(t)
	const ns, node = "shop", "node-1"
	c.CreateNamespace(ns)
	kubeconfig := nodeAgentKubeconfig(t, c)

	api := deploymentPod(t, c, ns, "api", node)
	batch := cronJobPod(t, c, ns, "nightly", node)
	web := createPod(t, c, nodePod{ns: ns, name: "web", node: node, container: "main", image: "nginx:1.27",
		labels: map[string]string{"app": "web"}, annotations: map[string]string{"octoagent.io/rules": "access"}})
	// A pod of another node: node-1's agent does not list it (its
	// informer's field selector), so lines under its name are unknown.
	other := createPod(t, c, nodePod{ns: ns, name: "elsewhere", node: "node-2", container: "main", image: "registry.example/x:1"})

	dir := t.TempDir()
	logs := newPodLogs(t, filepath.Join(dir, "pods"))
	logs.Write(api, "app", "stdout", "GET /cart 200", "GET /checkout 500")
	logs.Write(batch, "batch", "stdout", "batch done: 42 rows")
	logs.Write(web, "main", "stdout", `10.0.0.7 - - [21/Nov/2026:05:00:00 +0000] "GET /index.html HTTP/1.1" 200 512`)
	ghost := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ghost", UID: types.UID("00000000-dead-beef-0000-000000000000")}}
	logs.Write(ghost, "main", "stdout", "from a pod the API never had")
	logs.Write(other, "main", "stdout", "from a pod of node-2")

	out := filepath.Join(dir, "records.jsonl")
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, `agent {
  data_dir            = `+hclString(filepath.Join(dir, "data"))+`
  http_addr           = "127.0.0.1:0"
  checkpoint_interval = "200ms"
}
source "kubernetes_logs" "pods" {
  pods_dir         = `+hclString(logs.Dir)+`
  rules_transforms = ["access"]
  pod_metadata {
    kubeconfig = `+hclString(kubeconfig)+`
  }
}
transform "access" {
  inputs = [source.kubernetes_logs.pods]
  parse "regex" {
    pattern = "^(?P<client_ip>\\S+) \\S+ \\S+ \\[[^\\]]+\\] \"(?P<method>\\S+) (?P<path>\\S+) [^\"]*\" (?P<status>\\d{3})"
  }
}
sink "file" "out" {
  inputs = [source.kubernetes_logs.pods, source.kubernetes_logs.pods.dead_letter, transform.access, transform.access.dead_letter]
  path   = `+hclString(out)+`
}
`)
	agentBinary(t) // built before the clock starts
	start := time.Now()
	p := startAgentEnv(t, []string{"NODE_NAME=" + node, "KUBECONFIG="}, "run", "-c", cfg)
	addr := p.WaitHTTPAddr(t)
	recs := func() []logRec { return readLogRecs(t, out) }
	find := func(pred func(logRec) bool) []logRec {
		var rs []logRec
		for _, r := range recs() {
			if pred(r) {
				rs = append(rs, r)
			}
		}
		return rs
	}
	byMsg := func(m string) func(logRec) bool { return func(r logRec) bool { return r.msg() == m } }
	waitFor(t, k8sDeadline, "the first records", func() bool { return len(find(byMsg("batch done: 42 rows"))) == 1 })
	firstRecord := time.Since(start)

	// The Deployment's pod and the CronJob's, owners included.
	for _, w := range []struct {
		pod       *corev1.Pod
		container string
	}{{api, "app"}, {batch, "batch"}} {
		want := wantEntity(t, c, w.pod, w.container, "stdout")
		write := func(msg string) { logs.Write(w.pod, w.container, "stdout", msg) }
		if d := awaitEntity(recs, write, w.pod.Name, want); d != "" {
			t.Errorf("%s/%s: %s", w.pod.Name, w.container, d)
		}
	}
	// octoagent.io/rules: the web pod's line was parsed by transform.access.
	waitFor(t, k8sDeadline, "the routed record", func() bool { return len(find(func(r logRec) bool { return r.Kind == "access" })) == 1 })
	if w := find(func(r logRec) bool { return r.Kind == "access" })[0]; w.Fields["path"] != "/index.html" || w.E["k8s.pod.name"] != "web" {
		t.Errorf("routed record: %+v", w)
	}
	if raw := find(func(r logRec) bool { return strings.HasPrefix(r.msg(), "10.0.0.7") }); len(raw) != 0 {
		t.Errorf("the routed line also reached the source's other readers: %+v", raw)
	}
	// An unknown pod's lines flow, marked.
	for _, m := range []string{"from a pod the API never had", "from a pod of node-2"} {
		waitFor(t, k8sDeadline, m, func() bool { return len(find(byMsg(m))) > 0 })
		if g := find(byMsg(m)); len(g) != 1 || g[0].E["octoagent.metadata.missing"] != "unknown_pod" || g[0].E["k8s.node.name"] != "" {
			t.Errorf("%q: %+v", m, g)
		}
	}

	if e := k8sMetric(t, addr, "octoagent_kubernetes_logs_metadata_owner_errors_total"); e != 0 || strings.Contains(p.Stderr.String(), "forbidden") {
		t.Errorf("permission errors under the documented RBAC: owner errors %v\n%s", e, tail(p.Stderr.String(), 3000))
	}
	ids := map[string]bool{}
	for _, r := range recs() {
		if ids[r.ID] {
			t.Errorf("record id %s twice", r.ID)
		}
		ids[r.ID] = true
	}
	// node-1's pods: api, nightly's and web.
	pods := k8sMetric(t, addr, "octoagent_kubernetes_logs_metadata_pods")
	if pods != 3 {
		t.Errorf("pods known = %v, want 3 (node-1's)", pods)
	}
	testfig.Report(t, "node agent with the documented RBAC on a real API server: first record %v after the process started, %d records, %d pods known",
		firstRecord.Round(time.Millisecond), len(ids), int(pods))
	p.Signal(t, syscall.SIGTERM)
	p.WaitExit(t, exitDeadline)
}
