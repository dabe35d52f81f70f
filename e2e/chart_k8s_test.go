package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestChartOnAPIServer applies the rendered chart to a real kube-apiserver
// (k8senv.Version, e2e/k8s) in a namespace that enforces the restricted Pod
// Security Standard:
//
//   - the Deployment's pods are admitted (server-side dry-run of a Pod made
//     from its template), and the Deployment itself draws no PodSecurity
//     warning;
//   - the DaemonSet's pods are refused for the documented exceptions
//     (hostPath volumes, and uid 0 with every capability dropped) and for
//     nothing else: the same pod with its hostPath volumes replaced by
//     emptyDirs and running as uid 65532 is admitted;
//   - the RBAC is applied, and `kubectl auth can-i --list` as each service
//     account, minus what every service account is allowed anyway, is
//     exactly the list documented in charts/octoagent/README.md.
func TestChartOnAPIServer(t *testing.T) {
	kubectl := kubectlBin(t)
	manifest := renderChart(t, "octoagent", "octoagent", "", "octostore.endpoint=https://store.example:8443", "octostore.token=tok-123")
	objs := splitManifest(t, manifest)
	c := startK8s(t)
	ctx := context.Background()
	const ns = "octoagent"
	psa := map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": chartPSAVersion,
		"pod-security.kubernetes.io/warn":            "restricted",
		"pod-security.kubernetes.io/warn-version":    chartPSAVersion,
	}
	for _, name := range []string{ns, "shop"} {
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: psa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	kube := func(args ...string) (string, error) {
		cmd := exec.Command(kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustKube := func(args ...string) string {
		t.Helper()
		out, err := kube(args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	// Everything but the workloads, for real.
	var rest []string
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "DaemonSet" {
			rest = append(rest, string(o.Document))
		}
	}
	restFile := filepath.Join(dir, "rest.yaml")
	writeFile(t, restFile, strings.Join(rest, "\n---\n"))
	mustKube("apply", "-f", restFile)
	// A service account with no bindings: what every one may do anyway.
	mustKube("-n", ns, "create", "serviceaccount", "control")

	dep, ds := findObject(objs, "Deployment", "-events"), findObject(objs, "DaemonSet", "-node")
	if dep == nil || ds == nil {
		t.Fatal("the default values render no Deployment or no DaemonSet")
	}
	writeObj := func(name string, v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		writeFile(t, p, string(b))
		return p
	}
	podOf := func(o *chartObject, name string) map[string]any {
		return map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"name": name, "namespace": ns, "labels": dig(o.Object, "spec", "template", "metadata", "labels")},
			"spec":     dig(o.Object, "spec", "template", "spec"),
		}
	}

	t.Run("deployment admitted", func(t *testing.T) {
		out := mustKube("apply", "--server-side", "--dry-run=server", "-f", writeObj("deployment.json", dep.Object))
		if strings.Contains(out, "PodSecurity") {
			t.Errorf("the Deployment draws a PodSecurity warning:\n%s", out)
		}
		mustKube("create", "--dry-run=server", "-f", writeObj("events-pod.json", podOf(dep, "events-pod")))
	})

	t.Run("daemonset refused only for the documented exceptions", func(t *testing.T) {
		out, err := kube("create", "--dry-run=server", "-f", writeObj("node-pod.json", podOf(ds, "node-pod")))
		if err == nil {
			t.Fatalf("the DaemonSet's pod was admitted in a restricted namespace:\n%s", out)
		}
		m := regexp.MustCompile(`violates PodSecurity "restricted:` + regexp.QuoteMeta(chartPSAVersion) + `": (.*)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("refused, but not by PodSecurity:\n%s", out)
		}
		violations := strings.TrimSpace(m[1])
		if want := nodePodViolations; violations != want {
			t.Errorf("violations: %s\nwant only: %s", violations, want)
		}
		// The DaemonSet object draws the same warning.
		warn := mustKube("apply", "--server-side", "--dry-run=server", "-f", writeObj("daemonset.json", ds.Object))
		if !strings.Contains(warn, `would violate PodSecurity "restricted:`+chartPSAVersion+`": `+nodePodViolations+"\n") {
			t.Errorf("DaemonSet warning:\n%s", warn)
		}
		// Without its hostPath volumes and as uid 65532, the same pod is
		// admitted: nothing else breaks the restricted standard.
		pod := podOf(ds, "node-pod-restricted")
		spec, _ := json.Marshal(pod["spec"])
		var specCopy map[string]any
		_ = json.Unmarshal(spec, &specCopy)
		vols, _ := specCopy["volumes"].([]any)
		for i, v := range vols {
			if vm, ok := v.(map[string]any); ok && vm["hostPath"] != nil {
				vols[i] = map[string]any{"name": vm["name"], "emptyDir": map[string]any{}}
			}
		}
		psc := specCopy["securityContext"].(map[string]any)
		psc["runAsUser"], psc["runAsNonRoot"] = 65532, true
		csc := dig(specCopy, "containers", 0, "securityContext").(map[string]any)
		csc["runAsNonRoot"] = true
		pod["spec"] = specCopy
		mustKube("create", "--dry-run=server", "-f", writeObj("node-pod-restricted.json", pod))
	})

	// canI lists what a service account may do in a namespace, one
	// normalised line per rule.
	canI := func(sa, namespace string) map[string]bool {
		t.Helper()
		out := mustKube("auth", "can-i", "--list", "-n", namespace, "--as", "system:serviceaccount:"+ns+":"+sa)
		rows := map[string]bool{}
		for i, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if i == 0 { // header
				continue
			}
			rows[strings.Join(strings.Fields(l), " ")] = true
		}
		return rows
	}
	minus := func(a, b map[string]bool) []string {
		var out []string
		for k := range a {
			if !b[k] {
				out = append(out, k)
			}
		}
		sort.Strings(out)
		return out
	}

	t.Run("rbac", func(t *testing.T) {
		// The documented list (charts/octoagent/README.md, "RBAC").
		wantEvents := map[string][]string{
			ns: {
				"daemonsets.apps [] [] [get]",
				"deployments.apps [] [] [get]",
				"events [] [] [get list watch]",
				"events.events.k8s.io [] [] [get list watch]",
				"jobs.batch [] [] [get]",
				"cronjobs.batch [] [] [get]",
				"leases.coordination.k8s.io [] [] [create]",
				"leases.coordination.k8s.io [] [octoagent-events] [get update]",
				"pods [] [] [get]",
				"replicasets.apps [] [] [get]",
				"statefulsets.apps [] [] [get]",
			},
			"shop": {
				"daemonsets.apps [] [] [get]",
				"deployments.apps [] [] [get]",
				"events [] [] [get list watch]",
				"events.events.k8s.io [] [] [get list watch]",
				"jobs.batch [] [] [get]",
				"cronjobs.batch [] [] [get]",
				"pods [] [] [get]",
				"replicasets.apps [] [] [get]",
				"statefulsets.apps [] [] [get]",
			},
		}
		// The node service account: pod metadata (the interface agreed with
		// issue 16), cluster-wide; TestChartNodePod checks it again with the
		// token a pod mounts.
		wantNode := []string{
			"jobs.batch [] [] [get list watch]",
			"namespaces [] [] [get list watch]",
			"pods [] [] [get list watch]",
			"replicasets.apps [] [] [get list watch]",
		}
		for _, namespace := range []string{ns, "shop"} {
			base := canI("control", namespace)
			if got := minus(canI("octoagent-node", namespace), base); !reflect.DeepEqual(got, wantNode) {
				t.Errorf("node service account in %s:\n got  %q\n want %q", namespace, got, wantNode)
			}
			got := minus(canI("octoagent-events", namespace), base)
			want := append([]string(nil), wantEvents[namespace]...)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("events service account in %s:\n got  %q\n want %q", namespace, got, want)
			}
		}
		// Point checks: never secrets, never list pods, only its own Lease.
		as := "--as=system:serviceaccount:" + ns + ":octoagent-events"
		for _, q := range []struct {
			args []string
			want string
		}{
			{[]string{"get", "secrets", "-n", ns}, "no"},
			{[]string{"list", "secrets", "-A"}, "no"},
			{[]string{"list", "pods", "-n", "shop"}, "no"},
			{[]string{"watch", "events", "-A"}, "yes"},
			{[]string{"update", "leases/octoagent-events", "-n", ns}, "yes"},
			{[]string{"update", "leases/other", "-n", ns}, "no"},
			{[]string{"create", "leases", "-n", "shop"}, "no"},
		} {
			out, _ := kube(append(append([]string{"auth", "can-i"}, q.args...), as)...)
			if got := strings.TrimSpace(out); got != q.want {
				t.Errorf("can-i %s: %q, want %q", strings.Join(q.args, " "), got, q.want)
			}
		}
	})
}

// nodePodViolations are the Pod Security violations of the DaemonSet, the
// documented exceptions (charts/octoagent/README.md, "What the DaemonSet
// runs as"): hostPath volumes, and uid 0.
const nodePodViolations = `restricted volume types (volumes "pods", "docker", "data" use restricted volume type "hostPath"), ` +
	`runAsNonRoot != true (pod and container "octoagent" must not set securityContext.runAsNonRoot=false), runAsUser=0 (pod must not set runAsUser=0)`
