package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/internal/testfig"
)

// TestSecretsNeverLeak: a canary token, given inline in the config, through
// the environment, or in a token file, never appears in a log line (every
// level, text and JSON), in the metrics, or in `octoagent validate` output,
// while the store answers 401 and echoes the token back in its error body.
func TestSecretsNeverLeak(t *testing.T) {
	var buf [16]byte
	_, _ = rand.Read(buf[:])
	canary := "canary-" + hex.EncodeToString(buf[:])
	t.Setenv("OCTO_CANARY_TOKEN", canary)

	var unauthorized atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		unauthorized.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		// A badly behaved server: it echoes the credentials back.
		fmt.Fprintf(w, `{"error":"invalid token %s"}`, r.Header.Get("Authorization"))
	}))
	defer srv.Close()

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, canary+"\n")
	placements := map[string]string{
		"config": fmt.Sprintf("  token = %s\n", hclString(canary)),
		"env":    "  token = env(\"OCTO_CANARY_TOKEN\")\n",
		"file":   fmt.Sprintf("  token_file = %s\n", hclString(tokenFile)),
	}
	checked := 0
	for _, name := range []string{"config", "env", "file"} {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(d, "app.log")
		appendSeq(t, logPath, 1, 20)
		cfg := filepath.Join(d, "agent.hcl")
		port := freePort(t)
		conf := storeAgentConfig(filepath.Join(d, "data"), logPath, srv.URL, placements[name])
		conf = strings.Replace(conf, `http_addr           = "127.0.0.1:0"`, fmt.Sprintf(`http_addr           = "127.0.0.1:%d"`, port), 1)
		conf = strings.Replace(conf, `shutdown_timeout    = "10s"`, `shutdown_timeout    = "1s"`, 1)
		writeFile(t, cfg, conf)

		out, _ := exec.Command(agentBinary(t), "validate", "-c", cfg).CombinedOutput()
		if strings.Contains(string(out), canary) {
			t.Fatalf("%s: validate output holds the token:\n%s", name, out)
		}
		checked++
		for _, level := range []string{"debug", "info", "warn", "error"} {
			for _, format := range []string{"text", "json"} {
				if format == "json" && level != "debug" {
					continue
				}
				before := unauthorized.Load()
				p := startAgent(t, "", "run", "-c", cfg, "--log-level", level, "--log-format", format)
				waitFor(t, startDeadline, "401 answers", func() bool {
					if p.Exited() {
						t.Fatalf("agent exited: %s", p.Stderr.String())
					}
					return unauthorized.Load() >= before+3
				})
				_, metrics := httpGet(t, &http.Client{Timeout: 5 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
				if metrics == "" {
					t.Fatalf("%s/%s: no metrics", name, level)
				}
				p.Signal(t, syscall.SIGTERM)
				p.WaitExit(t, exitDeadline)
				logs := p.Stderr.String()
				if strings.Contains(logs, canary) {
					t.Fatalf("%s, --log-level %s --log-format %s: the token is in the logs:\n%s", name, level, format, logs)
				}
				if strings.Contains(metrics, canary) {
					t.Fatalf("%s: the token is in the metrics", name)
				}
				if level == "debug" && !strings.Contains(logs, "401") {
					t.Fatalf("%s: the 401s are not logged at debug level:\n%s", name, tail(logs, 3000))
				}
				if level == "debug" && format == "text" && !strings.Contains(logs, "[REDACTED]") {
					t.Fatalf("%s: the echoed token is not shown as [REDACTED]:\n%s", name, tail(logs, 3000))
				}
				checked++
			}
		}
	}
	testfig.Report(t, "placements=3 outputs_checked=%d (validate, logs at 4 levels + json, metrics) 401s=%d canary_found=0", checked, unauthorized.Load())
}
