//go:build linux

// Package residency keeps the agent binary's file-backed pages from piling
// up in its resident set while it starts, and drops them from it.
//
// Go initialises every linked package before main runs (client-go's API
// types, kafka-go's protocol tables, gRPC, Prometheus, ...), whether or not
// the config uses the component, and each init touches a few pages of its
// own package's code and data. The kernel maps the cached file in around
// every fault (fault-around, 64 KiB at a time; MADV_RANDOM does not stop
// it), so by the end of the inits about 24 MiB of the binary is resident
// (9 of them before the first package's init: the runtime's own start
// reads the function and type tables), of which the agent then runs a few:
// that was the peak of an empty start, 28–29 MiB with the heap.
//
// The agent's main imports this package, and it imports nothing but
// bytes, strconv, syscall, sync/atomic and time (not os, which would make
// it wait for the initialisation of packages that sort after many
// third-party ones), so Go initialises it among the first thirty packages.
// Its init starts a watcher that reads the process's file-backed resident
// size (/proc/self/statm) every millisecond and, when it passes trimAt,
// drops the binary's read-only mappings (DropBinary): their pages stay in
// the page cache, and the ones still in use are mapped again on their next
// fault, from memory. It stops when main calls Stop (once the pipeline is
// built) or after watchFor.
//
// A threshold rather than a drop on every tick, and a high one: each drop
// makes the pages in use (the runtime, the collector's walk of the
// function tables, maps, reflect) fault in again, about 5 MiB of them
// within a millisecond, and reads /proc/self/smaps (1–3 ms). With 16 MiB,
// on the nginx pack (7 interleaved pairs each against main's binary, a
// private copy of it, on a loaded machine): an empty start peaks at 20.5
// MiB instead of 28.9 for 1.10 times the CPU (spread 0.98–1.38, about
// 0.016 s), 10,000 lines at 21.7 instead of 28.3 MiB for 1.06 times;
// 1,000,000 lines are unchanged (29.3 against 29.0 MiB, CPU 0.99: their
// peak is the running pipeline's). 12 MiB gave about 19.5 MiB for about
// twice that CPU; 20 MiB about 24.6 MiB; keeping the first 2 MiB of the
// code (the runtime's) mapped saved nothing. The watcher sleeps with
// time.Sleep, not a nanosleep system call: a goroutine blocked in a system
// call every millisecond has its P taken back by the runtime's monitor
// each time, which cost as much CPU as the drops.
package residency

import (
	"bytes"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// trimAt is the file-backed resident size past which the watcher drops the
// binary's pages; watchFor bounds how long it watches.
const (
	trimAt   = 16 << 20
	watchFor = 2 * time.Second
	tick     = time.Millisecond
)

var stopped atomic.Bool

func init() { go watch() }

// Stop ends the start-up watcher.
func Stop() { stopped.Store(true) }

func watch() {
	fd, err := syscall.Open("/proc/self/statm", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer syscall.Close(fd)
	page := uint64(syscall.Getpagesize())
	var buf [128]byte
	for i := 0; i < int(watchFor/tick) && !stopped.Load(); i++ {
		time.Sleep(tick)
		n, err := syscall.Pread(fd, buf[:], 0)
		if err != nil || n <= 0 {
			return
		}
		// size resident shared text lib data dt, in pages; shared is
		// RssFile + RssShmem.
		shared, ok := field(buf[:n], 2)
		if !ok {
			return
		}
		if shared*page > trimAt && !stopped.Load() {
			DropBinary()
		}
	}
}

// field returns the i-th space-separated decimal number of b.
func field(b []byte, i int) (uint64, bool) {
	for ; i > 0; i-- {
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			return 0, false
		}
		b = b[sp+1:]
	}
	if sp := bytes.IndexAny(b, " \n"); sp >= 0 {
		b = b[:sp]
	}
	return parseUint(b, 10)
}

// DropBinary drops the binary's read-only pages from the resident set
// (MADV_DONTNEED on the mappings Mappings returns).
func DropBinary() {
	_, spans := Mappings()
	for _, s := range spans {
		_ = Madvise(s.Start, s.Length, syscall.MADV_DONTNEED)
	}
}

// Span is a mapping's address range.
type Span struct{ Start, Length uintptr }

// Mappings returns the path of the running binary and its read-only
// private mappings that hold no page of their own (see DropFileMappings).
func Mappings() (exe string, spans []Span) {
	var p [4096]byte
	n, err := syscall.Readlink("/proc/self/exe", p[:])
	if err != nil || n <= 0 || n >= len(p) {
		return "", nil
	}
	// A replaced binary reads "PATH (deleted)"; its mappings, listed so
	// too, are left alone, as os.Executable's trimmed path left them.
	exe = string(bytes.TrimSuffix(p[:n], []byte(" (deleted)")))
	smaps, err := readFile("/proc/self/smaps")
	if err != nil {
		return exe, nil
	}
	DropFileMappings(smaps, exe, func(start, length uintptr) error {
		spans = append(spans, Span{start, length})
		return nil
	})
	return exe, spans
}

// readFile reads a file whole (os.ReadFile, without os).
func readFile(name string) ([]byte, error) {
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	b := make([]byte, 0, 64<<10)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := syscall.Read(fd, b[len(b):cap(b)])
		switch {
		case err == syscall.EINTR:
		case err != nil:
			return nil, err
		case n == 0:
			return b, nil
		default:
			b = b[:len(b)+n]
		}
	}
}

// Madvise applies advice to the address range.
func Madvise(start, length uintptr, advice int) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, start, length, uintptr(advice)); e != 0 {
		return e
	}
	return nil
}

// DropFileMappings calls drop on every private read-only mapping of file
// listed in smaps (the contents of /proc/PID/smaps) that holds no page of
// its own, and returns the bytes it dropped. A read-only mapping can hold
// private copies of the file's pages: the relocated pointers of a
// position-independent build's RELRO segment (written by the dynamic
// loader, then made read-only), a debugger's breakpoints. smaps counts
// them as Anonymous; dropping them would put the file's bytes back in
// their place, so such a mapping is left alone, and so is one whose
// Anonymous counter cannot be read.
func DropFileMappings(smaps []byte, file string, drop func(start, length uintptr) error) int {
	n := 0
	var start, end uint64
	candidate, anon := false, false
	flush := func() {
		if candidate && !anon && drop(uintptr(start), uintptr(end-start)) == nil {
			n += int(end - start)
		}
		candidate, anon = false, false
	}
	for len(smaps) > 0 {
		line := smaps
		if i := bytes.IndexByte(smaps, '\n'); i >= 0 {
			line, smaps = smaps[:i], smaps[i+1:]
		} else {
			smaps = nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("Anonymous:")); ok {
			if string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))) != "0" {
				anon = true
			}
			continue
		}
		// address perms offset dev inode [path]: a mapping's first line;
		// the other lines are counters ("Rss:      12 kB", "VmFlags: rd ex").
		var fs [6][]byte
		f := fields(fs[:0], line)
		if len(f) < 5 || bytes.IndexByte(f[0], '-') < 0 || f[0][len(f[0])-1] == ':' {
			continue
		}
		flush()
		if len(f) != 6 || string(f[5]) != file || len(f[1]) != 4 || f[1][1] == 'w' || f[1][3] != 'p' {
			continue
		}
		dash := bytes.IndexByte(f[0], '-')
		var ok1, ok2 bool
		start, ok1 = parseUint(f[0][:dash], 16)
		end, ok2 = parseUint(f[0][dash+1:], 16)
		candidate = ok1 && ok2 && end > start
	}
	flush()
	return n
}

// fields splits b at runs of ASCII blanks (the bytes bytes.TrimSpace and
// strings.Fields take for space: \t \n \v \f \r and the space) into at
// most cap(f) fields, the last holding the rest of b (a mapping's path may
// hold spaces).
func fields(f [][]byte, b []byte) [][]byte {
	for b = bytes.TrimSpace(b); len(b) > 0; {
		i := bytes.IndexAny(b, " \t\n\v\f\r")
		if i < 0 || len(f) == cap(f)-1 {
			return append(f, b)
		}
		f = append(f, b[:i])
		b = bytes.TrimSpace(b[i:])
	}
	return f
}

// parseUint parses b, a number in base, whole.
func parseUint(b []byte, base int) (uint64, bool) {
	n, err := strconv.ParseUint(string(b), base, 64)
	return n, err == nil
}
