package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/octostore/agent/internal/testenv"
)

// A stand-in for Fluent Bit's Go proxy (src/proxy/go/go.c): a C program
// that dlopens out_octostore.so and calls its exports the way Fluent Bit
// does, with structs laid out as fluent-bit-go's flb_plugin.h and
// flb_output.h expect. The test drives it over stdin/stdout, one command
// a line:
//
//	init KEY=VALUE...          -> "init RC HANDLE"
//	flush HANDLE TAG FILE      -> "flush RC"      (FILE holds the msgpack chunk)
//	exit HANDLE                -> "exit RC"
const flbHostC = `
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct flb_plugin_proxy_def { int type; int proxy; int flags; char *name; char *description; };
struct flb_api { char *(*output_get_property)(char *, void *); char *_; };
struct flb_plugin_proxy_context { void *remote_context; };
struct flbgo_output_plugin { void *_; struct flb_api *api; void *o_ins; struct flb_plugin_proxy_context *context; };

#define MAXPROPS 16
struct instance {
	int nprops;
	char *keys[MAXPROPS];
	char *vals[MAXPROPS];
	struct flb_plugin_proxy_context ctx;
	struct flbgo_output_plugin plugin;
};

/* Fluent Bit's flb_output_get_property: case-insensitive keys, NULL if unset. */
static char *get_property(char *key, void *o_ins) {
	struct instance *in = o_ins;
	for (int i = 0; i < in->nprops; i++)
		if (strcasecmp(in->keys[i], key) == 0) return in->vals[i];
	return NULL;
}

static struct flb_api api = { get_property, NULL };

int main(int argc, char **argv) {
	if (argc != 2) { fprintf(stderr, "usage: host PLUGIN.so\n"); return 2; }
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!h) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
	int (*reg)(void *) = dlsym(h, "FLBPluginRegister");
	int (*init)(void *) = dlsym(h, "FLBPluginInit");
	int (*flush_ctx)(void *, void *, int, char *) = dlsym(h, "FLBPluginFlushCtx");
	int (*exit_ctx)(void *) = dlsym(h, "FLBPluginExitCtx");
	if (!reg || !init || !flush_ctx || !exit_ctx) { fprintf(stderr, "missing export\n"); return 2; }
	struct flb_plugin_proxy_def def;
	memset(&def, 0, sizeof def);
	int rc = reg(&def);
	printf("register %d %d %d %s\n", rc, def.type, def.proxy, def.name ? def.name : "(null)");
	fflush(stdout);

	struct instance *insts[64];
	int ninsts = 0;
	char line[8192];
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		char *save = NULL;
		char *cmd = strtok_r(line, " ", &save);
		if (!cmd) continue;
		if (strcmp(cmd, "init") == 0) {
			struct instance *in = calloc(1, sizeof *in);
			char *kv;
			while ((kv = strtok_r(NULL, " ", &save)) && in->nprops < MAXPROPS) {
				char *eq = strchr(kv, '=');
				if (!eq) continue;
				*eq = 0;
				in->keys[in->nprops] = strdup(kv);
				in->vals[in->nprops] = strdup(eq + 1);
				in->nprops++;
			}
			in->plugin.api = &api;
			in->plugin.o_ins = in;
			in->plugin.context = &in->ctx;
			rc = init(&in->plugin);
			insts[ninsts] = in;
			printf("init %d %d\n", rc, ninsts);
			ninsts++;
		} else if (strcmp(cmd, "flush") == 0) {
			int i = atoi(strtok_r(NULL, " ", &save));
			char *tag = strtok_r(NULL, " ", &save);
			char *path = strtok_r(NULL, " ", &save);
			FILE *f = fopen(path, "rb");
			if (!f) { printf("flush -1\n"); fflush(stdout); continue; }
			fseek(f, 0, SEEK_END);
			long n = ftell(f);
			fseek(f, 0, SEEK_SET);
			char *buf = malloc(n ? n : 1);
			if (fread(buf, 1, n, f) != (size_t)n) n = 0;
			fclose(f);
			rc = flush_ctx(insts[i]->ctx.remote_context, buf, (int)n, tag);
			free(buf);
			printf("flush %d\n", rc);
		} else if (strcmp(cmd, "exit") == 0) {
			int i = atoi(strtok_r(NULL, " ", &save));
			rc = exit_ctx(insts[i]->ctx.remote_context);
			printf("exit %d\n", rc);
		} else if (strcmp(cmd, "quit") == 0) {
			break;
		}
		fflush(stdout);
	}
	return 0;
}
`

// The return codes of fluent-bit-go (flb_plugin.h).
const (
	flbError = 0
	flbOK    = 1
	flbRetry = 2
)

// fluentBitHost builds out_octostore.so (c-shared, without -race: the race
// runtime cannot live in a shared library) and the C host into dir. It
// does not need the octoagent binary.
func fluentBitHost(t testing.TB, dir string) (so, host string) {
	t.Helper()
	gcc := testenv.LookPath(t, "gcc", "gcc") // the C host
	so = buildPlugin(t, dir)
	src := filepath.Join(dir, "flbhost.c")
	if err := os.WriteFile(src, []byte(flbHostC), 0o644); err != nil {
		t.Fatal(err)
	}
	host = filepath.Join(dir, "flbhost")
	if out, err := exec.Command(gcc, "-O1", "-Wall", "-o", host, src, "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return so, host
}

// buildPlugin builds out_octostore.so (c-shared, without -race: the race
// runtime cannot live in a shared library) into dir.
func buildPlugin(t testing.TB, dir string) string {
	t.Helper()
	testenv.LookPath(t, "gcc", "gcc") // cgo
	goBin, err := goTool()
	if err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(dir, "out_octostore.so")
	// The flags of `make plugin`, so the build cache is shared.
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", "-s -w", "-buildmode=c-shared", "-o", so, "./cmd/fluent-bit-octostore")
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -buildmode=c-shared: %v\n%s", err, out)
	}
	return so
}

// flbHost is a running C host with the plugin loaded.
type flbHost struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *syncBuffer
	dir    string
	n      int
}

func startFluentBitHost(t testing.TB) *flbHost {
	t.Helper()
	h := &flbHost{t: t, stderr: &syncBuffer{}, lines: make(chan string, 16), dir: t.TempDir()}
	so, bin := fluentBitHost(t, h.dir)
	h.cmd = exec.Command(bin, so)
	h.cmd.Stderr = h.stderr
	h.cmd.Env = append(os.Environ(), "NODE_NAME=flbtest")
	var err error
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := h.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	t.Cleanup(func() {
		h.stdin.Close()
		done := make(chan struct{})
		go func() { _ = h.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = h.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("host stderr:\n%s", tail(h.stderr.String(), 4000))
		}
	})
	if got := h.read("register"); got != "register 0 2 11 octostore" {
		t.Fatalf("register: %q", got)
	}
	return h
}

// read returns the next answer, which must start with want.
func (h *flbHost) read(want string) string {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		if !ok {
			h.t.Fatalf("the host exited; stderr:\n%s", tail(h.stderr.String(), 4000))
		}
		if !strings.HasPrefix(l, want) {
			h.t.Fatalf("host answered %q, want %s...", l, want)
		}
		return l
	case <-time.After(3 * time.Minute):
		h.t.Fatalf("the host did not answer %s; stderr:\n%s", want, tail(h.stderr.String(), 4000))
	}
	return ""
}

func (h *flbHost) send(cmd string) {
	h.t.Helper()
	if _, err := io.WriteString(h.stdin, cmd+"\n"); err != nil {
		h.t.Fatal(err)
	}
}

// Init calls FLBPluginInit with the keys; it returns the code and a handle.
func (h *flbHost) Init(kv ...string) (rc, handle int) {
	h.t.Helper()
	h.send("init " + strings.Join(kv, " "))
	if _, err := fmt.Sscanf(h.read("init "), "init %d %d", &rc, &handle); err != nil {
		h.t.Fatal(err)
	}
	return rc, handle
}

// Flush calls FLBPluginFlushCtx with a chunk.
func (h *flbHost) Flush(handle int, tag string, chunk []byte) int {
	h.t.Helper()
	h.n++
	p := filepath.Join(h.dir, fmt.Sprintf("chunk-%d", h.n))
	if err := os.WriteFile(p, chunk, 0o644); err != nil {
		h.t.Fatal(err)
	}
	h.send(fmt.Sprintf("flush %d %s %s", handle, tag, p))
	var rc int
	if _, err := fmt.Sscanf(h.read("flush "), "flush %d", &rc); err != nil {
		h.t.Fatal(err)
	}
	return rc
}

// Exit calls FLBPluginExitCtx.
func (h *flbHost) Exit(handle int) int {
	h.t.Helper()
	h.send(fmt.Sprintf("exit %d", handle))
	var rc int
	if _, err := fmt.Sscanf(h.read("exit "), "exit %d", &rc); err != nil {
		h.t.Fatal(err)
	}
	return rc
}
