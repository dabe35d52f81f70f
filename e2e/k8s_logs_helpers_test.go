package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/octostore/agent/agent"
	k8senv "github.com/octostore/agent/e2e/k8s"
)

// Helpers for running the node agent (source "kubernetes_logs") against a
// real API server: a kubelet-style /var/log/pods tree for pods created on
// it, pods bound to a node (there is no scheduler), and a kubeconfig for
// the node agent's service account under the documented RBAC
// (configs/kubernetes-logs/rbac.yaml).

// podLogs is a simulated /var/log/pods: what the kubelet and the container
// runtime write for the pods of one node.
type podLogs struct {
	t   testing.TB
	Dir string
	mu  sync.Mutex
	seq map[string]int // rotations per container
}

func newPodLogs(t testing.TB, dir string) *podLogs {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &podLogs{t: t, Dir: dir, seq: map[string]int{}}
}

// ContainerDir is <Dir>/<namespace>_<pod>_<uid>/<container>, where the
// kubelet keeps a container's logs.
func (l *podLogs) ContainerDir(pod *corev1.Pod, container string) string {
	return filepath.Join(l.Dir, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), container)
}

// Path is the container's current log file (0.log).
func (l *podLogs) Path(pod *corev1.Pod, container string) string {
	return filepath.Join(l.ContainerDir(pod, container), "0.log")
}

// criMaxLine is where containerd splits a line into partial (P) lines.
const criMaxLine = 16 << 10

// Write appends lines in the CRI format, as containerd writes them (a line
// longer than 16 KiB in partial lines), to the container's 0.log.
func (l *podLogs) Write(pod *corev1.Pod, container, stream string, lines ...string) {
	l.t.Helper()
	var b strings.Builder
	for _, line := range lines {
		ts := time.Now().UTC().Format(time.RFC3339Nano)
		for len(line) > criMaxLine {
			fmt.Fprintf(&b, "%s %s P %s\n", ts, stream, line[:criMaxLine])
			line = line[criMaxLine:]
		}
		fmt.Fprintf(&b, "%s %s F %s\n", ts, stream, line)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	dir := l.ContainerDir(pod, container)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		l.t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "0.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		l.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		l.t.Fatal(err)
	}
}

// Rotate does what the kubelet does at container-log-max-size: 0.log is
// renamed to 0.log.<timestamp> and the next Write creates a new 0.log.
func (l *podLogs) Rotate(pod *corev1.Pod, container string) {
	l.t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	key := l.ContainerDir(pod, container)
	l.seq[key]++
	p := l.Path(pod, container)
	ts := time.Date(2026, 11, 21, 5, 0, l.seq[key], 0, time.UTC).Format("20060102-150405")
	if err := os.Rename(p, p+"."+ts); err != nil {
		l.t.Fatal(err)
	}
}

// bindToNode binds a pod to a node, as the scheduler would (the control
// plane of the tests has none).
func bindToNode(t testing.TB, c *k8senv.Cluster, pod *corev1.Pod, node string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	err := c.Client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace},
		Target:     corev1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("bind %s/%s to %s: %v", pod.Namespace, pod.Name, node, err)
	}
	p, err := c.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startContainers sets the pod's container statuses as the kubelet would
// once they run: image ids and container ids.
func startContainers(t testing.TB, c *k8senv.Cluster, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	pod = pod.DeepCopy()
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = nil
	for i, ct := range pod.Spec.Containers {
		name, _, _ := strings.Cut(ct.Image, ":")
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: ct.Name, Image: ct.Image, Ready: true,
			ImageID:     name + "@sha256:" + strings.Repeat(fmt.Sprint(i), 64),
			ContainerID: fmt.Sprintf("containerd://%s%02d", strings.Repeat("c", 62), i),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
		})
	}
	p, err := c.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("status of %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	return p
}

// nodeAgentKubeconfig applies configs/kubernetes-logs/rbac.yaml and
// returns a kubeconfig that authenticates as its service account
// (octoagent/octoagent-node), as the DaemonSet's pods do.
func nodeAgentKubeconfig(t testing.TB, c *k8senv.Cluster) string {
	t.Helper()
	rbac := filepath.Join(moduleRoot(t), "configs/kubernetes-logs/rbac.yaml")
	out, err := exec.Command(k8senv.Kubectl(t), "--kubeconfig", c.Kubeconfig, "apply", "-f", rbac).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply -f %s: %v\n%s", rbac, err, out)
	}
	return c.ServiceAccountKubeconfig("octoagent", "octoagent-node")
}

// logRec is a record of the node agent, as a file sink wrote it.
type logRec struct {
	agent.WireRecord
	E map[string]string // the entity
}

func (r logRec) msg() string {
	if s, ok := r.Fields["message"].(string); ok {
		return s
	}
	return ""
}

// readLogRecs reads a file sink's output (complete lines only).
func readLogRecs(t testing.TB, path string) []logRec {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return logRecs(t, data)
}

// logRecs decodes the records of JSON lines (a file sink's output, or a
// stdout sink's): complete lines only, since the sink may be writing.
func logRecs(t testing.TB, data []byte) []logRec {
	t.Helper()
	i := bytes.LastIndexByte(data, '\n')
	if i < 0 {
		return nil
	}
	var out []logRec
	for _, w := range decodeJSONLines(t, data[:i+1]) {
		r := logRec{WireRecord: w, E: map[string]string{}}
		for _, kv := range w.Entity {
			r.E[kv.Key] = kv.Value
		}
		out = append(out, r)
	}
	return out
}

// nodePod is a pod to create on a node: one container, its labels,
// annotations and controller.
type nodePod struct {
	ns, name, node      string
	container, image    string
	labels, annotations map[string]string
	owner               *metav1.OwnerReference
}

// createPod creates the pod on its node (spec.nodeName, as the scheduler
// leaves it) with its container running (startContainers).
func createPod(t testing.TB, c *k8senv.Cluster, p nodePod) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: p.name, Labels: p.labels, Annotations: p.annotations},
		Spec:       corev1.PodSpec{NodeName: p.node, Containers: []corev1.Container{{Name: p.container, Image: p.image}}},
	}
	if p.owner != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*p.owner}
	}
	created, err := c.Client.CoreV1().Pods(p.ns).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s/%s: %v", p.ns, p.name, err)
	}
	return startContainers(t, c, created)
}

// deploymentPod creates the Deployment name in ns (k8sDeployment: label
// app=NAME, container "app", image registry.example/NAME:1.0) and returns
// the pod its controllers make (through a ReplicaSet), bound to node and
// running.
func deploymentPod(t testing.TB, c *k8senv.Cluster, ns, name, node string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, k8sDeployment(name), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pod *corev1.Pod
	waitFor(t, k8sDeadline, "the pod of deployment "+ns+"/"+name, func() bool {
		l, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil || len(l.Items) == 0 {
			return false
		}
		pod = &l.Items[0]
		return true
	})
	return startContainers(t, c, bindToNode(t, c, pod, node))
}

// cronJobPod creates the CronJob name in ns, the Job it starts at 03:00
// (NAME-29000000) and that Job's pod, owned as the cronjob and job
// controllers (which do not run here) would own them: container "batch",
// on node and running.
func cronJobPod(t testing.TB, c *k8senv.Cluster, ns, name, node string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	const image = "registry.example/batch:2.1"
	cj, err := c.Client.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "batch", Image: image}}}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	job, err := c.Client.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-29000000",
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))}},
		Spec: cj.Spec.JobTemplate.Spec,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return createPod(t, c, nodePod{ns: ns, name: job.Name + "-x7k2p", node: node, container: "batch", image: image,
		labels: map[string]string{"batch.kubernetes.io/job-name": job.Name, "job-name": job.Name},
		owner:  metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))})
}

// wantEntity is the entity the node agent gives the records of one
// container of pod (adapters/kuberneteslogs/README.md, "Record fields"),
// worked out from the API's objects: the path's keys, the stream, the
// node, the image and the ids of the container's status, the owners (the
// controller, and the Deployment of a ReplicaSet or the CronJob of a Job),
// the workload, every label and every annotation (the pods of the tests
// carry none of those the default filter leaves out).
func wantEntity(t testing.TB, c *k8senv.Cluster, pod *corev1.Pod, container, stream string) map[string]string {
	t.Helper()
	e := map[string]string{
		"k8s.namespace.name": pod.Namespace, "k8s.pod.name": pod.Name, "k8s.pod.uid": string(pod.UID),
		"k8s.container.name": container, "log.iostream": stream, "k8s.node.name": pod.Spec.NodeName,
	}
	for _, ct := range pod.Spec.Containers {
		if ct.Name != container {
			continue
		}
		name, tag := ct.Image, "latest"
		if i := strings.LastIndexByte(ct.Image, ':'); i > strings.LastIndexByte(ct.Image, '/') {
			name, tag = ct.Image[:i], ct.Image[i+1:]
		}
		e["container.image.name"], e["container.image.tag"] = name, tag
	}
	for _, st := range pod.Status.ContainerStatuses {
		if st.Name == container {
			e["container.image.id"] = st.ImageID
			_, e["container.id"], _ = strings.Cut(st.ContainerID, "://")
		}
	}
	for k, v := range pod.Labels {
		e["k8s.pod.label."+k] = v
	}
	for k, v := range pod.Annotations {
		e["k8s.pod.annotation."+k] = v
	}
	ctx := context.Background()
	if ctl := metav1.GetControllerOf(pod); ctl != nil {
		top := ctl
		var err error
		switch ctl.Kind {
		case "ReplicaSet":
			e["k8s.replicaset.name"] = ctl.Name
			var rs *appsv1.ReplicaSet
			if rs, err = c.Client.AppsV1().ReplicaSets(pod.Namespace).Get(ctx, ctl.Name, metav1.GetOptions{}); err == nil {
				if o := metav1.GetControllerOf(rs); o != nil {
					top = o
				}
			}
		case "Job":
			e["k8s.job.name"] = ctl.Name
			var job *batchv1.Job
			if job, err = c.Client.BatchV1().Jobs(pod.Namespace).Get(ctx, ctl.Name, metav1.GetOptions{}); err == nil {
				if o := metav1.GetControllerOf(job); o != nil {
					top = o
				}
			}
		}
		if err != nil {
			t.Fatalf("the owner of %s/%s: %v", pod.Namespace, pod.Name, err)
		}
		if key, ok := map[string]string{"Deployment": "k8s.deployment.name", "CronJob": "k8s.cronjob.name",
			"StatefulSet": "k8s.statefulset.name", "DaemonSet": "k8s.daemonset.name"}[top.Kind]; ok {
			e[key] = top.Name
		}
		e["k8s.workload.kind"], e["k8s.workload.name"] = top.Kind, top.Name
	}
	return e
}

// entityDiff says how an entity differs from the one wanted, key by key,
// or "".
func entityDiff(got, want map[string]string) string {
	var d []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			d = append(d, fmt.Sprintf("%s missing (want %q)", k, v))
		} else if g != v {
			d = append(d, fmt.Sprintf("%s = %q, want %q", k, g, v))
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("%s = %q, not wanted", k, v))
		}
	}
	sort.Strings(d)
	return strings.Join(d, "; ")
}

// awaitEntity writes probe lines (TAG probe N) with write until the record
// of one carries exactly want as its entity, and returns "" or what the
// last probe's entity got wrong. (The owners of a ReplicaSet or a Job are
// read once the pod is known: lines read before that carry the pod's
// metadata without them.)
func awaitEntity(recs func() []logRec, write func(msg string), tag string, want map[string]string) string {
	deadline := time.Now().Add(k8sDeadline)
	diff := "no probe written"
	for i := 1; time.Now().Before(deadline); i++ {
		msg := fmt.Sprintf("%s probe %d", tag, i)
		write(msg)
		var got *logRec
		waitUntil(time.Until(deadline), func() bool {
			for _, r := range recs() {
				if r.msg() == msg {
					got = &r
					return true
				}
			}
			return false
		})
		if got == nil {
			return fmt.Sprintf("no record of %q within %v", msg, k8sDeadline)
		}
		if diff = entityDiff(got.E, want); diff == "" {
			return ""
		}
		time.Sleep(200 * time.Millisecond) // the owners may be being read
	}
	return diff
}
