package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A permission error names the agent's credentials and the owner and mode
// of the nearest existing directory; other errors pass unchanged. (The
// e2e chart test provokes the real error, as a non-root user.)
func TestExplainPermission(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "missing", "checkpoints")
	err := ExplainPermission(&fs.PathError{Op: "mkdir", Path: target, Err: syscall.EACCES}, target, "write")
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("the cause is lost: %v", err)
	}
	want := []string{
		"permission denied: the agent runs as uid " + fmt.Sprint(os.Getuid()),
		fmt.Sprintf("; %s is owned by uid %d (gid %d) with mode drwxr-xr-x: run the agent as uid %d, the owner, or give it write access", dir, os.Getuid(), os.Getgid(), os.Getuid()),
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%v\nlacks %q", err, w)
		}
	}
	other := errors.New("disk full")
	if got := ExplainPermission(other, target, "write"); got != other {
		t.Errorf("a non-permission error changed: %v", got)
	}
}
