package k8smeta_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/octostore/agent/internal/k8smeta"
	"github.com/octostore/agent/internal/k8smeta/k8smetatest"
)

func ctrl(kind, name, uid string) []metav1.OwnerReference {
	t := true
	return []metav1.OwnerReference{{Kind: kind, Name: name, UID: types.UID(uid), Controller: &t}}
}

func counters() (k8smeta.Metrics, map[string]prometheus.Counter) {
	m := map[string]prometheus.Counter{}
	for _, n := range []string{"requests", "hits", "misses", "errors"} {
		m[n] = prometheus.NewCounter(prometheus.CounterOpts{Name: n})
	}
	return k8smeta.Metrics{Requests: m["requests"], Hits: m["hits"], Misses: m["misses"], Errors: m["errors"]}, m
}

func TestResolveChainsAndCache(t *testing.T) {
	cs := fake.NewClientset(
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", UID: "d"}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: "shop", UID: "rs", OwnerReferences: ctrl("Deployment", "api", "d")}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-1-x", Namespace: "shop", UID: "p", OwnerReferences: ctrl("ReplicaSet", "api-1", "rs")},
			Spec: corev1.PodSpec{InitContainers: []corev1.Container{{Image: "init:1"}}, Containers: []corev1.Container{{Image: "api:2"}}}},
		&batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "backup", Namespace: "shop", UID: "cj"}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "backup-1", Namespace: "shop", UID: "j", OwnerReferences: ctrl("CronJob", "backup", "cj")}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "backup-1-y", Namespace: "shop", UID: "p2", OwnerReferences: ctrl("Job", "backup-1", "j")}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "custom", Namespace: "shop", UID: "p3", OwnerReferences: ctrl("Rollout", "canary", "r")}},
	)
	m, c := counters()
	r := k8smeta.NewResolver(k8smetatest.New(cs), time.Minute, 100, m)
	now := time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)
	k8smeta.SetNow(r, func() time.Time { return now })
	ctx := context.Background()

	info, err := r.Resolve(ctx, k8smeta.Ref{Kind: "Pod", Namespace: "shop", Name: "api-1-x", UID: "p"})
	if err != nil || len(info.Owners) != 2 || info.Owners[0].Name != "api-1" || info.Owners[1].Kind != "Deployment" || len(info.Images) != 2 || info.Images[0] != "init:1" {
		t.Fatalf("pod chain = %+v, %v", info, err)
	}
	info, _ = r.Resolve(ctx, k8smeta.Ref{Kind: "Pod", Namespace: "shop", Name: "backup-1-y"})
	if len(info.Owners) != 2 || info.Owners[1].Kind != "CronJob" {
		t.Errorf("job chain = %+v", info)
	}
	info, _ = r.Resolve(ctx, k8smeta.Ref{Kind: "Pod", Namespace: "shop", Name: "custom"})
	if len(info.Owners) != 1 || info.Owners[0].Kind != "Rollout" {
		t.Errorf("custom owner chain = %+v", info)
	}
	gets := testutil.ToFloat64(c["requests"])
	// Cached: the same pod again costs no GET; a pod that does not exist
	// costs one, and is cached as absent.
	r.Resolve(ctx, k8smeta.Ref{Kind: "Pod", Namespace: "shop", Name: "api-1-x", UID: "p"})
	r.Resolve(ctx, k8smeta.Ref{Kind: "Pod", Namespace: "shop", Name: "gone"})
	r.Resolve(ctx, k8smeta.Ref{Kind: "Pod", Namespace: "shop", Name: "gone"})
	if got := testutil.ToFloat64(c["requests"]); got != gets+1 {
		t.Errorf("GETs %v after cached lookups, want %v", got, gets+1)
	}
	// Another object under the same name (new uid) is read again.
	r.Resolve(ctx, k8smeta.Ref{Kind: "Pod", Namespace: "shop", Name: "api-1-x", UID: "p-new"})
	if got := testutil.ToFloat64(c["requests"]); got != gets+2 {
		t.Errorf("GETs %v after a uid change, want %v", got, gets+2)
	}
	// After the TTL, everything is read again.
	now = now.Add(2 * time.Minute)
	r.Resolve(ctx, k8smeta.Ref{Kind: "Pod", Namespace: "shop", Name: "api-1-x", UID: "p"})
	if got := testutil.ToFloat64(c["requests"]); got != gets+5 {
		t.Errorf("GETs %v after the TTL, want %v", got, gets+5)
	}
	// Kinds it does not read cost nothing.
	info, err = r.Resolve(ctx, k8smeta.Ref{Kind: "Node", Name: "node-a"})
	if err != nil || len(info.Owners) != 0 {
		t.Errorf("node = %+v, %v", info, err)
	}
	if testutil.ToFloat64(c["errors"]) != 0 {
		t.Error("errors counted")
	}
}

func TestCacheBound(t *testing.T) {
	cs := fake.NewClientset()
	for _, n := range []string{"a", "b", "c", "d"} {
		cs.Tracker().Add(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: "x"}})
	}
	r := k8smeta.NewResolver(k8smetatest.New(cs), time.Minute, 2, k8smeta.Metrics{})
	for _, n := range []string{"a", "b", "c", "d"} {
		r.Resolve(context.Background(), k8smeta.Ref{Kind: "Pod", Namespace: "x", Name: n})
	}
	if r.Len() > 2 {
		t.Errorf("cache holds %d objects, bound 2", r.Len())
	}
}
