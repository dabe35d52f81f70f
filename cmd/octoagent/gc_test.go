package main

import (
	"io/fs"
	"runtime/debug"
	"testing"
)

// files reads from a map, like os.ReadFile from a fake /proc and /sys.
func files(m map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if s, ok := m[name]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
}

func TestTuneGCDefaultsAndOverrides(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	cgroup := files(map[string]string{"/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/memory.max": "1073741824\n"})
	env := map[string]string{"OCTOAGENT_MEMORY_LIMIT": "268435456"}
	gc, limit := tuneGC(func(k string) string { return env[k] }, cgroup)
	if gc != defaultGCPercent || limit != 268435456/10*9 {
		t.Fatalf("defaults: GOGC %d, memory limit %d", gc, limit)
	}
	env = map[string]string{"GOGC": "50", "GOMEMLIMIT": "100MiB", "OCTOAGENT_MEMORY_LIMIT": "268435456"}
	if gc, limit := tuneGC(func(k string) string { return env[k] }, cgroup); gc != -2 || limit != -1 {
		t.Fatalf("GOGC and GOMEMLIMIT set, yet the agent changed them: %d %d", gc, limit)
	}
	env = map[string]string{"OCTOAGENT_MEMORY_LIMIT": "not a number"}
	if _, limit := tuneGC(func(k string) string { return env[k] }, files(nil)); limit != -1 {
		t.Fatalf("a bad OCTOAGENT_MEMORY_LIMIT and no cgroup set a limit: %d", limit)
	}
	env = map[string]string{}
	if _, limit := tuneGC(func(k string) string { return env[k] }, cgroup); limit != 1073741824/10*9 {
		t.Fatalf("cgroup limit 1 GiB gave a soft limit of %d", limit)
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"v2 in a container", map[string]string{"/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/memory.max": "134217728\n"}, 134217728},
		{"v2 nested path", map[string]string{"/proc/self/cgroup": "0::/kubepods/pod1/c1\n", "/sys/fs/cgroup/kubepods/pod1/c1/memory.max": "67108864\n", "/sys/fs/cgroup/memory.max": "max\n"}, 67108864},
		{"v2 path not mounted: the root's", map[string]string{"/proc/self/cgroup": "0::/kubepods/pod1/c1\n", "/sys/fs/cgroup/memory.max": "67108864\n"}, 67108864},
		{"v2 unlimited", map[string]string{"/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/memory.max": "max\n"}, 0},
		{"v1", map[string]string{"/proc/self/cgroup": "5:cpuacct,cpu:/\n4:memory:/docker/abc\n0::/\n", "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "536870912\n"}, 536870912},
		{"v1 unlimited", map[string]string{"/proc/self/cgroup": "4:memory:/x\n", "/sys/fs/cgroup/memory/x/memory.limit_in_bytes": "9223372036854771712\n"}, 0},
		{"no cgroup file", map[string]string{}, 0},
		{"garbage", map[string]string{"/proc/self/cgroup": "nonsense\n0::/\n", "/sys/fs/cgroup/memory.max": "lots\n"}, 0},
	} {
		if got := cgroupMemoryLimit(files(c.files)); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

func TestHeapLimiter(t *testing.T) {
	const mib = 1 << 20
	h := &heapLimiter{}
	// Steady: three times the live heap, plus the overhead.
	var l int64
	for range 8 {
		l = h.next(8 * mib)
	}
	if want := int64(3*8*mib + limitOverhead); l != want {
		t.Fatalf("steady 8 MiB live: limit %d MiB, want %d", l/mib, want/mib)
	}
	// One collection finds 12 MiB live: the limit stays near the usual
	// (the median), but never below twice what is live now.
	if l, want := h.next(12*mib), int64(3*8*mib+limitOverhead); l != want {
		t.Errorf("a spike to 12 MiB: limit %d MiB, want %d", l/mib, want/mib)
	}
	if l, want := h.next(20*mib), int64(2*20*mib+limitOverhead); l != want {
		t.Errorf("a spike to 20 MiB: limit %d MiB, want %d (twice the live heap)", l/mib, want/mib)
	}
	// A pipeline whose live heap grows for good: the median follows.
	for range 8 {
		l = h.next(40 * mib)
	}
	if want := int64(3*40*mib + limitOverhead); l != want {
		t.Errorf("grown to 40 MiB live: limit %d MiB, want %d", l/mib, want/mib)
	}
	// Under the container's soft limit.
	h = &heapLimiter{ceil: 64 * mib}
	if l := h.next(40 * mib); l != 64*mib {
		t.Errorf("container ceiling 64 MiB: limit %d MiB", l/mib)
	}
}
