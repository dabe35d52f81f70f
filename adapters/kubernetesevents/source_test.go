package kubernetesevents

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/k8smeta/k8smetatest"
)

// collector is an output that delivers every record at once.
type collector struct {
	mu   sync.Mutex
	recs []agent.Record
}

func (c *collector) Emit(_ context.Context, b agent.Batch) error {
	c.mu.Lock()
	for i := range b {
		r := b[i]
		r.SetToken(nil)
		c.recs = append(c.recs, r)
	}
	c.mu.Unlock()
	agent.AckAll(b, agent.Delivered)
	return nil
}

func (c *collector) snapshot() []agent.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]agent.Record(nil), c.recs...)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func coreEvent(name, uid string, count int32, reason string) *corev1.Event {
	at := metav1.NewTime(time.Date(2026, 11, 21, 6, 0, int(count), 0, time.UTC))
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID(uid), ResourceVersion: "1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "api-1", UID: "pod-uid"},
		Reason:         reason, Type: "Warning", Message: "Back-off restarting failed container app",
		Count: count, FirstTimestamp: metav1.NewTime(at.Add(-time.Duration(count) * time.Second)), LastTimestamp: at,
		Source: corev1.EventSource{Component: "kubelet", Host: "node-a"},
	}
}

type harness struct {
	src  *source
	out  *collector
	ckpt *agent.Checkpoints
	stop func()
}

func start(t *testing.T, cs *fake.Clientset, dir string, mod func(*Config)) *harness {
	t.Helper()
	cfg := defaultConfig()
	cfg.API = "v1"
	if mod != nil {
		mod(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := agent.NewMetrics(nil)
	ckpt, err := agent.NewCheckpoints(dir, slog.Default(), m)
	if err != nil {
		t.Fatal(err)
	}
	out := &collector{}
	set := agent.Settings{ID: "source.kubernetes_events.test", Kind: agent.KindSource, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: m.For("source.kubernetes_events.test"), DataDir: dir, Host: "node-a", Acks: agent.NewAcks(),
		Checkpoints: ckpt.For("source.kubernetes_events.test"), Out: out, DeadLetter: out}
	src, err := newSource(set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	src.cs = k8smetatest.New(cs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	h := &harness{src: src, out: out, ckpt: ckpt}
	h.stop = func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		if err := ckpt.Flush(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() {
		select {
		case <-ctx.Done():
		default:
			h.stop()
		}
	})
	return h
}

func decode(t *testing.T, r agent.Record) Event {
	t.Helper()
	var ev Event
	if err := json.Unmarshal(r.Raw, &ev); err != nil {
		t.Fatalf("raw is not the event JSON: %v\n%s", err, r.Raw)
	}
	return ev
}

// One record per occurrence: the list gives count 5, an update in place
// gives 6; the ids follow the uid and the occurrence, not the node.
func TestOccurrencesAndIDs(t *testing.T) {
	cs := fake.NewClientset(coreEvent("api-1.backoff", "uid-1", 5, "BackOff"))
	h := start(t, cs, t.TempDir(), nil)
	waitUntil(t, "the listed event", func() bool { return len(h.out.snapshot()) == 1 })
	// The fake's watch starts after the list; give it a moment to register.
	waitUntil(t, "the watch", func() bool { return h.src.c.lists != nil && len(cs.Actions()) >= 2 })
	time.Sleep(50 * time.Millisecond)
	if _, err := cs.CoreV1().Events("shop").Update(context.Background(), coreEvent("api-1.backoff", "uid-1", 6, "BackOff"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The same state again (no new occurrence) gives nothing.
	if _, err := cs.CoreV1().Events("shop").Update(context.Background(), coreEvent("api-1.backoff", "uid-1", 6, "BackOff"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the occurrence 6", func() bool { return len(h.out.snapshot()) >= 2 })
	time.Sleep(100 * time.Millisecond)
	recs := h.out.snapshot()
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2 (occurrences 5 and 6)", len(recs))
	}
	for i, want := range []int64{5, 6} {
		r := recs[i]
		if r.Origin.Stream != "uid-1" || r.Origin.Offset != want || r.Origin.Host != "kubernetes" {
			t.Errorf("record %d origin = %+v, want stream uid-1, offset %d, host kubernetes (the cluster)", i, r.Origin, want)
		}
		ev := decode(t, r)
		if ev.Count != want || ev.Reason != "BackOff" || ev.Regarding.Name != "api-1" || ev.Controller != "kubelet" || ev.Instance != "node-a" {
			t.Errorf("record %d event = %+v", i, ev)
		}
		if !r.Time.Equal(*ev.LastTime) {
			t.Errorf("record time %v, want the last time %v", r.Time, ev.LastTime)
		}
	}
	if recs[0].EnsureID() == recs[1].EnsureID() {
		t.Error("two occurrences share an id")
	}

	// Another replica (another node) replays the same state: same ids.
	h2 := start(t, fake.NewClientset(coreEvent("api-1.backoff", "uid-1", 6, "BackOff")), t.TempDir(), nil)
	waitUntil(t, "the replay", func() bool { return len(h2.out.snapshot()) == 1 })
	if a, b := h2.out.snapshot()[0].EnsureID(), recs[1].EnsureID(); a != b {
		t.Errorf("replayed id %s, want %s", a, b)
	}
}

// The committed resourceVersion is the list's once its records are
// acknowledged, and a checkpoint for another filter is ignored.
func TestCheckpointCommitted(t *testing.T) {
	dir := t.TempDir()
	cs := fake.NewClientset(coreEvent("a", "uid-a", 1, "Pulled"), coreEvent("b", "uid-b", 2, "Pulled"))
	// The fake's lists carry no resourceVersion; a real server's do.
	cs.PrependReactor("list", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		obj, err := cs.Tracker().List(corev1.SchemeGroupVersion.WithResource("events"), corev1.SchemeGroupVersion.WithKind("Event"), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		l := obj.(*corev1.EventList)
		l.ResourceVersion = "42"
		return true, l, nil
	})
	h := start(t, cs, dir, nil)
	waitUntil(t, "two records", func() bool { return len(h.out.snapshot()) == 2 })
	var ck checkpoint
	waitUntil(t, "a commit", func() bool { return h.src.set.Checkpoints.Load(checkpointKey, &ck) })
	h.stop()
	if ck.ResourceVersion != "42" || ck.API != "v1" || ck.Namespace != "" {
		t.Errorf("checkpoint = %+v", ck)
	}
	// A restart with another namespace lists again instead of resuming.
	h2 := start(t, cs, dir, func(c *Config) { c.Namespace = "shop" })
	waitUntil(t, "the re-list", func() bool { return len(h2.out.snapshot()) == 2 })
}

func TestStartAtEnd(t *testing.T) {
	cs := fake.NewClientset(coreEvent("old", "uid-old", 1, "Pulled"))
	h := start(t, cs, t.TempDir(), func(c *Config) { c.StartAt = "end" })
	waitUntil(t, "the watch", func() bool { return len(cs.Actions()) >= 2 })
	time.Sleep(50 * time.Millisecond)
	if _, err := cs.CoreV1().Events("shop").Create(context.Background(), coreEvent("new", "uid-new", 1, "Pulled"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new event", func() bool { return len(h.out.snapshot()) >= 1 })
	time.Sleep(100 * time.Millisecond)
	recs := h.out.snapshot()
	if len(recs) != 1 || recs[0].Origin.Stream != "uid-new" {
		t.Fatalf("records %v, want only uid-new", recs)
	}
}

func TestEnrichOwners(t *testing.T) {
	tru := true
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", UID: "dep-uid"}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "api-7f9", Namespace: "shop", UID: "rs-uid",
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "api", UID: "dep-uid", Controller: &tru}}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: "shop", UID: "pod-uid",
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "api-7f9", UID: "rs-uid", Controller: &tru}}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/api:1.4"}}}}
	cs := fake.NewClientset(dep, rs, pod, coreEvent("e1", "uid-1", 1, "BackOff"), coreEvent("e2", "uid-2", 1, "Killing"))
	h := start(t, cs, t.TempDir(), func(c *Config) { c.EnrichOwners = true })
	waitUntil(t, "two records", func() bool { return len(h.out.snapshot()) == 2 })
	for _, r := range h.out.snapshot() {
		ev := decode(t, r)
		if len(ev.Owners) != 2 || ev.Owners[0].Name != "api-7f9" || ev.Owners[1].Kind != "Deployment" ||
			ev.WorkloadName != "api" || len(ev.Images) != 1 || ev.Images[0] != "registry.example/api:1.4" {
			t.Errorf("enriched event = %+v", ev)
		}
	}
	gets := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "get" {
			gets++
		}
	}
	if gets != 3 {
		t.Errorf("%d GETs for two events about one pod, want 3 (pod, replicaset, deployment; then the cache)", gets)
	}
}

// A Deployment's ScalingReplicaSet event carries the scaled ReplicaSet's
// revision and images: the rollout's, even after the Deployment moved on.
func TestEnrichRollout(t *testing.T) {
	tru := true
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", UID: "dep-uid"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/api:3.0"}}}}}}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "api-7f9", Namespace: "shop", UID: "rs-uid",
		Annotations:     map[string]string{"deployment.kubernetes.io/revision": "2"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "api", UID: "dep-uid", Controller: &tru}}},
		Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/api:2.0"}}}}}}
	ev := coreEvent("e1", "uid-1", 1, "ScalingReplicaSet")
	ev.InvolvedObject = corev1.ObjectReference{Kind: "Deployment", Namespace: "shop", Name: "api", UID: "dep-uid"}
	ev.Message = "Scaled up replica set api-7f9 from 0 to 1"
	gone := coreEvent("e2", "uid-2", 1, "ScalingReplicaSet")
	gone.InvolvedObject = ev.InvolvedObject
	gone.Message = "Scaled down replica set api-old from 1 to 0"
	cs := fake.NewClientset(dep, rs, ev, gone)
	h := start(t, cs, t.TempDir(), func(c *Config) { c.EnrichOwners = true })
	waitUntil(t, "two records", func() bool { return len(h.out.snapshot()) == 2 })
	byUID := map[string]Event{}
	for _, r := range h.out.snapshot() {
		e := decode(t, r)
		byUID[e.UID] = e
	}
	if ro := byUID["uid-1"].Rollout; ro == nil || ro.ReplicaSet != "api-7f9" || ro.Revision != 2 || len(ro.Images) != 1 || ro.Images[0] != "registry.example/api:2.0" {
		t.Errorf("rollout = %+v", ro)
	}
	// A ReplicaSet already deleted: the name alone.
	if ro := byUID["uid-2"].Rollout; ro == nil || ro.ReplicaSet != "api-old" || ro.Revision != 0 || ro.Images != nil {
		t.Errorf("rollout of a deleted ReplicaSet = %+v", ro)
	}
}

func TestConvertEventsV1(t *testing.T) {
	at := metav1.NewMicroTime(time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC))
	e := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "shop", UID: "u", ResourceVersion: "9"},
		EventTime:  at, Reason: "BackOff", Type: "Warning", Note: "n", Action: "a",
		Regarding:           corev1.ObjectReference{Kind: "Pod", Name: "p"},
		Related:             &corev1.ObjectReference{Kind: "Node", Name: "node-a"},
		ReportingController: "kubelet", ReportingInstance: "node-a",
		Series: &eventsv1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(at.Add(time.Minute))},
	}
	ev := fromEventsV1(e)
	if ev.Count != 4 || !ev.FirstTime.Equal(at.Time) || !ev.LastTime.Equal(at.Add(time.Minute)) || ev.Related.Name != "node-a" || ev.API != "events.k8s.io/v1" {
		t.Errorf("converted = %+v", ev)
	}
	// An event seen once, with only a creation time.
	c := fromCoreV1(&corev1.Event{ObjectMeta: metav1.ObjectMeta{UID: "u2", CreationTimestamp: metav1.NewTime(at.Time)}})
	if c.Count != 1 || c.FirstTime == nil || !c.LastTime.Equal(at.Time) {
		t.Errorf("converted = %+v", c)
	}
}

func TestValidate(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"api":      func(c *Config) { c.API = "v2" },
		"start_at": func(c *Config) { c.StartAt = "now" },
		"duration": func(c *Config) { c.WatchTimeout = "soon" },
		"cluster":  func(c *Config) { c.Cluster = "" },
		"lease":    func(c *Config) { c.LeaderElection = &LeaderElection{} },
		"order": func(c *Config) {
			c.LeaderElection = &LeaderElection{LeaseName: "l", Duration: "5s", RenewDeadline: "10s"}
		},
	} {
		c := defaultConfig()
		mod(c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	c := defaultConfig()
	c.LeaderElection = &LeaderElection{LeaseName: "l"}
	if err := c.Validate(); err != nil || c.LeaderElection.duration != 15*time.Second {
		t.Errorf("defaults: %v %+v", err, c.LeaderElection)
	}
}

// A watch that ends with 410 Gone is followed by a re-list; the occurrences
// the re-list returns again are not emitted twice, and a new one is.
func TestGoneRelists(t *testing.T) {
	cs := fake.NewClientset(coreEvent("a", "uid-a", 1, "Pulled"))
	var calls int
	var mu sync.Mutex
	cs.PrependWatchReactor("events", func(a k8stesting.Action) (bool, watch.Interface, error) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			w := watch.NewFake()
			go w.Error(&metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version"})
			return true, w, nil
		}
		return false, nil, nil // the tracker's own watch
	})
	h := start(t, cs, t.TempDir(), nil)
	waitUntil(t, "a re-list after 410", func() bool {
		return testutil.ToFloat64(h.src.c.expired) == 1 && testutil.ToFloat64(h.src.c.lists) == 2
	})
	waitUntil(t, "the second watch", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls >= 2
	})
	time.Sleep(50 * time.Millisecond)
	if _, err := cs.CoreV1().Events("shop").Create(context.Background(), coreEvent("b", "uid-b", 1, "Pulled"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new event", func() bool { return len(h.out.snapshot()) >= 2 })
	time.Sleep(100 * time.Millisecond)
	recs := h.out.snapshot()
	if len(recs) != 2 || recs[0].Origin.Stream != "uid-a" || recs[1].Origin.Stream != "uid-b" {
		t.Fatalf("records %+v, want uid-a once then uid-b", recs)
	}
	if d := testutil.ToFloat64(h.src.c.duplicates); d != 1 {
		t.Errorf("duplicates skipped = %v, want 1 (uid-a again in the re-list)", d)
	}
}

// A list that fails is retried, not given up.
func TestListRetried(t *testing.T) {
	cs := fake.NewClientset(coreEvent("a", "uid-a", 1, "Pulled"))
	var fails int
	var mu sync.Mutex
	cs.PrependReactor("list", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if fails < 2 {
			fails++
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	h := start(t, cs, t.TempDir(), nil)
	waitUntil(t, "the event after two failed lists", func() bool { return len(h.out.snapshot()) == 1 })
	if n := testutil.ToFloat64(h.src.c.listErrors); n != 2 {
		t.Errorf("list errors = %v, want 2", n)
	}
}
