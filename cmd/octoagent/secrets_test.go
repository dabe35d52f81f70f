package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/octostore/agent/agent"
)

// canary is a secret value that must appear in no output.
const canary = "SUPERSECRET-CANARY-7319"

// secretPlacements holds, for every secret attribute of every component
// (agent.SecretAttributes), a config with the attribute's line written as
// %s: the test fills it with a value carrying the canary, in every kind of
// error.
var secretPlacements = map[string]string{
	"sink http token":      "sink \"http\" \"s\" {\n  inputs = [source.stdin.in]\n  url = \"https://collector.internal/x\"\n  %s\n}\n",
	"sink http headers":    "sink \"http\" \"s\" {\n  inputs = [source.stdin.in]\n  url = \"https://collector.internal/x\"\n  %s\n}\n",
	"sink octostore token": "sink \"octostore\" \"s\" {\n  inputs = [source.stdin.in]\n  endpoint = \"https://octostore.internal\"\n  %s\n}\n",
	"sink kafka password":  "sink \"kafka\" \"s\" {\n  inputs = [source.stdin.in]\n  brokers = [\"k:9092\"]\n  topic = \"t\"\n  sasl {\n    mechanism = \"PLAIN\"\n    username = \"u\"\n    %s\n  }\n}\n",
	"source kafka password": "source \"kafka\" \"k\" {\n  brokers = [\"k:9092\"]\n  group_id = \"g\"\n  topics = [\"t\"]\n  sasl {\n    mechanism = \"PLAIN\"\n    username = \"u\"\n    %s\n  }\n}\n" +
		"sink \"stdout\" \"k\" {\n  inputs = [source.kafka.k]\n}\n",
	"sink otlp token":   "sink \"otlp\" \"s\" {\n  inputs = [source.stdin.in]\n  endpoint = \"https://otel.internal:4317\"\n  %s\n}\n",
	"sink otlp headers": "sink \"otlp\" \"s\" {\n  inputs = [source.stdin.in]\n  endpoint = \"https://otel.internal:4317\"\n  %s\n}\n",
	"source otlp token": "source \"otlp\" \"o\" {\n  grpc_address = \"127.0.0.1:0\"\n  %s\n}\n" +
		"sink \"stdout\" \"o\" {\n  inputs = [source.otlp.o]\n}\n",
	"sink openlineage token":    "sink \"openlineage\" \"s\" {\n  inputs = [source.stdin.in]\n  transport \"http\" {\n    url = \"https://marquez.internal\"\n    %s\n  }\n}\n",
	"sink openlineage headers":  "sink \"openlineage\" \"s\" {\n  inputs = [source.stdin.in]\n  transport \"http\" {\n    url = \"https://marquez.internal\"\n    %s\n  }\n}\n",
	"sink openlineage password": "sink \"openlineage\" \"s\" {\n  inputs = [source.stdin.in]\n  transport \"kafka\" {\n    brokers = [\"k:9092\"]\n    topic = \"t\"\n    sasl {\n      mechanism = \"PLAIN\"\n      username = \"u\"\n      %s\n    }\n  }\n}\n",
}

// secretErrors are the kinds of error a secret's line can have, as
// functions of the attribute name; onLine says the diagnostic points at
// the secret's own line (so its snippet is printed, redacted).
var secretErrors = []struct {
	name   string
	line   func(attr string) string
	onLine bool
}{
	{"wrong type", func(a string) string {
		if a == "headers" {
			return a + ` = "` + canary + `"`
		}
		return a + ` = ["` + canary + `"]`
	}, true},
	{"unknown function", func(a string) string { return a + ` = nope("` + canary + `")` }, true},
	{"unterminated string", func(a string) string { return a + ` = "` + canary }, true},
	{"two values", func(a string) string { return a + ` = "` + canary + `" "` + canary + `"` }, true},
	{"unknown variable", func(a string) string { return a + ` = "` + canary + `${nope}"` }, true},
	{"env of an unset variable", func(a string) string {
		return a + ` = "${env("OCTOAGENT_UNSET_` + canary[:5] + `")}` + canary + `"`
	}, true},
	{"heredoc, error elsewhere", func(a string) string {
		if a == "headers" {
			return a + " = {\n    X-Auth = <<EOT\n" + canary + "\nEOT\n  }\n  bogus = 1"
		}
		return a + " = <<EOT\n" + canary + "\nEOT\n  bogus = 1"
	}, false},
	{"object, bad key", func(a string) string {
		return a + ` = { (nope) = "` + canary + `", Authorization = "Bearer ` + canary + `" }`
	}, true},
	{"valid, error elsewhere", func(a string) string {
		if a == "headers" {
			return a + ` = { Authorization = "Bearer ` + canary + `" }` + "\n  bogus = 1"
		}
		return a + ` = "` + canary + `"` + "\n  bogus = 1"
	}, false},
}

// No diagnostic quotes a secret's value: with a canary in every secret
// attribute of every component, and every kind of error, the canary is in
// no output of validate or run, and the secret's line is shown with
// [REDACTED].
func TestDiagnosticsNeverQuoteSecrets(t *testing.T) {
	// Every secret attribute has a placement.
	for _, f := range components().All() {
		for _, a := range agent.SecretAttributes(f.NewConfig()) {
			key := fmt.Sprintf("%s %s %s", f.Kind, f.Type, a)
			if _, ok := secretPlacements[key]; !ok {
				t.Errorf("no canary placement for %s: add it to secretPlacements", key)
			}
		}
	}
	dir := t.TempDir()
	checked := 0
	keys := make([]string, 0, len(secretPlacements))
	for k := range secretPlacements {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		attr := key[strings.LastIndex(key, " ")+1:]
		for _, e := range secretErrors {
			cfg := "source \"stdin\" \"in\" {}\n" + fmt.Sprintf(secretPlacements[key], e.line(attr))
			path := filepath.Join(dir, "c.hcl")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range []string{"validate", "run"} {
				code, stdout, stderr := octo(cmd, "-c", path)
				checked++
				out := stdout + stderr
				if code == 0 {
					t.Errorf("%s, %s: %s passed:\n%s", key, e.name, cmd, cfg)
				}
				if strings.Contains(out, canary) || strings.Contains(out, canary[:12]) {
					t.Errorf("%s, %s: %s printed the secret:\n%s", key, e.name, cmd, out)
				}
				if e.onLine && !strings.Contains(out, agent.Redacted) {
					t.Errorf("%s, %s: %s shows no [REDACTED] line:\n%s", key, e.name, cmd, out)
				}
			}
		}
	}
	t.Logf("%d outputs checked (%d placements x %d kinds of error x validate, run)", checked, len(secretPlacements), len(secretErrors))
}

// A reload whose config has an error on a secret's line answers 400 with
// the line redacted, and logs it redacted.
func TestReloadNeverQuotesSecrets(t *testing.T) {
	e := startReloadEnv(t)
	cfg, _ := os.ReadFile(e.cfg)
	bad := string(cfg) + "\nsink \"http\" \"h\" {\n  inputs = [source.file.in]\n  url = \"https://collector.internal/x\"\n  token = [\"" + canary + "\"]\n}\n"
	if err := os.WriteFile(e.cfg, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, body := e.post()
	if code != http.StatusBadRequest || !strings.Contains(body, `token = [REDACTED]`) || strings.Contains(body, canary[:12]) {
		t.Errorf("POST /-/reload: %d\n%s", code, body)
	}
	if log := e.log.String(); !strings.Contains(log, "reload refused") || strings.Contains(log, canary[:12]) {
		t.Errorf("the log:\n%s", log)
	}
}
