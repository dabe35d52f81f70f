package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/sys/capability"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	k8senv "github.com/octostore/agent/e2e/k8s"
	"github.com/octostore/agent/e2e/podrun"
)

// What TestChartNodePod needs to run a rendered pod on this machine the way
// the kubelet and the container runtime would: a node's directories laid out
// as the kubelet, containerd, CRI-O and docker lay them out, the pod's
// volumes made from the rendered objects, its environment resolved, its
// securityContext turned into credentials and capabilities, and the image
// (the Dockerfile's ENTRYPOINT and USER, the static binary `make static`
// builds).

// nodeLog is one container log file on the node.
type nodeLog struct {
	ns, pod, container string
	api                *corev1.Pod // the pod, as the API server has it
	path               string      // on this machine: where "the runtime" appends
	podsPath           string      // under /var/log/pods, where the agent opens it
	lines              int
	how                string // who writes it that way
	docker             bool   // a docker json-file (else CRI)
	excluded           bool   // in a namespace the chart excludes
}

type fakeNode struct {
	root string
	logs []*nodeLog
	pods *podLogs // its /var/log/pods
}

// on returns a node path on this machine.
func (n *fakeNode) on(p string) string { return filepath.Join(n.root, p) }

// log returns the laid-out file of a container whose /var/log/pods path
// ends in suffix.
func (n *fakeNode) log(t testing.TB, pod *corev1.Pod, container, suffix string) *nodeLog {
	t.Helper()
	for _, l := range n.logs {
		if l.api.UID == pod.UID && l.container == container && strings.HasSuffix(l.podsPath, suffix) {
			return l
		}
	}
	t.Fatalf("no laid-out log %s of %s/%s", suffix, pod.Name, container)
	return nil
}

// append writes lines to a container's log as its runtime does: CRI lines
// to the current 0.log (created if a rotation took it), or docker
// json-file lines.
func (n *fakeNode) append(t testing.TB, l *nodeLog, stream string, lines ...string) {
	t.Helper()
	if !l.docker {
		n.pods.Write(l.api, l.container, stream, lines...)
		return
	}
	var b strings.Builder
	for _, line := range lines {
		j, _ := json.Marshal(map[string]string{"log": line + "\n", "stream": stream, "time": time.Now().UTC().Format(time.RFC3339Nano)})
		b.Write(append(j, '\n'))
	}
	f, err := os.OpenFile(l.path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

// nodePods are the pods whose logs layOutNode lays out, as the API server
// has them, on the node the DaemonSet's pod runs on.
type nodePods struct {
	web     *corev1.Pod // shop: Deployment web's (container app)
	invoice *corev1.Pod // billing: CronJob invoice's Job's (container batch)
	api     *corev1.Pod // shop: StatefulSet api's api-0, annotated (container api)
	worker  *corev1.Pod // shop: worker-0, no owner (container worker), on docker
	coredns *corev1.Pod // kube-system: a namespace the chart excludes
}

// createNodePods creates the laid-out pods on the API server, on node,
// with their containers running.
func createNodePods(t testing.TB, c *k8senv.Cluster, node string) *nodePods {
	t.Helper()
	ctx := context.Background()
	c.CreateNamespace("shop")
	c.CreateNamespace("billing")
	waitFor(t, k8sDeadline, "the default service account of kube-system", func() bool {
		_, err := c.Client.CoreV1().ServiceAccounts("kube-system").Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	one := int32(1)
	lbl := map[string]string{"app": "api"}
	sts, err := c.Client.AppsV1().StatefulSets("shop").Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: appsv1.StatefulSetSpec{Replicas: &one, ServiceName: "api", Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "registry.example/api:4.2"}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &nodePods{
		web:     deploymentPod(t, c, "shop", "web", node),
		invoice: cronJobPod(t, c, "billing", "invoice", node),
		api: createPod(t, c, nodePod{ns: "shop", name: "api-0", node: node, container: "api", image: "registry.example/api:4.2",
			labels: map[string]string{"app": "api", "statefulset.kubernetes.io/pod-name": "api-0"}, annotations: map[string]string{"example.com/team": "payments"},
			owner: metav1.NewControllerRef(sts, appsv1.SchemeGroupVersion.WithKind("StatefulSet"))}),
		worker: createPod(t, c, nodePod{ns: "shop", name: "worker-0", node: node, container: "worker", image: "registry.example/worker:3",
			labels: map[string]string{"app": "worker"}}),
		coredns: createPod(t, c, nodePod{ns: "kube-system", name: "coredns-7db6d8ff4d-abcde", node: node, container: "coredns",
			image: "registry.k8s.io/coredns/coredns:v1.11.1", labels: map[string]string{"k8s-app": "kube-dns"}}),
	}
}

// layOutNode makes a node's log directories for pods as the kubelet and
// the runtimes do, every file and directory owned by root: /var/log/pods
// (0755), one directory per pod and per container (0755), log files
// root:root 0640 (containerd, CRI-O with conmon >= 2.1, a kubelet-rotated
// file), or 0600 (older conmon) when with0600, and, withDocker, a docker
// (cri-dockerd) container whose /var/log/pods file is a symlink into
// /var/lib/docker/containers (0710 directories, a 0640 json-file). The
// kube-system pod's file is one the chart's default excludes.
func layOutNode(t testing.TB, root string, pods *nodePods, with0600, withDocker bool) *fakeNode {
	t.Helper()
	n := &fakeNode{root: root}
	mkdir := func(p string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, mode os.FileMode, lines []string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(strings.Join(lines, "")), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	mkdir(n.on("/var/log/pods"), 0o755)
	n.pods = newPodLogs(t, n.on("/var/log/pods"))
	podDir := func(pod *corev1.Pod, container string) string {
		d := n.pods.ContainerDir(pod, container)
		mkdir(filepath.Dir(d), 0o755)
		mkdir(d, 0o755)
		return d
	}
	cri := func(tag string, count int) []string {
		var out []string
		for i := 1; i <= count; i++ {
			out = append(out, fmt.Sprintf("2026-03-01T10:00:%02d.%09dZ stdout F %s line %d\n", i%60, i, tag, i))
		}
		return out
	}
	add := func(l *nodeLog, mode os.FileMode, lines []string) {
		l.ns, l.pod = l.api.Namespace, l.api.Name
		if l.podsPath == "" {
			l.podsPath = strings.TrimPrefix(l.path, root)
		}
		write(l.path, mode, lines)
		l.lines = len(lines)
		n.logs = append(n.logs, l)
	}

	d := podDir(pods.web, "app")
	add(&nodeLog{api: pods.web, container: "app", path: filepath.Join(d, "0.log.20260301-095959"), how: "containerd 0640, rotated by the kubelet"},
		0o640, cri("web rotated", 40))
	add(&nodeLog{api: pods.web, container: "app", path: filepath.Join(d, "0.log"), how: "containerd 0640"},
		0o640, cri("web", 60))
	d = podDir(pods.invoice, "batch")
	add(&nodeLog{api: pods.invoice, container: "batch", path: filepath.Join(d, "0.log"), how: "CRI-O (conmon >= 2.1) 0640"},
		0o640, cri("invoice", 35))
	if with0600 {
		d = podDir(pods.api, "api")
		add(&nodeLog{api: pods.api, container: "api", path: filepath.Join(d, "0.log"), how: "CRI-O (conmon < 2.1) 0600"},
			0o600, cri("api", 25))
	}
	// docker (cri-dockerd): the json-file in docker's directory, and a
	// symlink to it where the kubelet looks.
	if withDocker {
		id := "4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
		mkdir(n.on("/var/lib/docker"), 0o710)
		mkdir(n.on("/var/lib/docker/containers"), 0o710)
		mkdir(n.on("/var/lib/docker/containers/"+id), 0o710)
		var dj []string
		for i := 1; i <= 30; i++ {
			dj = append(dj, fmt.Sprintf(`{"log":"worker line %d\n","stream":"stdout","time":"2026-03-01T10:01:%02d.%09dZ"}`+"\n", i, i%60, i))
		}
		target := "/var/lib/docker/containers/" + id + "/" + id + "-json.log"
		d = podDir(pods.worker, "worker")
		l := &nodeLog{api: pods.worker, container: "worker", path: n.on(target), podsPath: strings.TrimPrefix(filepath.Join(d, "0.log"), root),
			how: "docker json-file 0640, through a symlink from /var/log/pods", docker: true}
		add(l, 0o640, dj)
		if err := os.Symlink(target, filepath.Join(d, "0.log")); err != nil {
			t.Fatal(err)
		}
	}
	d = podDir(pods.coredns, "coredns")
	add(&nodeLog{api: pods.coredns, container: "coredns", path: filepath.Join(d, "0.log"), how: "containerd 0640", excluded: true},
		0o640, cri("coredns", 10))
	return n
}

// snapshot lists every path under dir with its mode, to show that
// nothing on the node changed.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v\n", strings.TrimPrefix(p, dir), fi.Mode())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// imageConfig reads the Dockerfile's ENTRYPOINT and USER: what the
// container runs when the pod gives args only, and its uid and gid when the
// securityContext does not say.
func imageConfig(t testing.TB) (entrypoint string, uid, gid int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ep := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"`).FindSubmatch(b)
	users := regexp.MustCompile(`(?m)^USER (\d+)(?::(\d+))?\s*$`).FindAllSubmatch(b, -1)
	if ep == nil || users == nil {
		t.Fatal("the Dockerfile has no ENTRYPOINT [\"...\"] or no numeric USER")
	}
	u := users[len(users)-1]
	uid, _ = strconv.Atoi(string(u[1]))
	gid = uid
	if len(u[2]) > 0 {
		gid, _ = strconv.Atoi(string(u[2]))
	}
	return string(ep[1]), uid, gid
}

var staticBuild builtBinary

// staticAgentBinary builds the binary the image ships (CGO_ENABLED=0,
// -trimpath, as the Dockerfile and `make static` do; the build cache makes
// it cheap after those), so that it runs in a root with no libc.
func staticAgentBinary(t testing.TB) string {
	t.Helper()
	return staticBuild.get(t, "octoagent-static", []string{"CGO_ENABLED=0"}, "-trimpath", "./cmd/octoagent")
}

// podSecurity is a container's effective securityContext: the container's
// fields over the pod's, the image's user when neither says.
type podSecurity struct {
	uid, gid     int
	groups       []int // supplementary: the gid, supplementalGroups, fsGroup
	fsGroup      int   // -1: none
	caps         []string
	noNewPrivs   bool
	readOnlyRoot bool
	runAsNonRoot bool
}

func intField(v any) (int, bool) {
	f, ok := v.(float64)
	return int(f), ok
}

func securityOf(pod, container any, imageUID, imageGID int) podSecurity {
	psc, csc := dig(pod, "securityContext"), dig(container, "securityContext")
	pick := func(key string) any {
		if v := dig(csc, key); v != nil {
			return v
		}
		return dig(psc, key)
	}
	s := podSecurity{uid: imageUID, gid: imageGID, fsGroup: -1}
	if v, ok := intField(pick("runAsUser")); ok {
		s.uid = v
	}
	if v, ok := intField(pick("runAsGroup")); ok {
		s.gid = v
	}
	s.runAsNonRoot = pick("runAsNonRoot") == true
	s.groups = []int{s.gid}
	if l, ok := dig(psc, "supplementalGroups").([]any); ok {
		for _, g := range l {
			if v, ok := intField(g); ok {
				s.groups = append(s.groups, v)
			}
		}
	}
	if v, ok := intField(dig(psc, "fsGroup")); ok {
		s.fsGroup = v
		s.groups = append(s.groups, v)
	}
	slices.Sort(s.groups)
	s.groups = slices.Compact(s.groups)

	caps := map[string]bool{}
	if dig(csc, "privileged") == true {
		for _, c := range capability.ListKnown() {
			caps[strings.ToUpper(c.String())] = true
		}
	} else {
		for _, c := range podrun.RuntimeDefaultCaps {
			caps[c] = true
		}
		drops, _ := dig(csc, "capabilities", "drop").([]any)
		for _, d := range drops {
			if d == "ALL" {
				clear(caps)
			}
			delete(caps, strings.TrimPrefix(fmt.Sprint(d), "CAP_"))
		}
		adds, _ := dig(csc, "capabilities", "add").([]any)
		for _, a := range adds {
			caps[strings.TrimPrefix(fmt.Sprint(a), "CAP_")] = true
		}
	}
	for c := range caps {
		s.caps = append(s.caps, c)
	}
	sort.Strings(s.caps)
	s.noNewPrivs = dig(csc, "allowPrivilegeEscalation") == false
	s.readOnlyRoot = dig(csc, "readOnlyRootFilesystem") == true
	return s
}

func (s podSecurity) String() string {
	caps := "no capabilities"
	if len(s.caps) > 0 {
		caps = "capabilities " + strings.Join(s.caps, ",")
	}
	return fmt.Sprintf("uid %d (gid %d, groups %v) with %s", s.uid, s.gid, s.groups, caps)
}

// capSets reads a process's capability sets, as /proc/PID/status shows
// them, by name.
func capSets(pid int) (map[string]string, error) {
	c, err := capability.NewPid2(pid)
	if err != nil {
		return nil, err
	}
	if err := c.Load(); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, w := range []capability.CapType{capability.EFFECTIVE, capability.PERMITTED, capability.INHERITABLE, capability.BOUNDING, capability.AMBIENT} {
		out[w.String()] = c.StringCap(w)
	}
	return out, nil
}

// wantCapSets is what the kernel gives the container's process after exec:
// the bounding set holds the pod's capabilities; the permitted and
// effective sets too for uid 0, and nothing for any other uid (there are no
// ambient capabilities); the inheritable and ambient sets nothing.
func wantCapSets(s podSecurity) map[string]string {
	c, _ := capability.NewPid2(0)
	c.Clear(capability.CAPS | capability.BOUNDS | capability.AMBS)
	caps, _ := podrun.ParseCaps(s.caps)
	c.Set(capability.BOUNDING, caps...)
	if s.uid == 0 {
		c.Set(capability.EFFECTIVE|capability.PERMITTED, caps...)
	}
	out := map[string]string{}
	for _, w := range []capability.CapType{capability.EFFECTIVE, capability.PERMITTED, capability.INHERITABLE, capability.BOUNDING, capability.AMBIENT} {
		out[w.String()] = c.StringCap(w)
	}
	return out
}

// procStatus reads the named lines of /proc/PID/status.
func procStatus(pid int) (map[string]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			out[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return out, nil
}

// kubelet makes the volumes of a pod, as the API server stored it, the way
// the kubelet does, on the node: hostPath as the node's directory
// (DirectoryOrCreate creates it as root, 0755), emptyDir 0777, configMap
// and secret files from the API server's objects, and the projected
// service account volume that admission adds (a token the API server
// issues for the service account, bound to the pod, with the expiry the
// volume asks; the kube-root-ca.crt ConfigMap; the namespace), each file
// root-owned, with the volume's defaultMode, group fsGroup if any. It
// returns each volume's directory on this machine.
func (e *podEnv) kubelet(t testing.TB, n *fakeNode, pod *corev1.Pod, sec podSecurity, problems *[]string) map[string]string {
	t.Helper()
	ctx := context.Background()
	vols := map[string]string{}
	files := func(name string, data map[string][]byte, mode *int32) string {
		m := os.FileMode(0o644)
		if mode != nil {
			m = os.FileMode(*mode)
		}
		dir := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for k, v := range data {
			p := filepath.Join(dir, k)
			if err := os.WriteFile(p, v, m); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, m); err != nil {
				t.Fatal(err)
			}
			if sec.fsGroup >= 0 {
				if err := os.Chown(p, 0, sec.fsGroup); err != nil {
					t.Fatal(err)
				}
			}
		}
		return dir
	}
	// The keys of a ConfigMap or Secret a volume takes (items, or all) at
	// their paths.
	pick := func(data map[string][]byte, items []corev1.KeyToPath, into map[string][]byte) {
		if len(items) == 0 {
			for k, v := range data {
				into[k] = v
			}
		}
		for _, it := range items {
			into[it.Path] = data[it.Key]
		}
	}
	configMap := func(name string) map[string][]byte {
		cm, err := e.c.Client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the kubelet would wait for ConfigMap %s/%s: %v", pod.Namespace, name, err)
		}
		out := map[string][]byte{}
		for k, v := range cm.Data {
			out[k] = []byte(v)
		}
		return out
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.HostPath != nil:
			p := n.on(v.HostPath.Path)
			var typ corev1.HostPathType
			if v.HostPath.Type != nil {
				typ = *v.HostPath.Type
			}
			st, err := os.Stat(p)
			switch typ {
			case corev1.HostPathDirectory:
				if err != nil || !st.IsDir() {
					*problems = append(*problems, fmt.Sprintf("the kubelet would not start the pod: hostPath %s (type Directory) is not a directory on the node", p))
				}
			case corev1.HostPathDirectoryOrCreate:
				if err != nil {
					if err := os.MkdirAll(p, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(p, 0o755); err != nil {
						t.Fatal(err)
					}
				}
			default:
				t.Fatalf("volume %s: hostPath type %q is not emulated here", v.Name, typ)
			}
			vols[v.Name] = p
		case v.EmptyDir != nil:
			dir := filepath.Join(t.TempDir(), v.Name)
			mode := os.FileMode(0o777)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if sec.fsGroup >= 0 {
				mode |= os.ModeSetgid
				if err := os.Chown(dir, 0, sec.fsGroup); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			vols[v.Name] = dir
		case v.ConfigMap != nil:
			data := map[string][]byte{}
			pick(configMap(v.ConfigMap.Name), v.ConfigMap.Items, data)
			vols[v.Name] = files(v.Name, data, v.ConfigMap.DefaultMode)
		case v.Secret != nil:
			s, err := e.c.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, v.Secret.SecretName, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("the kubelet would wait for Secret %s/%s: %v", pod.Namespace, v.Secret.SecretName, err)
			}
			data := map[string][]byte{}
			pick(s.Data, v.Secret.Items, data)
			vols[v.Name] = files(v.Name, data, v.Secret.DefaultMode)
		case v.Projected != nil:
			data := map[string][]byte{}
			for _, src := range v.Projected.Sources {
				switch {
				case src.ServiceAccountToken != nil:
					data[src.ServiceAccountToken.Path] = []byte(e.token(t, pod.Namespace, pod.Spec.ServiceAccountName,
						src.ServiceAccountToken.ExpirationSeconds, src.ServiceAccountToken.Audience, pod))
				case src.ConfigMap != nil:
					pick(configMap(src.ConfigMap.Name), src.ConfigMap.Items, data)
				case src.DownwardAPI != nil:
					f := map[string]string{"metadata.namespace": pod.Namespace, "metadata.name": pod.Name, "metadata.uid": string(pod.UID)}
					for _, it := range src.DownwardAPI.Items {
						if it.FieldRef == nil || f[it.FieldRef.FieldPath] == "" {
							t.Fatalf("volume %s: downwardAPI item %v is not emulated here", v.Name, it)
						}
						data[it.Path] = []byte(f[it.FieldRef.FieldPath])
					}
				default:
					t.Fatalf("volume %s: projected source %v is not emulated here", v.Name, src)
				}
			}
			vols[v.Name] = files(v.Name, data, v.Projected.DefaultMode)
		default:
			t.Fatalf("volume %s is of a kind this test does not emulate: %v", v.Name, v)
		}
	}
	return vols
}

// containerEnv resolves a container's env as the kubelet does for the
// sources the chart uses, and adds what every container gets.
func containerEnv(t testing.TB, container any, nodeName, podName, ns, apiHost, apiPort string) []string {
	t.Helper()
	env := []string{
		// distroless/static's image environment, and what the kubelet adds.
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		"HOSTNAME=" + podName,
		"KUBERNETES_SERVICE_HOST=" + apiHost,
		"KUBERNETES_SERVICE_PORT=" + apiPort,
		"KUBERNETES_SERVICE_PORT_HTTPS=" + apiPort,
	}
	list, _ := dig(container, "env").([]any)
	for _, e := range list {
		name := dig(e, "name").(string)
		switch {
		case dig(e, "value") != nil:
			env = append(env, name+"="+fmt.Sprint(dig(e, "value")))
		case dig(e, "valueFrom", "fieldRef", "fieldPath") != nil:
			var v string
			switch p := dig(e, "valueFrom", "fieldRef", "fieldPath"); p {
			case "spec.nodeName":
				v = nodeName
			case "metadata.name":
				v = podName
			case "metadata.namespace":
				v = ns
			default:
				t.Fatalf("env %s: fieldRef %v is not emulated here", name, p)
			}
			env = append(env, name+"="+v)
		case dig(e, "valueFrom", "resourceFieldRef", "resource") != nil:
			res := dig(e, "valueFrom", "resourceFieldRef", "resource").(string)
			kind, what, _ := strings.Cut(res, ".")
			q, ok := dig(container, "resources", kind, what).(string)
			if !ok {
				t.Fatalf("env %s: the container has no %s", name, res)
			}
			qty := resource.MustParse(q)
			env = append(env, name+"="+strconv.FormatInt(qty.Value(), 10))
		default:
			t.Fatalf("env %s is of a kind this test does not emulate: %v", name, e)
		}
	}
	return env
}

// jsonLogs decodes the agent's JSON log lines (--log-format json).
func jsonLogs(stderr []byte) []map[string]any {
	var out []map[string]any
	for _, l := range bytes.Split(stderr, []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(l, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// logWith returns the first log line with that message, or nil.
func logWith(stderr []byte, msg string) map[string]any {
	for _, m := range jsonLogs(stderr) {
		if m["msg"] == msg {
			return m
		}
	}
	return nil
}

// cannotOpen returns the paths the agent logged it cannot open.
func cannotOpen(stderr []byte) map[string]bool {
	out := map[string]bool{}
	for _, m := range jsonLogs(stderr) {
		if m["msg"] == "cannot open file" {
			out[fmt.Sprint(m["path"])] = true
		}
	}
	return out
}

// errorLines returns the agent's warnings and errors, one per line.
func errorLines(stderr []byte) string {
	var out []string
	for _, m := range jsonLogs(stderr) {
		if m["level"] == "WARN" || m["level"] == "ERROR" {
			b, _ := json.Marshal(m)
			out = append(out, string(b))
		}
	}
	if len(out) == 0 {
		return tail(string(stderr), 2000)
	}
	return strings.Join(out, "\n")
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollEvery)
	}
	return true
}
