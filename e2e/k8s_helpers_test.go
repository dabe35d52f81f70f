package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	k8senv "github.com/octostore/agent/e2e/k8s"
)

// k8sDeadline bounds every wait on the real control plane: generous, since
// the machine may be loaded.
const k8sDeadline = 120 * time.Second

// startK8s starts a control plane for one test (skipped with the reason if
// the API server cannot be built).
func startK8s(t *testing.T) *k8senv.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the Kubernetes tests start a real API server")
	}
	c := k8senv.Start(t)
	if d := k8senv.BuildTime(); d > 10*time.Second {
		t.Logf("built kube-apiserver and kube-controller-manager %s in %v", k8senv.Version, d.Round(time.Second))
	}
	return c
}

// kubectlBin is the kubectl that e2e/k8s/build.sh built (Missing if none).
func kubectlBin(t *testing.T) string { return k8senv.Kubectl(t) }

// startAgentEnv is startAgent with extra environment variables.
func startAgentEnv(t *testing.T, env []string, args ...string) *agentProc {
	t.Helper()
	cmd := exec.Command(agentBinary(t), args...)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), env...)
	return startProc(t, cmd, "octoagent "+strings.Join(args, " "))
}

// eventRec is one record of the kubernetes_events source, as a sink wrote it.
type eventRec struct {
	agent.WireRecord
	Ev map[string]any // the event (fields.message of a raw record, or fields)
}

func (r eventRec) str(path ...string) string {
	var v any = r.Ev
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (r eventRec) count() int64 {
	switch n := r.Ev["count"].(type) {
	case float64:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	}
	return 0
}

// readEventRecs reads a file sink's output; a missing file has none.
func readEventRecs(t *testing.T, path string) []eventRec {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Only complete lines: the sink may be writing.
	if i := strings.LastIndexByte(string(data), '\n'); i >= 0 {
		data = data[:i+1]
	} else {
		return nil
	}
	var out []eventRec
	for _, w := range decodeJSONLines(t, data) {
		r := eventRec{WireRecord: w, Ev: w.Fields}
		if msg, ok := w.Fields["message"].(string); ok && w.Kind == "raw" {
			var m map[string]any
			if err := json.Unmarshal([]byte(msg), &m); err == nil {
				r.Ev = m
			}
		}
		out = append(out, r)
	}
	return out
}

// eventsConfig writes an agent config: the kubernetes_events source with
// the given body lines, every record to a file sink, and returns its path.
func eventsConfig(t *testing.T, dir, kubeconfig, body string) (cfgPath, out string) {
	t.Helper()
	out = filepath.Join(dir, "records.jsonl")
	cfg := `agent {
  data_dir            = ` + hclString(filepath.Join(dir, "data")) + `
  http_addr           = "127.0.0.1:0"
  checkpoint_interval = "200ms"
}
source "kubernetes_events" "cluster" {
  kubeconfig = ` + hclString(kubeconfig) + `
  cluster    = "e2e"
` + body + `
}
sink "file" "out" {
  inputs = [source.kubernetes_events.cluster]
  path   = ` + hclString(out) + `
}
`
	cfgPath = filepath.Join(dir, "agent.hcl")
	writeFile(t, cfgPath, cfg)
	return cfgPath, out
}

// k8sMetric sums the series of one metric the agent at addr exposes (0 if
// there is none or the agent does not answer).
func k8sMetric(t *testing.T, addr, name string) float64 {
	t.Helper()
	code, body := httpGet(t, &http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		return 0
	}
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}
