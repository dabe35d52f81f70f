package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"

	"github.com/octostore/agent/internal/testfig"
)

// What TestChartNodePod proves of pod metadata (issue 16, part 5), on the
// records the agent prints as the chart's DaemonSet pod runs it: its own
// args and ConfigMap, the token admission mounted, no config of the test.

// chartGrace is the deleted_pod_grace the chart leaves at the source's
// default.
const chartGrace = 60 * time.Second

// checkPodMetadata runs, against the defaults' pod, what issue 16 asks of
// the node agent on a real control plane:
//
//   - the entity of each laid-out pod's records is exactly what the API
//     server's objects say (wantEntity): the Deployment web through its
//     ReplicaSet, the CronJob invoice through its Job, the StatefulSet
//     api's annotated pod, a bare pod on docker;
//   - pods created while it runs: octoagent.io/exclude (nothing read out,
//     every line counted as dropped), octoagent.io/multiline: java (a trace
//     is one record);
//   - a deleted pod: its lines stay enriched for the deletion grace period
//     (no line is marked before 60 s have passed), then are marked
//     unknown_pod;
//   - kube-apiserver stopped for 20 s, with a kubelet rotation of web's log
//     (0.log renamed to 0.log.<timestamp>, a new 0.log) while it is down:
//     every line delivered once, enriched, before the API server is back;
//     then a pod created once it is back is enriched (the informer
//     reconnected).
func (e *podEnv) checkPodMetadata(t *testing.T, r *podResult, rp *runningPod, node *fakeNode, httpPort int) {
	ctx := context.Background()
	cs := e.c.Client
	addr := "127.0.0.1:" + strconv.Itoa(httpPort)
	metric := func(name string) float64 { return k8sMetric(t, addr, name) }
	recs := func() []logRec { return logRecs(t, rp.p.Stdout.Bytes()) }
	find := func(pred func(logRec) bool) []logRec {
		var out []logRec
		for _, rec := range recs() {
			if pred(rec) {
				out = append(out, rec)
			}
		}
		return out
	}
	byMsg := func(m string) func(logRec) bool { return func(rec logRec) bool { return rec.msg() == m } }
	delivered := func(m string) bool { return waitUntil(k8sDeadline, func() bool { return len(find(byMsg(m))) > 0 }) }
	start := time.Now()

	// The laid-out pods' records: their entity, exactly.
	for _, l := range []*nodeLog{node.log(t, e.pods.web, "app", "/0.log"), node.log(t, e.pods.invoice, "batch", "/0.log"),
		node.log(t, e.pods.api, "api", "/0.log"), node.log(t, e.pods.worker, "worker", "/0.log")} {
		want := wantEntity(t, e.c, l.api, l.container, "stdout")
		if d := awaitEntity(recs, func(m string) { node.append(t, l, "stdout", m) }, l.pod, want); d != "" {
			r.add("the records of %s/%s, container %s: %s", l.ns, l.pod, l.container, d)
		}
	}
	if len(r.problems) > 0 {
		return
	}

	// Pods created while the agent runs.
	// ledger first: createPod creates a pod, then sets its containers'
	// status (their ids), which the agent sees as a second event. The
	// wait below is for the gauge to count both pods, that is for quiet's
	// creation, which comes after ledger's status in the agent's one watch
	// of the node's pods: ledger's records then carry its container's id.
	// (With quiet first, the gauge could count ledger before its status
	// came in, and a loaded machine showed it: container.id missing.)
	pods := metric("octoagent_kubernetes_logs_metadata_pods")
	ledger := createPod(t, e.c, nodePod{ns: "billing", name: "ledger", node: e.node, container: "main", image: "registry.example/ledger:7",
		labels: map[string]string{"app": "ledger"}, annotations: map[string]string{"octoagent.io/multiline": "java"}})
	quiet := createPod(t, e.c, nodePod{ns: "shop", name: "quiet", node: e.node, container: "main", image: "registry.example/quiet:1",
		labels: map[string]string{"app": "quiet"}, annotations: map[string]string{"octoagent.io/exclude": "true"}})
	if !waitUntil(k8sDeadline, func() bool { return metric("octoagent_kubernetes_logs_metadata_pods") >= pods+2 }) {
		r.add("the agent did not learn of two pods created on %s within %v (pods known: %v, before: %v)", e.node, k8sDeadline, metric("octoagent_kubernetes_logs_metadata_pods"), pods)
		return
	}
	quietLines := []string{"should never be read out 1", "should never be read out 2", "should never be read out 3"}
	node.pods.Write(quiet, "main", "stdout", quietLines...)
	trace := []string{"2026-11-21 05:00:00 ERROR failed to bill", "java.lang.IllegalStateException: card declined",
		"\tat com.shop.Billing.charge(Billing.java:42)", "\tat com.shop.Billing.run(Billing.java:7)"}
	node.pods.Write(ledger, "main", "stderr", append(trace, "2026-11-21 05:00:01 INFO next")...)
	if !delivered("2026-11-21 05:00:01 INFO next") {
		r.add("no record of ledger's last stderr line within %v", k8sDeadline)
		return
	}
	if tr := find(byMsg(strings.Join(trace, "\n"))); len(tr) != 1 {
		var got []string
		for _, rec := range find(func(rec logRec) bool { return rec.E["k8s.pod.name"] == ledger.Name }) {
			got = append(got, rec.msg())
		}
		r.add("octoagent.io/multiline: java: want the trace as one record of its %d lines; the records of %s: %q", len(trace), ledger.Name, got)
	} else if d := entityDiff(tr[0].E, wantEntity(t, e.c, ledger, "main", "stderr")); d != "" {
		r.add("the java trace's record: %s", d)
	}
	excluded := `octoagent_component_dropped_records_total{component="source.kubernetes_logs.pods",reason="excluded"}`
	if !waitUntil(k8sDeadline, func() bool { return metric(excluded) >= float64(len(quietLines)) }) {
		r.add("octoagent.io/exclude: %v records counted as excluded, want %d", metric(excluded), len(quietLines))
	}

	// The deleted pod: enriched during the grace period.
	deleted := metric("octoagent_kubernetes_logs_metadata_deleted_pods_total")
	zero := int64(0)
	if err := cs.CoreV1().Pods(ledger.Namespace).Delete(ctx, ledger.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	deletedAt := time.Now()
	if !waitUntil(k8sDeadline, func() bool { return metric("octoagent_kubernetes_logs_metadata_deleted_pods_total") > deleted }) {
		r.add("the agent did not see the deletion of %s within %v", ledger.Name, k8sDeadline)
		return
	}
	node.pods.Write(ledger, "main", "stdout", "last words")
	if !delivered("last words") {
		r.add("no record of the deleted pod's last words within %v", k8sDeadline)
	} else if d := entityDiff(find(byMsg("last words"))[0].E, wantEntity(t, e.c, ledger, "main", "stdout")); d != "" {
		r.add("a deleted pod's line within the grace period: %s", d)
	}

	// kube-apiserver stopped for 20 s; a kubelet rotation of web's log
	// while it is down; every line delivered, before it is back.
	web := node.log(t, e.pods.web, "app", "/0.log")
	var seqs []string
	for i := 0; i < 600; i++ {
		seqs = append(seqs, fmt.Sprintf("seq=%04d", i))
	}
	isSeq := func(rec logRec) bool { return strings.HasPrefix(rec.msg(), "seq=") }
	e.c.Stop("kube-apiserver")
	stopped := time.Now()
	var firstFlow time.Duration
	for i := 0; i < 20; i++ {
		node.append(t, web, "stdout", seqs[i*30:(i+1)*30]...)
		if i == 9 {
			node.pods.Rotate(web.api, web.container)
		}
		for time.Since(stopped) < time.Duration(i+1)*time.Second {
			if firstFlow == 0 && len(find(isSeq)) > 0 {
				firstFlow = time.Since(stopped)
			}
			time.Sleep(pollEvery)
		}
	}
	allIn := waitUntil(k8sDeadline, func() bool { return len(find(isSeq)) >= len(seqs) })
	down := time.Since(stopped)
	e.c.StartAPIServer()
	if !allIn {
		r.add("with kube-apiserver stopped, %d of %d lines delivered within %v", len(find(isSeq)), len(seqs), down.Round(time.Second))
	}
	got := map[string]int{}
	var unenriched []string
	for _, rec := range find(isSeq) {
		got[rec.msg()]++
		if rec.E["k8s.deployment.name"] != "web" || rec.E["k8s.node.name"] != e.node {
			unenriched = append(unenriched, rec.msg())
		}
	}
	var lost, dup []string
	for _, s := range seqs {
		switch got[s] {
		case 0:
			lost = append(lost, s)
		case 1:
		default:
			dup = append(dup, s)
		}
	}
	if len(lost)+len(dup) > 0 {
		r.add("across a kubelet rotation with kube-apiserver down: lost %d %v, duplicated %d %v", len(lost), lost[:min(len(lost), 10)], len(dup), dup[:min(len(dup), 10)])
	}
	if len(unenriched) > 0 {
		r.add("%d lines read while kube-apiserver was down lack the pod's metadata, e.g. %s", len(unenriched), unenriched[0])
	}

	// The informer reconnected: a pod created now is enriched.
	back := time.Now()
	late := createPod(t, e.c, nodePod{ns: "shop", name: "late", node: e.node, container: "main", image: "registry.example/late:1",
		labels: map[string]string{"app": "late"}})
	lateLog := &nodeLog{api: late, ns: late.Namespace, pod: late.Name, container: "main"}
	if d := awaitEntity(recs, func(m string) { node.append(t, lateLog, "stdout", m) }, late.Name, wantEntity(t, e.c, late, "main", "stdout")); d != "" {
		r.add("a pod created after kube-apiserver came back: %s", d)
	}
	reconnected := time.Since(back)

	// The grace period ends: the deleted pod's lines are marked. None is
	// marked before it could end (the agent saw the deletion after
	// deletedAt; a record seen is read before).
	i := 0
	var marked logRec
	if !waitUntil(chartGrace+k8sDeadline, func() bool {
		i++
		node.pods.Write(ledger, "main", "stdout", fmt.Sprintf("after the grace period %d", i))
		time.Sleep(500 * time.Millisecond)
		for _, rec := range find(func(rec logRec) bool { return strings.HasPrefix(rec.msg(), "after the grace period ") }) {
			if rec.E["octoagent.metadata.missing"] == "unknown_pod" {
				marked = rec
				return true
			}
		}
		return false
	}) {
		r.add("the deleted pod's lines were never marked unknown_pod within %v of its deletion", chartGrace+k8sDeadline)
	}
	graceSeen := time.Since(deletedAt)
	if graceSeen < chartGrace {
		r.add("a deleted pod's line was marked unknown_pod %v after the deletion, before the grace period (%v) could end: %q", graceSeen.Round(time.Millisecond), chartGrace, marked.msg())
	}

	// The excluded pod: nothing read out.
	if q := find(func(rec logRec) bool { return rec.E["k8s.pod.name"] == quiet.Name }); len(q) != 0 {
		r.add("octoagent.io/exclude: %d records of %s delivered", len(q), quiet.Name)
	}
	if n := metric(excluded); n != float64(len(quietLines)) {
		r.add("octoagent.io/exclude: %v records counted as excluded, want %d", n, len(quietLines))
	}
	if n := metric("octoagent_kubernetes_logs_metadata_owner_errors_total"); n != 0 {
		r.add("%v owner reads failed with the chart's RBAC", n)
	}
	all := recs()
	ids := map[string]bool{}
	for _, rec := range all {
		if ids[rec.ID] {
			r.add("record id %s twice (%q)", rec.ID, rec.msg())
		}
		ids[rec.ID] = true
	}
	if len(r.problems) == 0 {
		testfig.Report(t, "chart node pod, pod metadata on a real API server: %d records; kube-apiserver down %v: first line delivered %v after it stopped, %d lines across a kubelet rotation, 0 lost, 0 duplicated; a new pod enriched %v after it came back; a deleted pod's lines marked after %v (grace %v); %v in all",
			len(all), down.Round(time.Second), firstFlow.Round(time.Millisecond), len(seqs), reconnected.Round(time.Millisecond),
			graceSeen.Round(time.Second), chartGrace, time.Since(start).Round(time.Second))
	}
}

// checkAudit reads in the API server's audit log what the agent (user
// agent octoagent/...) asked of it: with the token mounted in its pod
// (the pod's service account, the token bound to the pod by name), an
// initial list and a watch of pods with fieldSelector spec.nodeName=NODE
// (the initial list is a list, or, as client-go's reflector asks since
// v0.35 where the server serves it, a watch with sendInitialEvents=true),
// and nothing
// but those and GETs of ReplicaSets and Jobs (never the cluster's pods).
func (e *podEnv) checkAudit(t *testing.T, r *podResult, rp *runningPod) {
	user := "system:serviceaccount:" + rp.api.Namespace + ":" + rp.api.Spec.ServiceAccountName
	sel := "spec.nodeName=" + e.node
	var lists, watches int
	var others []string
	waitUntil(k8sDeadline, func() bool {
		lists, watches, others = 0, 0, nil
		for _, ev := range e.c.Audit() {
			if ev.User.Username != user || !strings.HasPrefix(ev.UserAgent, "octoagent/") {
				continue
			}
			what := ev.Verb + " " + ev.RequestURI
			if pn := ev.User.Extra["authentication.kubernetes.io/pod-name"]; !slices.Equal(pn, []string{rp.api.Name}) {
				others = append(others, what+" with a token not bound to the pod ("+strings.Join(pn, ",")+")")
				continue
			}
			res, q := "", url.Values{}
			if ev.ObjectRef != nil {
				res = ev.ObjectRef.Resource
			}
			if u, err := url.ParseRequestURI(ev.RequestURI); err == nil {
				q = u.Query()
			}
			code := int32(0)
			if ev.ResponseStatus != nil {
				code = ev.ResponseStatus.Code
			}
			switch {
			case res == "pods" && (ev.Verb == "list" || ev.Verb == "watch") && q.Get("fieldSelector") == sel:
				if ev.Verb == "list" && ev.Stage == auditv1.StageResponseComplete && code == 200 {
					lists++
				}
				if ev.Verb == "watch" && ev.Stage == auditv1.StageResponseStarted && q.Get("sendInitialEvents") == "true" {
					lists++ // a watch-list: the initial list streamed
				}
				if ev.Verb == "watch" && ev.Stage == auditv1.StageResponseStarted {
					watches++
				}
			case (res == "replicasets" || res == "jobs") && ev.Verb == "get":
			default:
				others = append(others, fmt.Sprintf("%s (%d)", what, code))
			}
		}
		return lists > 0 && watches > 0
	})
	if lists == 0 || watches == 0 {
		r.add("the API server's audit log has %d successful initial lists (list, or watch with sendInitialEvents) and %d watches of pods with fieldSelector %s by %s (octoagent/...) with the token bound to %s, want at least one of each",
			lists, watches, sel, user, rp.api.Name)
	}
	if len(others) > 0 {
		r.add("the agent asked the API server for more than its node's pods and their owners: %s", strings.Join(others[:min(len(others), 5)], "; "))
	}
}
