package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateCLI checks `octoagent validate` on a good and a bad config,
// and `octoagent version`.
func TestValidateCLI(t *testing.T) {
	root := moduleRoot(t)

	t.Run("quickstart is valid", func(t *testing.T) {
		code, stdout, stderr := runAgent(t, root, "validate", "-c", "configs/quickstart.hcl", "-c", "configs/schemas", "-c", "configs/nginx/rules.hcl")
		if code != 0 {
			t.Fatalf("validate exited with %d, want 0; stderr:\n%s", code, stderr)
		}
		lines := splitLines(stdout)
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "valid:") {
			t.Fatalf("validate printed %q, want one line starting with \"valid:\"", stdout)
		}
		t.Logf("%s", lines[0])
	})

	t.Run("unknown source type", func(t *testing.T) {
		dir := t.TempDir()
		bad := filepath.Join(dir, "bad.hcl")
		content := `# a typo in the source type
source "fiel" "app" {
  paths = ["/var/log/app.log"]
}

sink "stdout" "out" {
  inputs = [source.fiel.app]
}
`
		writeFile(t, bad, content)
		line, col := position(t, content, `"fiel"`)
		code, stdout, stderr := runAgent(t, root, "validate", "-c", bad)
		if code != 1 {
			t.Fatalf("validate exited with %d, want 1; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		want := fmt.Sprintf("%s:%d:%d: error: Unknown source type", bad, line, col)
		if !strings.Contains(string(stderr), want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
		if !strings.Contains(string(stderr), `Did you mean "file"`) {
			t.Errorf("stderr does not suggest \"file\":\n%s", stderr)
		}
		if len(stdout) != 0 {
			t.Errorf("validate of a bad config printed on stdout: %q", stdout)
		}
	})

	t.Run("version", func(t *testing.T) {
		code, stdout, stderr := runAgent(t, root, "version")
		if code != 0 {
			t.Fatalf("version exited with %d, want 0; stderr:\n%s", code, stderr)
		}
		if !strings.HasPrefix(string(stdout), "octoagent ") {
			t.Errorf("version printed %q, want \"octoagent <version>\"", stdout)
		}
	})
}

// position returns the 1-based line and column of the first occurrence of
// sub in content (ASCII content: a column is a byte).
func position(t testing.TB, content, sub string) (line, col int) {
	t.Helper()
	i := strings.Index(content, sub)
	if i < 0 {
		t.Fatalf("%q not in the config", sub)
	}
	before := content[:i]
	line = strings.Count(before, "\n") + 1
	col = i - strings.LastIndex(before, "\n")
	return line, col
}
