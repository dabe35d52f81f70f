//go:build linux

package main

import (
	"bufio"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// releaseStartupMemory gives back what starting up left resident and the
// running pipeline does not need.
//
// The binary's code and read-only data are mapped from its file. Go runs
// the initialisation of every linked package (client-go's API types,
// kafka-go's protocol tables, gRPC, Prometheus, ...) whether or not the
// config uses the component, and each init touches a few pages of its own
// package; the kernel maps the file in around every fault (64 KiB at a
// time), so starting up leaves about 24 MiB of the binary resident, of
// which the pipeline then runs a few. MADV_DONTNEED on the read-only file
// mappings drops them from the process: they stay in the page cache (clean,
// shared with any other process running the binary), and the pages the
// agent runs are mapped again on their next use, from memory, without I/O.
// Writable mappings (.data, .bss, the heap) are left alone, and so is a
// read-only mapping that holds a private copy of any page (see
// dropFileMappings): a position-independent build's relocated RELRO data,
// a breakpoint or uprobe set in the code.
//
// Once the pipeline is built, the pages it maps again are only those it
// reads: the mappings are marked MADV_RANDOM and the binary's cached
// pages that no process maps are dropped from the page cache
// (POSIX_FADV_DONTNEED). Otherwise a fault maps the 64 KiB of cached
// file around the page it needs (the kernel's fault-around), and the
// running pipeline reads its code and, for the collector, stack maps, the
// function table and type data from all over the binary: 11–15 MiB
// resident for about 5 MiB of pages read. A page the agent needs later is
// read from the file then, one at a time.
//
// Then one collection frees the garbage of startup (decoding the config,
// compiling rules and schemas) and hands its pages back to the kernel: at
// once with GODEBUG=madvdontneed=1 (Go's default); the release build's
// madvdontneed=0 (MADV_FREE) leaves them counted in the RSS until the
// kernel needs them.
func releaseStartupMemory() {
	exe, spans := binaryMappings()
	for _, s := range spans {
		_ = madvise(s.start, s.length, unix.MADV_DONTNEED)
		_ = madvise(s.start, s.length, unix.MADV_RANDOM)
	}
	if len(spans) > 0 {
		evictFile(exe)
	}
	debug.FreeOSMemory()
}

// dropBinaryPages drops the binary's read-only pages from the resident set.
// run calls it once the packages are initialised, before it loads the
// config, so that the peak of starting up is not the pages of package
// initialisation plus those of loading the config.
func dropBinaryPages() {
	_, spans := binaryMappings()
	for _, s := range spans {
		_ = madvise(s.start, s.length, unix.MADV_DONTNEED)
	}
}

// span is a mapping's address range.
type span struct{ start, length uintptr }

// binaryMappings returns the path of the running binary and its read-only
// private mappings that hold no page of their own (see dropFileMappings).
func binaryMappings() (exe string, spans []span) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return exe, nil
	}
	defer f.Close()
	dropFileMappings(f, exe, func(start, length uintptr) error {
		spans = append(spans, span{start, length})
		return nil
	})
	return exe, spans
}

func madvise(start, length uintptr, advice int) error {
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, start, length, uintptr(advice)); e != 0 {
		return e
	}
	return nil
}

// evictFile drops file's cached pages that no process maps from the page
// cache: they are clean, and read again from the file when needed.
func evictFile(file string) {
	if f, err := os.Open(file); err == nil {
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
	}
}

// dropFileMappings calls drop on every private read-only mapping of file
// listed in smaps (the format of /proc/PID/smaps) that holds no page of
// its own, and returns the bytes it dropped. A read-only mapping can hold
// private copies of the file's pages: the relocated pointers of a
// position-independent build's RELRO segment (written by the dynamic
// loader, then made read-only), a debugger's breakpoints. smaps counts
// them as Anonymous; dropping them would put the file's bytes back in
// their place, so such a mapping is left alone.
func dropFileMappings(smaps io.Reader, file string, drop func(start, length uintptr) error) int {
	n := 0
	var start, end uint64
	candidate, anon := false, false
	flush := func() {
		if candidate && !anon && drop(uintptr(start), uintptr(end-start)) == nil {
			n += int(end - start)
		}
		candidate, anon = false, false
	}
	sc := bufio.NewScanner(smaps)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "Anonymous:"); ok {
			if strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")) != "0" {
				anon = true
			}
			continue
		}
		// address perms offset dev inode path: a mapping's first line
		f := strings.Fields(line)
		if len(f) < 5 || !strings.Contains(f[0], "-") || strings.HasSuffix(f[0], ":") {
			continue // one of the mapping's other counters
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
	return n
}
