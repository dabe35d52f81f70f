//go:build linux

package main

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDropFileMappings(t *testing.T) {
	// As /proc/PID/smaps lists them (counters shortened): the text and the
	// read-only data are dropped; the writable data, other files, a shared
	// mapping, a deleted binary's mapping, and a read-only mapping that
	// holds private pages (RELRO of a PIE build) are not.
	const smaps = `00400000-016df000 r-xp 00000000 fe:00 10003439                           /usr/bin/octoagent
Size:              19324 kB
Rss:                5120 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
016df000-02aeb000 r--p 012df000 fe:00 10003439                           /usr/bin/octoagent
Size:              20528 kB
Anonymous:             0 kB
02aeb000-02b00000 r--p 026eb000 fe:00 10003439                           /usr/bin/octoagent
Size:                 84 kB
Anonymous:            84 kB
02b00000-02bc0000 rw-p 02700000 fe:00 10003439                           /usr/bin/octoagent
Anonymous:            12 kB
02bc0000-04c11000 rw-p 00000000 00:00 0
Anonymous:          1024 kB
c000000000-c000400000 rw-p 00000000 00:00 0
7f45c29a1000-7f45c2af7000 r-xp 00026000 fe:00 326269                     /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7f45c2b00000-7f45c2b01000 r--s 00000000 fe:00 10003439                   /usr/bin/octoagent
Anonymous:             0 kB
7f45c2c00000-7f45c2c01000 r--p 00000000 fe:00 10003440                   /usr/bin/octoagent (deleted)
Anonymous:             0 kB
not a line
`
	type span struct{ start, length uintptr }
	var got []span
	n := dropFileMappings(strings.NewReader(smaps), "/usr/bin/octoagent", func(start, length uintptr) error {
		got = append(got, span{start, length})
		return nil
	})
	want := []span{{0x400000, 0x016df000 - 0x400000}, {0x016df000, 0x02aeb000 - 0x016df000}}
	if len(got) != len(want) {
		t.Fatalf("dropped %x, want %x (the binary's read-only private mappings without private pages only)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: dropped %x, want %x", i, got[i], want[i])
		}
	}
	if n != int(want[0].length+want[1].length) {
		t.Errorf("returned %d bytes, want %d", n, want[0].length+want[1].length)
	}
}

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
	exe, spans := binaryMappings()
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
