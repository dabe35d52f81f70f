package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const stream = `{"Action":"start","Package":"x/a"}
{"Action":"run","Package":"x/a","Test":"TestOK"}
{"Action":"output","Package":"x/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"x/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"x/a","Test":"TestOK","Elapsed":0}
{"Action":"run","Package":"x/a","Test":"TestEtcd"}
{"Action":"output","Package":"x/a","Test":"TestEtcd","Output":"=== RUN   TestEtcd\n"}
{"Action":"output","Package":"x/a","Test":"TestEtcd","Output":"    cluster.go:56: missing component etcd: etcd is not in PATH; set-up step: e2e/setup.sh (make test-deps): apt-get install -y etcd-server\n"}
{"Action":"output","Package":"x/a","Test":"TestEtcd","Output":"--- SKIP: TestEtcd (0.00s)\n"}
{"Action":"skip","Package":"x/a","Test":"TestEtcd","Elapsed":0}
{"Action":"run","Package":"x/a","Test":"TestSoak"}
{"Action":"output","Package":"x/a","Test":"TestSoak","Output":"    soak_test.go:20: soak test; skipped with -short\n"}
{"Action":"skip","Package":"x/a","Test":"TestSoak","Elapsed":0}
{"Action":"output","Package":"x/a","Output":"ok  \tx/a\t0.1s\n"}
{"Action":"pass","Package":"x/a","Elapsed":0.1}
{"Action":"run","Package":"x/b","Test":"TestBad"}
{"Action":"output","Package":"x/b","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"x/b","Test":"TestBad","Output":"    b_test.go:9: the whole story\n"}
{"Action":"output","Package":"x/b","Test":"TestBad","Output":"        second line\n"}
{"Action":"output","Package":"x/b","Test":"TestBad","Output":"--- FAIL: TestBad (0.50s)\n"}
{"Action":"fail","Package":"x/b","Test":"TestBad","Elapsed":0.5}
{"Action":"fail","Package":"x/b","Elapsed":0.6}
{"Action":"output","Package":"x/c","Output":"?   \tx/c\t[no test files]\n"}
{"Action":"skip","Package":"x/c","Elapsed":0}
`

func TestReport(t *testing.T) {
	comps := filepath.Join(t.TempDir(), "components.tsv")
	os.WriteFile(comps, []byte("# name\tstatus\tversion\tseconds\tpath\tnote\tused_by\n"+
		"go\tready\tgo1.26.8\t0.1\t/usr/local/go/bin/go\t\teverything\n"+
		"etcd\tmissing\t-\t0.1\t-\tnot root; to install: apt-get install -y etcd-server\tthe Kubernetes tests\n"), 0o644)
	var out bytes.Buffer
	s := &summary{w: &out, tests: map[string]*test{}, pkgs: map[string]*pkg{}, builds: map[string][]string{}, buildBad: map[string]bool{}}
	s.read(strings.NewReader(stream))
	failed := s.report(comps, "", "")
	got := out.String()
	if !failed {
		t.Error("a failed test must make the summary fail")
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if last := lines[len(lines)-1]; last != "1 passed, 1 failed, 2 skipped" {
		t.Errorf("last line %q", last)
	}
	for _, want := range []string{
		"=== RUN   TestBad\n    b_test.go:9: the whole story\n        second line\n--- FAIL: TestBad (0.50s)\n",
		"ok   x/a", "FAIL x/b",
		"etcd            missing      0.1s  not root; to install: apt-get install -y etcd-server",
		"needed by: the Kubernetes tests",
		"etcd left out 1 test(s): TestEtcd",
		"== skipped: 1 for a missing component, 1 chosen ==",
		"x/a                    TestEtcd: missing component etcd: etcd is not in PATH",
		"x/a                    TestSoak: soak test; skipped with -short",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "x/c") {
		t.Errorf("a package without tests is listed:\n%s", got)
	}
}
