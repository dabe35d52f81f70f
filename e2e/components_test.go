package e2e

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/octostore/agent/internal/testenv"
)

// TestComponentsRun runs the real components that e2e/setup.sh provides
// but no e2e test drives yet (the benchmark peers, and Fluent Bit for the
// tests to come), so that a broken install or build step fails CI rather
// than waiting for the first test that needs it. Each must start and print
// its version
// (the Collector has no --version: it lists its components).
func TestComponentsRun(t *testing.T) {
	for _, c := range []struct {
		name string
		path func(t *testing.T) string
		args []string
		want string
	}{
		{"otelcol", func(t *testing.T) string { return testenv.Path(t, "otelcol") }, []string{"components"}, "filelogreceiver v0."},
		{"fluent-bit", func(t *testing.T) string { return testenv.Path(t, "fluent-bit") }, []string{"--version"}, "Fluent Bit v"},
		{"mawk", func(t *testing.T) string { return testenv.LookPath(t, "mawk", "mawk") }, []string{"-W", "version"}, "mawk "},
	} {
		t.Run(c.name, func(t *testing.T) {
			bin := c.path(t)
			out, err := exec.Command(bin, c.args...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), c.want) {
				t.Fatalf("%s %s: %v\n%s", bin, strings.Join(c.args, " "), err, out)
			}
			t.Logf("%s", strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
		})
	}
}
