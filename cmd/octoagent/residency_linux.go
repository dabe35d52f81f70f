//go:build linux

package main

import (
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/octostore/agent/internal/residency"
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
	residency.Stop()
	exe, spans := residency.Mappings()
	for _, s := range spans {
		_ = residency.Madvise(s.Start, s.Length, unix.MADV_DONTNEED)
		_ = residency.Madvise(s.Start, s.Length, unix.MADV_RANDOM)
	}
	if len(spans) > 0 {
		evictFile(exe)
	}
	debug.FreeOSMemory()
}

// dropBinaryPages drops the binary's read-only pages from the resident set.
// run calls it once the packages are initialised, before it loads the
// config, so that the peak of starting up is not the pages of package
// initialisation plus those of loading the config. Until the pipeline is
// built, internal/residency's watcher drops them too whenever they pass
// its threshold.
func dropBinaryPages() { residency.DropBinary() }

// evictFile drops file's cached pages that no process maps from the page
// cache: they are clean, and read again from the file when needed.
func evictFile(file string) {
	if f, err := os.Open(file); err == nil {
		_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
	}
}
