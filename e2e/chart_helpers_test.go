package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	k8senv "github.com/octostore/agent/e2e/k8s"
	"github.com/octostore/agent/internal/testenv"
)

// The chart checks use helm, kubeconform and kube-score installed by
// e2e/chart/tools.sh (make chart-tools; `make test` runs it first), and the
// strict JSON schemas it generates offline from k8s.io/kubernetes's
// OpenAPI document. A missing tool skips the checks that need it, with the
// reason, and fails them in CI (testenv.Missing).

// chartKubeVersion is the version e2e/k8s runs (1.37.2), and
// chartPSAVersion its Pod Security Standards version (v1.37).
var (
	chartKubeVersion = strings.TrimPrefix(k8senv.Version, "v")
	chartPSAVersion  = "v" + chartKubeVersion[:strings.LastIndex(chartKubeVersion, ".")]
)

// chartValueSets are the value sets every check renders: the defaults and
// the files in charts/octoagent/ci (helm's convention for CI values).
var chartValueSets = []string{"", "ci/daemonset-only-values.yaml", "ci/deployment-only-values.yaml", "ci/everything-values.yaml"}

func chartToolsDir() string {
	if d := os.Getenv("OCTOAGENT_TOOLS"); d != "" {
		return d
	}
	return filepath.Join(testenv.CacheDir(), "tools")
}

func chartSchemasDir() string {
	if d := os.Getenv("OCTOAGENT_K8S_SCHEMAS"); d != "" {
		return d
	}
	return filepath.Join(testenv.CacheDir(), "k8s-schemas-v"+chartKubeVersion)
}

// chartTool returns the path of an installed tool; Missing if there is none.
func chartTool(t testing.TB, name string) string {
	t.Helper()
	return testenv.LookPath(t, name, name, chartToolsDir())
}

func chartDir(t testing.TB) string { return filepath.Join(moduleRoot(t), "charts", "octoagent") }

// helmArgs are the -f flags of one value set plus extra --set flags.
func helmArgs(t testing.TB, values string, set ...string) []string {
	var args []string
	if values != "" {
		args = append(args, "-f", filepath.Join(chartDir(t), values))
	}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	return args
}

// runTool runs a tool and returns its stdout, failing the test with both
// streams if it exits non-zero.
func runTool(t testing.TB, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", filepath.Base(bin), strings.Join(args, " "), err, tail(stdout.String(), 4000), tail(stderr.String(), 4000))
	}
	return stdout.Bytes()
}

// renderChart runs helm template for a value set and returns the manifest.
func renderChart(t testing.TB, release, namespace, values string, set ...string) []byte {
	t.Helper()
	helm := chartTool(t, "helm")
	args := append([]string{"template", release, chartDir(t), "--namespace", namespace, "--kube-version", chartKubeVersion}, helmArgs(t, values, set...)...)
	return runTool(t, helm, args...)
}

// chartObject is one rendered object, decoded loosely, with its YAML.
type chartObject struct {
	Kind     string
	Name     string
	Object   map[string]any
	Document []byte
}

func splitManifest(t testing.TB, manifest []byte) []chartObject {
	t.Helper()
	var out []chartObject
	for _, doc := range bytes.Split(manifest, []byte("\n---")) {
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		kind, _ := m["kind"].(string)
		name, _ := dig(m, "metadata", "name").(string)
		out = append(out, chartObject{Kind: kind, Name: name, Object: m, Document: doc})
	}
	return out
}

// dig walks maps (string keys) and lists (int keys).
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func findObject(objs []chartObject, kind, suffix string) *chartObject {
	for i := range objs {
		if objs[i].Kind == kind && strings.HasSuffix(objs[i].Name, suffix) {
			return &objs[i]
		}
	}
	return nil
}

// execOutput runs a command and returns its combined output.
func execOutput(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}
