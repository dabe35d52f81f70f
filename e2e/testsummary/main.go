// Command testsummary reads `go test -json` and prints what `make test`
// ends with: one line per package as it finishes, the full output of every
// failed test, the figures the tests measured, the real components the
// set-up provided (e2e/setup.sh's components.tsv), a table of the tests
// per package, every skipped test with its reason, and a last line
//
//	N passed, N failed, N skipped
//
// Skips are told apart: those for a missing component (internal/testenv,
// "missing component NAME: ...") and those chosen (-short, a soak gate).
// It exits 1 if a test or a package failed, if the go test command failed,
// or if no test ran.
//
// Either pipe go test into it, or give the command after "--" (its exit
// status then counts too):
//
//	go test -json ./e2e/ | go run ./e2e/testsummary
//	go run ./e2e/testsummary -figures bin/figures.txt -- go test -json -race ./...
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/octostore/agent/internal/testenv"
)

type event struct {
	Time        time.Time
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Elapsed     float64
	Output      string
	FailedBuild string
}

type test struct {
	pkg, name string
	action    string // pass, fail, skip; "" while running
	output    []string
	elapsed   float64
}

type pkg struct {
	name            string
	action          string
	elapsed         float64
	output          []string // not attributed to a test
	noTests         bool
	pass, fail, skp int
	order           int
}

type summary struct {
	w        io.Writer
	tests    map[string]*test // pkg + "\x00" + name
	order    []*test
	pkgs     map[string]*pkg
	builds   map[string][]string // build output per import path
	buildBad map[string]bool
	other    []string // input lines that are not JSON
}

func main() {
	components := flag.String("components", filepath.Join(testenv.CacheDir(), "components.tsv"), "the set-up's status file (e2e/setup.sh)")
	figures := flag.String("figures", "", "a file of figures the tests measured (OCTOAGENT_FIGURES), printed if not empty")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go test -json ... | testsummary [flags]\n       testsummary [flags] -- go test -json ...\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	s := &summary{w: os.Stdout, tests: map[string]*test{}, pkgs: map[string]*pkg{}, builds: map[string][]string{}, buildBad: map[string]bool{}}
	var in io.Reader = os.Stdin
	var cmd *exec.Cmd
	if args := flag.Args(); len(args) > 0 {
		cmd = exec.Command(args[0], args[1:]...)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			fatal(err)
		}
		if err := cmd.Start(); err != nil {
			fatal(err)
		}
		in = out
	}
	s.read(in)
	cmdErr := ""
	if cmd != nil {
		if err := cmd.Wait(); err != nil {
			cmdErr = fmt.Sprintf("%s: %v", strings.Join(flag.Args(), " "), err)
		}
	}
	failed := s.report(*components, *figures, cmdErr)
	if failed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "testsummary:", err)
	os.Exit(2)
}

func (s *summary) read(in io.Reader) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil || e.Action == "" {
			// Not an event (go: downloading ..., a vet message): as is.
			fmt.Fprintln(s.w, string(line))
			s.other = append(s.other, string(line))
			continue
		}
		s.event(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(s.w, "testsummary: reading:", err)
	}
}

func (s *summary) pkg(name string) *pkg {
	p := s.pkgs[name]
	if p == nil {
		p = &pkg{name: name, order: len(s.pkgs)}
		s.pkgs[name] = p
	}
	return p
}

func (s *summary) event(e event) {
	switch e.Action {
	case "build-output":
		s.builds[e.ImportPath] = append(s.builds[e.ImportPath], e.Output)
		return
	case "build-fail":
		s.buildBad[e.ImportPath] = true
		return
	}
	if e.Package == "" {
		return
	}
	p := s.pkg(e.Package)
	if e.Test == "" {
		switch e.Action {
		case "output":
			p.output = append(p.output, e.Output)
			if strings.Contains(e.Output, "[no test files]") {
				p.noTests = true
			}
		case "pass", "fail", "skip":
			p.action, p.elapsed = e.Action, e.Elapsed
			s.pkgDone(p, e)
		}
		return
	}
	key := e.Package + "\x00" + e.Test
	t := s.tests[key]
	if t == nil {
		t = &test{pkg: e.Package, name: e.Test}
		s.tests[key] = t
		s.order = append(s.order, t)
	}
	switch e.Action {
	case "output":
		t.output = append(t.output, e.Output)
	case "pass", "fail", "skip":
		t.action, t.elapsed = e.Action, e.Elapsed
		switch e.Action {
		case "pass":
			p.pass++
		case "fail":
			p.fail++
			// Its whole output (from "=== RUN" to "--- FAIL"), at once,
			// as go test -v would have shown it.
			for _, l := range t.output {
				fmt.Fprint(s.w, l)
			}
		case "skip":
			p.skp++
		}
	}
}

// pkgDone prints the package's line, as go test does without -v.
func (s *summary) pkgDone(p *pkg, e event) {
	if p.noTests && p.pass+p.fail+p.skp == 0 {
		return
	}
	// Tests still running when the package ended (a panic, a timeout):
	// they failed.
	for _, t := range s.order {
		if t.pkg == p.name && t.action == "" {
			t.action = "fail"
			p.fail++
			fmt.Fprintf(s.w, "--- FAIL: %s (%s, did not finish)\n", t.name, short(t.pkg))
			for _, l := range t.output {
				fmt.Fprint(s.w, l)
			}
		}
	}
	status := "ok  "
	if e.Action == "fail" {
		status = "FAIL"
		// What the package printed outside any test (a build failure, a
		// panic, a timeout, TestMain), in full.
		if e.FailedBuild != "" {
			for _, l := range s.builds[e.FailedBuild] {
				fmt.Fprint(s.w, l)
			}
		}
		for _, l := range p.output {
			fmt.Fprint(s.w, l)
		}
	}
	fmt.Fprintf(s.w, "%s %-55s %7.1fs  %s\n", status, p.name, e.Elapsed, counts(p.pass, p.fail, p.skp))
}

func counts(pass, fail, skip int) string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", pass, fail, skip)
}

func short(pkg string) string { return strings.TrimPrefix(pkg, "github.com/octostore/agent/") }

var (
	logLine     = regexp.MustCompile(`^ {4,}[^ ]+\.go:\d+: (.*)$`)
	missingComp = regexp.MustCompile(`missing component ([^:\s]+):`)
)

// skipReason is the message a skipped test logged: the one naming a
// missing component if any, else the last one (t.Skip logs last).
func skipReason(t *test) (reason, component string) {
	var msgs []string
	for _, l := range t.output {
		l = strings.TrimRight(l, "\n")
		if m := logLine.FindStringSubmatch(l); m != nil {
			msgs = append(msgs, m[1])
		}
	}
	for _, m := range msgs {
		if c := missingComp.FindStringSubmatch(m); c != nil {
			return m, c[1]
		}
	}
	if len(msgs) == 0 {
		return "(no reason given)", ""
	}
	return msgs[len(msgs)-1], ""
}

// failComponent is the component a failed test named (CI: a missing
// component fails the test).
func failComponent(t *test) string {
	for _, l := range t.output {
		if c := missingComp.FindStringSubmatch(l); c != nil {
			return c[1]
		}
	}
	return ""
}

func (s *summary) report(components, figures, cmdErr string) (failed bool) {
	w := s.w
	if figures != "" {
		if b, err := os.ReadFile(figures); err == nil && len(b) > 0 {
			fmt.Fprintf(w, "\n== figures measured by the tests ==\n%s", b)
		}
	}

	// Per component: the tests it left out (skipped, or failed in CI).
	leftOut := map[string][]string{}
	for _, t := range s.order {
		var c string
		switch t.action {
		case "skip":
			_, c = skipReason(t)
		case "fail":
			c = failComponent(t)
		}
		if c != "" {
			leftOut[c] = append(leftOut[c], t.name)
		}
	}

	fmt.Fprintf(w, "\n== real components (e2e/setup.sh: %s) ==\n", components)
	recs, err := testenv.ReadStatus(components)
	var names []string
	if err != nil {
		fmt.Fprintf(w, "no status file (%v): run e2e/setup.sh (make test-deps)\n", err)
	} else {
		names = readOrder(components)
		fmt.Fprintf(w, "%-15s %-8s %8s  %s\n", "component", "status", "set-up", "version / why missing")
		for _, n := range names {
			r := recs[n]
			detail := r.Version
			if !r.Ready() {
				detail = r.Note
			}
			fmt.Fprintf(w, "%-15s %-8s %7ss  %s\n", n, r.Status, r.Seconds, detail)
			if !r.Ready() {
				fmt.Fprintf(w, "%-15s %-8s %8s  needed by: %s\n", "", "", "", r.UsedBy)
			}
		}
	}
	for _, c := range sortedKeys(leftOut) {
		fmt.Fprintf(w, "%s left out %d test(s): %s\n", c, len(leftOut[c]), strings.Join(leftOut[c], ", "))
	}

	// Per package.
	var pkgs []*pkg
	for _, p := range s.pkgs {
		if p.pass+p.fail+p.skp > 0 || p.action == "fail" {
			pkgs = append(pkgs, p)
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].name < pkgs[j].name })
	fmt.Fprintf(w, "\n== tests per package (subtests included) ==\n")
	fmt.Fprintf(w, "%-50s %6s %6s %6s %7s %8s\n", "package", "ran", "passed", "failed", "skipped", "time")
	var pass, fail, skip int
	for _, p := range pkgs {
		ran := p.pass + p.fail
		fmt.Fprintf(w, "%-50s %6d %6d %6d %7d %7.1fs\n", short(p.name), ran, p.pass, p.fail, p.skp, p.elapsed)
		pass += p.pass
		fail += p.fail
		skip += p.skp
		if p.action == "fail" && p.fail == 0 {
			failed = true // a build failure, a panic outside tests, a timeout
		}
	}

	// Skips, with their reasons.
	var chosen, missing []string
	for _, t := range s.order {
		if t.action != "skip" {
			continue
		}
		reason, c := skipReason(t)
		line := fmt.Sprintf("  %-22s %s: %s", short(t.pkg), t.name, reason)
		if c != "" {
			missing = append(missing, line)
		} else {
			chosen = append(chosen, line)
		}
	}
	fmt.Fprintf(w, "\n== skipped: %d for a missing component, %d chosen ==\n", len(missing), len(chosen))
	if len(missing) > 0 {
		fmt.Fprintln(w, "for a missing component (these fail under CI=true):")
		for _, l := range missing {
			fmt.Fprintln(w, l)
		}
	}
	if len(chosen) > 0 {
		fmt.Fprintln(w, "chosen (-short, gated, helpers):")
		for _, l := range chosen {
			fmt.Fprintln(w, l)
		}
	}

	var failedTests []string
	for _, t := range s.order {
		if t.action == "fail" {
			failedTests = append(failedTests, fmt.Sprintf("  %s %s", short(t.pkg), t.name))
		}
	}
	var failedPkgs []string
	for _, p := range pkgs {
		if p.action == "fail" {
			failedPkgs = append(failedPkgs, short(p.name))
		}
	}
	if len(failedTests) > 0 || len(failedPkgs) > 0 || cmdErr != "" {
		fmt.Fprintln(w, "\n== failed (their output is above) ==")
		for _, l := range failedTests {
			fmt.Fprintln(w, l)
		}
		if len(failedPkgs) > 0 {
			fmt.Fprintf(w, "  packages: %s\n", strings.Join(failedPkgs, ", "))
		}
		if cmdErr != "" {
			fmt.Fprintf(w, "  %s\n", cmdErr)
		}
	}
	if fail > 0 || len(failedPkgs) > 0 || cmdErr != "" {
		failed = true
	}
	if pass+fail+skip == 0 {
		fmt.Fprintln(w, "\nno test ran")
		failed = true
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, counts(pass, fail, skip))
	return failed
}

// readOrder is the components in the file's order.
func readOrder(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		names = append(names, strings.SplitN(l, "\t", 2)[0])
	}
	return names
}

func sortedKeys(m map[string][]string) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
