package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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

// Remove deletes a pod's log directory, as the kubelet does once the pod
// is gone.
func (l *podLogs) Remove(pod *corev1.Pod) {
	l.t.Helper()
	if err := os.RemoveAll(filepath.Dir(l.ContainerDir(pod, "x"))); err != nil {
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
	i := strings.LastIndexByte(string(data), '\n')
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
