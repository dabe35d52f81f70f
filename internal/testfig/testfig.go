// Package testfig lets tests report the figures they measured (records
// delivered, duplicates, lost, seconds) so that `make test` prints them even
// for passing tests: each figure goes to t.Log and, when OCTOAGENT_FIGURES
// names a file, is appended to it; the Makefile prints that file at the end.
package testfig

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

var mu sync.Mutex

// Report logs one line of figures for test t.
func Report(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	path := os.Getenv("OCTOAGENT_FIGURES")
	if path == "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Logf("testfig: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%-55s %s\n", t.Name(), line)
}
