package kubernetesevents

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/octostore/agent/internal/k8smeta"
)

// Event is the JSON a record's Raw holds: the same shape for
// events.k8s.io/v1 and core/v1 events. Rules read it with `parse "json"`.
type Event struct {
	API             string     `json:"api_version"`
	UID             string     `json:"uid"`
	Namespace       string     `json:"namespace"`
	Name            string     `json:"name"`
	ResourceVersion string     `json:"resource_version"`
	Reason          string     `json:"reason,omitempty"`
	Type            string     `json:"type,omitempty"`
	Note            string     `json:"note,omitempty"`
	Action          string     `json:"action,omitempty"`
	Regarding       ObjectRef  `json:"regarding"`
	Related         *ObjectRef `json:"related,omitempty"`
	Controller      string     `json:"reporting_controller,omitempty"`
	Instance        string     `json:"reporting_instance,omitempty"`
	Count           int64      `json:"count"`
	FirstTime       *time.Time `json:"first_time,omitempty"`
	LastTime        *time.Time `json:"last_time,omitempty"`
	EventTime       *time.Time `json:"event_time,omitempty"`

	// Set when enrich_owners is on.
	Owners []k8smeta.Owner `json:"owners,omitempty"`
	Images []string        `json:"images,omitempty"`
	// WorkloadKind and WorkloadName are the top of the owner chain (or the
	// regarding object itself when it is a workload with no owner).
	WorkloadKind string `json:"workload_kind,omitempty"`
	WorkloadName string `json:"workload_name,omitempty"`
	// Rollout is, for a Deployment's ScalingReplicaSet event, the
	// ReplicaSet it scaled: its revision and its pod template's images,
	// which are those of that rollout (the Deployment's own images may
	// have changed since).
	Rollout *Rollout `json:"rollout,omitempty"`
}

// Rollout is the ReplicaSet a ScalingReplicaSet event is about.
type Rollout struct {
	ReplicaSet string   `json:"replica_set"`
	Revision   int64    `json:"revision,omitempty"`
	Images     []string `json:"images,omitempty"`
}

// ObjectRef is the regarding or related object.
type ObjectRef struct {
	APIVersion string `json:"api_version,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	UID        string `json:"uid,omitempty"`
	FieldPath  string `json:"field_path,omitempty"`
}

func ref(o corev1.ObjectReference) ObjectRef {
	return ObjectRef{APIVersion: o.APIVersion, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, UID: string(o.UID), FieldPath: o.FieldPath}
}

func tp(t metav1.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func tpm(t metav1.MicroTime) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// fromEventsV1 converts an events.k8s.io/v1 event.
func fromEventsV1(e *eventsv1.Event) Event {
	ev := Event{
		API: "events.k8s.io/v1", UID: string(e.UID), Namespace: e.Namespace, Name: e.Name,
		ResourceVersion: e.ResourceVersion, Reason: e.Reason, Type: e.Type, Note: e.Note, Action: e.Action,
		Regarding: ref(e.Regarding), Controller: e.ReportingController, Instance: e.ReportingInstance,
		Count: int64(e.DeprecatedCount), FirstTime: tp(e.DeprecatedFirstTimestamp),
		LastTime: tp(e.DeprecatedLastTimestamp), EventTime: tpm(e.EventTime),
	}
	var series *seriesOf
	if e.Series != nil {
		series = &seriesOf{e.Series.Count, e.Series.LastObservedTime}
	}
	ev.complete(e.Related, series, e.DeprecatedSource, e.CreationTimestamp)
	return ev
}

// fromCoreV1 converts a core/v1 event.
func fromCoreV1(e *corev1.Event) Event {
	ev := Event{
		API: "v1", UID: string(e.UID), Namespace: e.Namespace, Name: e.Name,
		ResourceVersion: e.ResourceVersion, Reason: e.Reason, Type: e.Type, Note: e.Message, Action: e.Action,
		Regarding: ref(e.InvolvedObject), Controller: e.ReportingController, Instance: e.ReportingInstance,
		Count: int64(e.Count), FirstTime: tp(e.FirstTimestamp), LastTime: tp(e.LastTimestamp), EventTime: tpm(e.EventTime),
	}
	var series *seriesOf
	if e.Series != nil {
		series = &seriesOf{e.Series.Count, e.Series.LastObservedTime}
	}
	ev.complete(e.Related, series, e.Source, e.CreationTimestamp)
	return ev
}

// seriesOf is what both APIs' EventSeries carry.
type seriesOf struct {
	count int32
	last  metav1.MicroTime
}

// complete applies what both APIs carry alike: the related object, a
// series (its count and last time win when newer), the deprecated source
// for a missing controller and instance, and the fill-ins of fill.
func (ev *Event) complete(related *corev1.ObjectReference, series *seriesOf, source corev1.EventSource, created metav1.Time) {
	if related != nil {
		r := ref(*related)
		ev.Related = &r
	}
	if series != nil {
		if int64(series.count) > ev.Count {
			ev.Count = int64(series.count)
		}
		if t := tpm(series.last); t != nil {
			ev.LastTime = t
		}
	}
	if ev.Controller == "" {
		ev.Controller = source.Component
	}
	if ev.Instance == "" {
		ev.Instance = source.Host
	}
	ev.fill(created)
}

// fill sets the defaults: an event seen once has count 1; the first and
// last times fall back to the event time, then the creation time.
func (ev *Event) fill(created metav1.Time) {
	if ev.Count < 1 {
		ev.Count = 1
	}
	if ev.FirstTime == nil {
		if ev.EventTime != nil {
			ev.FirstTime = ev.EventTime
		} else {
			ev.FirstTime = tp(created)
		}
	}
	if ev.LastTime == nil {
		ev.LastTime = ev.FirstTime
	}
}

// Time is the record's time: the event's last occurrence.
func (ev *Event) Time() time.Time {
	if ev.LastTime != nil {
		return *ev.LastTime
	}
	return time.Time{}
}
