package e2e

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/octostore/agent/agent/agenttest"
	k8senv "github.com/octostore/agent/e2e/k8s"
	"github.com/octostore/agent/e2e/podrun"
)

// TestChartNodePod runs the agent exactly as the chart's DaemonSet pod
// would run it on a node (issues 29 and 16): it renders the chart, applies
// it to the real API server (RBAC, ConfigMap, DaemonSet), makes the
// DaemonSet's pod there as its controller would and binds it to node-1,
// lays out node-1's directories as the kubelet, containerd, CRI-O and
// docker do for pods that exist on the API server, bound to node-1 (a
// Deployment's, a CronJob's Job's, a StatefulSet's, a bare pod; the data
// hostPath created by the kubelet as root 0755, log files root:root 0640 —
// and 0600, as older CRI-O writes them — in root 0755 directories, a docker
// json-file behind a symlink), makes the volumes of the pod as the API
// server stored it (ConfigMap, Secret, and the service account volume
// admission added: a token the API server issues bound to the pod), and
// starts the static binary the image ships with the container's args and
// environment, in its own mount namespace with the volumes mounted as the
// spec says, a read-only root, and the securityContext's uid, gid, groups
// and capabilities (package podrun). It checks that the agent
//
//   - runs with exactly those credentials and capabilities, and no_new_privs
//     (/proc/PID/status);
//   - serves /metrics, /healthz and /readyz on the pod's network address, and
//     /tap and /-/reload only on its localhost: `kubectl exec POD -- octoagent
//     tap` works, the network gets a 404 (with or without a bearer token)
//     or a refused connection;
//   - reads every line of every file, once, and none of the excluded
//     namespace; with pod metadata on, every record carries its pod's
//     metadata, fetched with the mounted token; with it off, none;
//   - writes its checkpoints, and nothing else on the node;
//   - has, with the mounted token, exactly the access the ClusterRole gives
//     (SelfSubjectRulesReview and SelfSubjectAccessReview against the API
//     server), and used it, as the API server's audit log shows, to list
//     and watch its node's pods (fieldSelector spec.nodeName) and nothing
//     else but their owners; or no token at all with pod metadata off.
//
// With the defaults it also proves what issue 16 asks on a real control
// plane (checkPodMetadata): the exact entity of each pod's records
// (owners, labels, annotations, image), octoagent.io/exclude and
// octoagent.io/multiline on pods created while it runs, the deleted pod
// grace period, and kube-apiserver stopped for 20 s during a kubelet
// rotation, 0 lost and 0 duplicated. It runs the alternatives the chart
// README offers, and then the chart as it was (uid 65532), to show that
// without uid 0 the test fails with a message that names it.
func TestChartNodePod(t *testing.T) {
	if err := podrun.Check(); err != nil {
		t.Skipf("the test runs the agent as the pod's user with the pod's capabilities, as root does in CI: %v", err)
	}
	chartTool(t, "helm")
	kubectl := kubectlBin(t)
	env := newPodEnv(t, startK8s(t), kubectl)

	// The events Deployment's pod, the same way: the in-cluster path (the
	// mounted token, KUBERNETES_SERVICE_HOST) and its token Secret,
	// readable through fsGroup. First: its pod is made by
	// kube-controller-manager, whose watches take their backoff (up to
	// 30 s) to come back after the defaults case stops kube-apiserver.
	t.Run("events Deployment", func(t *testing.T) {
		r := env.runEvents(t)
		for _, p := range r.problems {
			t.Error(p)
		}
	})

	for _, tc := range []podCase{
		{name: "defaults", release: "np", with0600: true, podMetadata: true},
		{name: "dataHostPath empty", release: "np-emptydir", with0600: true, set: []string{"daemonset.dataHostPath="}},
		{name: "pod metadata off", release: "np-nometa", with0600: true, set: []string{"daemonset.podMetadata.enabled=false"}},
		// For logs owned by another user than root: the capability is in the
		// agent's effective set (uid 0), and nowhere else.
		{name: "DAC_READ_SEARCH added", release: "np-dac", with0600: true, set: []string{"daemonset.addCapabilities={DAC_READ_SEARCH}"}},
		// Reads the logs as group root: needs them group-readable (0640),
		// so the 0600 file of older CRI-O is left out.
		{name: "non-root alternative", release: "np-nonroot", set: []string{
			"daemonset.runAsUser=65532", "daemonset.runAsGroup=65532", "daemonset.supplementalGroups={0}", "daemonset.dataHostPath="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := env.run(t, tc)
			for _, p := range r.problems {
				t.Error(p)
			}
			if len(r.problems) == 0 {
				t.Logf("%s: %d records from %d files (%d read before the pod list came in); %s", r.sec, r.records, r.files, r.notSynced, r.checkpoints)
			}
		})
	}

	// The design relies on uid 0 owning the node's files. Without it (the
	// chart as it was: uid 65532, no capability), the run fails, and says so.
	t.Run("without uid 0", func(t *testing.T) {
		for _, tc := range []podCase{
			{name: "data hostPath", release: "np-uid-data", with0600: true,
				set: []string{"daemonset.runAsUser=65532", "daemonset.runAsGroup=65532"}},
			// (Without the docker file: the agent says nothing when it cannot
			// reach a file behind a symlink, so the run would wait for it
			// until the deadline.)
			{name: "logs", release: "np-uid-logs", with0600: true, noDocker: true,
				set: []string{"daemonset.runAsUser=65532", "daemonset.runAsGroup=65532", "daemonset.dataHostPath="}},
		} {
			r := env.run(t, tc)
			all := strings.Join(r.problems, "\n")
			if len(r.problems) == 0 || !strings.Contains(all, "uid 0") {
				t.Errorf("%s: without uid 0 the run should fail with a message naming uid 0; it found:\n%s", tc.name, all)
				continue
			}
			t.Logf("%s: as expected, the run fails:\n%s", tc.name, tail(all, 1500))
		}
	})
}

// podCase is one value set to run the DaemonSet's pod with.
type podCase struct {
	name, release string
	set           []string
	with0600      bool
	noDocker      bool // no docker container on the node
	podMetadata   bool // run checkPodMetadata (the defaults only: it takes a minute)
}

// podResult is what a run found wrong (nothing, when it passes), and a
// summary.
type podResult struct {
	problems    []string
	sec         podSecurity
	records     int
	files       int
	checkpoints string
	notSynced   int // records read before the first list of pods came in
}

func (r *podResult) add(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

type podEnv struct {
	c                  *k8senv.Cluster
	kube               func(args ...string) (string, error)
	ns                 string
	ip                 string // a non-loopback address of this machine, or ""
	bin                string // the static binary
	entrypoint         string
	imageUID, imageGID int
	apiHost, apiPort   string
	base               map[string]bool // what a service account with no binding may do
	node               string          // the node the DaemonSet's pod runs on
	pods               *nodePods       // the pods whose logs are laid out on it
}

func newPodEnv(t *testing.T, c *k8senv.Cluster, kubectl string) *podEnv {
	e := &podEnv{c: c, ns: "octoagent", ip: agenttest.NonLoopbackIP(t), bin: staticAgentBinary(t), node: "node-1"}
	e.entrypoint, e.imageUID, e.imageGID = imageConfig(t)
	u, err := url.Parse(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	e.apiHost, e.apiPort = u.Hostname(), u.Port()
	e.kube = func(args ...string) (string, error) {
		out, err := exec.Command(kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...).CombinedOutput()
		return string(out), err
	}
	ctx := context.Background()
	c.CreateNamespace(e.ns)
	// A service account with no binding: what every one may do anyway.
	if _, err := c.Client.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "control"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	e.base = e.rules(t, e.tokenDir(t, "control"))
	e.pods = createNodePods(t, c, e.node)
	return e
}

// token asks the API server for a token of the service account ns/sa, as
// the kubelet does for a pod's projected service account volume: with the
// volume's expiry and audience, bound to the pod (nil: unbound).
func (e *podEnv) token(t testing.TB, ns, sa string, exp *int64, audience string, pod *corev1.Pod) string {
	t.Helper()
	spec := authenticationv1.TokenRequestSpec{ExpirationSeconds: exp}
	if audience != "" {
		spec.Audiences = []string{audience}
	}
	if pod != nil {
		spec.BoundObjectRef = &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID}
	}
	tr, err := e.c.Client.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), sa,
		&authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", ns, sa, err)
	}
	return tr.Status.Token
}

// tokenDir makes what the kubelet mounts at
// /var/run/secrets/kubernetes.io/serviceaccount for a service account of
// the release namespace with no pod: a token (3607 s, as admission asks),
// the cluster's CA and the namespace, 0644.
func (e *podEnv) tokenDir(t testing.TB, sa string) string {
	t.Helper()
	exp := int64(3607)
	ca, err := os.ReadFile(filepath.Join(e.c.Dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "kube-api-access")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"token": []byte(e.token(t, e.ns, sa, &exp, "", nil)), "ca.crt": ca, "namespace": []byte(e.ns)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// inCluster is the client rest.InClusterConfig makes in a pod: the API
// server from the environment, the token and CA from the mounted files.
func (e *podEnv) inCluster(t testing.TB, dir string) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(&rest.Config{
		Host:            "https://" + net.JoinHostPort(e.apiHost, e.apiPort),
		BearerTokenFile: filepath.Join(dir, "token"),
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(dir, "ca.crt")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// rules lists, as "verb resource[.group]", what the token of dir may do in
// the namespace shop and cluster-wide (SelfSubjectRulesReview).
func (e *podEnv) rules(t testing.TB, dir string) map[string]bool {
	t.Helper()
	rr, err := e.inCluster(t, dir).AuthorizationV1().SelfSubjectRulesReviews().Create(context.Background(),
		&authorizationv1.SelfSubjectRulesReview{Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "shop"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectRulesReview with the mounted token: %v", err)
	}
	out := map[string]bool{}
	for _, r := range rr.Status.ResourceRules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					name := res
					if g != "" {
						name += "." + g
					}
					out[v+" "+name+fmt.Sprint(r.ResourceNames)] = true
				}
			}
		}
	}
	return out
}

// render renders the chart with tc's values (and free ports: the machine
// is shared, and the ports are the only values changed) and applies every
// object but the workloads to the API server (schedule applies the one it
// runs).
func (e *podEnv) render(t *testing.T, tc podCase) (objs []chartObject, httpPort, adminPort int) {
	t.Helper()
	httpPort, adminPort = freePort(t), freePort(t)
	set := append([]string{"httpPort=" + strconv.Itoa(httpPort), "adminPort=" + strconv.Itoa(adminPort)}, tc.set...)
	objs = splitManifest(t, renderChart(t, tc.release, e.ns, "", set...))
	var others []string
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "DaemonSet" {
			others = append(others, string(o.Document))
		}
	}
	restFile := filepath.Join(t.TempDir(), "rest.yaml")
	writeFile(t, restFile, strings.Join(others, "\n---\n"))
	if out, err := e.kube("apply", "-f", restFile); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	return objs, httpPort, adminPort
}

// schedule does what a workload's controller and the scheduler do: it
// applies the rendered workload w to the API server, takes its pod — the
// Deployment's, made by the deployment and replicaset controllers; the
// DaemonSet's, made here as the daemonset controller (which does not run
// here) makes it: named after it, owned by it, its template, a node
// affinity for the node — and binds it to node. It returns the pod as the
// API server stored it, after admission (which adds the projected service
// account volume when the pod automounts its token).
func (e *podEnv) schedule(t *testing.T, w *chartObject, node string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	f := filepath.Join(t.TempDir(), "workload.yaml")
	writeFile(t, f, string(w.Document))
	if out, err := e.kube("apply", "-f", f); err != nil {
		t.Fatalf("kubectl apply %s %s: %v\n%s", w.Kind, w.Name, err, out)
	}
	var pod *corev1.Pod
	switch w.Kind {
	case "DaemonSet":
		ds, err := e.c.Client.AppsV1().DaemonSets(e.ns).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tmpl := ds.Spec.Template.DeepCopy()
		pod = &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
		pod.GenerateName, pod.Namespace = ds.Name+"-", ds.Namespace
		pod.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(ds, appsv1.SchemeGroupVersion.WithKind("DaemonSet"))}
		if pod.Spec.Affinity == nil {
			pod.Spec.Affinity = &corev1.Affinity{}
		}
		pod.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}}}}
		if pod, err = e.c.Client.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create the pod of DaemonSet %s: %v", w.Name, err)
		}
	case "Deployment":
		d, err := e.c.Client.AppsV1().Deployments(e.ns).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sel := metav1.FormatLabelSelector(d.Spec.Selector)
		waitFor(t, k8sDeadline, "a pod of Deployment "+w.Name, func() bool {
			l, err := e.c.Client.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
			if err != nil || len(l.Items) == 0 {
				return false
			}
			pod = &l.Items[0]
			return true
		})
	default:
		t.Fatalf("cannot schedule a %s", w.Kind)
	}
	return bindToNode(t, e.c, pod, node)
}

// runningPod is a workload's pod started by startPod.
type runningPod struct {
	p        *agentProc
	spec     podrun.Spec
	api      *corev1.Pod       // as the API server has it
	pod      any               // its spec, decoded loosely
	vols     map[string]string // volume name -> its directory here
	tokenDir string            // the service account volume's; "" when none is mounted
}

// saMountPath is where a pod's service account token is mounted.
const saMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"

// startPod does what the kubelet and the runtime do for the first
// container of a scheduled pod on node: volumes, token, environment,
// image, securityContext; and waits until the agent serves HTTP. It
// returns nil when the pod would not start or the agent exited, with the
// reason in r.
func (e *podEnv) startPod(t *testing.T, r *podResult, api *corev1.Pod, node *fakeNode) *runningPod {
	t.Helper()
	b, err := json.Marshal(api)
	if err != nil {
		t.Fatal(err)
	}
	var whole map[string]any
	if err := json.Unmarshal(b, &whole); err != nil {
		t.Fatal(err)
	}
	rp := &runningPod{api: api, pod: whole["spec"]}
	container := dig(rp.pod, "containers", 0)
	r.sec = securityOf(rp.pod, container, e.imageUID, e.imageGID)
	rp.vols = e.kubelet(t, node, api, r.sec, &r.problems)
	if len(r.problems) > 0 {
		return nil
	}
	var mounts []podrun.Mount
	for _, m := range dig(container, "volumeMounts").([]any) {
		src, target := rp.vols[dig(m, "name").(string)], dig(m, "mountPath").(string)
		mounts = append(mounts, podrun.Mount{Source: src, Target: target, ReadOnly: dig(m, "readOnly") == true})
		if target == saMountPath {
			rp.tokenDir = src
		}
	}
	mounts = append(mounts, podrun.Mount{Source: e.bin, Target: e.entrypoint, ReadOnly: true})
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	argv := []string{e.entrypoint}
	if cmd, ok := dig(container, "command").([]any); ok {
		argv = nil
		for _, a := range cmd {
			argv = append(argv, fmt.Sprint(a))
		}
	}
	for _, a := range dig(container, "args").([]any) {
		argv = append(argv, fmt.Sprint(a))
	}
	rp.spec = podrun.Spec{
		Rootfs: rootfs, ReadOnlyRoot: r.sec.readOnlyRoot, Mounts: mounts,
		UID: r.sec.uid, GID: r.sec.gid, Groups: r.sec.groups, Caps: r.sec.caps, NoNewPrivs: r.sec.noNewPrivs,
		Path: argv[0], Args: argv[1:], Env: containerEnv(t, container, api.Spec.NodeName, api.Name, api.Namespace, e.apiHost, e.apiPort),
	}
	if r.sec.runAsNonRoot && r.sec.uid == 0 {
		r.add("the kubelet would refuse to start the container: runAsNonRoot is true and it runs as uid 0")
		return nil
	}
	cmd, err := podrun.Command(rp.spec)
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, cmd, api.Name)
	rp.p = p
	// Started: or exited, saying why.
	if !waitUntil(startDeadline, func() bool { return p.Exited() || logWith(p.Stderr.Bytes(), "octoagent starting") != nil }) ||
		!waitUntil(startDeadline, func() bool { return p.Exited() || logWith(p.Stderr.Bytes(), "serving metrics and health") != nil }) {
		t.Fatalf("%s: the agent neither started nor exited within %v:\n%s", api.Name, startDeadline, tail(p.Stderr.String(), 3000))
	}
	if p.Exited() {
		r.add("the agent exited with status %d at start, running as %s:\n%s", p.Cmd.ProcessState.ExitCode(), r.sec, errorLines(p.Stderr.Bytes()))
		return nil
	}
	return rp
}

// run runs the DaemonSet's pod with tc's values on a fresh node; it fails
// the test only when the harness cannot do its work, and returns what the
// pod did wrong.
func (e *podEnv) run(t *testing.T, tc podCase) *podResult {
	t.Helper()
	r := &podResult{}
	ctx := context.Background()
	objs, httpPort, adminPort := e.render(t, tc)
	ds := findObject(objs, "DaemonSet", "-node")
	if ds == nil {
		t.Fatalf("%s renders no DaemonSet", tc.name)
	}
	node := layOutNode(t, filepath.Join(t.TempDir(), "node"), e.pods, tc.with0600, !tc.noDocker)
	before := snapshot(t, node.on("/var/log"))
	rp := e.startPod(t, r, e.schedule(t, ds, e.node), node)
	if rp == nil {
		return r
	}
	p, pod, vols, spec, tokenDir := rp.p, rp.pod, rp.vols, rp.spec, rp.tokenDir
	pid := p.Cmd.Process.Pid
	metaOn := dig(pod, "automountServiceAccountToken") == true

	checkCredentials(t, r, pid)

	// Metrics and health from the network; the admin routes only on localhost.
	waitUntil(startDeadline, func() bool { return logWith(p.Stderr.Bytes(), "serving admin endpoints") != nil })
	if a := logWith(p.Stderr.Bytes(), "serving admin endpoints"); a == nil || a["addr"] != "127.0.0.1:"+strconv.Itoa(adminPort) {
		r.add("the admin endpoints are not served on 127.0.0.1:%d: %v", adminPort, a)
	}
	if e.ip != "" {
		// With the pod's own token as a bearer token, too: no token opens
		// the admin routes to the network.
		bearer := "not-a-token"
		if tokenDir != "" {
			b, err := os.ReadFile(filepath.Join(tokenDir, "token"))
			if err != nil {
				t.Fatal(err)
			}
			bearer = string(b)
		}
		e.checkNetwork(r, e.ip, httpPort, adminPort, bearer)
	}

	// Every line of every file, once.
	want := map[string]int{}
	for _, l := range node.logs {
		if !l.excluded {
			want[l.ns+"/"+l.pod+"/"+l.container] += l.lines
			r.files++
		}
	}
	count := func() (map[string]int, int, []string) {
		got := map[string]int{}
		ids := map[string]bool{}
		var dups []string
		for _, rec := range logRecs(t, p.Stdout.Bytes()) {
			got[rec.E["k8s.namespace.name"]+"/"+rec.E["k8s.pod.name"]+"/"+rec.E["k8s.container.name"]]++
			if ids[rec.ID] {
				dups = append(dups, rec.ID)
			}
			ids[rec.ID] = true
		}
		return got, len(ids), dups
	}
	// Until every container's lines are read, or the agent said it cannot
	// open one of its files.
	waitUntil(onceDeadline, func() bool {
		got, _, _ := count()
		refused := cannotOpen(p.Stderr.Bytes())
		for k, n := range want {
			if got[k] >= n {
				continue
			}
			stuck := false
			for _, l := range node.logs {
				stuck = stuck || (l.ns+"/"+l.pod+"/"+l.container == k && refused[l.podsPath])
			}
			if !stuck {
				return false
			}
		}
		return true
	})
	got, n, dups := count()
	r.records = n
	if len(dups) > 0 {
		r.add("%d records came out twice: %v", len(dups), dups[:min(len(dups), 5)])
	}
	reported := map[string]bool{}
	for _, l := range node.logs {
		k := l.ns + "/" + l.pod + "/" + l.container
		if reported[k] {
			continue
		}
		reported[k] = true
		if l.excluded {
			if got[k] > 0 {
				r.add("%d records from %s, a namespace the chart excludes", got[k], k)
			}
			continue
		}
		if got[k] > want[k] {
			r.add("%d records from %s, which has %d lines", got[k], k, want[k])
		} else if got[k] < want[k] {
			st, _ := os.Stat(l.path)
			r.add("read %d of the %d lines of %s (%s: %v, owned by uid 0, gid 0): the agent runs as %s, which can read it only as its owner (uid 0), through a group it is in, or with DAC_READ_SEARCH (effective for uid 0 only); the agent logged:\n%s",
				got[k], want[k], k, l.how, st.Mode(), r.sec, errorLines(p.Stderr.Bytes()))
		}
	}

	// Pod metadata, fetched with the mounted token: every record of the
	// node's pods carries its pod's (or, read before the first list came
	// in, says so); with it off, none does.
	var bad []string
	for _, rec := range logRecs(t, p.Stdout.Bytes()) {
		nodeName, missing := rec.E["k8s.node.name"], rec.E["octoagent.metadata.missing"]
		switch {
		case !metaOn && (nodeName != "" || missing != ""):
			bad = append(bad, fmt.Sprintf("pod metadata is off, yet a record carries k8s.node.name %q, octoagent.metadata.missing %q", nodeName, missing))
		case metaOn && missing == "not_synced":
			r.notSynced++
		case metaOn && (nodeName != e.node || missing != ""):
			bad = append(bad, fmt.Sprintf("a record of %s/%s carries k8s.node.name %q, octoagent.metadata.missing %q, not its pod's metadata",
				rec.E["k8s.namespace.name"], rec.E["k8s.pod.name"], nodeName, missing))
		}
	}
	if len(bad) > 0 {
		r.add("%d records without the metadata they should have, e.g. %s; the agent logged:\n%s", len(bad), bad[0], errorLines(p.Stderr.Bytes()))
	}

	// kubectl exec POD -- octoagent tap: the container's user, environment
	// and mounts, on the pod's localhost (when the agent reads at all).
	if len(r.problems) == 0 {
		e.checkTap(t, r, spec, node)
	}
	// What issue 16 asks of the node agent on a real control plane, on
	// the defaults only (it takes a minute: the API server is stopped for
	// 20 s, a deleted pod's metadata stays for the default 60 s).
	if tc.podMetadata && len(r.problems) == 0 {
		e.checkPodMetadata(t, r, rp, node, httpPort)
		// The node's /var/log now holds what the test wrote (new pods'
		// logs, a rotation): what the agent may not change is from here.
		before = snapshot(t, node.on("/var/log"))
	}

	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		r.add("the agent exited with status %d after SIGTERM:\n%s", code, errorLines(p.Stderr.Bytes()))
	}

	// Checkpoints written in the data volume, and nothing else on the node.
	ck := filepath.Join(vols["data"], "checkpoints", "source.kubernetes_logs.pods.json")
	var doc struct {
		Entries map[string]json.RawMessage `json:"entries"`
	}
	if b, err := os.ReadFile(ck); err != nil {
		r.add("no checkpoints: %v", err)
	} else if err := json.Unmarshal(b, &doc); err != nil || len(doc.Entries) == 0 {
		r.add("checkpoints %s: %v, %d entries", ck, err, len(doc.Entries))
	} else {
		st, _ := os.Stat(ck)
		r.checkpoints = fmt.Sprintf("%d checkpoint entries in %s (%v)", len(doc.Entries), strings.TrimPrefix(ck, node.root), st.Mode())
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != r.sec.uid {
			r.add("the checkpoints belong to uid %d, not to the agent's uid %d", sys.Uid, r.sec.uid)
		}
	}
	if after := snapshot(t, node.on("/var/log")); after != before {
		r.add("the node's /var/log changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The service account's token and access.
	crName := tc.release + "-octoagent-node"
	if metaOn {
		if tokenDir == "" {
			r.add("the pod automounts its token, yet admission added no volume at %s", saMountPath)
		} else {
			e.checkRBAC(t, r, tokenDir)
		}
		// The API server's view: the agent asked for its node's pods with
		// the token bound to its pod.
		e.checkAudit(t, r, rp)
	} else {
		if tokenDir != "" || findObject(objs, "ClusterRole", "-node") != nil || findObject(objs, "ClusterRoleBinding", "-node") != nil {
			r.add("pod metadata is off, yet the pod mounts a token or the chart renders the node ClusterRole")
		}
		if _, err := e.c.Client.RbacV1().ClusterRoles().Get(ctx, crName, metav1.GetOptions{}); err == nil {
			r.add("pod metadata is off, yet the ClusterRole %s exists", crName)
		}
	}
	return r
}

// runEvents runs the events Deployment's pod against the API server, with
// Octostore's endpoint a local server that records the token it is sent:
// the agent, as uid 65532 with no capability, collects an event created
// after it started (through the token it mounts) and sends it with the
// token of its Secret volume (0440, group fsGroup).
func (e *podEnv) runEvents(t *testing.T) *podResult {
	r := &podResult{}
	// A stand-in for Octostore's ingest API: it accepts every record and
	// passes on the Authorization of each POST /v1/records (a batch of
	// records; not the health check, which comes before any).
	auth := make(chan string, 100)
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v1/records" {
			return // GET /v1/health: 200
		}
		select {
		case auth <- req.Header.Get("Authorization"):
		default:
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		var batch struct {
			Records []struct {
				ID string `json:"id"`
			} `json:"records"`
		}
		if err := json.NewDecoder(body).Decode(&batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var res []map[string]string
		for _, r := range batch.Records {
			res = append(res, map[string]string{"id": r.ID, "status": "accepted"})
		}
		json.NewEncoder(w).Encode(map[string]any{"results": res})
	}))
	defer store.Close()
	objs, _, _ := e.render(t, podCase{release: "ev", set: []string{"daemonset.enabled=false", "deployment.replicas=1",
		"octostore.endpoint=" + store.URL, "octostore.token=tok-123"}})
	dep := findObject(objs, "Deployment", "-events")
	if dep == nil {
		t.Fatal("no events Deployment")
	}
	rp := e.startPod(t, r, e.schedule(t, dep, e.node), &fakeNode{root: t.TempDir()})
	if rp == nil {
		return r
	}
	checkCredentials(t, r, rp.p.Cmd.Process.Pid)
	ctx := context.Background()
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: "probe-", Namespace: "shop"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-0"},
		Reason:         "Probe", Message: "events pod test", Type: "Normal",
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1,
		Source: corev1.EventSource{Component: "e2e"},
	}
	// A batch of records comes with the token of the Secret, or the agent
	// says why not.
	var seen []string
	if !waitUntil(k8sDeadline, func() bool {
		if _, err := e.c.Client.CoreV1().Events("shop").Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-auth:
			seen = append(seen, a)
			return a == "Bearer tok-123"
		case <-time.After(time.Second):
			return rp.p.Exited() || strings.Contains(rp.p.Stderr.String(), "token_file")
		}
	}) || !slices.Contains(seen, "Bearer tok-123") {
		r.add("the events pod sent no record with the token of its Secret within %v (Authorization seen: %q; exited: %v):\n%s",
			k8sDeadline, seen, rp.p.Exited(), errorLines(rp.p.Stderr.Bytes()))
		return r
	}
	rp.p.Signal(t, syscall.SIGTERM)
	if code := rp.p.WaitExit(t, exitDeadline); code != 0 {
		r.add("the events pod exited with status %d after SIGTERM:\n%s", code, errorLines(rp.p.Stderr.Bytes()))
	}
	return r
}

// checkCredentials compares the credentials and capabilities the kernel
// holds for the agent (/proc/PID/status) with what the pod spec gives.
func checkCredentials(t *testing.T, r *podResult, pid int) {
	if st, err := procStatus(pid); err != nil {
		t.Fatal(err)
	} else {
		want := map[string]string{
			"Uid": strings.Repeat(strconv.Itoa(r.sec.uid)+" ", 4), "Gid": strings.Repeat(strconv.Itoa(r.sec.gid)+" ", 4),
			"NoNewPrivs": "0",
		}
		if r.sec.noNewPrivs {
			want["NoNewPrivs"] = "1"
		}
		var groups []string
		for _, g := range r.sec.groups {
			groups = append(groups, strconv.Itoa(g))
		}
		want["Groups"] = strings.Join(groups, " ")
		for k, v := range want {
			if got := st[k]; got != strings.TrimSpace(v) {
				r.add("/proc/%d/status %s: %q, the pod spec gives %q", pid, k, got, strings.TrimSpace(v))
			}
		}
	}
	if got, err := capSets(pid); err != nil {
		t.Fatal(err)
	} else if want := wantCapSets(r.sec); !reflect.DeepEqual(got, want) {
		r.add("the agent's capabilities are %v; the pod spec (%v) gives %v", got, r.sec.caps, want)
	}
}

// checkNetwork: from a non-loopback address of the machine (the pod's
// network address, as another pod would reach it), /metrics, /healthz and
// /readyz answer; /tap and /-/reload are not found there, and the admin
// port refuses connections.
func (e *podEnv) checkNetwork(r *podResult, ip string, httpPort, adminPort int, bearer string) {
	c := &http.Client{Timeout: 10 * time.Second}
	auth := ""
	do := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+net.JoinHostPort(ip, strconv.Itoa(httpPort))+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(b)
	}
	if code, body := do("GET", "/metrics"); code != 200 || !strings.Contains(body, "octoagent_") {
		r.add("GET /metrics from %s: %d %s", ip, code, tail(body, 300))
	}
	if code, _ := do("GET", "/healthz"); code != 200 {
		r.add("GET /healthz from %s: %d", ip, code)
	}
	if !waitUntil(startDeadline, func() bool { code, _ := do("GET", "/readyz"); return code == 200 }) {
		r.add("GET /readyz from %s never answered 200", ip)
	}
	for _, auth = range []string{"", bearer} {
		with := "without a token"
		if auth != "" {
			with = "with a bearer token"
		}
		if code, body := do("GET", "/tap?component=source.kubernetes_logs.pods&limit=1"); code != 404 {
			r.add("GET /tap from the network (%s), %s: %d %s, want 404", ip, with, code, tail(body, 300))
		}
		if code, body := do("POST", "/-/reload"); code != 404 {
			r.add("POST /-/reload from the network (%s), %s: %d %s, want 404", ip, with, code, tail(body, 300))
		}
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(adminPort)), 10*time.Second)
	if err == nil {
		conn.Close()
		r.add("the admin port %d accepts connections on %s, a network address", adminPort, ip)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		r.add("connecting to the admin port on %s: %v, want connection refused", ip, err)
	}
}

// checkTap runs `octoagent tap` as `kubectl exec POD --` would (the
// container's user, capabilities, environment and mounts; the pod's
// network), while "the runtime" appends lines to a log file.
func (e *podEnv) checkTap(t *testing.T, r *podResult, spec podrun.Spec, node *fakeNode) {
	spec.Args = []string{"tap", "source.kubernetes_logs.pods", "--limit", "1"}
	cmd, err := podrun.Command(spec)
	if err != nil {
		t.Fatal(err)
	}
	tp := startProc(t, cmd, "octoagent tap")
	log := node.log(t, e.pods.web, "app", "/0.log")
	i := 0
	if !waitUntil(startDeadline, func() bool {
		i++
		node.append(t, log, "stdout", fmt.Sprintf("tapped line %d", i))
		return tp.Exited()
	}) {
		r.add("kubectl exec POD -- octoagent tap printed no record within %v:\n%s", startDeadline, tp.Stderr.String())
		return
	}
	if code := tp.WaitExit(t, exitDeadline); code != 0 {
		r.add("kubectl exec POD -- octoagent tap: exit %d\n%s", code, tp.Stderr.String())
		return
	}
	recs := decodeJSONLines(t, tp.Stdout.Bytes())
	if len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0].Fields), "tapped line") {
		r.add("octoagent tap --limit 1 printed %d records: %s", len(recs), tail(tp.Stdout.String(), 500))
	}
}

// nodeRules are what the node's service account may do with pod metadata
// on (the interface agreed with issue 16): exactly these, beyond what every
// service account may do.
var nodeRules = func() []string {
	var out []string
	for _, res := range []string{"pods", "namespaces", "replicasets.apps", "jobs.batch"} {
		for _, v := range []string{"get", "list", "watch"} {
			out = append(out, v+" "+res+"[]")
		}
	}
	sort.Strings(out)
	return out
}()

// checkRBAC asks the API server, with the token the pod mounts, what it
// may do: the rules (SelfSubjectRulesReview) are exactly nodeRules beyond
// the base, and point checks (SelfSubjectAccessReview) agree, cluster-wide.
func (e *podEnv) checkRBAC(t *testing.T, r *podResult, tokenDir string) {
	var got []string
	for k := range e.rules(t, tokenDir) {
		if !e.base[k] {
			got = append(got, k)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, nodeRules) {
		r.add("with the mounted token, the node service account may:\n  %v\nwant exactly:\n  %v", got, nodeRules)
	}
	cs := e.inCluster(t, tokenDir)
	for _, q := range []struct {
		verb, group, resource, sub string
		want                       bool
	}{
		{"list", "", "pods", "", true}, {"watch", "", "pods", "", true}, {"get", "", "namespaces", "", true},
		{"list", "apps", "replicasets", "", true}, {"watch", "batch", "jobs", "", true},
		{"get", "", "secrets", "", false}, {"list", "", "configmaps", "", false}, {"get", "", "nodes", "", false},
		{"delete", "", "pods", "", false}, {"create", "", "pods", "exec", false}, {"get", "", "pods", "log", false},
		{"list", "apps", "deployments", "", false}, {"get", "batch", "cronjobs", "", false},
		{"update", "apps", "replicasets", "", false}, {"list", "", "events", "", false},
	} {
		sar, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(), &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: q.verb, Group: q.group, Resource: q.resource, Subresource: q.sub}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("SelfSubjectAccessReview: %v", err)
		}
		if sar.Status.Allowed != q.want {
			r.add("with the mounted token, %s %s/%s %s cluster-wide: allowed %v, want %v", q.verb, q.group, q.resource, q.sub, sar.Status.Allowed, q.want)
		}
	}
}
