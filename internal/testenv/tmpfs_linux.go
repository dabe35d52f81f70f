package testenv

import (
	"syscall"
	"testing"
)

// SmallFS mounts a tmpfs of the given size ("2m") on a new temporary
// directory for the test, and unmounts it at the end (register cleanups
// that close files in it after calling SmallFS, so they run first).
// Mounting needs root, which CI has: where it fails, the test is skipped
// with the reason on a developer's machine and fails in CI.
func SmallFS(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		msg := "cannot mount a " + size + " tmpfs (" + err.Error() + "): mounting needs root (CI runs as root)"
		if CI() {
			t.Fatal(msg + " [CI: this test may not skip]")
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
