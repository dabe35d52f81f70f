package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/octostore/agent/internal/testfig"
)

func k8sDeployment(name string) *appsv1.Deployment {
	one := int32(1)
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/" + name + ":1.0"}}},
			},
		},
	}
}

// coreEvent is an event as the kubelet writes it (core/v1, count updated in
// place), about obj.
func k8sCoreEvent(ns, name, reason, typ, note string, obj corev1.ObjectReference, at time.Time) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: ns},
		InvolvedObject: obj, Reason: reason, Type: typ, Message: note,
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-a"},
		FirstTimestamp: metav1.NewTime(at), LastTimestamp: metav1.NewTime(at), Count: 1,
		ReportingController: "kubelet", ReportingInstance: "node-a",
	}
}

// k8sCrashloop makes a pod matching selector crashloop, a second after
// what came before: a BackOff event, updated in place as the kubelet does
// (count 1 → 2 → 3, a second apart). It returns the pod and the event.
func k8sCrashloop(t *testing.T, cs kubernetes.Interface, ns, selector string) (corev1.Pod, *corev1.Event) {
	t.Helper()
	ctx := context.Background()
	var pod corev1.Pod
	waitFor(t, k8sDeadline, "a pod "+selector, func() bool {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil || len(l.Items) == 0 {
			return false
		}
		pod = l.Items[0]
		return true
	})
	time.Sleep(1100 * time.Millisecond)
	crashStart := time.Now().UTC().Truncate(time.Second)
	ref := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: pod.Name, UID: pod.UID, FieldPath: "spec.containers{app}"}
	ev := k8sCoreEvent(ns, pod.Name+".backoff", "BackOff", "Warning", "Back-off restarting failed container app in pod "+pod.Name+"_"+ns+"("+string(pod.UID)+")", ref, crashStart)
	created, err := cs.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for n := int32(2); n <= 3; n++ {
		time.Sleep(1100 * time.Millisecond)
		created.Count = n
		created.LastTimestamp = metav1.NewTime(time.Now())
		if created, err = cs.CoreV1().Events(ns).Update(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return pod, created
}

// TestK8sCrashloopAfterRollouts answers the question from the
// records alone: which deployments rolled out in this namespace before this
// pod started crashlooping? Three Deployments roll out (the real
// deployment controller emits ScalingReplicaSet), then one of the pods the
// ReplicaSet controller created gets BackOff events, updated in place like
// the kubelet does (count 1 → 2 → 3).
func TestK8sCrashloopAfterRollouts(t *testing.T) {
	c := startK8s(t)
	ctx := context.Background()
	cs := c.Client
	const ns = "shop"
	c.CreateNamespace(ns)

	dir := t.TempDir()
	out := filepath.Join(dir, "records.jsonl")
	writeFile(t, filepath.Join(dir, "sink.hcl"), `agent {
  data_dir            = `+hclString(filepath.Join(dir, "data"))+`
  http_addr           = "127.0.0.1:0"
  checkpoint_interval = "200ms"
}
sink "file" "typed" {
  inputs = [transform.k8s_deployment_rollout, transform.k8s_pod_created, transform.k8s_pod_deleted,
    transform.k8s_pod_crashloop, transform.k8s_image_pull, transform.k8s_oom_killed,
    transform.k8s_scheduling_failed, transform.k8s_node_condition, transform.k8s_event]
  path = `+hclString(out)+`
}
`)
	root := moduleRoot(t)
	p := startAgentEnv(t, []string{"KUBECONFIG=" + c.Kubeconfig, "K8S_CLUSTER_NAME=e2e"}, "run",
		"-c", filepath.Join(root, "configs/kubernetes-events/source.hcl"),
		"-c", filepath.Join(root, "configs/kubernetes-events/rules.hcl"),
		"-c", filepath.Join(dir, "sink.hcl"))
	addr := p.WaitHTTPAddr(t)

	byKind := func() map[string][]eventRec {
		m := map[string][]eventRec{}
		for _, r := range readEventRecs(t, out) {
			m[r.Kind] = append(m[r.Kind], r)
		}
		return m
	}
	names := []string{"web", "api", "worker"}
	for i, n := range names {
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, k8sDeployment(n), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Event times have a resolution of one second: each rollout is
		// recorded, and a second passes, before the next one, so that the
		// order of the records' times is the order of the rollouts.
		waitFor(t, k8sDeadline, "the rollout of "+n, func() bool { return len(byKind()["deployment_rollout"]) >= i+1 })
		time.Sleep(1100 * time.Millisecond)
	}
	waitFor(t, k8sDeadline, "3 deployment_rollout and 3 pod_created records", func() bool {
		m := byKind()
		return len(m["deployment_rollout"]) >= 3 && len(m["pod_created"]) >= 3
	})

	// The pod of "api" that the ReplicaSet controller created (Pending:
	// there are no nodes) starts crashlooping.
	pod, created := k8sCrashloop(t, cs, ns, "app=api")
	waitFor(t, k8sDeadline, "3 pod_crashloop records (one per occurrence)", func() bool {
		return len(byKind()["pod_crashloop"]) >= 3
	})

	// The question, from the records: the crashloop's first record gives
	// the namespace and the start; the rollouts are the deployment_rollout
	// records of that namespace (by entity) before it.
	m := byKind()
	crash := m["pod_crashloop"]
	sort.Slice(crash, func(i, j int) bool { return crash[i].count() < crash[j].count() })
	ids := map[string]bool{}
	for i, r := range crash {
		if r.count() != int64(i+1) {
			t.Errorf("crashloop record %d has count %d, want %d", i, r.count(), i+1)
		}
		ids[r.ID] = true
		if r.Origin.Stream != string(created.UID) || r.Origin.Offset != r.count() {
			t.Errorf("crashloop origin stream/offset = %s/%d, want the event uid %s and its count", r.Origin.Stream, r.Origin.Offset, created.UID)
		}
	}
	if len(ids) != len(crash) || len(crash) != 3 {
		t.Errorf("crashloop records: %d with %d distinct ids, want 3 and 3", len(crash), len(ids))
	}
	first := crash[0]
	entity := map[string]string{}
	for _, kv := range first.Entity {
		entity[kv.Key] = kv.Value
	}
	if entity["namespace"] != ns || entity["pod"] != pod.Name {
		t.Fatalf("crashloop entity = %v, want namespace=%s pod=%s", first.Entity, ns, pod.Name)
	}
	if got := first.Fields["deployment"]; got != "api" {
		t.Errorf("crashloop deployment (owner chain) = %v, want api; fields %v", got, first.Fields)
	}
	var before []string
	seen := map[string]bool{}
	rollouts := m["deployment_rollout"]
	sort.Slice(rollouts, func(i, j int) bool { return rollouts[i].Time.Before(rollouts[j].Time) })
	for _, r := range rollouts {
		e := map[string]string{}
		for _, kv := range r.Entity {
			e[kv.Key] = kv.Value
		}
		if e["namespace"] == entity["namespace"] && r.Time.Before(first.Time) && !seen[e["deployment"]] {
			seen[e["deployment"]] = true
			before = append(before, e["deployment"])
		}
	}
	if strings.Join(before, ",") != strings.Join(names, ",") {
		t.Errorf("deployments rolled out before the crashloop = %v, want %v in that order", before, names)
	}
	apiGets := k8sMetric(t, addr, "octoagent_kubernetes_events_owner_api_requests_total")
	hits := k8sMetric(t, addr, "octoagent_kubernetes_events_owner_cache_hits_total")
	testfig.Report(t, "rollouts before crashloop: %v; crashloop records: %d (counts 1..3, distinct ids: %d); owner API GETs: %.0f, cache hits: %.0f; records: %d",
		before, len(crash), len(ids), apiGets, hits, len(readEventRecs(t, out)))
	p.Signal(t, syscall.SIGTERM)
	p.WaitExit(t, exitDeadline)
}

// listedEvents returns the uid → count of every event a list returns.
func k8sListed(t *testing.T, cs kubernetes.Interface, ns string) map[string]int64 {
	t.Helper()
	l, err := cs.EventsV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for _, e := range l.Items {
		n := int64(e.DeprecatedCount)
		if e.Series != nil && int64(e.Series.Count) > n {
			n = int64(e.Series.Count)
		}
		if n < 1 {
			n = 1
		}
		m[string(e.UID)] = n
	}
	return m
}

// delivered returns uid → set of counts delivered, and how many records
// repeated an id already seen.
func k8sDelivered(recs []eventRec) (map[string]map[int64]bool, int) {
	m := map[string]map[int64]bool{}
	ids := map[string]bool{}
	dups := 0
	for _, r := range recs {
		if ids[r.ID] {
			dups++
		}
		ids[r.ID] = true
		uid := r.str("uid")
		if m[uid] == nil {
			m[uid] = map[int64]bool{}
		}
		m[uid][r.count()] = true
	}
	return m, dups
}

// missing counts the listed events whose current occurrence was not delivered.
func k8sMissing(listed map[string]int64, got map[string]map[int64]bool) int {
	n := 0
	for uid, count := range listed {
		if !got[uid][count] {
			n++
		}
	}
	return n
}

func k8sCreateEvents(t *testing.T, cs kubernetes.Interface, ns, prefix string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s-%03d", prefix, i)
		ref := corev1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: ns, Name: name}
		if _, err := cs.CoreV1().Events(ns).Create(ctx, k8sCoreEvent(ns, name, "Tick", "Normal", "tick "+name, ref, time.Now()), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create event %s: %v", name, err)
		}
	}
}
