package k8smeta

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

func status(w http.ResponseWriter, code int, reason metav1.StatusReason) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":%q,"code":%d,"message":"test"}`, reason, code)
}

// fakeServer answers the few requests Client sends, the way the API
// server does; it is the unit check of the wire side (paths, parameters,
// decoding, errors). The e2e tests run Client against a real API server.
func fakeServer(t *testing.T) (*Client, *[]string) {
	var mu sync.Mutex
	var seen []string
	lease := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String())
		mu.Unlock()
		if ua := r.Header.Get("User-Agent"); ua != "octoagent/source.test" {
			t.Errorf("user agent %q", ua)
		}
		js := func(s string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, s)
		}
		switch p := r.URL.Path; {
		case p == "/apis/events.k8s.io/v1":
			http.NotFound(w, r) // an old server
		case p == "/apis/coordination.k8s.io/v1":
			js(`{"kind":"APIResourceList","groupVersion":"coordination.k8s.io/v1","resources":[{"name":"leases","namespaced":true,"kind":"Lease"}]}`)
		case p == "/api/v1/namespaces/shop/pods/api-1":
			js(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"api-1","uid":"p","ownerReferences":[{"apiVersion":"apps/v1","kind":"Other","name":"x","uid":"x"},{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"api-7f","uid":"rs","controller":true}]},
				"spec":{"initContainers":[{"name":"i","image":"init:1"}],"containers":[{"name":"a","image":"api:2"}]}}`)
		case p == "/apis/apps/v1/namespaces/shop/replicasets/api-9c":
			js(`{"kind":"ReplicaSet","apiVersion":"apps/v1","metadata":{"name":"api-9c","uid":"rs9","annotations":{"deployment.kubernetes.io/revision":"7"}},"spec":{"template":{"spec":{"containers":[{"name":"a","image":"api:7"}]}}}}`)
		case p == "/apis/batch/v1/namespaces/shop/cronjobs/backup":
			js(`{"kind":"CronJob","apiVersion":"batch/v1","metadata":{"name":"backup","uid":"cj"},"spec":{"schedule":"@daily","jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"backup:3"}]}}}}}}`)
		case p == "/apis/apps/v1/namespaces/shop/deployments/gone":
			status(w, 404, metav1.StatusReasonNotFound)
		case p == "/api/v1/events":
			js(`{"kind":"EventList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"next"},"items":[{"metadata":{"name":"e","namespace":"shop","uid":"u"},"reason":"BackOff","count":3}]}`)
		case p == "/apis/events.k8s.io/v1/namespaces/shop/events" && r.URL.Query().Get("watch") == "true":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"type":"ADDED","object":{"kind":"Event","apiVersion":"events.k8s.io/v1","metadata":{"name":"e","namespace":"shop","uid":"u","resourceVersion":"8"},"reason":"BackOff","eventTime":null}}`)
			fmt.Fprintln(w, `{"type":"BOOKMARK","object":{"kind":"Event","apiVersion":"events.k8s.io/v1","metadata":{"resourceVersion":"9"}}}`)
			fmt.Fprintln(w, `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,"message":"too old resource version"}}`)
		case p == "/apis/coordination.k8s.io/v1/namespaces/ns/leases" && r.Method == http.MethodPost:
			var l coordinationv1.Lease
			if err := json.NewDecoder(r.Body).Decode(&l); err != nil || l.Kind != "Lease" || l.APIVersion != "coordination.k8s.io/v1" {
				t.Errorf("created lease %+v, %v", l, err)
			}
			lease = "1"
			js(`{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"l","namespace":"ns","resourceVersion":"1"},"spec":{"holderIdentity":"a"}}`)
		case p == "/apis/coordination.k8s.io/v1/namespaces/ns/leases/l" && r.Method == http.MethodPut:
			var l coordinationv1.Lease
			_ = json.NewDecoder(r.Body).Decode(&l)
			if l.ResourceVersion != lease {
				status(w, 409, metav1.StatusReasonConflict)
				return
			}
			lease = "2"
			js(`{"kind":"Lease","apiVersion":"coordination.k8s.io/v1","metadata":{"name":"l","namespace":"ns","resourceVersion":"2"},"spec":{"holderIdentity":"b"}}`)
		default:
			status(w, 404, metav1.StatusReasonNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(&rest.Config{Host: srv.URL, QPS: 100, Burst: 100}, "source.test")
	if err != nil {
		t.Fatal(err)
	}
	return c, &seen
}

func TestClient(t *testing.T) {
	c, seen := fakeServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if ok, err := c.ServesResource(ctx, "events.k8s.io/v1", "events"); ok || err != nil {
		t.Errorf("events.k8s.io/v1 on an old server: %v, %v", ok, err)
	}
	if ok, err := c.ServesResource(ctx, "coordination.k8s.io/v1", "leases"); !ok || err != nil {
		t.Errorf("leases: %v, %v", ok, err)
	}

	o, err := c.GetObject(ctx, "Pod", "shop", "api-1")
	if err != nil || o.UID != "p" || len(o.OwnerReferences) != 2 || strings.Join(o.Images, ",") != "init:1,api:2" {
		t.Errorf("pod = %+v, %v", o, err)
	}
	o, err = c.GetObject(ctx, "CronJob", "shop", "backup")
	if err != nil || o.UID != "cj" || strings.Join(o.Images, ",") != "backup:3" {
		t.Errorf("cronjob = %+v, %v", o, err)
	}
	o, err = c.GetObject(ctx, "ReplicaSet", "shop", "api-9c")
	if err != nil || o.Revision != "7" || strings.Join(o.Images, ",") != "api:7" {
		t.Errorf("replicaset = %+v, %v", o, err)
	}
	if _, err := c.GetObject(ctx, "Deployment", "shop", "gone"); !apierrors.IsNotFound(err) {
		t.Errorf("missing deployment: %v, want NotFound", err)
	}
	// Through the resolver: the controller owner, not the first one.
	info, err := NewResolver(c, time.Minute, 10, Metrics{}).Resolve(ctx, Ref{Kind: "Pod", Namespace: "shop", Name: "api-1"})
	if err != nil || len(info.Owners) != 1 || info.Owners[0].Kind != "ReplicaSet" {
		// The ReplicaSet is NotFound here: the chain ends with it.
		t.Errorf("resolve = %+v, %v", info, err)
	}

	l, err := c.ListCoreEvents(ctx, "", metav1.ListOptions{FieldSelector: "type=Warning", Limit: 5})
	if err != nil || l.ResourceVersion != "42" || l.Continue != "next" || len(l.Items) != 1 || l.Items[0].Count != 3 {
		t.Errorf("list = %+v, %v", l, err)
	}

	to := int64(30)
	w, err := c.WatchEventsV1(ctx, "shop", metav1.ListOptions{ResourceVersion: "7", AllowWatchBookmarks: true, TimeoutSeconds: &to})
	if err != nil {
		t.Fatal(err)
	}
	var got []watch.Event
	for ev := range w.ResultChan() {
		got = append(got, ev)
	}
	if len(got) != 3 || got[0].Type != watch.Added || got[1].Type != watch.Bookmark || got[2].Type != watch.Error {
		t.Fatalf("watch events %+v", got)
	}
	if e, ok := got[0].Object.(*eventsv1.Event); !ok || e.Reason != "BackOff" || e.ResourceVersion != "8" {
		t.Errorf("added %#v", got[0].Object)
	}
	if e, ok := got[1].Object.(*eventsv1.Event); !ok || e.ResourceVersion != "9" {
		t.Errorf("bookmark %#v", got[1].Object)
	}
	if err := apierrors.FromObject(got[2].Object); !apierrors.IsResourceExpired(err) {
		t.Errorf("error event: %v, want 410 Expired", err)
	}

	in := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "ns"}}
	cr, err := c.CreateLease(ctx, in)
	if err != nil || cr.ResourceVersion != "1" {
		t.Fatalf("create = %+v, %v", cr, err)
	}
	up, err := c.UpdateLease(ctx, cr)
	if err != nil || up.ResourceVersion != "2" || *up.Spec.HolderIdentity != "b" {
		t.Errorf("update = %+v, %v", up, err)
	}
	if _, err := c.UpdateLease(ctx, cr); !apierrors.IsConflict(err) {
		t.Errorf("stale update: %v, want Conflict", err)
	}

	want := []string{
		"GET /api/v1/events?fieldSelector=type%3DWarning&limit=5",
		"GET /apis/events.k8s.io/v1/namespaces/shop/events?allowWatchBookmarks=true&resourceVersion=7&timeout=30s&timeoutSeconds=30&watch=true",
	}
	all := strings.Join(*seen, "\n")
	for _, u := range want {
		if !strings.Contains(all, u) {
			t.Errorf("no request %s in\n%s", u, all)
		}
	}
}
