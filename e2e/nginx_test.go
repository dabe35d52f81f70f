package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/internal/testenv"
	"github.com/octostore/agent/internal/testfig"
)

// ensureNginx returns the nginx binary (e2e/setup.sh installs Debian's
// package); Missing if there is none.
func ensureNginx(t *testing.T) string {
	t.Helper()
	return testenv.LookPath(t, "nginx", "nginx", "/usr/sbin", "/usr/local/sbin")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestNginxAccessLogWithRotation runs a real nginx on 127.0.0.1 with a
// temporary prefix, sends it requests with varied paths and statuses,
// rotates its access log halfway (mv + USR1, what logrotate does), and
// checks that exactly one http_request record per request comes out of a
// regex rule, with the path and status that were requested.
func TestNginxAccessLogWithRotation(t *testing.T) {
	nginx := ensureNginx(t)
	agentBinary(t)
	dir := t.TempDir()
	for _, d := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o755)
	port := freePort(t)
	access := filepath.Join(dir, "logs", "access.log")
	user := ""
	if os.Geteuid() == 0 {
		// The workers reopen the log on USR1; the test's temp dirs are
		// private to root, so the workers run as root too.
		user = "user root;"
	}
	writeFile(t, filepath.Join(dir, "nginx.conf"), fmt.Sprintf(`daemon off;
%[4]s
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log %[2]s combined;
  client_body_temp_path %[1]s/tmp/body;
  proxy_temp_path %[1]s/tmp/proxy;
  fastcgi_temp_path %[1]s/tmp/fastcgi;
  uwsgi_temp_path %[1]s/tmp/uwsgi;
  scgi_temp_path %[1]s/tmp/scgi;
  server {
    listen 127.0.0.1:%[3]d;
    location / { return 200 "ok\n"; }
    location /missing/ { return 404; }
    location /broken/ { return 500; }
    location /moved/ { return 301 /; }
    location /created/ { return 201 "created\n"; }
  }
}
`, dir, access, port, user))
	ng := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	ngOut := &syncBuffer{}
	ng.Stdout, ng.Stderr = ngOut, ngOut
	if err := ng.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	ngDone := make(chan struct{})
	go func() { ng.Wait(); close(ngDone) }()
	t.Cleanup(func() {
		_ = ng.Process.Signal(syscall.SIGTERM) // fast shutdown: keep-alive connections do not hold it
		select {
		case <-ngDone:
		case <-time.After(10 * time.Second):
			_ = ng.Process.Kill()
			<-ngDone
		}
		if t.Failed() {
			errLog, _ := os.ReadFile(filepath.Join(dir, "logs", "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", ngOut.String(), tail(string(errLog), 4000))
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	waitFor(t, startDeadline, "nginx to answer", func() bool {
		select {
		case <-ngDone:
			t.Fatalf("nginx exited: %s", ngOut.String())
		default:
		}
		resp, err := client.Get(base + "/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	// The probe requests above are in the log too: start from a clean one.
	if err := os.Rename(access, access+".probe"); err != nil {
		t.Fatal(err)
	}
	if err := ng.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	os.Remove(access + ".probe")
	waitFor(t, startDeadline, "nginx to reopen its access log", func() bool {
		_, err := os.Stat(access)
		return err == nil
	})

	out := filepath.Join(dir, "out.jsonl")
	cfg := filepath.Join(dir, "agent.hcl")
	writeFile(t, cfg, fmt.Sprintf(`agent {
  data_dir  = %s
  http_addr = "127.0.0.1:0"
}

source "file" "nginx" {
  paths         = [%s]
  poll_interval = "20ms"
}

transform "nginx_access" {
  inputs = [source.file.nginx]
  kind   = "http_request"

  parse "regex" {
    pattern = "^(?P<client_ip>\\S+) \\S+ (?P<user>\\S+) \\[(?P<time>[^\\]]+)\\] \"(?P<method>[A-Z]+) (?P<path>[^ \"]+) (?P<protocol>[^\"]+)\" (?P<status>\\d{3}) (?P<bytes>\\d+|-) \"(?P<referer>[^\"]*)\" \"(?P<user_agent>[^\"]*)\"$"
  }
}

sink "file" "out" {
  inputs = [transform.nginx_access, transform.nginx_access.dead_letter]
  path   = %s
}
`, hclString(filepath.Join(dir, "data")), hclString(access+"*"), hclString(out)))
	p := startAgent(t, dir, "run", "-c", cfg)

	const n = 600
	kinds := []struct {
		prefix string
		status int
	}{{"/app/", 200}, {"/missing/", 404}, {"/broken/", 500}, {"/moved/", 301}, {"/created/", 201}}
	want := map[string]int{}
	rotatedAt := 0
	for i := 0; i < n; i++ {
		k := kinds[i%len(kinds)]
		path := fmt.Sprintf("%sitem-%d?page=%d&sort=%s", k.prefix, i, i%7, []string{"asc", "desc"}[i%2])
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != k.status {
			t.Fatalf("GET %s: status %d, want %d", path, resp.StatusCode, k.status)
		}
		want[path] = k.status
		if i == n/2 {
			// logrotate's way: rename, then ask nginx to reopen its logs.
			if err := os.Rename(access, access+".1"); err != nil {
				t.Fatal(err)
			}
			if err := ng.Process.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			rotatedAt = i
		}
	}
	waitFor(t, startDeadline, fmt.Sprintf("%d records", n), func() bool { return countLines(t, out) >= n })
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now
	p.Signal(t, syscall.SIGTERM)
	if code := p.WaitExit(t, exitDeadline); code != 0 {
		t.Fatalf("agent exit code %d", code)
	}
	recs := readJSONLines(t, out)
	got := map[string]int{}
	bad := 0
	for _, r := range recs {
		path, _ := r.Fields["path"].(string)
		status, _ := r.Fields["status"].(string)
		if r.Kind != "http_request" {
			bad++
			t.Errorf("record of kind %q: %v", r.Kind, r.Fields)
			continue
		}
		st, _ := strconv.Atoi(status)
		if w, ok := want[path]; !ok || w != st {
			bad++
			t.Errorf("record for %q has status %q; requested status %d (known: %v)", path, status, w, ok)
		}
		got[path]++
	}
	dups, missing := 0, 0
	for path := range want {
		switch c := got[path]; {
		case c == 0:
			missing++
		case c > 1:
			dups += c - 1
		}
	}
	_, rotatedErr := os.Stat(access + ".1")
	testfig.Report(t, "nginx requests: %d (rotated by mv + USR1 after request %d); http_request records: %d; missing: %d; duplicates: %d; wrong path/status: %d",
		n, rotatedAt, len(recs), missing, dups, bad)
	if rotatedErr != nil {
		t.Errorf("access.log.1 does not exist: %v", rotatedErr)
	}
	if len(recs) != n || missing != 0 || dups != 0 || bad != 0 {
		t.Fatalf("got %d records for %d requests (%d missing, %d duplicates, %d wrong)", len(recs), n, missing, dups, bad)
	}
}
