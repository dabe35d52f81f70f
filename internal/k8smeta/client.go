package k8smeta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// API is what the Kubernetes components ask of the API server. *Client
// implements it; tests give a fake (package k8smetatest wraps a client-go
// fake clientset).
type API interface {
	Getter
	LeaseClient
	// ServesResource reports whether the server serves resource in
	// groupVersion ("events.k8s.io/v1"), through discovery. A group
	// version the server does not know is false, not an error.
	ServesResource(ctx context.Context, groupVersion, resource string) (bool, error)
	ListEventsV1(ctx context.Context, namespace string, opts metav1.ListOptions) (*eventsv1.EventList, error)
	WatchEventsV1(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error)
	ListCoreEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.EventList, error)
	WatchCoreEvents(ctx context.Context, namespace string, opts metav1.ListOptions) (watch.Interface, error)
}

// Getter reads the objects of an owner chain.
type Getter interface {
	// GetObject reads one object of a Known kind. A missing object is an
	// error for which apierrors.IsNotFound is true.
	GetObject(ctx context.Context, kind, namespace, name string) (*Object, error)
}

// LeaseClient reads and writes coordination.k8s.io/v1 Leases. Create and
// Update fail with a Conflict (AlreadyExists) when another writer was
// first: Update sends the resourceVersion the Lease was read with.
type LeaseClient interface {
	GetLease(ctx context.Context, namespace, name string) (*coordinationv1.Lease, error)
	CreateLease(ctx context.Context, l *coordinationv1.Lease) (*coordinationv1.Lease, error)
	UpdateLease(ctx context.Context, l *coordinationv1.Lease) (*coordinationv1.Lease, error)
}

// Object is what the resolver needs of an object: its uid, its owners,
// and the container images of its pod or pod template (init containers
// first).
type Object struct {
	UID             string
	OwnerReferences []metav1.OwnerReference
	Images          []string
	// Revision is the deployment.kubernetes.io/revision annotation (a
	// ReplicaSet's place among its Deployment's rollouts), if any.
	Revision string
}

// RevisionAnnotation is the annotation the deployment controller numbers
// a Deployment's ReplicaSets with.
const RevisionAnnotation = "deployment.kubernetes.io/revision"

// Client is a lean API client: client-go's REST client over one shared
// HTTP client and rate limiter, with a scheme that holds only the types
// it decodes (core/v1 and events.k8s.io/v1 events, coordination.k8s.io/v1
// Leases, the meta/v1 types). The typed clientset
// (k8s.io/client-go/kubernetes) registers every API group at init, which
// costs the process some 13 MiB of resident memory; this costs none of it.
// It is safe for concurrent use.
type Client struct {
	core, apps, batch, events, coordination *rest.RESTClient
}

var _ API = (*Client)(nil)

type codecs struct {
	negotiated runtime.NegotiatedSerializer
	params     runtime.ParameterCodec
}

// leanCodecs builds the scheme once, when the first client is made (not at
// package init: the binary pays nothing unless a Kubernetes component runs).
var leanCodecs = sync.OnceValue(func() codecs {
	s := runtime.NewScheme()
	// Status, WatchEvent, ListOptions... under "v1", the group of errors
	// and watch events.
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	s.AddKnownTypes(corev1.SchemeGroupVersion, &corev1.Event{}, &corev1.EventList{},
		&corev1.Pod{}, &corev1.PodList{}, &corev1.Namespace{}, &corev1.NamespaceList{})
	must(eventsv1.AddToScheme(s))
	must(coordinationv1.AddToScheme(s))
	return codecs{
		negotiated: serializer.NewCodecFactory(s).WithoutConversion(),
		params:     runtime.NewParameterCodec(s),
	}
})

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// NewClient returns a client for the config, with a user agent naming the
// component, rate limited to cfg.QPS / cfg.Burst across every request
// (client-go's defaults, 5 / 10, if unset).
func NewClient(cfg *rest.Config, component string) (*Client, error) {
	c := rest.CopyConfig(cfg)
	c.UserAgent = "octoagent/" + component
	if qps, burst := c.QPS, c.Burst; c.RateLimiter == nil && qps >= 0 {
		if qps == 0 {
			qps = rest.DefaultQPS
		}
		if burst == 0 {
			burst = rest.DefaultBurst
		}
		// One limiter for every group, as the clientset shares one.
		c.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(qps, burst)
	}
	hc, err := rest.HTTPClientFor(c)
	if err != nil {
		return nil, err
	}
	cl := &Client{}
	for _, g := range []struct {
		rc      **rest.RESTClient
		apiPath string
		gv      schema.GroupVersion
	}{
		{&cl.core, "/api", corev1.SchemeGroupVersion},
		{&cl.apps, "/apis", schema.GroupVersion{Group: "apps", Version: "v1"}},
		{&cl.batch, "/apis", schema.GroupVersion{Group: "batch", Version: "v1"}},
		{&cl.events, "/apis", eventsv1.SchemeGroupVersion},
		{&cl.coordination, "/apis", coordinationv1.SchemeGroupVersion},
	} {
		if *g.rc, err = restClient(c, hc, g.apiPath, g.gv); err != nil {
			return nil, err
		}
	}
	return cl, nil
}

func restClient(cfg *rest.Config, hc *http.Client, apiPath string, gv schema.GroupVersion) (*rest.RESTClient, error) {
	c := *cfg
	c.APIPath = apiPath
	c.GroupVersion = &gv
	c.NegotiatedSerializer = leanCodecs().negotiated
	return rest.RESTClientForConfigAndClient(&c, hc)
}

// ServesResource implements API.
func (c *Client) ServesResource(ctx context.Context, groupVersion, resource string) (bool, error) {
	prefix := "/apis"
	if groupVersion == "v1" {
		prefix = "/api"
	}
	raw, err := c.core.Get().AbsPath(prefix, groupVersion).Do(ctx).Raw()
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var l metav1.APIResourceList
	if err := json.Unmarshal(raw, &l); err != nil {
		return false, fmt.Errorf("discovery of %s: %w", groupVersion, err)
	}
	for _, r := range l.APIResources {
		if r.Name == resource {
			return true, nil
		}
	}
	return false, nil
}

// timeout is what the typed clients do with opts.TimeoutSeconds: the
// request's own timeout too.
func timeout(opts *metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*opts.TimeoutSeconds) * time.Second
}

func (c *Client) list(ctx context.Context, rc *rest.RESTClient, resource, ns string, opts metav1.ListOptions, into runtime.Object) error {
	return rc.Get().Namespace(ns).Resource(resource).VersionedParams(&opts, leanCodecs().params).
		Timeout(timeout(&opts)).Do(ctx).Into(into)
}

func (c *Client) watch(ctx context.Context, rc *rest.RESTClient, resource, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return rc.Get().Namespace(ns).Resource(resource).VersionedParams(&opts, leanCodecs().params).
		Timeout(timeout(&opts)).Watch(ctx)
}

// ListEventsV1 implements API.
func (c *Client) ListEventsV1(ctx context.Context, ns string, opts metav1.ListOptions) (*eventsv1.EventList, error) {
	l := &eventsv1.EventList{}
	return l, c.list(ctx, c.events, "events", ns, opts, l)
}

// WatchEventsV1 implements API: the objects are *eventsv1.Event, or
// *metav1.Status for watch.Error.
func (c *Client) WatchEventsV1(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.watch(ctx, c.events, "events", ns, opts)
}

// ListCoreEvents implements API.
func (c *Client) ListCoreEvents(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.EventList, error) {
	l := &corev1.EventList{}
	return l, c.list(ctx, c.core, "events", ns, opts, l)
}

// WatchCoreEvents implements API: the objects are *corev1.Event, or
// *metav1.Status for watch.Error.
func (c *Client) WatchCoreEvents(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	return c.watch(ctx, c.core, "events", ns, opts)
}

// PodsAPI is what the pod metadata store (Pods) asks of the API server:
// list and watch pods (every namespace, with a field selector) and
// namespaces, and GET the owners of a pod. *Client implements it.
type PodsAPI interface {
	Getter
	ListPods(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error)
	WatchPods(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	ListNamespaces(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error)
	WatchNamespaces(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

var _ PodsAPI = (*Client)(nil)

// ListPods implements PodsAPI.
func (c *Client) ListPods(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	l := &corev1.PodList{}
	return l, c.list(ctx, c.core, "pods", "", opts, l)
}

// WatchPods implements PodsAPI: the objects are *corev1.Pod, or
// *metav1.Status for watch.Error.
func (c *Client) WatchPods(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return c.watch(ctx, c.core, "pods", "", opts)
}

// ListNamespaces implements PodsAPI.
func (c *Client) ListNamespaces(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error) {
	l := &corev1.NamespaceList{}
	return l, c.list(ctx, c.core, "namespaces", "", opts, l)
}

// WatchNamespaces implements PodsAPI.
func (c *Client) WatchNamespaces(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return c.watch(ctx, c.core, "namespaces", "", opts)
}

// GetLease implements LeaseClient.
func (c *Client) GetLease(ctx context.Context, ns, name string) (*coordinationv1.Lease, error) {
	l := &coordinationv1.Lease{}
	return l, c.coordination.Get().Namespace(ns).Resource("leases").Name(name).Do(ctx).Into(l)
}

// CreateLease implements LeaseClient.
func (c *Client) CreateLease(ctx context.Context, in *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	l := &coordinationv1.Lease{}
	return l, c.coordination.Post().Namespace(in.Namespace).Resource("leases").Body(in).Do(ctx).Into(l)
}

// UpdateLease implements LeaseClient.
func (c *Client) UpdateLease(ctx context.Context, in *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	l := &coordinationv1.Lease{}
	return l, c.coordination.Put().Namespace(in.Namespace).Resource("leases").Name(in.Name).Body(in).Do(ctx).Into(l)
}

// resources maps the Known kinds to where they are served.
var resources = map[string]struct {
	group    string // "" core, "apps", "batch"
	resource string
}{
	"Pod":         {"", "pods"},
	"ReplicaSet":  {"apps", "replicasets"},
	"Deployment":  {"apps", "deployments"},
	"StatefulSet": {"apps", "statefulsets"},
	"DaemonSet":   {"apps", "daemonsets"},
	"Job":         {"batch", "jobs"},
	"CronJob":     {"batch", "cronjobs"},
}

// objectDoc is the part of a Pod, a workload or a CronJob that GetObject
// decodes; the rest of the JSON is skipped.
type objectDoc struct {
	Metadata struct {
		UID             string                  `json:"uid"`
		OwnerReferences []metav1.OwnerReference `json:"ownerReferences"`
		Annotations     map[string]string       `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		podSpec                 // Pod
		Template    podTemplate `json:"template"` // ReplicaSet, Deployment, StatefulSet, DaemonSet, Job
		JobTemplate struct {
			Spec struct {
				Template podTemplate `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"` // CronJob
	} `json:"spec"`
}

type podTemplate struct {
	Spec podSpec `json:"spec"`
}

type podSpec struct {
	InitContainers []container `json:"initContainers"`
	Containers     []container `json:"containers"`
}

type container struct {
	Image string `json:"image"`
}

// GetObject implements Getter, with one GET of the whole object (the
// images are in its spec), decoded into what the resolver needs.
func (c *Client) GetObject(ctx context.Context, kind, ns, name string) (*Object, error) {
	r, ok := resources[kind]
	if !ok {
		return nil, fmt.Errorf("unknown kind %s", kind)
	}
	rc := c.core
	switch r.group {
	case "apps":
		rc = c.apps
	case "batch":
		rc = c.batch
	}
	raw, err := rc.Get().Namespace(ns).Resource(r.resource).Name(name).Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var d objectDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("decode %s %s/%s: %w", kind, ns, name, err)
	}
	spec := &d.Spec.Template.Spec
	switch kind {
	case "Pod":
		spec = &d.Spec.podSpec
	case "CronJob":
		spec = &d.Spec.JobTemplate.Spec.Template.Spec
	}
	o := &Object{UID: d.Metadata.UID, OwnerReferences: d.Metadata.OwnerReferences, Revision: d.Metadata.Annotations[RevisionAnnotation]}
	for _, cs := range [][]container{spec.InitContainers, spec.Containers} {
		for _, ct := range cs {
			o.Images = append(o.Images, ct.Image)
		}
	}
	return o, nil
}
