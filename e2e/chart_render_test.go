package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/octostore/agent/internal/testenv"
)

// TestChartLint runs helm lint --strict on every value set.
func TestChartLint(t *testing.T) {
	helm := chartTool(t, "helm")
	for _, vs := range chartValueSets {
		args := append([]string{"lint", "--strict", chartDir(t), "--kube-version", chartKubeVersion}, helmArgs(t, vs)...)
		out := runTool(t, helm, args...)
		if !bytes.Contains(out, []byte("0 chart(s) failed")) {
			t.Errorf("helm lint %q:\n%s", vs, out)
		}
	}
}

// TestChartKubeconform validates every rendered object, strictly (unknown
// fields are errors), against the schemas of Kubernetes chartKubeVersion generated
// offline from k8s.io/kubernetes's OpenAPI document. ServiceMonitor is a
// CRD (Prometheus Operator) with no schema there: it is skipped.
func TestChartKubeconform(t *testing.T) {
	kc := chartTool(t, "kubeconform")
	schemas := chartSchemasDir()
	if _, err := os.Stat(filepath.Join(schemas, "deployment-apps-v1.json")); err != nil {
		testenv.Missing(t, "k8s-schemas", "no schemas in "+schemas)
	}
	dir := t.TempDir()
	for i, vs := range chartValueSets {
		manifest := renderChart(t, "octoagent", "octoagent", vs)
		f := filepath.Join(dir, "set"+string(rune('0'+i))+".yaml")
		writeFile(t, f, string(manifest))
		out := runTool(t, kc, "-strict", "-summary", "-skip", "ServiceMonitor",
			"-schema-location", filepath.Join(schemas, "{{ .ResourceKind }}{{ .KindSuffix }}.json"), f)
		if !bytes.Contains(out, []byte("Invalid: 0, Errors: 0")) {
			t.Errorf("kubeconform %q:\n%s", vs, out)
		}
		t.Logf("kubeconform %q: %s", vs, bytes.TrimSpace(out))
	}
	// The check is strict: an unknown field is refused.
	bad := strings.Replace(string(renderChart(t, "octoagent", "octoagent", "")), "terminationGracePeriodSeconds:", "bogusField: 1\n      terminationGracePeriodSeconds:", 1)
	f := filepath.Join(dir, "bad.yaml")
	writeFile(t, f, bad)
	cmd := []string{"-strict", "-summary", "-schema-location", filepath.Join(schemas, "{{ .ResourceKind }}{{ .KindSuffix }}.json"), f}
	if out, err := execOutput(kc, cmd...); err == nil || !strings.Contains(out, "bogusField") {
		t.Errorf("kubeconform accepted an unknown field: %v\n%s", err, out)
	}
}

// TestChartKubeScore runs kube-score on every value set. Ignored checks:
// container-image-pull-policy (the image tag is pinned to the chart's
// appVersion, so IfNotPresent is right), and pod-networkpolicy where a
// value set turns networkPolicy.enabled off (none does; it is on by
// default). The DaemonSet carries kube-score/ignore for
// container-security-context-user-group-id: it runs as uid 0 on purpose.
func TestChartKubeScore(t *testing.T) {
	ks := chartTool(t, "kube-score")
	dir := t.TempDir()
	for i, vs := range chartValueSets {
		manifest := renderChart(t, "octoagent", "octoagent", vs)
		f := filepath.Join(dir, "set"+string(rune('0'+i))+".yaml")
		writeFile(t, f, string(manifest))
		args := []string{"score", "--output-format", "ci", "--ignore-test", "container-image-pull-policy"}
		if findObject(splitManifest(t, manifest), "NetworkPolicy", "") == nil {
			args = append(args, "--ignore-test", "pod-networkpolicy")
		}
		out, err := execOutput(ks, append(args, f)...)
		if err != nil {
			var bad []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "[CRITICAL]") || strings.HasPrefix(l, "[WARNING]") {
					bad = append(bad, l)
				}
			}
			t.Errorf("kube-score %q: %v\n%s", vs, err, strings.Join(bad, "\n"))
		}
	}
}

// TestChartRestricted checks what every value set renders: the restricted
// Pod Security Standard's settings on the Deployment's pods, and on the
// DaemonSet's all of them but the documented exceptions (uid 0 with every
// capability dropped, hostPath: README, "What the DaemonSet runs as"), the
// probes, the checksum annotation, hostPath only in the DaemonSet (pod logs
// and docker's logs read-only, and the checkpoint directory), the token
// only in a Secret, one service account per workload (the node's with its
// token mounted for pod metadata), and the admin endpoints on localhost.
func TestChartRestricted(t *testing.T) {
	for _, vs := range chartValueSets {
		objs := splitManifest(t, renderChart(t, "octoagent", "octoagent", vs, "octostore.endpoint=https://store:8443", "octostore.token=tok-123"))
		workloads := 0
		for _, o := range objs {
			if o.Kind == "Secret" {
				continue
			}
			if bytes.Contains(o.Document, []byte("tok-123")) {
				t.Errorf("%q: the token appears in %s %s", vs, o.Kind, o.Name)
			}
			if o.Kind != "DaemonSet" && o.Kind != "Deployment" {
				continue
			}
			workloads++
			where := vs + " " + o.Kind
			pod := dig(o.Object, "spec", "template", "spec")
			// The DaemonSet runs as uid 0 (with no capability): the owner of
			// the node's logs. The Deployment as 65532.
			nonRoot, uid := true, 65532.0
			if o.Kind == "DaemonSet" {
				nonRoot, uid = false, 0
			}
			if dig(pod, "securityContext", "runAsNonRoot") != nonRoot || dig(pod, "securityContext", "runAsUser") != uid ||
				dig(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
				t.Errorf("%s: pod securityContext %v", where, dig(pod, "securityContext"))
			}
			if dig(o.Object, "spec", "template", "metadata", "annotations", "checksum/config") == nil {
				t.Errorf("%s: no checksum/config annotation", where)
			}
			if dig(o.Object, "spec", "template", "metadata", "annotations", "checksum/secret") == nil {
				t.Errorf("%s: no checksum/secret annotation", where)
			}
			if g, _ := dig(pod, "terminationGracePeriodSeconds").(float64); g < 25 {
				t.Errorf("%s: terminationGracePeriodSeconds %v is not above shutdownTimeout (20s)", where, g)
			}
			c := dig(pod, "containers", 0)
			sc := dig(c, "securityContext")
			if dig(sc, "runAsNonRoot") != nonRoot || dig(sc, "readOnlyRootFilesystem") != true || dig(sc, "allowPrivilegeEscalation") != false ||
				dig(sc, "privileged") != false || !reflect.DeepEqual(dig(sc, "capabilities"), map[string]any{"drop": []any{"ALL"}}) ||
				dig(sc, "seccompProfile", "type") != "RuntimeDefault" {
				t.Errorf("%s: container securityContext %v", where, sc)
			}
			admin := false
			envs, _ := dig(c, "env").([]any)
			for _, e := range envs {
				admin = admin || (dig(e, "name") == "OCTOAGENT_ADMIN_ADDR" && dig(e, "value") == "127.0.0.1:9599")
			}
			if !admin {
				t.Errorf("%s: no OCTOAGENT_ADMIN_ADDR=127.0.0.1:9599 for octoagent tap: %v", where, envs)
			}
			if dig(c, "livenessProbe", "httpGet", "path") != "/healthz" || dig(c, "readinessProbe", "httpGet", "path") != "/readyz" {
				t.Errorf("%s: probes %v %v", where, dig(c, "livenessProbe"), dig(c, "readinessProbe"))
			}
			if dig(c, "resources", "limits", "memory") == nil || dig(c, "resources", "requests", "cpu") == nil {
				t.Errorf("%s: resources %v", where, dig(c, "resources"))
			}
			var hostPaths []string
			vols, _ := dig(pod, "volumes").([]any)
			for _, v := range vols {
				if p, ok := dig(v, "hostPath", "path").(string); ok {
					hostPaths = append(hostPaths, p)
				}
			}
			sort.Strings(hostPaths)
			mounts, _ := dig(c, "volumeMounts").([]any)
			for _, m := range mounts {
				if n := dig(m, "name"); (n == "pods" || n == "docker") && dig(m, "readOnly") != true {
					t.Errorf("%s: %v is not mounted read-only", where, dig(m, "mountPath"))
				}
			}
			sa, _ := dig(pod, "serviceAccountName").(string)
			switch o.Kind {
			case "Deployment":
				if len(hostPaths) != 0 {
					t.Errorf("%s: hostPath volumes %v", where, hostPaths)
				}
				if !strings.HasSuffix(sa, "-events") || dig(pod, "automountServiceAccountToken") != true {
					t.Errorf("%s: service account %q automount %v", where, sa, dig(pod, "automountServiceAccountToken"))
				}
			case "DaemonSet":
				want := []string{"/var/lib/docker/containers", "/var/lib/octoagent", "/var/log/pods"}
				if strings.Contains(vs, "everything") { // dataHostPath: ""
					want = []string{"/var/lib/docker/containers", "/var/log/pods"}
				}
				if !reflect.DeepEqual(hostPaths, want) {
					t.Errorf("%s: hostPath volumes %v, want %v", where, hostPaths, want)
				}
				// The token, for pod metadata (daemonset.podMetadata.enabled).
				if !strings.HasSuffix(sa, "-node") || dig(pod, "automountServiceAccountToken") != true {
					t.Errorf("%s: service account %q automount %v", where, sa, dig(pod, "automountServiceAccountToken"))
				}
			}
		}
		if workloads == 0 {
			t.Errorf("%q renders no workload", vs)
		}
		for _, o := range objs {
			if o.Kind == "ConfigMap" && !strings.Contains(fmt.Sprint(dig(o.Object, "data", "agent.hcl")), `admin_addr       = "127.0.0.1:9599"`) {
				t.Errorf("%q ConfigMap %s: /tap and /-/reload are not on 127.0.0.1:9599:\n%v", vs, o.Name, dig(o.Object, "data", "agent.hcl"))
			}
		}
	}
}

// TestChartNetworkPolicy: every value set renders a NetworkPolicy over
// every agent pod that lets in only the http port (/metrics, /healthz,
// /readyz); the admin port is no container port, and the agents serve it
// on localhost only (TestChartRestricted, TestChartNodePod).
func TestChartNetworkPolicy(t *testing.T) {
	for _, vs := range chartValueSets {
		objs := splitManifest(t, renderChart(t, "octoagent", "octoagent", vs))
		np := findObject(objs, "NetworkPolicy", "")
		if np == nil {
			t.Errorf("%q renders no NetworkPolicy", vs)
			continue
		}
		ingress, _ := dig(np.Object, "spec", "ingress").([]any)
		if len(ingress) != 1 || !reflect.DeepEqual(dig(ingress[0], "ports"), []any{map[string]any{"port": "http", "protocol": "TCP"}}) {
			t.Errorf("%q: ingress %v, want the http port only", vs, ingress)
		}
		if sel := dig(np.Object, "spec", "podSelector", "matchLabels"); !reflect.DeepEqual(sel, map[string]any{"app.kubernetes.io/name": "octoagent", "app.kubernetes.io/instance": "octoagent"}) {
			t.Errorf("%q: podSelector %v does not select every agent pod", vs, sel)
		}
		for _, o := range objs {
			if o.Kind != "DaemonSet" && o.Kind != "Deployment" {
				continue
			}
			ports := dig(o.Object, "spec", "template", "spec", "containers", 0, "ports")
			if !reflect.DeepEqual(ports, []any{map[string]any{"name": "http", "containerPort": 9598.0, "protocol": "TCP"}}) {
				t.Errorf("%q %s: container ports %v, want http (9598) only", vs, o.Kind, ports)
			}
		}
	}
}

// TestChartChecksum: a config change changes the pods' checksum/config
// annotation (so the pods roll); a change elsewhere does not.
func TestChartChecksum(t *testing.T) {
	sum := func(set ...string) (node, events any) {
		objs := splitManifest(t, renderChart(t, "octoagent", "octoagent", "", set...))
		ds, dep := findObject(objs, "DaemonSet", "-node"), findObject(objs, "Deployment", "-events")
		return dig(ds.Object, "spec", "template", "metadata", "annotations", "checksum/config"),
			dig(dep.Object, "spec", "template", "metadata", "annotations", "checksum/config")
	}
	n0, e0 := sum()
	n1, e1 := sum("clusterName=other")
	n2, e2 := sum("daemonset.excludeNamespaces={kube-system,monitoring}")
	n3, e3 := sum("deployment.replicas=5")
	if n1 != n0 || e1 == e0 {
		t.Errorf("clusterName changed: node %v -> %v (want same), events %v -> %v (want different)", n0, n1, e0, e1)
	}
	if n2 == n0 || e2 != e0 {
		t.Errorf("excludeNamespaces changed: node %v -> %v (want different), events %v -> %v (want same)", n0, n2, e0, e2)
	}
	if n3 != n0 || e3 != e0 {
		t.Errorf("replicas changed the config checksums")
	}
}

// TestChartConfigValidates writes each rendered ConfigMap to a directory
// and runs `octoagent validate` on it: the HCL the chart generates is a
// valid agent config for every value set.
func TestChartConfigValidates(t *testing.T) {
	bin := agentBinary(t)
	for _, vs := range chartValueSets {
		for _, o := range splitManifest(t, renderChart(t, "octoagent", "octoagent", vs)) {
			if o.Kind != "ConfigMap" {
				continue
			}
			dir := t.TempDir()
			data, _ := dig(o.Object, "data").(map[string]any)
			for k, v := range data {
				writeFile(t, filepath.Join(dir, k), v.(string))
			}
			out, err := execOutput(bin, "validate", "--offline", "-c", dir) // a pod's config: its files are mounted there, not here
			if err != nil {
				t.Errorf("%q ConfigMap %s: octoagent validate: %v\n%s", vs, o.Name, err, out)
				continue
			}
			summary, _, _ := strings.Cut(strings.TrimSpace(out), ";")
			t.Logf("%q %s: %s", vs, o.Name, summary)
		}
	}
}

// TestChartRulesInSync: the chart carries generated copies of pack files
// (a chart cannot read files outside itself); each must be its source,
// under the header `make chart-files` writes, and every file in
// charts/octoagent/files must be such a copy.
func TestChartRulesInSync(t *testing.T) {
	root := moduleRoot(t)
	copies := map[string]string{ // chart file → pack file
		"kubernetes-events-rules.hcl":             "kubernetes-events/rules.hcl",
		"kubernetes-events-crashloop-context.hcl": "kubernetes-events/crashloop_context.hcl",
	}
	entries, err := os.ReadDir(filepath.Join(root, "charts", "octoagent", "files"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := copies[e.Name()]; !ok {
			t.Errorf("charts/octoagent/files/%s is not a generated copy of a pack file: add it to CHART_FILES in the Makefile and here", e.Name())
		}
	}
	for chartFile, packFile := range copies {
		a, err := os.ReadFile(filepath.Join(root, "configs", packFile))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, "charts", "octoagent", "files", chartFile))
		if err != nil {
			t.Fatalf("%v: run make chart-files", err)
		}
		header := "# Generated by `make chart-files` from configs/" + packFile + ": edit that file, not this one.\n"
		if !bytes.Equal(b, append([]byte(header), a...)) {
			t.Errorf("charts/octoagent/files/%s is stale: it is generated from configs/%s; run make chart-files", chartFile, packFile)
		}
	}
}
