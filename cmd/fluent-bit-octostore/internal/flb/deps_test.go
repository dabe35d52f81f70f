package flb

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/octostore/agent/internal/testenv"
)

// The plugin links the transforms and sinks only: not the Kubernetes
// client, not Kafka, not octoagent's sources, so the .so stays small.
func TestPluginDependencies(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			testenv.Missing(t, "go", "no go tool in GOROOT or on PATH")
		}
	}
	cmd := exec.Command(goBin, "list", "-deps", "github.com/octostore/agent/cmd/fluent-bit-octostore")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"k8s.io/", "github.com/segmentio/kafka-go", "github.com/twmb/franz-go", "github.com/octostore/agent/adapters/", "github.com/octostore/agent/sinks/kafkasink"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("the plugin links %s", pkg)
			}
		}
	}
}
