package main

import (
	"os"
	"path"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
)

// defaultGCPercent is the collector's target when GOGC is not set: Go's
// own. It was 200 while every batch allocated its records and typed fields
// afresh (1.1 GB per million nginx lines); now that those are reused once
// acknowledged (internal/tail's record slabs, the rules transform's field
// slabs) and the read chunks are most of what is left (0.2 GB), 100 costs
// few collections (regex pack: 30 for 1M lines, was 89 at 200 before
// recycling) and keeps the heap at twice the live set instead of three
// times: on the regex pack, peak RSS 35.7 → 30.9 MiB for 9% more CPU than
// 200 with recycling (7 interleaved pairs; 150 gave 33.7 MiB for 2%).
const defaultGCPercent = 100

// tuneGC applies the agent's collector defaults; GOGC and GOMEMLIMIT, when
// set, win. The memory limit of the agent's container becomes a soft limit
// at 90% of it, so the heap is collected harder before the container would
// be OOM-killed: OCTOAGENT_MEMORY_LIMIT (bytes; the Helm chart sets it from
// the container's limit) when set, else the limit of the process's cgroup
// (v2 memory.max or v1 memory.limit_in_bytes), read with readFile.
func tuneGC(getenv func(string) string, readFile func(string) ([]byte, error)) (gcPercent int, memLimit int64) {
	gcPercent, memLimit = -2, -1 // unchanged
	if getenv("GOGC") == "" {
		gcPercent = defaultGCPercent
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		n, err := strconv.ParseInt(strings.TrimSpace(getenv("OCTOAGENT_MEMORY_LIMIT")), 10, 64)
		if err != nil || n <= 0 {
			n = cgroupMemoryLimit(readFile)
		}
		if n > 0 {
			memLimit = n / 10 * 9
			debug.SetMemoryLimit(memLimit)
		}
	}
	return gcPercent, memLimit
}

// cgroupMemoryLimit returns the memory limit of the process's cgroup in
// bytes, or 0 when there is none (or it cannot be read). With cgroup v2
// it is memory.max of the process's cgroup; with v1, memory.limit_in_bytes
// of its memory cgroup. Inside a container's cgroup namespace the path in
// /proc/self/cgroup is "/", the container's own cgroup, mounted at the root.
func cgroupMemoryLimit(readFile func(string) ([]byte, error)) int64 {
	self, err := readFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(self), "\n") {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var files []string
		switch {
		case parts[0] == "0" && parts[1] == "":
			files = []string{path.Join("/sys/fs/cgroup", parts[2], "memory.max"), "/sys/fs/cgroup/memory.max"}
		case hasController(parts[1], "memory"):
			files = []string{path.Join("/sys/fs/cgroup/memory", parts[2], "memory.limit_in_bytes"), "/sys/fs/cgroup/memory/memory.limit_in_bytes"}
		default:
			continue
		}
		for _, f := range files {
			if b, err := readFile(f); err == nil {
				if n := parseLimit(string(b)); n > 0 {
					return n
				}
				break // read, and unlimited
			}
		}
	}
	return 0
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// parseLimit reads a cgroup limit: "max" (v2) and v1's "no limit" (a
// number near 2^63) are 0.
func parseLimit(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 {
		return 0
	}
	return n
}

// heapProfileRate is Go's default heap profiling rate, restored by
// --memprofile.
const heapProfileRate = 512 << 10

// heapLimit is what init decided: whether run adapts the heap's soft limit
// (GOGC and GOMEMLIMIT unset) and under what ceiling (the container's
// soft limit, 0 for none).
var heapLimit struct {
	adapt bool
	ceil  int64
}

// limitPerLive and limitOverhead size the heap's soft limit from the live
// heap: limitPerLive times the median live heap of the last collections
// (at least twice the last one), plus limitOverhead for what the runtime
// holds besides the heap (its metadata, stacks, the pages freed by large
// objects that are not reused yet).
//
// GOGC lets the heap grow to (1+GOGC/100) times what was live at the last
// collection. In steady state the limit is at least that, and does not
// bind; it binds when one collection finds more in flight than usual (a
// queue that filled while its consumer waited), which would let the heap
// grow by that factor from there, and the pages it maps stay resident. On the nginx pack at
// full speed: peak RSS 41.5 → 36.9 MiB at the same CPU (9 interleaved
// pairs); 4 MiB of overhead instead of 8 gave 31.5 MiB for 8% more CPU,
// the collector running more often. README, Performance, "Memory at rest
// and at peak".
const (
	limitPerLive  = 3
	limitOverhead = 8 << 20
)

// heapLimiter computes the heap's soft limit after each collection.
type heapLimiter struct {
	live [8]uint64 // the live heap after the last collections
	n    int
	ceil int64 // the container's soft limit, 0 for none
}

// next records the live heap after a collection and returns the limit.
func (h *heapLimiter) next(live uint64) int64 {
	h.live[h.n%len(h.live)] = live
	h.n++
	recent := slices.Clone(h.live[:min(h.n, len(h.live))])
	slices.Sort(recent)
	median := int64(recent[len(recent)/2])
	l := max(median*limitPerLive, int64(live)*2) + limitOverhead
	if h.ceil > 0 {
		l = min(l, h.ceil)
	}
	return l
}

// gcSentinel is allocated so that its finalizer runs after a collection
// (it holds a pointer: the tiny allocator never frees objects one by one).
type gcSentinel struct{ _ *int }

// adaptHeapLimit sets the heap's soft limit after every collection from the
// live heap (see heapLimiter), unless GOGC or GOMEMLIMIT is set.
func adaptHeapLimit() {
	if !heapLimit.adapt {
		return
	}
	h := &heapLimiter{ceil: heapLimit.ceil}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				debug.SetMemoryLimit(h.next(sample[0].Value.Uint64()))
			}
			arm()
		})
	}
	arm()
}

func init() {
	_, limit := tuneGC(os.Getenv, os.ReadFile)
	heapLimit.adapt = os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == ""
	heapLimit.ceil = max(limit, 0)
	// No heap profile is kept unless --memprofile asks for one: Go samples
	// an allocation every 512 KiB by default, each sample walking the
	// allocating stack (the binary's function tables, mapped in for it)
	// and kept in a table of its own.
	runtime.MemProfileRate = 0
}
