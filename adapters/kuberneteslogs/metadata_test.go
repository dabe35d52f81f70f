package kuberneteslogs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/k8smeta"
	"github.com/octostore/agent/internal/k8smeta/k8smetatest"
)

// These tests run the source against client-go's fake clientset (its
// informers list and watch it); e2e/k8s_logs_test.go runs the binary
// against a real API server.

func ptrTrue() *bool { b := true; return &b }

// cluster is a fake API holding a namespace, a Deployment's ReplicaSet
// and pod, a CronJob's Job and pod, on node-1.
func cluster(t *testing.T) *fake.Clientset {
	t.Helper()
	ctl := ptrTrue()
	objs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"team": "payments"}}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", UID: "dep-uid"}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "api-7d9f", Namespace: "shop", UID: "rs-uid",
			OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "api", UID: "dep-uid", Controller: ctl}}}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "shop", UID: "cj-uid"}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly-2900", Namespace: "shop", UID: "job-uid",
			OwnerReferences: []metav1.OwnerReference{{Kind: "CronJob", Name: "nightly", UID: "cj-uid", Controller: ctl}}}},
		pod("shop", "api-7d9f-x2", "uid-api", "ReplicaSet", "api-7d9f", "rs-uid", map[string]string{
			"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 100),
			"prometheus.io/scrape":                             "true",
			"big":                                              strings.Repeat("y", 5000),
		}),
		pod("shop", "nightly-2900-abcde", "uid-job", "Job", "nightly-2900", "job-uid", nil),
	}
	return fake.NewClientset(objs...)
}

func pod(ns, name, uid, ownerKind, owner, ownerUID string, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(uid),
			Labels: map[string]string{"app": strings.SplitN(name, "-", 2)[0], "app.kubernetes.io/part-of": "shop"}, Annotations: ann,
			OwnerReferences: []metav1.OwnerReference{{Kind: ownerKind, Name: owner, UID: types.UID(ownerUID), Controller: ptrTrue()}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: "Update"}}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{
			{Name: "app", Image: "registry.example.com:5000/shop/" + strings.SplitN(name, "-", 2)[0] + ":1.4.2"},
			{Name: "sidecar", Image: "envoyproxy/envoy@sha256:abc"},
		}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", ImageID: "registry.example.com:5000/shop/app@sha256:0123", ContainerID: "containerd://c0ffee"},
		}},
	}
}

// graph runs the source over podsDir into capture sinks: "all" reads the
// source, and each rules transform (a pass-through) feeds a capture of its
// own name. It returns the captures by name and a stop function.
type harness struct {
	t    *testing.T
	rt   *agent.Runtime
	caps map[string]*agenttest.Capture
	stop func()
}

type pass struct{ out agent.Output }

func (p pass) Process(ctx context.Context, b agent.Batch) error { return p.out.Emit(ctx, b) }

var passFactory = agent.NewTransformFactory(agent.FactorySpec[struct{}, agent.Transform]{Type: "pass",
	Create: func(set agent.Settings, _ *struct{}) (agent.Transform, error) { return pass{set.Out}, nil }})

func runMeta(t *testing.T, podsDir, dataDir string, cs *fake.Clientset, once bool, edit func(*Config)) *harness {
	t.Helper()
	cfg := defaultConfig()
	cfg.PodsDir = podsDir
	cfg.Tail.PollInterval, cfg.Tail.GlobInterval, cfg.Tail.RotateWait = "10ms", "20ms", "200ms"
	cfg.PodMetadata = &PodMetadata{NodeName: "node-1", NamespaceLabels: true, SyncWait: "30s"}
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cs != nil {
		cfg.PodMetadata.api = k8smetatest.New(cs)
	}
	h := &harness{t: t, caps: map[string]*agenttest.Capture{"all": {}}}
	g := agent.Graph{Agent: agent.DefaultAgentSettings()}
	g.Agent.DataDir, g.Agent.HTTPAddr, g.Agent.Host = dataDir, "", "node-1"
	g.Agent.CheckpointInterval = 10 * time.Millisecond
	src := "source.kubernetes_logs.k"
	g.Nodes = []agent.NodeSpec{
		{ID: src, Kind: agent.KindSource, Type: "kubernetes_logs", Name: "k", Factory: NewFactory(), Config: cfg},
		{ID: "sink.capture.all", Kind: agent.KindSink, Type: "capture", Name: "all", Inputs: []string{src, src + ".dead_letter"}, Factory: h.caps["all"].Factory("capture")},
	}
	for _, name := range cfg.RulesTransforms {
		c := &agenttest.Capture{}
		h.caps[name] = c
		g.Nodes = append(g.Nodes,
			agent.NodeSpec{ID: "transform." + name, Kind: agent.KindTransform, Type: "pass", Name: name, Inputs: []string{src}, Factory: passFactory},
			agent.NodeSpec{ID: "sink.capture." + name, Kind: agent.KindSink, Type: "capture", Name: name, Inputs: []string{"transform." + name}, Factory: c.Factory("capture")})
	}
	rt, err := agent.New(g, agent.Options{Once: once, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.rt = rt
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	var once2 sync.Once
	h.stop = func() {
		once2.Do(func() {
			if !once {
				cancel()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("agent did not stop")
			}
			cancel()
		})
	}
	t.Cleanup(h.stop)
	return h
}

func (h *harness) metric(name string) float64 {
	return testutil.ToFloat64(h.rt.Metrics().CounterVec(name, "").WithLabelValues("source.kubernetes_logs.k"))
}

// entities returns the entity of each record of a capture, as maps, with
// the message under "_msg".
func entities(c *agenttest.Capture) []map[string]string {
	var out []map[string]string
	for _, r := range c.Records() {
		m := map[string]string{"_msg": string(r.Raw)}
		for _, kv := range r.Entity {
			m[kv.Key] = kv.Value
		}
		out = append(out, m)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func criLines(stream string, msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "2026-11-21T05:00:00Z %s F %s\n", stream, m)
	}
	return b.String()
}

func TestPodMetadataEnrichment(t *testing.T) {
	pods := t.TempDir()
	writeLog(t, pods, "shop_api-7d9f-x2_uid-api", "app", criLines("stdout", "GET /cart 200"))
	writeLog(t, pods, "shop_api-7d9f-x2_uid-api", "sidecar", criLines("stderr", "upstream reset"))
	writeLog(t, pods, "shop_nightly-2900-abcde_uid-job", "app", criLines("stdout", "batch done"))
	writeLog(t, pods, "shop_gone-1_uid-gone", "app", criLines("stdout", "from a pod nobody knows"))
	h := runMeta(t, pods, t.TempDir(), cluster(t), true, nil)
	h.stop()
	byMsg := map[string]map[string]string{}
	for _, e := range entities(h.caps["all"]) {
		byMsg[e["_msg"]] = e
	}
	api := byMsg["GET /cart 200"]
	want := map[string]string{
		KeyNamespace: "shop", KeyPod: "api-7d9f-x2", KeyPodUID: "uid-api", KeyContainer: "app", KeyStream: "stdout",
		"k8s.node.name": "node-1", "k8s.replicaset.name": "api-7d9f", "k8s.deployment.name": "api",
		"k8s.workload.kind": "Deployment", "k8s.workload.name": "api",
		"container.image.name": "registry.example.com:5000/shop/api", "container.image.tag": "1.4.2",
		"container.image.id": "registry.example.com:5000/shop/app@sha256:0123", "container.id": "c0ffee",
		"k8s.pod.label.app": "api", "k8s.pod.label.app.kubernetes.io/part-of": "shop",
		"k8s.pod.annotation.prometheus.io/scrape": "true",
		"k8s.namespace.label.team":                "payments",
	}
	for k, v := range want {
		if api[k] != v {
			t.Errorf("%s = %q, want %q", k, api[k], v)
		}
	}
	for _, k := range []string{"k8s.pod.annotation.kubectl.kubernetes.io/last-applied-configuration", "k8s.pod.annotation.big", KeyMetadataMissing} {
		if _, ok := api[k]; ok {
			t.Errorf("%s is kept, want it dropped (default annotation filter, max_annotation_bytes)", k)
		}
	}
	if sc := byMsg["upstream reset"]; sc["container.image.name"] != "envoyproxy/envoy" || sc["container.image.tag"] != "" || sc["container.id"] != "" || sc[KeyStream] != "stderr" {
		t.Errorf("sidecar entity: %v", sc)
	}
	job := byMsg["batch done"]
	if job["k8s.job.name"] != "nightly-2900" || job["k8s.cronjob.name"] != "nightly" || job["k8s.workload.kind"] != "CronJob" || job["k8s.workload.name"] != "nightly" {
		t.Errorf("job pod entity: %v", job)
	}
	if gone := byMsg["from a pod nobody knows"]; gone[KeyMetadataMissing] != MissingUnknownPod || gone[KeyPod] != "gone-1" {
		t.Errorf("unknown pod entity: %v", gone)
	}
	if n := h.metric("kubernetes_logs_metadata_missing_total"); n != 1 {
		t.Errorf("metadata missing counter = %v, want 1", n)
	}
	// The entity's order: what the path says, the stream, then the rest.
	recs := h.caps["all"].Records()
	for _, r := range recs {
		if string(r.Raw) == "GET /cart 200" {
			var keys []string
			for _, kv := range r.Entity[:6] {
				keys = append(keys, kv.Key)
			}
			if strings.Join(keys, ",") != "k8s.namespace.name,k8s.pod.name,k8s.pod.uid,k8s.container.name,log.iostream,container.image.name" {
				t.Errorf("entity order: %v", keys)
			}
		}
	}
}

// With the API down at start, lines flow at once, marked not_synced and
// counted; once the API answers, new lines are enriched. No restart.
func TestPodMetadataAPIDownAtStart(t *testing.T) {
	pods := t.TempDir()
	cs := cluster(t)
	var down atomic.Bool
	down.Store(true)
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if down.Load() {
			return true, nil, errors.New("dial tcp 10.0.0.1:443: connect: connection refused")
		}
		return false, nil, nil
	})
	p := writeLog(t, pods, "shop_api-7d9f-x2_uid-api", "app", criLines("stdout", "while down"))
	h := runMeta(t, pods, t.TempDir(), cs, false, func(c *Config) { c.PodMetadata.SyncWait = "0s" })
	waitFor(t, "the line read while the API is down", func() bool { return len(h.caps["all"].Records()) == 1 })
	if e := entities(h.caps["all"])[0]; e[KeyMetadataMissing] != MissingNotSynced || e[KeyPod] != "api-7d9f-x2" {
		t.Fatalf("entity while down: %v", e)
	}
	if h.metric("kubernetes_logs_metadata_api_errors_total") < 1 {
		t.Error("the failed list is not counted")
	}
	down.Store(false)
	waitFor(t, "the first list", func() bool {
		return testutil.ToFloat64(h.rt.Metrics().GaugeVec("kubernetes_logs_metadata_synced", "").WithLabelValues("source.kubernetes_logs.k")) == 1
	})
	appendLog(t, p, criLines("stdout", "after"))
	waitFor(t, "the line read after", func() bool { return len(h.caps["all"].Records()) == 2 })
	if e := entities(h.caps["all"])[1]; e["k8s.deployment.name"] != "api" || e[KeyMetadataMissing] != "" {
		t.Fatalf("entity after the API came back: %v", e)
	}
}

func appendLog(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// A deleted pod's metadata stays for deleted_pod_grace: its last lines
// are enriched; lines after the grace period are marked unknown_pod.
func TestDeletedPodGrace(t *testing.T) {
	pods := t.TempDir()
	cs := cluster(t)
	p := writeLog(t, pods, "shop_api-7d9f-x2_uid-api", "app", criLines("stdout", "alive"))
	h := runMeta(t, pods, t.TempDir(), cs, false, func(c *Config) { c.PodMetadata.DeletedPodGrace = "2s" })
	waitFor(t, "the first line", func() bool { return len(h.caps["all"].Records()) == 1 })
	if err := cs.CoreV1().Pods("shop").Delete(context.Background(), "api-7d9f-x2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion to be seen", func() bool {
		return testutil.ToFloat64(h.rt.Metrics().GaugeVec("kubernetes_logs_metadata_pods", "").WithLabelValues("source.kubernetes_logs.k")) == 2 &&
			h.sourcePods().Lookup("uid-api", "", "").Deleted
	})
	appendLog(t, p, criLines("stdout", "last words"))
	waitFor(t, "the last words", func() bool { return len(h.caps["all"].Records()) == 2 })
	if e := entities(h.caps["all"])[1]; e["k8s.deployment.name"] != "api" {
		t.Fatalf("a line within the grace period is not enriched: %v", e)
	}
	waitFor(t, "the grace period to end", func() bool { return h.sourcePods().Lookup("uid-api", "", "") == nil })
	appendLog(t, p, criLines("stdout", "too late"))
	waitFor(t, "the late line", func() bool { return len(h.caps["all"].Records()) == 3 })
	if e := entities(h.caps["all"])[2]; e[KeyMetadataMissing] != MissingUnknownPod {
		t.Fatalf("a line after the grace period: %v", e)
	}
}

func (h *harness) sourcePods() *k8smeta.Pods {
	return h.rt.Component("source.kubernetes_logs.k").(*source).pods
}

// The annotations: exclude (pod and container), rules (routing to a
// transform, an unknown name), multiline (a preset, an unknown one), and
// a change of annotation on a running pod, with no restart.
func TestAnnotations(t *testing.T) {
	pods := t.TempDir()
	cs := cluster(t)
	ctx := context.Background()
	mk := func(name, uid string, ann map[string]string) {
		p := pod("shop", name, uid, "ReplicaSet", "api-7d9f", "rs-uid", ann)
		if _, err := cs.CoreV1().Pods("shop").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("quiet-1", "uid-quiet", map[string]string{AnnotationExclude: "true"})
	mk("mesh-1", "uid-mesh", map[string]string{AnnotationExclude + "-sidecar": "true"})
	mk("web-1", "uid-web", map[string]string{AnnotationRules: "nginx_access"})
	mk("typo-1", "uid-typo", map[string]string{AnnotationRules: "nginx_acess", AnnotationMultiline: "jav", AnnotationExclude: "yes"})
	mk("java-1", "uid-java", map[string]string{AnnotationMultiline: "java"})
	writeLog(t, pods, "shop_quiet-1_uid-quiet", "app", criLines("stdout", "quiet app"))
	writeLog(t, pods, "shop_mesh-1_uid-mesh", "app", criLines("stdout", "mesh app"))
	writeLog(t, pods, "shop_mesh-1_uid-mesh", "sidecar", criLines("stdout", "mesh sidecar"))
	writeLog(t, pods, "shop_web-1_uid-web", "app", criLines("stdout", `10.0.0.1 - - "GET / HTTP/1.1" 200`))
	writeLog(t, pods, "shop_typo-1_uid-typo", "app", criLines("stdout", "typo app", "\tat not.grouped(X.java:1)"))
	javaLog := writeLog(t, pods, "shop_java-1_uid-java", "app", criLines("stderr", "ERROR failed", "java.lang.IllegalStateException: boom", "\tat a.B.c(B.java:1)"))
	h := runMeta(t, pods, t.TempDir(), cs, false, func(c *Config) { c.RulesTransforms = []string{"nginx_access"} })
	msgs := func(name string) []string {
		var out []string
		for _, e := range entities(h.caps[name]) {
			out = append(out, e["_msg"])
		}
		sort.Strings(out)
		return out
	}
	waitFor(t, "the records", func() bool { return len(msgs("all")) >= 4 && len(msgs("nginx_access")) >= 1 })
	appendLog(t, javaLog, criLines("stderr", "INFO next")) // ends the trace's group
	waitFor(t, "the java trace", func() bool { return len(msgs("all")) >= 5 })
	want := []string{"\tat not.grouped(X.java:1)", "ERROR failed\njava.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)", "mesh app", "typo app"}
	var got []string
	for _, m := range msgs("all") {
		if m != "INFO next" { // held until the next line or the timeout
			got = append(got, m)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("default consumer got %q, want %q", got, want)
	}
	if got := msgs("nginx_access"); len(got) != 1 || !strings.HasPrefix(got[0], "10.0.0.1") {
		t.Errorf("nginx_access got %q", got)
	}
	if n := h.metric("kubernetes_logs_annotation_errors_total"); n != 3 {
		t.Errorf("annotation errors = %v, want 3 (rules, multiline, exclude of typo-1)", n)
	}
	dropped := testutil.ToFloat64(h.rt.Metrics().Dropped.WithLabelValues("source.kubernetes_logs.k", "excluded"))
	if dropped != 2 {
		t.Errorf("excluded records = %v, want 2 (quiet-1/app, mesh-1/sidecar)", dropped)
	}

	// The pod changes its mind: routing and exclusion follow, no restart.
	p, _ := cs.CoreV1().Pods("shop").Get(ctx, "quiet-1", metav1.GetOptions{})
	p.Annotations = map[string]string{AnnotationRules: "nginx_access"}
	if _, err := cs.CoreV1().Pods("shop").Update(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the change to be seen", func() bool {
		pp := h.sourcePods().Lookup("uid-quiet", "", "")
		return pp != nil && pp.Control[AnnotationRules] == "nginx_access"
	})
	appendLog(t, filepath.Join(pods, "shop_quiet-1_uid-quiet", "app", "0.log"), criLines("stdout", "now routed"))
	waitFor(t, "the routed line", func() bool { return len(msgs("nginx_access")) == 2 })
}

// An API server that accepts connections and never answers: lines flow
// (marked not_synced) and the agent stops at the end of its input, the
// pending list cancelled.
func TestPodMetadataSilentAPIDoesNotHoldShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://"+ln.Addr().String()+
		"\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pods := t.TempDir()
	writeLog(t, pods, "shop_api-1_uid-1", "app", criLines("stdout", "one", "two"))
	h := runMeta(t, pods, t.TempDir(), nil, true, func(c *Config) {
		c.PodMetadata.Kubeconfig, c.PodMetadata.SyncWait = kc, "100ms"
	})
	h.stop()
	es := entities(h.caps["all"])
	if len(es) != 2 || es[0][KeyMetadataMissing] != MissingNotSynced {
		t.Fatalf("records: %v", es)
	}
}

// Start errors say what to set.
func TestStartErrors(t *testing.T) {
	t.Setenv("NODE_NAME", "")
	cfg := defaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	set := agent.Settings{ID: "source.kubernetes_logs.k", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: agent.NewMetrics(agent.NewAcks()).For("source.kubernetes_logs.k"), Out: &agenttest.Capture{}}
	_, err := NewFactory().Create(set, cfg)
	if err == nil || !strings.Contains(err.Error(), "set NODE_NAME from the downward API") {
		t.Errorf("no node name: %v", err)
	}
	t.Setenv("NODE_NAME", "node-1")
	t.Setenv("KUBECONFIG", "")
	if os.Getenv("KUBERNETES_SERVICE_HOST") == "" { // not in a pod
		if _, err := NewFactory().Create(set, cfg); err == nil || !strings.Contains(err.Error(), "pod_metadata: not running in a pod") {
			t.Errorf("no credentials: %v", err)
		}
	}
	// A rules transform that does not read the source.
	pods := t.TempDir()
	cs := cluster(t)
	cfg = defaultConfig()
	cfg.PodsDir = pods
	cfg.RulesTransforms = []string{"nginx_access"}
	cfg.PodMetadata = &PodMetadata{NodeName: "node-1"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.PodMetadata.api = k8smetatest.New(cs)
	g := agent.Graph{Agent: agent.DefaultAgentSettings()}
	g.Agent.DataDir, g.Agent.HTTPAddr = t.TempDir(), ""
	all := &agenttest.Capture{}
	g.Nodes = []agent.NodeSpec{
		{ID: "source.kubernetes_logs.k", Kind: agent.KindSource, Type: "kubernetes_logs", Name: "k", Factory: NewFactory(), Config: cfg},
		{ID: "sink.capture.all", Kind: agent.KindSink, Type: "capture", Name: "all", Inputs: []string{"source.kubernetes_logs.k"}, Factory: all.Factory("capture")},
	}
	if _, err := agent.New(g, agent.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil ||
		!strings.Contains(err.Error(), "transform.nginx_access does not read source.kubernetes_logs.k") {
		t.Errorf("a rules transform that does not read the source: %v", err)
	}
	// rules_transforms without pod metadata is a config error.
	off := false
	cfg = defaultConfig()
	cfg.RulesTransforms = []string{"x"}
	cfg.PodMetadata = &PodMetadata{Enabled: &off}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "rules_transforms needs pod metadata") {
		t.Errorf("rules_transforms without metadata: %v", err)
	}
}
