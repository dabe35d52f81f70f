// Package k8smeta is what the Kubernetes components share: a lean API
// client built from a kubeconfig or the in-cluster service account,
// Lease-based leader election, and resolving
// an object's owner chain (Pod → ReplicaSet → Deployment, Job → CronJob,
// StatefulSet, DaemonSet) and container images through a bounded TTL cache,
// so that the API load stays bounded and is counted.
package k8smeta

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RestConfig returns the client config: from the kubeconfig file at path,
// or, when path is empty, from the in-cluster service account, falling back
// to $KUBECONFIG when the agent does not run in a pod.
func RestConfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := rest.InClusterConfig()
		if err == nil {
			return cfg, nil
		}
		env := os.Getenv("KUBECONFIG")
		if env == "" {
			return nil, fmt.Errorf("not running in a pod (%v) and no kubeconfig given: set kubeconfig or $KUBECONFIG", err)
		}
		path = env
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// InClusterNamespace returns the namespace the agent's pod runs in:
// $POD_NAMESPACE, else the service account's namespace file, else "".
func InClusterNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Ref names an object.
type Ref struct {
	Kind, Namespace, Name, UID string
}

// Owner is one link of an owner chain.
type Owner struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
}

// Info is what the resolver knows about an object: its owners from the
// direct controller up to the top one, and the container images of the
// object itself (a pod's containers, a workload's pod template).
type Info struct {
	Owners []Owner
	Images []string
	// Revision is the object's deployment.kubernetes.io/revision
	// annotation (a ReplicaSet's), if any.
	Revision string
}

// Metrics are the resolver's counters. Nil counters are not counted.
type Metrics struct {
	// Requests counts GET requests sent to the API server.
	Requests prometheus.Counter
	// Hits and Misses count cache lookups.
	Hits, Misses prometheus.Counter
	// Errors counts GETs that failed other than with NotFound.
	Errors prometheus.Counter
}

func inc(c prometheus.Counter) {
	if c != nil {
		c.Inc()
	}
}

// Resolver resolves owner chains through a TTL cache of the objects it
// read. One GET per object per TTL at most; NotFound is cached too. It is
// safe for concurrent use.
type Resolver struct {
	api     Getter
	ttl     time.Duration
	max     int
	m       Metrics
	timeout time.Duration
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]*entry
}

type entry struct {
	expires  time.Time
	notFound bool
	uid      string
	owner    *metav1.OwnerReference // the controller (or first) owner
	images   []string
	revision string
}

// NewResolver returns a resolver; ttl is how long an object read stays
// cached, max the most objects cached (the oldest go first).
func NewResolver(api Getter, ttl time.Duration, max int, m Metrics) *Resolver {
	if max <= 0 {
		max = 10000
	}
	return &Resolver{api: api, ttl: ttl, max: max, m: m, timeout: 10 * time.Second, now: time.Now, cache: map[string]*entry{}}
}

// maxDepth bounds an owner chain (a cycle of owner references cannot loop).
const maxDepth = 6

// Resolve returns the owner chain and images of ref. Kinds it does not
// know (custom resources) end the chain with the owner reference as given.
// An error means the chain could not be read (it may be partial).
func (r *Resolver) Resolve(ctx context.Context, ref Ref) (Info, error) {
	var info Info
	e, err := r.get(ctx, ref.Kind, ref.Namespace, ref.Name, ref.UID)
	if err != nil || e == nil {
		return info, err
	}
	info.Images, info.Revision = e.images, e.revision
	for depth := 0; e != nil && e.owner != nil && depth < maxDepth; depth++ {
		o := e.owner
		info.Owners = append(info.Owners, Owner{Kind: o.Kind, Name: o.Name, UID: string(o.UID)})
		if !Known(o.Kind) {
			break
		}
		if e, err = r.get(ctx, o.Kind, ref.Namespace, o.Name, string(o.UID)); err != nil {
			return info, err
		}
	}
	return info, nil
}

// Known reports whether the resolver reads objects of this kind.
func Known(kind string) bool {
	switch kind {
	case "Pod", "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob":
		return true
	}
	return false
}

// Len returns the number of cached objects.
func (r *Resolver) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cache)
}

func (r *Resolver) get(ctx context.Context, kind, ns, name, uid string) (*entry, error) {
	if !Known(kind) || name == "" {
		return nil, nil
	}
	key := kind + "/" + ns + "/" + name
	now := r.now()
	r.mu.Lock()
	e, ok := r.cache[key]
	if ok && now.Before(e.expires) && (uid == "" || e.notFound || e.uid == uid) {
		r.mu.Unlock()
		inc(r.m.Hits)
		if e.notFound {
			return nil, nil
		}
		return e, nil
	}
	r.mu.Unlock()
	inc(r.m.Misses)

	e, err := r.fetch(ctx, kind, ns, name)
	if err != nil {
		inc(r.m.Errors)
		return nil, err
	}
	e.expires = now.Add(r.ttl)
	r.mu.Lock()
	if len(r.cache) >= r.max {
		r.evict(now)
	}
	r.cache[key] = e
	r.mu.Unlock()
	if e.notFound {
		return nil, nil
	}
	return e, nil
}

// evict drops expired entries, and if none, the one expiring first.
// Called with mu held.
func (r *Resolver) evict(now time.Time) {
	var oldest string
	var at time.Time
	for k, e := range r.cache {
		if !now.Before(e.expires) {
			delete(r.cache, k)
			continue
		}
		if oldest == "" || e.expires.Before(at) {
			oldest, at = k, e.expires
		}
	}
	if len(r.cache) >= r.max && oldest != "" {
		delete(r.cache, oldest)
	}
}

func (r *Resolver) fetch(ctx context.Context, kind, ns, name string) (*entry, error) {
	if !Known(kind) {
		return nil, errors.New("unknown kind " + kind)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	inc(r.m.Requests)
	o, err := r.api.GetObject(ctx, kind, ns, name)
	if apierrors.IsNotFound(err) {
		return &entry{notFound: true}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s/%s: %w", kind, ns, name, err)
	}
	e := &entry{uid: o.UID, images: o.Images, revision: o.Revision}
	for i := range o.OwnerReferences {
		if c := o.OwnerReferences[i].Controller; c != nil && *c {
			cc := o.OwnerReferences[i]
			e.owner = &cc
			break
		}
	}
	if e.owner == nil && len(o.OwnerReferences) > 0 {
		cc := o.OwnerReferences[0]
		e.owner = &cc
	}
	return e, nil
}
