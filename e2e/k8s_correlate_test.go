package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/testfig"
)

// TestK8sCrashloopContext answers the question in the agent, with the
// shipped pack (configs/kubernetes-events with crashloop_context.hcl): a
// Deployment rolls out three times (three images), then one of its pods
// crashloops (BackOff, count 1 → 2 → 3). Two agents watch, and between
// the third rollout and the crashloop, B is killed (SIGKILL) and started
// again on its data directory, and A reloads its config (SIGHUP). Each
// gives exactly one crashloop_context, naming the three rollouts newest
// first with their images and revisions, and the two are the same record,
// id included.
func TestK8sCrashloopContext(t *testing.T) {
	c := startK8s(t)
	ctx := context.Background()
	cs := c.Client
	const ns = "shop"
	c.CreateNamespace(ns)
	root := moduleRoot(t)

	type agentRun struct {
		cfg, out string
		p        *agentProc
		addr     string
	}
	setup := func(name string) *agentRun {
		dir := filepath.Join(t.TempDir(), name)
		a := &agentRun{cfg: filepath.Join(t.TempDir(), name+".hcl"), out: filepath.Join(dir, "records.jsonl")}
		writeFile(t, a.cfg, `agent {
  data_dir            = `+hclString(filepath.Join(dir, "data"))+`
  http_addr           = "127.0.0.1:0"
  checkpoint_interval = "200ms"
}
sink "file" "out" {
  inputs = [transform.k8s_deployment_rollout, transform.k8s_pod_crashloop, transform.k8s_crashloop_context, transform.k8s_crashloop_context.dead_letter]
  path   = `+hclString(a.out)+`
}
`)
		return a
	}
	start := func(a *agentRun) {
		a.p = startAgentEnv(t, []string{"KUBECONFIG=" + c.Kubeconfig, "K8S_CLUSTER_NAME=e2e"}, "run",
			"-c", filepath.Join(root, "configs/kubernetes-events/source.hcl"),
			"-c", filepath.Join(root, "configs/kubernetes-events/rules.hcl"),
			"-c", filepath.Join(root, "configs/kubernetes-events/crashloop_context.hcl"),
			"-c", a.cfg)
		a.addr = a.p.WaitHTTPAddr(t)
	}
	agents := []*agentRun{setup("a"), setup("b")}
	for _, a := range agents {
		start(a)
	}
	byKind := func(a *agentRun, kind string) []eventRec {
		var out []eventRec
		for _, r := range readEventRecs(t, a.out) {
			if r.Kind == kind {
				out = append(out, r)
			}
		}
		return out
	}
	// hasRollout reports whether a has the rollout record of revision rev.
	hasRollout := func(a *agentRun, rev int) bool {
		for _, r := range byKind(a, "deployment_rollout") {
			if ro, ok := r.Ev["rollout"].(map[string]any); ok && r.Ev["direction"] == "up" && ro["revision"] == float64(rev) {
				return true
			}
		}
		return false
	}

	// Three rollouts of one Deployment: three images, three ReplicaSets.
	dep := k8sDeployment("api")
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for rev := 1; rev <= 3; rev++ {
		if rev > 1 {
			image := fmt.Sprintf("registry.example/api:%d.0", rev)
			waitFor(t, k8sDeadline, "the update to "+image, func() bool {
				d, err := cs.AppsV1().Deployments(ns).Get(ctx, "api", metav1.GetOptions{})
				if err != nil {
					return false
				}
				d.Spec.Template.Spec.Containers[0].Image = image
				_, err = cs.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
				if err != nil && !apierrors.IsConflict(err) {
					t.Fatal(err)
				}
				return err == nil
			})
		}
		for _, a := range agents {
			waitFor(t, k8sDeadline, fmt.Sprintf("the rollout of revision %d", rev), func() bool { return hasRollout(a, rev) })
		}
		// Event times have a resolution of one second.
		time.Sleep(1100 * time.Millisecond)
	}

	// kill -9 of B, between the third rollout and the crashloop, and a
	// new start on the same data directory.
	b := agents[1]
	if err := b.p.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b.p.WaitExit(t, exitDeadline)
	start(b)
	// And a reload of A (SIGHUP): its pipeline stops, saves the window and
	// starts again from it.
	a := agents[0]
	a.p.Signal(t, syscall.SIGHUP)
	waitFor(t, k8sDeadline, "the reload of agent A", func() bool { return strings.Contains(a.p.Stderr.String(), "reload=1 ") })

	// A pod of the Deployment starts crashlooping: BackOff, updated in
	// place as the kubelet does.
	pod, created := k8sCrashloop(t, cs, ns, "app=api")
	// Every occurrence has reached correlate: the first answered, the
	// other two suppressed (once per pod).
	for _, a := range agents {
		waitFor(t, k8sDeadline, "the three BackOff occurrences at crashloop_context", func() bool {
			return len(byKind(a, "pod_crashloop")) >= 3 && k8sMetric(t, a.addr, "octoagent_correlate_suppressed_total") >= 2 &&
				len(byKind(a, "crashloop_context")) >= 1
		})
	}
	var answers []eventRec
	for i, a := range agents {
		got := byKind(a, "crashloop_context")
		if len(got) != 1 {
			t.Fatalf("agent %c: %d crashloop_context records, want exactly 1", "ab"[i], len(got))
		}
		if d := byKind(a, agent.KindDeadLetter); len(d) != 0 {
			t.Errorf("agent %c: dead letters %v", "ab"[i], d)
		}
		answers = append(answers, got[0])
	}
	ra, rb := answers[0], answers[1]
	wa, wb := wireOf(ra.WireRecord), wireOf(rb.WireRecord)
	t.Logf("crashloop_context: %s", wa)
	if ra.ID != rb.ID || wa != wb {
		t.Errorf("the agent killed and restarted answers otherwise:\nA %s\nB %s", wa, wb)
	}
	want := created.UID
	if ra.Origin.Stream != string(want) || ra.Origin.Offset != 1 || !strings.HasSuffix(ra.Origin.Rule, ">transform.k8s_crashloop_context") {
		t.Errorf("origin %+v, want the first BackOff occurrence's (uid %s, offset 1)", ra.Origin, want)
	}
	f := ra.Fields
	if f["pod"] != pod.Name || f["owner_kind"] != "Deployment" || f["owner_name"] != "api" || f["namespace"] != ns {
		t.Errorf("crashloop_context fields %v", f)
	}
	rollouts, _ := f["rollouts"].([]any)
	var names []string
	var prev time.Time
	for i, x := range rollouts {
		m := x.(map[string]any)
		images, _ := m["images"].([]any)
		names = append(names, fmt.Sprintf("%s r%v %v", m["deployment"], m["revision"], images))
		at, _ := time.Parse(time.RFC3339, m["time"].(string))
		if d, _ := m["delay_s"].(float64); d <= 0 || (i > 0 && !at.Before(prev)) {
			t.Errorf("rollout %d: delay %v, time %v after %v", i, m["delay_s"], at, prev)
		}
		prev = at
	}
	if got := strings.Join(names, "; "); got != "api r3 [registry.example/api:3.0]; api r2 [registry.example/api:2.0]; api r1 [registry.example/api:1.0]" {
		t.Errorf("rollouts listed: %s", got)
	}
	testfig.Report(t, "3 rollouts, SIGKILL of one agent and SIGHUP of the other, crashloop (3 occurrences): 1 crashloop_context per agent, same id on both (%s…); listed %s", ra.ID[:8], strings.Join(names, "; "))
	for _, a := range agents {
		a.p.Signal(t, syscall.SIGTERM)
		a.p.WaitExit(t, exitDeadline)
	}
}

// wireOf is a decoded record written again, for comparing two agents'.
func wireOf(w agent.WireRecord) string {
	r := agent.Record{ID: w.ID, Time: w.Time, Kind: w.Kind, Origin: w.Origin}
	for _, kv := range w.Entity {
		r.Entity = append(r.Entity, agent.KV(kv))
	}
	r.SetFields(w.Fields)
	return string(agent.AppendJSON(nil, &r))
}
