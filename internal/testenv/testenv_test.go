package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The components of e2e/setup.sh's table and the steps here are the same.
func TestStepsMatchSetup(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "e2e", "setup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^components=\(([^)]*)\)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no components=(...) line in e2e/setup.sh")
	}
	setup := strings.Fields(string(m[1]))
	var here []string
	for c := range steps {
		here = append(here, c)
	}
	sort.Strings(setup)
	sort.Strings(here)
	if strings.Join(setup, " ") != strings.Join(here, " ") {
		t.Errorf("e2e/setup.sh provides %v, testenv knows %v", setup, here)
	}
}

func TestReadStatus(t *testing.T) {
	p := filepath.Join(t.TempDir(), "components.tsv")
	data := "# name\tstatus\tversion\tseconds\tpath\tnote\tused_by\n" +
		"etcd\tmissing\t-\t0.1\t-\tnot root; to install: apt-get install -y etcd-server\tthe Kubernetes tests\n" +
		"gcc\tready\tgcc 12.2.0\t0.0\t/usr/bin/gcc\t\tmake plugin\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadStatus(p)
	if err != nil {
		t.Fatal(err)
	}
	if r := recs["etcd"]; r.Ready() || !strings.HasPrefix(r.Note, "not root") || r.UsedBy != "the Kubernetes tests" {
		t.Errorf("etcd: %+v", r)
	}
	if r := recs["gcc"]; !r.Ready() || r.Path != "/usr/bin/gcc" {
		t.Errorf("gcc: %+v", r)
	}
}

// TestHelperMissing is run by TestMissing in a child process (and does
// nothing otherwise).
func TestHelperMissing(t *testing.T) {
	if os.Getenv("TESTENV_HELPER") != "1" {
		return
	}
	LookPath(t, "nginx", "no-such-nginx-binary", t.TempDir())
	t.Log("not reached")
}

// A missing component skips the test outside CI and fails it in CI, with
// a message naming the component and the set-up step.
func TestMissing(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_HELPER=1", "CI="+ci, "OCTOAGENT_CACHE="+t.TempDir())
		out, err := cmd.CombinedOutput()
		s := string(out)
		if !strings.Contains(s, "missing component nginx: no-such-nginx-binary is not in ") ||
			!strings.Contains(s, "set-up step: e2e/setup.sh (make test-deps): apt-get install -y nginx") ||
			!strings.Contains(s, "the set-up has not run") || strings.Contains(s, "not reached") {
			t.Errorf("CI=%q: unexpected output:\n%s", ci, s)
		}
		if ci == "" && (err != nil || !strings.Contains(s, "--- SKIP: TestHelperMissing")) {
			t.Errorf("CI unset: want a skip, got %v:\n%s", err, s)
		}
		if ci == "true" && (err == nil || !strings.Contains(s, "--- FAIL: TestHelperMissing")) {
			t.Errorf("CI=true: want a failure, got %v:\n%s", err, s)
		}
	}
}
