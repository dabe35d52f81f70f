package main

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// initAllocs runs this test binary again with GODEBUG=inittrace=1 and no
// test, and returns the bytes each package's initialisation allocated, as
// the runtime reports them ("init PKG @T ms, T ms clock, N bytes, N allocs").
// The test binary links every component, as the agent does.
func initAllocs(t *testing.T) map[string]int {
	t.Helper()
	out := initTrace(t)
	line := regexp.MustCompile(`(?m)^init (\S+) @.*, (\d+) bytes, \d+ allocs$`)
	bytes := map[string]int{}
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[2])
		bytes[m[1]] += n
	}
	if len(bytes) < 50 {
		t.Fatalf("found %d package inits in the trace, want the agent's few hundred:\n%s", len(bytes), out)
	}
	return bytes
}

// initTrace runs this test binary again with GODEBUG=inittrace=1 and no
// test, and returns what the runtime printed: a line per package
// initialised, in the order of initialisation.
func initTrace(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s -test.run=^$: %v\n%s", os.Args[0], err, out)
	}
	return string(out)
}

// TestResidencyInitsEarly guards what internal/residency's watcher needs
// to cap the binary's resident pages while the packages initialise: Go
// initialises it among the first packages, which it gets by importing
// only bytes, strconv, syscall, sync/atomic and time (29th of 344; an
// import of os, directly or not, puts it after about a hundred others).
func TestResidencyInitsEarly(t *testing.T) {
	pkgs := regexp.MustCompile(`(?m)^init (\S+) @`).FindAllStringSubmatch(initTrace(t), -1)
	for i, m := range pkgs {
		if m[1] == "github.com/octostore/agent/internal/residency" {
			t.Logf("internal/residency is initialised %d of %d", i+1, len(pkgs))
			if i >= 40 {
				t.Errorf("internal/residency is initialised %d of %d packages, want among the first 40: does it import more than bytes, strconv, syscall, sync/atomic and time?", i+1, len(pkgs))
			}
			return
		}
	}
	t.Fatalf("internal/residency not in the init trace of %d packages", len(pkgs))
}

// TestInitCostsLittle guards what starting the agent costs before it reads
// its config: Go initialises every linked package, whether or not the
// config uses its component, so no package of the agent's may do heavy
// work at init (compiling schemas, patterns or tables belongs on first use,
// sync.OnceValue), and the JSON-schema library (used by the OpenLineage
// sink only) compiles its drafts' metaschemas on first use
// (third_party/jsonschema), not at init as upstream does (1.7 MB).
// It counts bytes allocated, not time.
func TestInitCostsLittle(t *testing.T) {
	bytes := initAllocs(t)
	const perPackage = 64 << 10
	var heavy []string
	total := 0
	for pkg, n := range bytes {
		total += n
		own := pkg == "main" || strings.HasPrefix(pkg, "github.com/octostore/agent/")
		if n > perPackage && (own || strings.HasPrefix(pkg, "github.com/santhosh-tekuri/jsonschema/")) {
			heavy = append(heavy, pkg+": "+strconv.Itoa(n)+" bytes")
		}
	}
	slices.Sort(heavy)
	for _, h := range heavy {
		t.Errorf("package init allocates more than %d bytes: %s; move the work to first use (sync.OnceValue)", perPackage, h)
	}
	t.Logf("%d package inits allocate %d bytes in all", len(bytes), total)
}
