// Package testenv is how a test says that a real component it runs (etcd,
// nginx, PostgreSQL, kube-apiserver, helm, Fluent Bit, ...) is not there.
//
// e2e/setup.sh (make test-deps, which make test runs first) installs or
// builds every component and records what it found in
// $OCTOAGENT_CACHE/components.tsv. A test that cannot find one calls
// Missing: on a developer's machine the test is skipped with the reason
// and the set-up step that provides the component; in CI (CI=true or
// CI=1) the test fails instead, so a broken install step cannot hide
// behind a skip that looks like a pass. Skips that are chosen (-short, a
// soak test gated on a variable) are not about components and stay plain
// t.Skip.
//
// Every message starts with "missing component NAME:", which
// e2e/testsummary uses to tell these skips from chosen ones.
package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// SetupStep is the command that provides every component.
const SetupStep = "e2e/setup.sh (make test-deps)"

// steps tells, per component, what e2e/setup.sh does to provide it. The
// names are those of setup.sh's component table (TestStepsMatchSetup
// checks that the two lists agree).
var steps = map[string]string{
	"go":             "none: Go is the prerequisite (go.mod's version, in /usr/local/go)",
	"gcc":            "apt-get install -y gcc libc6-dev",
	"nginx":          "apt-get install -y nginx",
	"postgresql":     "apt-get install -y postgresql",
	"etcd":           "e2e/k8s/build.sh builds etcd (the version k8s.io/kubernetes requires)",
	"kube-apiserver": "e2e/k8s/build.sh builds kube-apiserver and kube-controller-manager",
	"kubectl":        "e2e/k8s/build.sh builds kubectl",
	"helm":           "e2e/chart/tools.sh go-installs helm",
	"kubeconform":    "e2e/chart/tools.sh go-installs kubeconform",
	"kube-score":     "e2e/chart/tools.sh go-installs kube-score",
	"k8s-schemas":    "e2e/chart/tools.sh generates the schemas",
	"otelcol":        "e2e/bench/peers/build.sh builds the OpenTelemetry Collector",
	"mawk":           "apt-get install -y mawk",
	"chromium":       "apt-get install -y chromium",
	"fluent-bit":     "unpacks ../shared/tools/fluent-bit/fluent-bit.xz and apt-get installs libyaml-0-2 libsqlite3-0 libssl3",
}

// CI reports whether the tests run in CI, where a missing component fails
// the test: CI is set to something other than "", "0" or "false".
func CI() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "0", "false", "no":
		return false
	}
	return true
}

// CacheDir is where e2e/setup.sh caches what it builds and writes
// components.tsv: $OCTOAGENT_CACHE, default $HOME/.cache/octoagent.
func CacheDir() string {
	if d := os.Getenv("OCTOAGENT_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".cache", "octoagent")
}

// Record is one line of components.tsv.
type Record struct {
	Name, Status, Version, Seconds, Path, Note, UsedBy string
}

// Ready reports whether the set-up found the component working.
func (r Record) Ready() bool { return r.Status == "ready" }

var (
	recOnce sync.Once
	recs    map[string]Record
	recErr  error
)

// Status returns what e2e/setup.sh recorded for a component; ok is false
// when the set-up has not run (or knows no such component).
func Status(component string) (Record, bool) {
	recOnce.Do(func() { recs, recErr = ReadStatus(filepath.Join(CacheDir(), "components.tsv")) })
	r, ok := recs[component]
	return r, ok
}

// ReadStatus parses a components.tsv.
func ReadStatus(path string) (map[string]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]Record{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := strings.Split(line, "\t")
		for len(c) < 7 {
			c = append(c, "")
		}
		out[c[0]] = Record{Name: c[0], Status: c[1], Version: c[2], Seconds: c[3], Path: c[4], Note: c[5], UsedBy: c[6]}
	}
	return out, sc.Err()
}

// Message is the reason Missing gives: the component, why, the set-up step
// that provides it, and what the set-up recorded about it.
func Message(component, why string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "missing component %s: %s", component, why)
	step := steps[component]
	if step == "" {
		step = "see its component table"
	}
	fmt.Fprintf(&b, "; set-up step: %s: %s", SetupStep, step)
	if r, ok := Status(component); ok {
		if r.Ready() {
			fmt.Fprintf(&b, " (the set-up recorded it ready: %s at %s)", r.Version, r.Path)
		} else if r.Note != "" {
			fmt.Fprintf(&b, " (the set-up recorded it missing: %s)", r.Note)
		}
	} else {
		fmt.Fprintf(&b, " (the set-up has not run: no %s)", filepath.Join(CacheDir(), "components.tsv"))
	}
	return b.String()
}

// Missing ends the test because component is not there (why): it fails
// in CI and is skipped elsewhere, with the same message.
func Missing(t testing.TB, component, why string) {
	t.Helper()
	msg := Message(component, why)
	if CI() {
		t.Fatalf("%s [CI: a test may not skip for a missing component]", msg)
	}
	t.Skip(msg)
}

// LookPath returns the path of a component's executable file: the first
// of dirs that holds it, else PATH. Missing if it is in neither.
func LookPath(t testing.TB, component, file string, dirs ...string) string {
	t.Helper()
	for _, d := range dirs {
		p := filepath.Join(d, file)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	p, err := exec.LookPath(file)
	if err != nil {
		where := "PATH"
		if len(dirs) > 0 {
			where = strings.Join(dirs, ", ") + " or PATH"
		}
		Missing(t, component, fmt.Sprintf("%s is not in %s", file, where))
	}
	return p
}

// Path returns the executable that e2e/setup.sh provided for a component
// kept in the cache (fluent-bit, otelcol, ...), as its status file records
// it. Missing if the set-up did not record it ready or the file is gone.
func Path(t testing.TB, component string) string {
	t.Helper()
	r, ok := Status(component)
	switch {
	case !ok:
		Missing(t, component, "not in the set-up's status file")
	case !r.Ready():
		Missing(t, component, "the set-up could not provide it")
	}
	if st, err := os.Stat(r.Path); err != nil || st.Mode()&0o111 == 0 {
		Missing(t, component, fmt.Sprintf("%s is not an executable file", r.Path))
	}
	return r.Path
}
