//go:build linux

package residency

import (
	"bufio"
	"os"
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
	var got []Span
	n := DropFileMappings([]byte(smaps), "/usr/bin/octoagent", func(start, length uintptr) error {
		got = append(got, Span{start, length})
		return nil
	})
	want := []Span{{0x400000, 0x016df000 - 0x400000}, {0x016df000, 0x02aeb000 - 0x016df000}}
	if len(got) != len(want) {
		t.Fatalf("dropped %x, want %x (the binary's read-only private mappings without private pages only)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: dropped %x, want %x", i, got[i], want[i])
		}
	}
	if n != int(want[0].Length+want[1].Length) {
		t.Errorf("returned %d bytes, want %d", n, want[0].Length+want[1].Length)
	}
}

// dropFileMappingsStrings is DropFileMappings as it was written with
// bufio, strings and strconv, before this package had to do without them:
// FuzzDropFileMappings checks that both drop the same mappings.
func dropFileMappingsStrings(smaps string, file string, drop func(start, length uintptr)) {
	var start, end uint64
	candidate, anon := false, false
	flush := func() {
		if candidate && !anon {
			drop(uintptr(start), uintptr(end-start))
		}
		candidate, anon = false, false
	}
	sc := bufio.NewScanner(strings.NewReader(smaps))
	sc.Buffer(nil, len(smaps)+1)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Anonymous:"); ok {
			if strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")) != "0" {
				anon = true
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 || !strings.Contains(f[0], "-") || strings.HasSuffix(f[0], ":") {
			continue
		}
		flush()
		if len(f) != 6 || f[5] != file || len(f[1]) != 4 || f[1][1] == 'w' || f[1][3] != 'p' {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		var err1, err2 error
		start, err1 = strconv.ParseUint(lo, 16, 64)
		end, err2 = strconv.ParseUint(hi, 16, 64)
		candidate = err1 == nil && err2 == nil && end > start
	}
	flush()
}

// FuzzDropFileMappings compares DropFileMappings with the strings-based
// parser it replaced, on smaps-like input: the same mappings, in the same
// order. Only blanks differ: strings.Fields splits at any Unicode space,
// this package at ASCII ones, the only ones /proc writes; the comparison
// skips input with bytes above 0x7f. (testdata holds a line with a \r
// inside it, which fields once did not split at.)
func FuzzDropFileMappings(f *testing.F) {
	f.Add("00400000-016df000 r-xp 00000000 fe:00 1 /bin/a\nAnonymous:      0 kB\n016df000-02aeb000 r--p 012df000 fe:00 1 /bin/a\nAnonymous:      4 kB\n")
	f.Add("00400000-016df000 r-xp 00000000 fe:00 1 /bin/a\nSize: 4 kB\nVmFlags: rd ex\n7f00-7f01 rw-p 0 0:0 0\n")
	f.Add("10-20 r--p 0 fe:00 1 /bin/a\n20-30 r--p 0 fe:00 1 /bin/a (deleted)\n30-20 r--p 0 fe:00 1 /bin/a\nAnonymous: x kB\n")
	if b, err := os.ReadFile("/proc/self/smaps"); err == nil {
		f.Add(string(b[:min(len(b), 4<<10)])) // the first mappings: enough to seed, small enough to mutate fast
	}
	f.Fuzz(func(t *testing.T, smaps string) {
		for _, c := range []byte(smaps) {
			if c >= 0x80 {
				return // may be a Unicode blank, which only strings.Fields splits at
			}
		}
		file := "/bin/a"
		var want, got []Span
		dropFileMappingsStrings(smaps, file, func(s, l uintptr) { want = append(want, Span{s, l}) })
		DropFileMappings([]byte(smaps), file, func(s, l uintptr) error {
			got = append(got, Span{s, l})
			return nil
		})
		if len(got) != len(want) {
			t.Fatalf("dropped %x, the strings-based parser %x", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("dropped %x, the strings-based parser %x", got, want)
			}
		}
	})
}
