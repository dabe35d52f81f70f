package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/octostore/agent/internal/testfig"
)

// TestK8sNodeLogsMetadata runs the agent binary as the DaemonSet's pods do
// (NODE_NAME, the node agent's service account under
// configs/kubernetes-logs/rbac.yaml) against a real API server, over a
// simulated /var/log/pods of node-1 for pods created there: a Deployment's
// pod, a CronJob's Job's pod, pods with octoagent.io/ annotations, and a
// log directory of a pod the API does not know. It checks the enrichment
// (owners, labels, annotations, image), the annotations (exclude, rules,
// multiline), a kubelet rotation (0 lost, 0 duplicated), lines flowing
// while kube-apiserver is stopped, and the deleted pod grace period.
func TestK8sNodeLogsMetadata(t *testing.T) {
	c := startK8s(t)
	ctx := context.Background()
	cs := c.Client
	const ns, node = "shop", "node-1"
	c.CreateNamespace(ns)
	kubeconfig := nodeAgentKubeconfig(t, c)

	// A Deployment: the controllers make its ReplicaSet and pod; bind the
	// pod to node-1 and start its containers (kubelet's status).
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, k8sDeployment("api"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var api *corev1.Pod
	waitFor(t, k8sDeadline, "the pod of deployment api", func() bool {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=api"})
		if err != nil || len(l.Items) == 0 {
			return false
		}
		api = &l.Items[0]
		return true
	})
	api = startContainers(t, c, bindToNode(t, c, api, node))

	// A CronJob's Job's pod (there is no job controller: made by hand, with
	// the owner references the controllers would set).
	ctl := true
	cj, err := cs.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "batch", Image: "registry.example/batch:2.1"}}}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job, err := cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-29000000", OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: &ctl}}},
		Spec: cj.Spec.JobTemplate.Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mkPod := func(name string, ann map[string]string, owner *metav1.OwnerReference, image string, onNode ...string) *corev1.Pod {
		n := node
		if len(onNode) > 0 {
			n = onNode[0]
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}, Annotations: ann},
			Spec: corev1.PodSpec{NodeName: n, RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "main", Image: image}}}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		p, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	batch := mkPod("nightly-29000000-x7k2p", nil, &metav1.OwnerReference{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: &ctl}, "registry.example/batch:2.1")
	quiet := mkPod("quiet", map[string]string{"octoagent.io/exclude": "true"}, nil, "registry.example/quiet:1")
	java := mkPod("billing", map[string]string{"octoagent.io/multiline": "java"}, nil, "registry.example/billing:3")
	web := mkPod("web", map[string]string{"octoagent.io/rules": "access"}, nil, "nginx:1.27")
	// A pod of another node: node-1's agent does not list it (its
	// informer's field selector), so lines under its name are unknown.
	other := mkPod("elsewhere", nil, nil, "registry.example/x:1", "node-2")

	dir := t.TempDir()
	logs := newPodLogs(t, filepath.Join(dir, "pods"))
	logs.Write(api, "app", "stdout", "GET /cart 200", "GET /checkout 500")
	logs.Write(batch, "batch", "stdout", "batch done: 42 rows")
	logs.Write(quiet, "main", "stdout", "should never be read out")
	logs.Write(java, "main", "stderr", "2026-11-21 05:00:00 ERROR failed to bill", "java.lang.IllegalStateException: card declined",
		"\tat com.shop.Billing.charge(Billing.java:42)", "\tat com.shop.Billing.run(Billing.java:7)", "2026-11-21 05:00:01 INFO next")
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
  rotate_wait      = "1s"
  rules_transforms = ["access"]
  pod_metadata {
    kubeconfig        = `+hclString(kubeconfig)+`
    deleted_pod_grace = "4s"
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
	find := func(pred func(logRec) bool) []logRec {
		var rs []logRec
		for _, r := range readLogRecs(t, out) {
			if pred(r) {
				rs = append(rs, r)
			}
		}
		return rs
	}
	byMsg := func(m string) func(logRec) bool { return func(r logRec) bool { return r.msg() == m } }
	waitFor(t, k8sDeadline, "the first records", func() bool { return len(find(byMsg("batch done: 42 rows"))) == 1 })
	firstRecord := time.Since(start)

	// Enrichment: the Deployment's pod.
	waitFor(t, k8sDeadline, "the api pod's records", func() bool { return len(find(byMsg("GET /checkout 500"))) == 1 })
	r := find(byMsg("GET /checkout 500"))[0]
	want := map[string]string{
		"k8s.namespace.name": ns, "k8s.pod.name": api.Name, "k8s.pod.uid": string(api.UID), "k8s.container.name": "app",
		"log.iostream": "stdout", "k8s.node.name": node, "k8s.deployment.name": "api", "k8s.workload.kind": "Deployment",
		"k8s.workload.name": "api", "k8s.pod.label.app": "api", "container.image.name": "registry.example/api",
		"container.image.tag": "1.0", "container.image.id": api.Status.ContainerStatuses[0].ImageID,
		"container.id":        strings.TrimPrefix(api.Status.ContainerStatuses[0].ContainerID, "containerd://"),
		"k8s.replicaset.name": api.OwnerReferences[0].Name,
	}
	for k, v := range want {
		if r.E[k] != v {
			t.Errorf("api record: %s = %q, want %q", k, r.E[k], v)
		}
	}
	// The CronJob's pod.
	if b := find(byMsg("batch done: 42 rows"))[0]; b.E["k8s.job.name"] != job.Name || b.E["k8s.cronjob.name"] != "nightly" || b.E["k8s.workload.kind"] != "CronJob" {
		t.Errorf("batch record entity: %v", b.E)
	}
	// An unknown pod's lines flow, marked.
	for _, m := range []string{"from a pod the API never had", "from a pod of node-2"} {
		if g := find(byMsg(m)); len(g) != 1 || g[0].E["octoagent.metadata.missing"] != "unknown_pod" || g[0].E["k8s.node.name"] != "" {
			t.Errorf("%q: %+v", m, g)
		}
	}
	// multiline preset from the annotation.
	waitFor(t, k8sDeadline, "the java trace", func() bool {
		return len(find(func(r logRec) bool { return strings.HasPrefix(r.msg(), "2026-11-21 05:00:00 ERROR") })) == 1
	})
	if tr := find(func(r logRec) bool { return strings.HasPrefix(r.msg(), "2026-11-21 05:00:00 ERROR") })[0]; strings.Count(tr.msg(), "\n") != 3 || tr.E["log.iostream"] != "stderr" {
		t.Errorf("java trace record: %q", tr.msg())
	}
	// octoagent.io/rules: the web pod's line was parsed by transform.access.
	waitFor(t, k8sDeadline, "the routed record", func() bool { return len(find(func(r logRec) bool { return r.Kind == "access" })) == 1 })
	if w := find(func(r logRec) bool { return r.Kind == "access" })[0]; w.Fields["path"] != "/index.html" || w.E["k8s.pod.name"] != "web" {
		t.Errorf("routed record: %+v", w)
	}
	if raw := find(func(r logRec) bool { return strings.HasPrefix(r.msg(), "10.0.0.7") }); len(raw) != 0 {
		t.Errorf("the routed line also reached the source's other readers: %+v", raw)
	}

	// A kubelet rotation of the api container's log while lines are
	// written: every line once.
	var seqs []string
	for i := 0; i < 600; i++ {
		seqs = append(seqs, fmt.Sprintf("seq=%04d", i))
	}
	logs.Write(api, "app", "stdout", seqs[:300]...)
	logs.Rotate(api, "app")
	logs.Write(api, "app", "stdout", seqs[300:]...)
	isSeq := func(r logRec) bool { return strings.HasPrefix(r.msg(), "seq=") }
	waitFor(t, k8sDeadline, "600 seq records", func() bool { return len(find(isSeq)) >= 600 })

	// kube-apiserver stops: lines still flow, enriched from what is known.
	c.Stop("kube-apiserver")
	stopped := time.Now()
	logs.Write(api, "app", "stdout", "while the API server is down")
	waitFor(t, k8sDeadline, "a line read while the API server is down", func() bool { return len(find(byMsg("while the API server is down"))) == 1 })
	flowDelay := time.Since(stopped)
	if d := find(byMsg("while the API server is down"))[0]; d.E["k8s.deployment.name"] != "api" {
		t.Errorf("record while the API is down: %v", d.E)
	}
	c.StartAPIServer()

	// The deleted pod's last lines are enriched during deleted_pod_grace;
	// after it, they are marked.
	deleted := k8sMetric(t, addr, "octoagent_kubernetes_logs_metadata_deleted_pods_total")
	zero := int64(0)
	if err := cs.CoreV1().Pods(ns).Delete(ctx, batch.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, k8sDeadline, "the deletion to reach the agent", func() bool {
		return k8sMetric(t, addr, "octoagent_kubernetes_logs_metadata_deleted_pods_total") > deleted
	})
	logs.Write(batch, "batch", "stdout", "last words")
	waitFor(t, k8sDeadline, "the last words", func() bool { return len(find(byMsg("last words"))) == 1 })
	if lw := find(byMsg("last words"))[0]; lw.E["k8s.cronjob.name"] != "nightly" {
		t.Errorf("a deleted pod's line within the grace period: %v", lw.E)
	}
	waitFor(t, k8sDeadline, "the grace period to end", func() bool {
		logs.Write(batch, "batch", "stdout", "after the grace period")
		time.Sleep(500 * time.Millisecond)
		for _, r := range find(byMsg("after the grace period")) {
			if r.E["octoagent.metadata.missing"] == "unknown_pod" {
				return true
			}
		}
		return false
	})

	// Nothing lost, nothing twice, the excluded pod never read out.
	got := map[string]int{}
	for _, r := range find(isSeq) {
		got[r.msg()]++
	}
	var lost, dup []string
	for _, s := range seqs {
		switch got[s] {
		case 0:
			lost = append(lost, s)
		case 1:
		default:
			dup = append(dup, s)
		}
	}
	if len(lost)+len(dup) > 0 {
		t.Errorf("across the rotation: lost %v, duplicated %v", lost, dup)
	}
	if q := find(func(r logRec) bool { return r.E["k8s.pod.name"] == "quiet" }); len(q) != 0 {
		t.Errorf("the excluded pod's lines were delivered: %+v", q)
	}
	if n := k8sMetric(t, addr, `octoagent_component_dropped_records_total{component="source.kubernetes_logs.pods",reason="excluded"}`); n != 1 {
		t.Errorf("excluded records = %v, want 1", n)
	}
	if e := k8sMetric(t, addr, "octoagent_kubernetes_logs_metadata_owner_errors_total"); e != 0 || strings.Contains(p.Stderr.String(), "forbidden") {
		t.Errorf("permission errors under the documented RBAC: owner errors %v\n%s", e, tail(p.Stderr.String(), 3000))
	}
	ids := map[string]bool{}
	for _, r := range readLogRecs(t, out) {
		if ids[r.ID] {
			t.Errorf("record id %s twice", r.ID)
		}
		ids[r.ID] = true
	}
	// node-1's pods: api, quiet, billing, web (nightly's was deleted and
	// its grace period is over).
	pods := k8sMetric(t, addr, "octoagent_kubernetes_logs_metadata_pods")
	if pods != 4 {
		t.Errorf("pods known = %v, want 4 (node-1's)", pods)
	}
	testfig.Report(t, "node agent on a real API server: first record %v after the process started, %d records, %d pods known, rotation 0 lost / 0 duplicated of 600, a line delivered %v after kube-apiserver stopped",
		firstRecord.Round(time.Millisecond), len(ids), int(pods), flowDelay.Round(time.Millisecond))
	p.Signal(t, syscall.SIGTERM)
	p.WaitExit(t, exitDeadline)
}
