package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/octostore/agent/internal/testfig"
)

// waitDelivered waits until every event a list returns has its current
// occurrence in the records at out, and returns the records.
func waitDelivered(t *testing.T, cs kubernetes.Interface, ns string, outs []string, what string) []eventRec {
	t.Helper()
	var recs []eventRec
	waitFor(t, k8sDeadline, what, func() bool {
		recs = recs[:0]
		for _, o := range outs {
			recs = append(recs, readEventRecs(t, o)...)
		}
		got, _ := k8sDelivered(recs)
		return k8sMissing(k8sListed(t, cs, ns), got) == 0
	})
	return recs
}

// TestK8sAPIServerRestart restarts kube-apiserver and etcd while the agent
// watches: every event a list returns afterwards is delivered, and
// duplicates are counted by id.
func TestK8sAPIServerRestart(t *testing.T) {
	c := startK8s(t)
	const ns = "ticks"
	c.CreateNamespace(ns)
	dir := t.TempDir()
	cfg, out := eventsConfig(t, dir, c.Kubeconfig, `  namespace = "ticks"`)
	p := startAgentEnv(t, nil, "run", "-c", cfg)
	addr := p.WaitHTTPAddr(t)

	k8sCreateEvents(t, c.Client, ns, "before", 20)
	waitDelivered(t, c.Client, ns, []string{out}, "the 20 events before the restart")

	start := time.Now()
	c.RestartControlPlane()
	restart := time.Since(start)
	k8sCreateEvents(t, c.Client, ns, "after", 20)
	recs := waitDelivered(t, c.Client, ns, []string{out}, "every listed event after the restart")
	got, dups := k8sDelivered(recs)
	miss := k8sMissing(k8sListed(t, c.Client, ns), got)
	testfig.Report(t, "control plane down+up %v; listed %d, missed %d, records %d, duplicates by id %d; lists %.0f, 410s %.0f, watch restarts %.0f, watch errors %.0f",
		restart.Round(100*time.Millisecond), len(k8sListed(t, c.Client, ns)), miss, len(recs), dups,
		k8sMetric(t, addr, "octoagent_kubernetes_events_lists_total"), k8sMetric(t, addr, "octoagent_kubernetes_events_expired_total"),
		k8sMetric(t, addr, "octoagent_kubernetes_events_watch_restarts_total"), k8sMetric(t, addr, "octoagent_kubernetes_events_watch_errors_total"))
	if miss != 0 {
		t.Errorf("%d listed events were not delivered", miss)
	}
	p.Signal(t, syscall.SIGTERM)
	p.WaitExit(t, exitDeadline)
}

// TestK8sResumeAndGone stops the agent, lets events happen, and starts it
// again: first with the resourceVersion still in the watch cache (resumes
// without replay), then after compacting etcd and restarting the API
// server, so that the committed resourceVersion is gone (410): the agent
// re-lists and keeps delivering.
func TestK8sResumeAndGone(t *testing.T) {
	c := startK8s(t)
	const ns = "gone"
	c.CreateNamespace(ns)
	dir := t.TempDir()
	cfg, out := eventsConfig(t, dir, c.Kubeconfig, `  namespace = "gone"`)
	run := func() (*agentProc, string) {
		p := startAgentEnv(t, nil, "run", "-c", cfg)
		return p, p.WaitHTTPAddr(t)
	}
	stop := func(p *agentProc) {
		p.Signal(t, syscall.SIGTERM)
		if code := p.WaitExit(t, exitDeadline); code != 0 {
			t.Fatalf("agent exited with %d", code)
		}
	}

	p, _ := run()
	k8sCreateEvents(t, c.Client, ns, "first", 15)
	waitDelivered(t, c.Client, ns, []string{out}, "the first 15 events")
	stop(p)

	// 1. Restart of the agent alone: it resumes from its checkpoint.
	k8sCreateEvents(t, c.Client, ns, "while-stopped", 10)
	p, addr := run()
	recs := waitDelivered(t, c.Client, ns, []string{out}, "the events created while the agent was stopped")
	_, dupsResume := k8sDelivered(recs)
	expiredResume := k8sMetric(t, addr, "octoagent_kubernetes_events_expired_total")
	stop(p)

	// 2. The committed resourceVersion is compacted away.
	k8sCreateEvents(t, c.Client, ns, "while-gone", 10)
	rev := c.CompactEtcd()
	c.RestartAPIServer() // a fresh watch cache starts at the current revision
	p, addr = run()
	waitFor(t, k8sDeadline, "a 410 Gone and a re-list", func() bool {
		return k8sMetric(t, addr, "octoagent_kubernetes_events_expired_total") >= 1 && k8sMetric(t, addr, "octoagent_kubernetes_events_lists_total") >= 1
	})
	waitDelivered(t, c.Client, ns, []string{out}, "the events created while the resourceVersion expired")
	k8sCreateEvents(t, c.Client, ns, "after-relist", 10)
	recs = waitDelivered(t, c.Client, ns, []string{out}, "the events after the re-list")
	got, dups := k8sDelivered(recs)
	listed := k8sListed(t, c.Client, ns)
	miss := k8sMissing(listed, got)
	testfig.Report(t, "resume from checkpoint: duplicates %d, 410s %.0f; after compaction at revision %d: 410s %.0f, lists %.0f, listed %d, missed %d, duplicates by id %d (the re-list replays what the list returns, same ids)",
		dupsResume, expiredResume, rev, k8sMetric(t, addr, "octoagent_kubernetes_events_expired_total"),
		k8sMetric(t, addr, "octoagent_kubernetes_events_lists_total"), len(listed), miss, dups)
	if dupsResume != 0 {
		t.Errorf("resuming from the checkpoint replayed %d records", dupsResume)
	}
	if miss != 0 {
		t.Errorf("%d listed events were not delivered", miss)
	}
	stop(p)
}

var leaderRe = "became the leader"

// TestK8sLeaderElection runs two replicas with leader election: only the
// leader emits; after SIGKILL of the leader the other takes over, re-lists,
// and no event of the gap is missed.
func TestK8sLeaderElection(t *testing.T) {
	c := startK8s(t)
	const ns = "le"
	c.CreateNamespace(ns)
	// Generous for a loaded machine: a leader that cannot renew within
	// renew_deadline steps down, which this test would count as a failure.
	const duration, retry = 10 * time.Second, 2 * time.Second
	body := `  namespace = "le"
  leader_election {
    lease_name     = "octoagent-events"
    namespace      = "default"
    duration       = "10s"
    renew_deadline = "8s"
    retry_period   = "2s"
  }`
	type replica struct {
		p   *agentProc
		out string
	}
	var reps []replica
	for i := 0; i < 2; i++ {
		dir := t.TempDir()
		cfg, out := eventsConfig(t, dir, c.Kubeconfig, body)
		p := startAgentEnv(t, nil, "run", "-c", cfg)
		reps = append(reps, replica{p, out})
	}
	var leader, follower replica
	waitFor(t, k8sDeadline, "a leader", func() bool {
		for i, r := range reps {
			if r.p.Exited() {
				t.Fatalf("replica %d exited (%v):\n%s", i, r.p.waitErr, tail(r.p.Stderr.String(), 3000))
			}
			if strings.Contains(r.p.Stderr.String(), leaderRe) {
				leader, follower = r, reps[1-i]
				return true
			}
		}
		return false
	})
	k8sCreateEvents(t, c.Client, ns, "led", 10)
	waitDelivered(t, c.Client, ns, []string{leader.out}, "the leader to deliver the first 10 events")
	if n := len(readEventRecs(t, follower.out)); n != 0 {
		t.Fatalf("the follower emitted %d records while the other replica led", n)
	}
	if strings.Contains(follower.p.Stderr.String(), leaderRe) {
		t.Fatal("both replicas became the leader")
	}

	// SIGKILL: the lease is not released; the follower takes over once it
	// expires. Events keep happening in the gap.
	killed := time.Now()
	if err := leader.p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	k8sCreateEvents(t, c.Client, ns, "gap", 10)
	waitFor(t, k8sDeadline, "the follower to become the leader", func() bool {
		return strings.Contains(follower.p.Stderr.String(), leaderRe)
	})
	failover := time.Since(killed)
	k8sCreateEvents(t, c.Client, ns, "new-leader", 10)
	recs := waitDelivered(t, c.Client, ns, []string{leader.out, follower.out}, "every event across both replicas")
	got, dups := k8sDelivered(recs)
	miss := k8sMissing(k8sListed(t, c.Client, ns), got)
	testfig.Report(t, "failover after SIGKILL: %v (lease duration %v + retry %v; poll resolution 20ms); missed %d; records leader %d, new leader %d; duplicates by id %d (the new leader's re-list, same ids)",
		failover.Round(10*time.Millisecond), duration, retry, miss, len(readEventRecs(t, leader.out)), len(readEventRecs(t, follower.out)), dups)
	if miss != 0 {
		t.Errorf("%d events were missed across the failover", miss)
	}
	if failover > duration+retry+30*time.Second {
		t.Errorf("failover took %v, far beyond lease duration %v + retry %v", failover, duration, retry)
	}
	follower.p.Signal(t, syscall.SIGTERM)
	follower.p.WaitExit(t, exitDeadline)
}

// TestK8sRBACLeastPrivilege runs the agent (with enrich_owners and leader
// election) under a service account bound to exactly the documented roles
// (configs/kubernetes-events/rbac.yaml): it works, and it cannot read
// secrets.
func TestK8sRBACLeastPrivilege(t *testing.T) {
	c := startK8s(t)
	ctx := context.Background()
	root := moduleRoot(t)
	rbac := filepath.Join(root, "configs/kubernetes-events/rbac.yaml")
	readme, err := os.ReadFile(filepath.Join(root, "adapters/kubernetesevents/README.md"))
	if err != nil {
		t.Fatal(err)
	}
	yaml, err := os.ReadFile(rbac)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), string(yaml)) {
		t.Errorf("adapters/kubernetesevents/README.md does not show configs/kubernetes-events/rbac.yaml verbatim")
	}
	kubectlPath := kubectlBin(t)
	kubectl := func(kubeconfig string, args ...string) (string, error) {
		cmd := exec.Command(kubectlPath, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		b, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(b)), err
	}
	if out, err := kubectl(c.Kubeconfig, "apply", "-f", rbac); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	const ns = "rbac"
	c.CreateNamespace(ns)
	saConfig := c.ServiceAccountKubeconfig("octoagent", "octoagent")
	dir := t.TempDir()
	cfg, out := eventsConfig(t, dir, saConfig, `  enrich_owners = true
  leader_election {
    lease_name = "octoagent-events"
    namespace  = "octoagent"
  }`)
	p := startAgentEnv(t, nil, "run", "-c", cfg)
	addr := p.WaitHTTPAddr(t)
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, k8sDeployment("shop"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var owned eventRec
	waitFor(t, k8sDeadline, "a SuccessfulCreate record with its owner chain", func() bool {
		for _, r := range readEventRecs(t, out) {
			if r.str("reason") == "SuccessfulCreate" && r.str("workload_name") == "shop" {
				owned = r
				return true
			}
		}
		return false
	})
	// What the service account may do, asked as itself.
	sa, err := kubernetes.NewForConfig(c.RestConfigFor(saConfig))
	if err != nil {
		t.Fatal(err)
	}
	can := func(verb, group, resource, namespace, name string) bool {
		r, err := sa.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: verb, Group: group, Resource: resource, Namespace: namespace, Name: name}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SelfSubjectAccessReview: %v", err)
		}
		return r.Status.Allowed
	}
	checks := []struct {
		verb, group, resource, ns, name string
		want                            bool
	}{
		{"watch", "events.k8s.io", "events", "", "", true},
		{"list", "", "events", "", "", true},
		{"get", "apps", "replicasets", ns, "", true},
		{"get", "", "secrets", "", "", false},
		{"get", "", "secrets", "octoagent", "", false},
		{"list", "", "pods", "", "", false},
		{"update", "coordination.k8s.io", "leases", "octoagent", "octoagent-events", true},
		{"update", "coordination.k8s.io", "leases", "octoagent", "other", false},
		{"update", "coordination.k8s.io", "leases", "kube-system", "octoagent-events", false},
		{"create", "", "events", ns, "", false},
	}
	var denied []string
	for _, ch := range checks {
		got := can(ch.verb, ch.group, ch.resource, ch.ns, ch.name)
		if got != ch.want {
			t.Errorf("can %s %s.%s in %q (name %q) = %v, want %v", ch.verb, ch.resource, ch.group, ch.ns, ch.name, got, ch.want)
		}
		if !got {
			denied = append(denied, ch.verb+" "+ch.resource)
		}
	}
	canI, _ := kubectl(saConfig, "auth", "can-i", "get", "secrets", "--all-namespaces")
	if canI != "no" {
		t.Errorf("kubectl auth can-i get secrets = %q, want no", canI)
	}
	ownerErrs := k8sMetric(t, addr, "octoagent_kubernetes_events_owner_errors_total")
	listErrs := k8sMetric(t, addr, "octoagent_kubernetes_events_list_errors_total")
	if ownerErrs != 0 || listErrs != 0 || strings.Contains(p.Stderr.String(), "forbidden") {
		t.Errorf("the agent hit permission errors: owner errors %.0f, list errors %.0f\n%s", ownerErrs, listErrs, tail(p.Stderr.String(), 3000))
	}
	testfig.Report(t, "under the documented role: records %d, owner chain of %s = %v; can-i get secrets: %s; denied as expected: %s",
		len(readEventRecs(t, out)), owned.str("regarding", "name"), owned.Ev["owners"], canI, strings.Join(denied, ", "))
	p.Signal(t, syscall.SIGTERM)
	p.WaitExit(t, exitDeadline)
}
