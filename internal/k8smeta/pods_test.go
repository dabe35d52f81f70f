package k8smeta_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/k8smeta"
	"github.com/octostore/agent/internal/k8smeta/k8smetatest"
)

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct{ ref, name, tag string }{
		{"nginx", "nginx", "latest"},
		{"nginx:1.25", "nginx", "1.25"},
		{"registry:5000/team/app", "registry:5000/team/app", "latest"},
		{"registry:5000/team/app:2.0", "registry:5000/team/app", "2.0"},
		{"app@sha256:abc", "app", ""},
		{"ghcr.io/x/app:1.0@sha256:abc", "ghcr.io/x/app", "1.0"},
	} {
		if n, tag := k8smeta.SplitImage(tc.ref); n != tc.name || tag != tc.tag {
			t.Errorf("SplitImage(%q) = %q, %q; want %q, %q", tc.ref, n, tag, tc.name, tc.tag)
		}
	}
}

func TestKeyFilter(t *testing.T) {
	f := k8smeta.KeyFilter{Include: []string{"*"}, Exclude: []string{"kubernetes.io/config.*", "*.vault.hashicorp.com/*", "pod-template-hash"}}
	for key, want := range map[string]bool{
		"app": true, "app.kubernetes.io/name": true, // * matches across /
		"kubernetes.io/config.hash": false, "agent.vault.hashicorp.com/role": false, "pod-template-hash": false,
	} {
		if got := f.Keep(key); got != want {
			t.Errorf("Keep(%q) = %v, want %v", key, got, want)
		}
	}
	if (k8smeta.KeyFilter{Include: []string{"team"}}).Keep("app") {
		t.Error("an include list keeps only what it names")
	}
	if k8smeta.CheckGlob("[x") == nil {
		t.Error("a malformed glob is accepted")
	}
}

func run(t *testing.T, cs *fake.Clientset, opt k8smeta.PodsOptions) *k8smeta.Pods {
	t.Helper()
	opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	p := k8smeta.NewPods(k8smetatest.New(cs), opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if !p.WaitReady(context.Background(), 60*time.Second) {
		t.Fatal("not ready")
	}
	return p
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func value(kv []agent.KV, key string) string {
	for _, e := range kv {
		if e.Key == key {
			return e.Value
		}
	}
	return ""
}

// A static pod's log directory carries the static pod's uid; the API has
// its mirror pod, under another uid, with that one in its
// kubernetes.io/config.mirror annotation.
func TestStaticPodFoundThroughItsMirror(t *testing.T) {
	cs := fake.NewClientset(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-apiserver-node-1", Namespace: "kube-system", UID: "mirror-uid",
			Annotations: map[string]string{"kubernetes.io/config.mirror": "static-hash", "kubernetes.io/config.hash": "static-hash"},
			Labels:      map[string]string{"component": "kube-apiserver"}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "kube-apiserver", Image: "registry.k8s.io/kube-apiserver:v1.31.4"}}},
	})
	p := run(t, cs, k8smeta.PodsOptions{NodeName: "node-1", Annotations: k8smeta.KeyFilter{Exclude: []string{"kubernetes.io/config.*"}}})
	pod := p.Lookup("static-hash", "kube-system", "kube-apiserver-node-1")
	if pod == nil || value(pod.Resource, "k8s.pod.label.component") != "kube-apiserver" {
		t.Fatalf("static pod: %+v", pod)
	}
	if value(pod.Resource, "k8s.pod.annotation.kubernetes.io/config.mirror") != "" {
		t.Error("an excluded annotation is in the resource")
	}
	if p.Lookup("other-uid", "kube-system", "kube-apiserver-node-1") != nil {
		t.Error("a pod of the same name but another uid matched")
	}
	if value(pod.Container("kube-apiserver"), "container.image.tag") != "v1.31.4" {
		t.Errorf("container: %v", pod.Container("kube-apiserver"))
	}
}

// An update that changes nothing records carry (a status change) does not
// publish a new snapshot; a label change does.
func TestUnchangedUpdateIsNotPublished(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "ns", UID: "u", Labels: map[string]string{"v": "1"}},
		Spec: corev1.PodSpec{NodeName: "node-1"}}
	cs := fake.NewClientset(pod)
	p := run(t, cs, k8smeta.PodsOptions{NodeName: "node-1"})
	ctx := context.Background()
	first, gen := p.Lookup("u", "", ""), p.Gen()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	if _, err := cs.CoreV1().Pods("ns").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Labels["v"] = "2"
	if _, err := cs.CoreV1().Pods("ns").Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the label change", func() bool { return value(p.Lookup("u", "", "").Resource, "k8s.pod.label.v") == "2" })
	if first == p.Lookup("u", "", "") {
		t.Fatal("the label change was not published")
	}
	// Watch events come in order: the status update came first and
	// published nothing.
	if d := p.Gen() - gen; d != 1 {
		t.Errorf("%d changes published, want 1 (the label change only)", d)
	}
}
