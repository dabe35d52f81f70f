//go:build linux

package main

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/octostore/agent/internal/residency"
)

// TestReleaseStartupMemory drops this test binary's pages: the process
// keeps running (the code it runs next is mapped again) and its resident
// file-backed memory goes down.
func TestReleaseStartupMemory(t *testing.T) {
	before := rssFileKiB(t)
	releaseStartupMemory()
	after := rssFileKiB(t)
	t.Logf("RssFile %d kB before, %d kB after", before, after)
	if after >= before {
		t.Errorf("RssFile did not go down: %d kB before, %d kB after", before, after)
	}
	// The dropped mappings map again only the pages they read: random
	// access ("rr" in smaps' VmFlags), no fault-around of cached pages.
	exe, spans := residency.Mappings()
	if len(spans) == 0 {
		t.Fatalf("no read-only mapping of %s found in /proc/self/smaps", exe)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	random := 0
	mapping := ""
	for _, l := range strings.Split(string(smaps), "\n") {
		if f := strings.Fields(l); len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			mapping = "" // a mapping's first line: address perms offset dev inode [path]
			if len(f) == 6 {
				mapping = f[5]
			}
		}
		if v, ok := strings.CutPrefix(l, "VmFlags:"); ok && mapping == exe && slices.Contains(strings.Fields(v), "rr") {
			random++
		}
	}
	if random != len(spans) {
		t.Errorf("%d of the binary's %d read-only mappings are marked for random access, want all", random, len(spans))
	}
}

func rssFileKiB(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("RssFile: %q: %v", v, err)
			}
			return n
		}
	}
	t.Skip("no RssFile in /proc/self/status")
	return 0
}
