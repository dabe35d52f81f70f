// Package k8smetatest adapts a client-go clientset (in tests, the fake
// one from k8s.io/client-go/kubernetes/fake, with its reactors and
// recorded actions) to k8smeta.API. Only tests import it: the binary
// itself never links the typed clientset.
package k8smetatest

import (
	"context"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/watchlist"

	"github.com/octostore/agent/internal/k8smeta"
)

// API is k8smeta.API over a clientset.
type API struct {
	CS kubernetes.Interface
}

// New returns cs as a k8smeta.API.
func New(cs kubernetes.Interface) *API { return &API{CS: cs} }

var (
	_ k8smeta.API     = (*API)(nil)
	_ k8smeta.PodsAPI = (*API)(nil)
)

// IsWatchListSemanticsUnSupported passes on whether the clientset serves
// the initial list of a watch as a stream (client-go's fake clientset does
// not), which client-go's reflector asks of k8smeta.Pods's list-watch.
func (a *API) IsWatchListSemanticsUnSupported() bool {
	return watchlist.DoesClientNotSupportWatchListSemantics(a.CS)
}

// ListPods implements k8smeta.PodsAPI.
func (a *API) ListPods(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	return a.CS.CoreV1().Pods("").List(ctx, opts)
}

// WatchPods implements k8smeta.PodsAPI.
func (a *API) WatchPods(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return a.CS.CoreV1().Pods("").Watch(ctx, opts)
}

// ListNamespaces implements k8smeta.PodsAPI.
func (a *API) ListNamespaces(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error) {
	return a.CS.CoreV1().Namespaces().List(ctx, opts)
}

// WatchNamespaces implements k8smeta.PodsAPI.
func (a *API) WatchNamespaces(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return a.CS.CoreV1().Namespaces().Watch(ctx, opts)
}

// ServesResource implements k8smeta.API.
func (a *API) ServesResource(_ context.Context, gv, resource string) (bool, error) {
	rl, err := a.CS.Discovery().ServerResourcesForGroupVersion(gv)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range rl.APIResources {
		if r.Name == resource {
			return true, nil
		}
	}
	return false, nil
}

// ListEventsV1 implements k8smeta.API.
func (a *API) ListEventsV1(ctx context.Context, ns string, opts metav1.ListOptions) (*eventsv1.EventList, error) {
	return a.CS.EventsV1().Events(ns).List(ctx, opts)
}

// WatchEventsV1 implements k8smeta.API.
func (a *API) WatchEventsV1(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	return a.CS.EventsV1().Events(ns).Watch(ctx, opts)
}

// ListCoreEvents implements k8smeta.API.
func (a *API) ListCoreEvents(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.EventList, error) {
	return a.CS.CoreV1().Events(ns).List(ctx, opts)
}

// WatchCoreEvents implements k8smeta.API.
func (a *API) WatchCoreEvents(ctx context.Context, ns string, opts metav1.ListOptions) (watch.Interface, error) {
	return a.CS.CoreV1().Events(ns).Watch(ctx, opts)
}

// GetLease implements k8smeta.LeaseClient.
func (a *API) GetLease(ctx context.Context, ns, name string) (*coordinationv1.Lease, error) {
	return a.CS.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
}

// CreateLease implements k8smeta.LeaseClient.
func (a *API) CreateLease(ctx context.Context, l *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	return a.CS.CoordinationV1().Leases(l.Namespace).Create(ctx, l, metav1.CreateOptions{})
}

// UpdateLease implements k8smeta.LeaseClient.
func (a *API) UpdateLease(ctx context.Context, l *coordinationv1.Lease) (*coordinationv1.Lease, error) {
	return a.CS.CoordinationV1().Leases(l.Namespace).Update(ctx, l, metav1.UpdateOptions{})
}

// GetObject implements k8smeta.Getter.
func (a *API) GetObject(ctx context.Context, kind, ns, name string) (*k8smeta.Object, error) {
	get := metav1.GetOptions{}
	var (
		om   metav1.ObjectMeta
		spec *corev1.PodSpec
		err  error
	)
	switch kind {
	case "Pod":
		var o *corev1.Pod
		if o, err = a.CS.CoreV1().Pods(ns).Get(ctx, name, get); err == nil {
			om, spec = o.ObjectMeta, &o.Spec
		}
	case "ReplicaSet":
		if o, e := a.CS.AppsV1().ReplicaSets(ns).Get(ctx, name, get); e == nil {
			om, spec = o.ObjectMeta, &o.Spec.Template.Spec
		} else {
			err = e
		}
	case "Deployment":
		if o, e := a.CS.AppsV1().Deployments(ns).Get(ctx, name, get); e == nil {
			om, spec = o.ObjectMeta, &o.Spec.Template.Spec
		} else {
			err = e
		}
	case "StatefulSet":
		if o, e := a.CS.AppsV1().StatefulSets(ns).Get(ctx, name, get); e == nil {
			om, spec = o.ObjectMeta, &o.Spec.Template.Spec
		} else {
			err = e
		}
	case "DaemonSet":
		if o, e := a.CS.AppsV1().DaemonSets(ns).Get(ctx, name, get); e == nil {
			om, spec = o.ObjectMeta, &o.Spec.Template.Spec
		} else {
			err = e
		}
	case "Job":
		if o, e := a.CS.BatchV1().Jobs(ns).Get(ctx, name, get); e == nil {
			om, spec = o.ObjectMeta, &o.Spec.Template.Spec
		} else {
			err = e
		}
	case "CronJob":
		if o, e := a.CS.BatchV1().CronJobs(ns).Get(ctx, name, get); e == nil {
			om, spec = o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.Spec
		} else {
			err = e
		}
	default:
		return nil, apierrors.NewBadRequest("unknown kind " + kind)
	}
	if err != nil {
		return nil, err
	}
	o := &k8smeta.Object{UID: string(om.UID), OwnerReferences: om.OwnerReferences, Revision: om.Annotations[k8smeta.RevisionAnnotation]}
	for _, c := range spec.InitContainers {
		o.Images = append(o.Images, c.Image)
	}
	for _, c := range spec.Containers {
		o.Images = append(o.Images, c.Image)
	}
	return o, nil
}
