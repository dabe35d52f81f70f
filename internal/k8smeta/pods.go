package k8smeta

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/octostore/agent/agent"
)

// Pod metadata for container logs: a pod informer scoped to one node
// (field selector spec.nodeName), whose objects are stripped to what
// records carry before they are stored, an optional namespace informer
// (namespace labels), and the owners of ReplicaSets and Jobs read once per
// owner through the Resolver (Deployment, CronJob). Records read what was
// built, never the API: a lookup is a map read.

// Entity keys of the pod metadata, after the OpenTelemetry k8s.* and
// container.* resource conventions. KeyWorkloadKind and KeyWorkloadName
// have no OpenTelemetry equivalent: they name the top owner whatever its
// kind.
const (
	KeyNode          = "k8s.node.name"
	KeyWorkloadKind  = "k8s.workload.kind"
	KeyWorkloadName  = "k8s.workload.name"
	KeyImageName     = "container.image.name"
	KeyImageTag      = "container.image.tag"
	KeyImageID       = "container.image.id"
	KeyContainerID   = "container.id"
	PrefixLabel      = "k8s.pod.label."
	PrefixAnnotation = "k8s.pod.annotation."
	PrefixNSLabel    = "k8s.namespace.label."
	ControlPrefix    = "octoagent.io/"
	mirrorAnnotation = "kubernetes.io/config.mirror"
)

// ownerKeys are the entity keys of the owner kinds OpenTelemetry names.
var ownerKeys = map[string]string{
	"ReplicaSet":  "k8s.replicaset.name",
	"Deployment":  "k8s.deployment.name",
	"StatefulSet": "k8s.statefulset.name",
	"DaemonSet":   "k8s.daemonset.name",
	"Job":         "k8s.job.name",
	"CronJob":     "k8s.cronjob.name",
}

// KeyFilter keeps the keys that match an Include glob (none given: every
// key) and no Exclude glob. In its globs `*` matches any characters, `/`
// included, and `?` one character.
type KeyFilter struct {
	Include, Exclude []string
}

// globKey makes `/` an ordinary character for path.Match.
func globKey(s string) string { return strings.ReplaceAll(s, "/", "\x00") }

// CheckGlob reports a malformed glob.
func CheckGlob(g string) error {
	_, err := path.Match(globKey(g), "")
	return err
}

func matchAny(globs []string, key string) bool {
	k := globKey(key)
	for _, g := range globs {
		if ok, _ := path.Match(globKey(g), k); ok {
			return true
		}
	}
	return false
}

// Keep reports whether key passes the filter.
func (f KeyFilter) Keep(key string) bool {
	return (len(f.Include) == 0 || matchAny(f.Include, key)) && !matchAny(f.Exclude, key)
}

// PodsOptions configure a Pods store.
type PodsOptions struct {
	// NodeName scopes the pod informer: spec.nodeName=NodeName.
	NodeName string
	// Labels filters pod labels (and namespace labels); Annotations pod
	// annotations. MaxAnnotationBytes drops longer annotation values
	// (0: no limit).
	Labels, Annotations KeyFilter
	MaxAnnotationBytes  int
	// NamespaceLabels adds the labels of the pod's namespace (a namespace
	// informer, cluster-wide).
	NamespaceLabels bool
	// DeletedGrace is how long a deleted pod's metadata stays, for its
	// last lines.
	DeletedGrace time.Duration
	Logger       *slog.Logger
	Metrics      PodsMetrics
}

// PodsMetrics are the store's metrics; nil ones are not kept.
type PodsMetrics struct {
	Pods          prometheus.Gauge   // pods known, deleted ones in their grace period included
	Synced        prometheus.Gauge   // 1 once the first pod list is in
	Deleted       prometheus.Counter // pods seen deleted (their metadata stays for the grace period)
	APIErrors     prometheus.Counter // lists and watches that failed
	OwnerRequests prometheus.Counter // GETs of ReplicaSets and Jobs
	OwnerErrors   prometheus.Counter // those that failed (retried)
}

// Pod is what the store knows of one pod. A published Pod is never
// changed: a change publishes a new one.
type Pod struct {
	Namespace, Name, UID string
	// Resource is the pod's metadata as entity pairs, in this order:
	// k8s.node.name, the owners (k8s.replicaset.name, k8s.deployment.name,
	// ...), k8s.workload.kind and .name, the labels (k8s.pod.label.KEY),
	// the annotations (k8s.pod.annotation.KEY) and the namespace's labels
	// (k8s.namespace.label.KEY), each sorted by key.
	Resource []agent.KV
	// Control holds the pod's octoagent.io/ annotations, whatever the
	// annotation filter.
	Control map[string]string
	// Deleted is set once the pod was deleted (kept for the grace period).
	Deleted bool

	containers map[string][]agent.KV
}

// Container returns the entity pairs of one of the pod's containers
// (init and ephemeral ones too): container.image.name, .tag, .id and
// container.id, as far as known; nil for a container the pod does not
// have.
func (p *Pod) Container(name string) []agent.KV {
	return p.containers[name]
}

// Pods is the pod metadata of one node. It is safe for concurrent use.
type Pods struct {
	api PodsAPI
	opt PodsOptions
	log *slog.Logger

	runCtx  context.Context // Run's: ends the lists and watches
	gen     atomic.Uint64   // bumped at every published change
	synced  atomic.Bool
	podCtl  cache.Controller
	nsCtl   cache.Controller
	queue   workqueue.TypedRateLimitingInterface[ownerKey]
	running atomic.Int32 // owner reads in flight

	mu     sync.RWMutex
	byUID  map[string]*podEntry
	byName map[string]*podEntry // namespace/name
	owners map[string][]Owner   // by the uid of a pod's controller: the chain from it up
	nsLbls map[string][]agent.KV
}

type podEntry struct {
	src  *corev1.Pod // stripped
	snap *Pod
}

type ownerKey struct {
	Kind, Namespace, Name, UID string
}

// NewPods returns the store; Run fills it.
func NewPods(api PodsAPI, opt PodsOptions) *Pods {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	p := &Pods{
		api: api, opt: opt, log: opt.Logger,
		byUID: map[string]*podEntry{}, byName: map[string]*podEntry{},
		owners: map[string][]Owner{}, nsLbls: map[string][]agent.KV{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[ownerKey](500*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[ownerKey]{Name: ""}),
	}
	sel := fields.OneTermEqualSelector("spec.nodeName", opt.NodeName).String()
	_, p.podCtl = cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: p.listWatch(
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.FieldSelector = sel
				return api.ListPods(ctx, o)
			},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = sel
				return api.WatchPods(ctx, o)
			}),
		ObjectType: &corev1.Pod{},
		Transform:  p.stripPod,
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { p.podChanged(obj) },
			UpdateFunc: func(_, obj any) { p.podChanged(obj) },
			DeleteFunc: p.podDeleted,
		},
	})
	if opt.NamespaceLabels {
		_, p.nsCtl = cache.NewInformerWithOptions(cache.InformerOptions{
			ListerWatcher: p.listWatch(
				func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return api.ListNamespaces(ctx, o)
				},
				func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return api.WatchNamespaces(ctx, o)
				}),
			ObjectType: &corev1.Namespace{},
			Transform:  p.stripNamespace,
			Handler: cache.ResourceEventHandlerFuncs{
				AddFunc:    func(obj any) { p.namespaceChanged(obj, false) },
				UpdateFunc: func(_, obj any) { p.namespaceChanged(obj, false) },
				DeleteFunc: func(obj any) { p.namespaceChanged(obj, true) },
			},
		})
	}
	return p
}

// listWatch counts the failed lists and watches. The reflector retries
// them with its own backoff (up to 30s) and logs them through klog. It
// streams the initial list as a watch (client-go's WatchListClient) unless
// the API client says it cannot (IsWatchListSemanticsUnSupported, as
// client-go's fake clientset does); against a server without watch-list
// streams the reflector falls back to a paged list.
func (p *Pods) listWatch(list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	count := func(err error) {
		if err != nil && p.opt.Metrics.APIErrors != nil {
			p.opt.Metrics.APIErrors.Inc()
		}
	}
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			// Bounded, and ended by Run's end: a list to an API server that
			// does not answer must not hold the agent's shutdown.
			ctx, cancel := context.WithTimeout(p.runCtx, listTimeout)
			defer cancel()
			obj, err := list(ctx, o)
			count(err)
			return obj, err
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			w, err := watchFn(p.runCtx, o)
			count(err)
			return w, err
		},
	}, p.api)
}

// listTimeout bounds one list of pods or namespaces.
const listTimeout = time.Minute

// Run runs the informers and the owner reads until ctx ends. Call it once.
func (p *Pods) Run(ctx context.Context) {
	p.runCtx = ctx
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	run(func() { p.podCtl.Run(ctx.Done()) })
	if p.nsCtl != nil {
		run(func() { p.nsCtl.Run(ctx.Done()) })
	}
	run(func() {
		for p.resolveNext(ctx) {
		}
	})
	run(func() {
		// The first list is in: say so, once.
		if cache.WaitForCacheSync(ctx.Done(), p.podCtl.HasSynced) {
			p.synced.Store(true)
			p.gen.Add(1)
			if p.opt.Metrics.Synced != nil {
				p.opt.Metrics.Synced.Set(1)
			}
			p.log.Info("pod metadata synced", "node", p.opt.NodeName, "pods", p.Len())
		}
	})
	<-ctx.Done()
	p.queue.ShutDown()
	wg.Wait()
}

// Synced reports whether the first pod list is in.
func (p *Pods) Synced() bool { return p.synced.Load() }

// Gen changes whenever what Lookup returns may have changed.
func (p *Pods) Gen() uint64 { return p.gen.Load() }

// Len returns the number of pods known.
func (p *Pods) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.byUID)
}

// WaitReady waits up to d for the first pod (and namespace) list and for
// the owners it asked for, so that the lines read at start are enriched.
// It reports whether everything was ready.
func (p *Pods) WaitReady(ctx context.Context, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if p.Synced() && (p.nsCtl == nil || p.nsCtl.HasSynced()) && p.queue.Len() == 0 && p.running.Load() == 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// Lookup returns the pod with this uid, or (a static pod, whose mirror pod
// in the API has another uid) the pod namespace/name whose
// kubernetes.io/config.mirror annotation is uid; nil if none is known.
func (p *Pods) Lookup(uid, namespace, name string) *Pod {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if e := p.byUID[uid]; e != nil {
		return e.snap
	}
	if e := p.byName[namespace+"/"+name]; e != nil && e.src.Annotations[mirrorAnnotation] == uid {
		return e.snap
	}
	return nil
}

// stripPod keeps what records carry: the memory held per pod stays small
// (no managedFields, no spec but the containers' names and images, no
// status but the containers' image ids).
func (p *Pods) stripPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	s := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
		Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
		DeletionTimestamp: pod.DeletionTimestamp,
	}}
	for k, v := range pod.Labels {
		if p.opt.Labels.Keep(k) {
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			s.Labels[k] = v
		}
	}
	for k, v := range pod.Annotations {
		if strings.HasPrefix(k, ControlPrefix) || k == mirrorAnnotation || p.keepAnnotation(k, v) {
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			s.Annotations[k] = v
		}
	}
	if o := controllerOf(pod.OwnerReferences); o != nil {
		s.OwnerReferences = []metav1.OwnerReference{{Kind: o.Kind, Name: o.Name, UID: o.UID, APIVersion: o.APIVersion}}
	}
	s.Spec.NodeName = pod.Spec.NodeName
	for _, c := range pod.Spec.InitContainers {
		s.Spec.InitContainers = append(s.Spec.InitContainers, corev1.Container{Name: c.Name, Image: c.Image})
	}
	for _, c := range pod.Spec.Containers {
		s.Spec.Containers = append(s.Spec.Containers, corev1.Container{Name: c.Name, Image: c.Image})
	}
	for _, c := range pod.Spec.EphemeralContainers {
		s.Spec.EphemeralContainers = append(s.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: c.Name, Image: c.Image}})
	}
	strip := func(in []corev1.ContainerStatus) []corev1.ContainerStatus {
		var out []corev1.ContainerStatus
		for _, c := range in {
			out = append(out, corev1.ContainerStatus{Name: c.Name, ImageID: c.ImageID, ContainerID: c.ContainerID})
		}
		return out
	}
	s.Status.InitContainerStatuses = strip(pod.Status.InitContainerStatuses)
	s.Status.ContainerStatuses = strip(pod.Status.ContainerStatuses)
	s.Status.EphemeralContainerStatuses = strip(pod.Status.EphemeralContainerStatuses)
	return s, nil
}

func (p *Pods) keepAnnotation(k, v string) bool {
	return p.opt.Annotations.Keep(k) && (p.opt.MaxAnnotationBytes <= 0 || len(v) <= p.opt.MaxAnnotationBytes)
}

func (p *Pods) stripNamespace(obj any) (any, error) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return obj, nil
	}
	s := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.Name, UID: ns.UID, ResourceVersion: ns.ResourceVersion}}
	for k, v := range ns.Labels {
		if p.opt.Labels.Keep(k) {
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			s.Labels[k] = v
		}
	}
	return s, nil
}

// controllerOf returns the controller owner reference, else the first one.
func controllerOf(refs []metav1.OwnerReference) *metav1.OwnerReference {
	for i := range refs {
		if c := refs[i].Controller; c != nil && *c {
			return &refs[i]
		}
	}
	if len(refs) > 0 {
		return &refs[0]
	}
	return nil
}

func (p *Pods) podChanged(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	p.mu.Lock()
	if e := p.byUID[string(pod.UID)]; e != nil && !e.snap.Deleted && samePod(e.src, pod) {
		e.src = pod // a status update that changes nothing records carry
		p.mu.Unlock()
		return
	}
	snap := p.publish(pod, false)
	p.mu.Unlock()
	if o := controllerOf(pod.OwnerReferences); o != nil && (o.Kind == "ReplicaSet" || o.Kind == "Job") && snap != nil {
		p.mu.RLock()
		_, known := p.owners[string(o.UID)]
		p.mu.RUnlock()
		if !known {
			p.queue.Add(ownerKey{Kind: o.Kind, Namespace: pod.Namespace, Name: o.Name, UID: string(o.UID)})
		}
	}
}

// podDeleted keeps the pod's metadata for the grace period.
func (p *Pods) podDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	p.mu.Lock()
	snap := p.publish(pod, true)
	p.mu.Unlock()
	if p.opt.Metrics.Deleted != nil {
		p.opt.Metrics.Deleted.Inc()
	}
	time.AfterFunc(p.opt.DeletedGrace, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		e := p.byUID[string(pod.UID)]
		if e == nil || e.snap != snap {
			return // published again since
		}
		delete(p.byUID, string(pod.UID))
		if n := pod.Namespace + "/" + pod.Name; p.byName[n] == e {
			delete(p.byName, n)
		}
		p.forgetOwner(pod)
		p.changed()
	})
}

// samePod reports whether two stripped pods carry the same metadata.
func samePod(a, b *corev1.Pod) bool {
	x, y := *a, *b
	x.ResourceVersion, y.ResourceVersion = "", ""
	return reflect.DeepEqual(&x, &y)
}

// forgetOwner drops the resolved owner of pod if no other pod has it.
// Called with mu held.
func (p *Pods) forgetOwner(pod *corev1.Pod) {
	o := controllerOf(pod.OwnerReferences)
	if o == nil {
		return
	}
	for _, e := range p.byUID {
		if c := controllerOf(e.src.OwnerReferences); c != nil && c.UID == o.UID {
			return
		}
	}
	delete(p.owners, string(o.UID))
}

func (p *Pods) changed() {
	p.gen.Add(1)
	if p.opt.Metrics.Pods != nil {
		p.opt.Metrics.Pods.Set(float64(len(p.byUID)))
	}
}

// publish builds and stores the snapshot of pod. Called with mu held.
func (p *Pods) publish(pod *corev1.Pod, deleted bool) *Pod {
	e := &podEntry{src: pod, snap: p.build(pod, deleted)}
	p.byUID[string(pod.UID)] = e
	p.byName[pod.Namespace+"/"+pod.Name] = e
	p.changed()
	return e.snap
}

// build makes the snapshot of a stripped pod. Called with mu held.
func (p *Pods) build(pod *corev1.Pod, deleted bool) *Pod {
	s := &Pod{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID), Deleted: deleted, containers: map[string][]agent.KV{}}
	kv := make([]agent.KV, 0, 4+len(pod.Labels)+len(pod.Annotations))
	if pod.Spec.NodeName != "" {
		kv = append(kv, agent.KV{Key: KeyNode, Value: pod.Spec.NodeName})
	}
	if o := controllerOf(pod.OwnerReferences); o != nil {
		chain, resolved := p.owners[string(o.UID)]
		if !resolved {
			chain = []Owner{{Kind: o.Kind, Name: o.Name, UID: string(o.UID)}}
		}
		for _, c := range chain {
			if k, ok := ownerKeys[c.Kind]; ok {
				kv = append(kv, agent.KV{Key: k, Value: c.Name})
			}
		}
		// The workload is the top owner; while the owner of a ReplicaSet or
		// Job is being read, it is not known yet.
		if resolved || (o.Kind != "ReplicaSet" && o.Kind != "Job") {
			top := chain[len(chain)-1]
			kv = append(kv, agent.KV{Key: KeyWorkloadKind, Value: top.Kind}, agent.KV{Key: KeyWorkloadName, Value: top.Name})
		}
	}
	kv = appendSorted(kv, PrefixLabel, pod.Labels, nil)
	kv = appendSorted(kv, PrefixAnnotation, pod.Annotations, p.keepAnnotation)
	kv = append(kv, p.nsLbls[pod.Namespace]...)
	s.Resource = kv[:len(kv):len(kv)]
	for k, v := range pod.Annotations {
		if strings.HasPrefix(k, ControlPrefix) {
			if s.Control == nil {
				s.Control = map[string]string{}
			}
			s.Control[k] = v
		}
	}
	ids := map[string]corev1.ContainerStatus{}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, c := range list {
			ids[c.Name] = c
		}
	}
	add := func(name, image string) {
		var c []agent.KV
		if image != "" {
			n, tag := SplitImage(image)
			c = append(c, agent.KV{Key: KeyImageName, Value: n})
			if tag != "" {
				c = append(c, agent.KV{Key: KeyImageTag, Value: tag})
			}
		}
		if st, ok := ids[name]; ok {
			if st.ImageID != "" {
				c = append(c, agent.KV{Key: KeyImageID, Value: st.ImageID})
			}
			if _, id, ok := strings.Cut(st.ContainerID, "://"); ok && id != "" {
				c = append(c, agent.KV{Key: KeyContainerID, Value: id})
			}
		}
		s.containers[name] = c[:len(c):len(c)]
	}
	for _, c := range pod.Spec.InitContainers {
		add(c.Name, c.Image)
	}
	for _, c := range pod.Spec.Containers {
		add(c.Name, c.Image)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		add(c.Name, c.Image)
	}
	return s
}

// appendSorted appends prefix+key pairs of m, sorted by key, that keep
// accepts (nil: all).
func appendSorted(kv []agent.KV, prefix string, m map[string]string, keep func(k, v string) bool) []agent.KV {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if keep == nil || keep(k, v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		kv = append(kv, agent.KV{Key: prefix + k, Value: m[k]})
	}
	return kv
}

// SplitImage splits an image reference into its name and tag:
// "registry:5000/team/app:1.2@sha256:..." is "registry:5000/team/app" and
// "1.2"; a reference with neither tag nor digest has tag "latest"; one with
// a digest only has no tag.
func SplitImage(ref string) (name, tag string) {
	name, digest, hasDigest := strings.Cut(ref, "@")
	_ = digest
	slash := strings.LastIndexByte(name, '/')
	if i := strings.LastIndexByte(name, ':'); i > slash {
		return name[:i], name[i+1:]
	}
	if hasDigest {
		return name, ""
	}
	return name, "latest"
}

func (p *Pods) namespaceChanged(obj any, deleted bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return
	}
	var kv []agent.KV
	if !deleted {
		kv = appendSorted(nil, PrefixNSLabel, ns.Labels, nil)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if deleted {
		delete(p.nsLbls, ns.Name)
	} else {
		p.nsLbls[ns.Name] = kv
	}
	p.rebuild(func(pod *corev1.Pod) bool { return pod.Namespace == ns.Name })
}

// rebuild publishes again the pods that match. Called with mu held.
func (p *Pods) rebuild(match func(*corev1.Pod) bool) {
	for _, e := range p.byUID {
		if match(e.src) {
			e.snap = p.build(e.src, e.snap.Deleted)
			// byName holds the same entry: it sees the new snapshot too.
		}
	}
	p.changed()
}

// resolveNext reads the controller of one ReplicaSet or Job (its
// Deployment or CronJob, or whatever owns it): one GET per owner, once
// for as long as a pod of this node has it. False once the queue is shut
// down.
func (p *Pods) resolveNext(ctx context.Context) bool {
	k, quit := p.queue.Get()
	if quit {
		return false
	}
	p.running.Add(1)
	defer p.running.Add(-1)
	defer p.queue.Done(k)
	if p.opt.Metrics.OwnerRequests != nil {
		p.opt.Metrics.OwnerRequests.Inc()
	}
	gctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	o, err := p.api.GetObject(gctx, k.Kind, k.Namespace, k.Name)
	cancel()
	chain := []Owner{{Kind: k.Kind, Name: k.Name, UID: k.UID}}
	switch {
	case apierrors.IsNotFound(err):
		// Gone already: the pod's own reference is all there is.
	case err != nil:
		if ctx.Err() != nil {
			return true
		}
		if p.opt.Metrics.OwnerErrors != nil {
			p.opt.Metrics.OwnerErrors.Inc()
		}
		level := slog.LevelWarn
		if p.queue.NumRequeues(k) > 0 {
			level = slog.LevelDebug // said once; the counter counts the rest
		}
		p.log.Log(ctx, level, "cannot read the owner of a pod; retrying with backoff", "kind", k.Kind, "namespace", k.Namespace, "name", k.Name, "error", err)
		p.queue.AddRateLimited(k)
		return true
	case o.UID == k.UID || o.UID == "":
		if c := controllerOf(o.OwnerReferences); c != nil {
			chain = append(chain, Owner{Kind: c.Kind, Name: c.Name, UID: string(c.UID)})
		}
	}
	p.queue.Forget(k)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.owners[k.UID] = chain
	p.rebuild(func(pod *corev1.Pod) bool {
		c := controllerOf(pod.OwnerReferences)
		return c != nil && string(c.UID) == k.UID
	})
	return true
}

var klogOnce sync.Once

// LogTo sends client-go's log (klog: throttling, failed lists and
// watches) to logger instead of bare stderr. klog is process-wide: the
// first call wins.
func LogTo(logger *slog.Logger) {
	klogOnce.Do(func() { klog.SetSlogLogger(logger.With("from", "client-go")) })
}

// String describes a pod for logs.
func (p *Pod) String() string { return fmt.Sprintf("%s/%s (%s)", p.Namespace, p.Name, p.UID) }
