package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/e2e/podrun"
)

// Generous deadlines: the tests poll until something happens and only fail
// when it has not happened by these, so a slow or loaded machine is slower,
// not flaky.
const (
	startDeadline = 30 * time.Second // for the agent to start serving or to deliver
	exitDeadline  = 30 * time.Second // for the agent to exit after a signal
	onceDeadline  = 60 * time.Second // for a run --once to finish
	pollEvery     = 20 * time.Millisecond
)

var (
	buildOnce sync.Once
	buildDir  string // temp dir holding the binary; removed by TestMain
	binPath   string
	buildErr  error

	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

func TestMain(m *testing.M) {
	// When this binary is started again to run a process as a pod's
	// container would run (podrun.Command), it does that and nothing else.
	podrun.Init()
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// moduleRoot returns the directory holding go.mod, found by walking up from
// the test's working directory (the package directory under go test).
func moduleRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			if st, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && !st.IsDir() {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = errors.New("no go.mod found above the working directory")
				return
			}
			dir = parent
		}
	})
	if rootErr != nil {
		t.Fatalf("module root: %v", rootErr)
	}
	return rootDir
}

// goTool returns the go command: the one of the toolchain that built this
// test if it is there, else the first on PATH.
func goTool() (string, error) {
	if root := runtime.GOROOT(); root != "" {
		p := filepath.Join(root, "bin", "go")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return exec.LookPath("go")
}

// agentBinary builds ./cmd/octoagent once per test process and returns the
// path of the binary. OCTOAGENT_E2E_RACE=1 builds it with -race, so that the
// e2e runs also look for data races inside the agent.
func agentBinary(t testing.TB) string {
	t.Helper()
	root := moduleRoot(t)
	buildOnce.Do(func() {
		goBin, err := goTool()
		if err != nil {
			buildErr = fmt.Errorf("cannot find the go command: %w", err)
			return
		}
		buildDir, err = os.MkdirTemp("", "octoagent-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(buildDir, "octoagent")
		args := []string{"build"}
		if os.Getenv("OCTOAGENT_E2E_RACE") == "1" {
			args = append(args, "-race")
		}
		args = append(args, "-o", binPath, "./cmd/octoagent")
		cmd := exec.Command(goBin, args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%s %s: %v\n%s", goBin, strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build octoagent: %v", buildErr)
	}
	return binPath
}

// builtBinary is a program of the module built once per test process
// into the build directory.
type builtBinary struct {
	once sync.Once
	path string
	err  error
}

// get builds it (go build ARGS... -o NAME, with env added) the first time.
func (b *builtBinary) get(t testing.TB, name string, env []string, args ...string) string {
	t.Helper()
	agentBinary(t) // creates buildDir, removed by TestMain
	b.once.Do(func() {
		goBin, err := goTool()
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(buildDir, name)
		cmd := exec.Command(goBin, append([]string{"build", "-o", b.path}, args...)...)
		cmd.Dir = moduleRoot(t)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// syncBuffer is a bytes.Buffer that the process's output copier writes to
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *syncBuffer) String() string { return string(b.Bytes()) }

// agentProc is a started octoagent process.
type agentProc struct {
	Cmd    *exec.Cmd
	Stdout *syncBuffer
	Stderr *syncBuffer

	done    chan struct{} // closed once Wait returned
	waitErr error
}

// startAgent starts octoagent with args, in dir (the module root if dir is
// ""), with its output captured. The process is killed at the end of the
// test if it still runs, and its stderr is logged if the test failed.
func startAgent(t testing.TB, dir string, args ...string) *agentProc {
	t.Helper()
	bin := agentBinary(t)
	if dir == "" {
		dir = moduleRoot(t)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	return startProc(t, cmd, "octoagent "+strings.Join(args, " "))
}

// startProc starts cmd with its output captured; it is killed at the end
// of the test if it still runs, and its stderr is logged if the test
// failed or if it reported a data race (OCTOAGENT_E2E_RACE=1).
func startProc(t testing.TB, cmd *exec.Cmd, what string) *agentProc {
	t.Helper()
	p := &agentProc{Cmd: cmd, Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, done: make(chan struct{})}
	p.Cmd.Stdout = p.Stdout
	p.Cmd.Stderr = p.Stderr
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", what, err)
	}
	go func() {
		p.waitErr = p.Cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.Cmd.Process.Kill()
			<-p.done
		}
		if strings.Contains(p.Stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race (OCTOAGENT_E2E_RACE=1)", what)
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", what, tail(p.Stderr.String(), 8000))
		}
	})
	return p
}

// Exited reports whether the process has exited.
func (p *agentProc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process.
func (p *agentProc) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("send %v to octoagent: %v", sig, err)
	}
}

// WaitExit waits up to timeout for the process to exit and returns its exit
// code (-1 if a signal ended it). It fails the test (after killing the
// process) if it is still running by then.
func (p *agentProc) WaitExit(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.Cmd.Process.Kill()
		<-p.done
		t.Fatalf("octoagent did not exit within %v; stderr:\n%s", timeout, tail(p.Stderr.String(), 8000))
	}
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		t.Fatalf("wait for octoagent: %v", p.waitErr)
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Signaled reports the signal that ended the process, if one did. Call it
// after WaitExit.
func (p *agentProc) Signaled() (syscall.Signal, bool) {
	ws, ok := p.Cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return ws.Signal(), true
}

// runAgent runs octoagent to its end (at most onceDeadline) and returns its
// exit code, stdout and stderr.
func runAgent(t testing.TB, dir string, args ...string) (code int, stdout, stderr []byte) {
	t.Helper()
	p := startAgent(t, dir, args...)
	code = p.WaitExit(t, onceDeadline)
	return code, p.Stdout.Bytes(), p.Stderr.Bytes()
}

// addrRe matches the log line the agent writes once its HTTP server listens.
var addrRe = regexp.MustCompile(`msg="serving metrics and health" addr=(\S+)`)

// WaitHTTPAddr waits for the agent to log the address of its HTTP server
// (logged at info level) and returns it.
func (p *agentProc) WaitHTTPAddr(t testing.TB) string {
	t.Helper()
	var addr string
	waitFor(t, startDeadline, "the agent to log its HTTP address", func() bool {
		if p.Exited() {
			t.Fatalf("octoagent exited early; stderr:\n%s", tail(p.Stderr.String(), 8000))
		}
		if m := addrRe.FindSubmatch(p.Stderr.Bytes()); m != nil {
			addr = string(m[1])
			return true
		}
		return false
	})
	return addr
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(pollEvery)
	}
}

// decodeJSONLines decodes JSON lines in the record wire form. Every
// non-empty line must decode.
func decodeJSONLines(t testing.TB, data []byte) []agent.WireRecord {
	t.Helper()
	var out []agent.WireRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<16), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r agent.WireRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("line %d is not a record: %v\n%s", n, err, line)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read JSON lines: %v", err)
	}
	return out
}

// readJSONLines reads a JSON lines file written by a sink.
func readJSONLines(t testing.TB, path string) []agent.WireRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return decodeJSONLines(t, data)
}

// countLines counts the complete lines ("\n"-terminated) of a file; a
// missing file has none.
func countLines(t testing.TB, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return bytes.Count(data, []byte{'\n'})
}

// splitLines returns the lines of data; a last line without "\n" counts.
func splitLines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// hclString quotes s as an HCL string literal (no interpolation).
func hclString(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}

// writeFile writes a file, failing the test on error.
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}
