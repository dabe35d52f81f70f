package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// octo runs the octoagent command line in process.
func octo(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// A config that `run` refuses at start is refused by `validate` too, with
// the file:line:col of the attribute and a hint; and `validate` passes what
// `run` runs.
func TestValidateRefusesWhatRunRefuses(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.log")
	if err := os.WriteFile(in, []byte("a\nb\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func(agentBlock, sink string) string {
		return "agent {\n  data_dir = \"" + dir + "/data\"\n" + agentBlock + "}\n\n" +
			"source \"file\" \"in\" {\n  paths = [\"" + in + "\"]\n  start_at = \"beginning\"\n}\n\n" + sink
	}
	fileSink := func(path string) string {
		return "sink \"file\" \"out\" {\n  inputs = [source.file.in]\n  path   = \"" + path + "\"\n}\n"
	}
	cases := []struct {
		name, cfg string
		want      string // "" for a valid config; else a regexp of the diagnostic
	}{
		{"http_addr off", base("  http_addr = \"off\"\n", fileSink(dir+"/out.jsonl")), ""},
		{"http_addr without port", base("  http_addr = \"127.0.0.1\"\n", fileSink(dir+"/out.jsonl")),
			`cfg\.hcl:3:15: error: Invalid http_addr\n.*\n.*\n  hint: address 127\.0\.0\.1: missing port in address`},
		{"http_addr bad port", base("  http_addr = \"127.0.0.1:99999\"\n", fileSink(dir+"/out.jsonl")),
			`cfg\.hcl:3:15: error: Invalid http_addr[\s\S]*port 99999 out of range`},
		{"admin_addr without port", base("  admin_addr = \"localhost\"\n", fileSink(dir+"/out.jsonl")),
			`cfg\.hcl:3:16: error: Invalid admin_addr`},
		{"sink path under /proc", base("", fileSink("/proc/octoagent/out.jsonl")),
			`cfg\.hcl:12:12: error: Invalid path[\s\S]*virtual file system`},
		{"sink path is a directory", base("", fileSink(dir)),
			`cfg\.hcl:12:12: error: Invalid path[\s\S]*is a directory`},
		{"data_dir under /proc", strings.Replace(base("", fileSink(dir+"/out.jsonl")), dir+"/data", "/proc/octoagent", 1),
			`cfg\.hcl:2:14: error: Invalid data_dir[\s\S]*virtual file system`},
		{"missing TLS CA file", base("", "sink \"octostore\" \"s\" {\n  inputs = [source.file.in]\n  endpoint = \"https://127.0.0.1:1\"\n  tls {\n    ca_file = \""+dir+"/nope.pem\"\n  }\n}\n"),
			`cfg\.hcl:14:15: error: Invalid tls\.ca_file[\s\S]*no such file`},
		{"TLS CA file without a certificate", base("", "sink \"octostore\" \"s\" {\n  inputs = [source.file.in]\n  endpoint = \"https://127.0.0.1:1\"\n  tls {\n    ca_file = \""+in+"\"\n  }\n}\n"),
			`cfg\.hcl:14:15: error: Invalid tls\.ca_file[\s\S]*holds no PEM certificate`},
		{"empty config", "", `error: Nothing to run: the config has no component`},
		{"no source", "# rules only\nagent {\n  data_dir = \"" + dir + "/data\"\n}\n", `error: Nothing to run`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "cfg.hcl")
			if err := os.WriteFile(cfg, []byte(tc.cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			vcode, vout, verr := octo("validate", "-c", cfg)
			rcode, _, rerr := octo("run", "--once", "-c", cfg, "--log-level", "warn")
			if tc.want == "" {
				if vcode != 0 || !strings.HasPrefix(vout, "valid:") {
					t.Fatalf("validate: %d %s%s", vcode, vout, verr)
				}
				if rcode != 0 {
					t.Fatalf("run --once: %d\n%s", rcode, rerr)
				}
				return
			}
			re := regexp.MustCompile(tc.want)
			if vcode != 1 || !re.MatchString(verr) {
				t.Errorf("validate: exit %d, want 1 and %q in:\n%s", vcode, tc.want, verr)
			}
			if rcode != 1 || !re.MatchString(rerr) {
				t.Errorf("run: exit %d, want 1 and %q in:\n%s", rcode, tc.want, rerr)
			}
		})
	}
	// http_addr = "off" ran with no HTTP server: nothing was bound, and the
	// file sink got both lines.
	if b, err := os.ReadFile(filepath.Join(dir, "out.jsonl")); err != nil || bytes.Count(b, []byte("\n")) != 2 {
		t.Errorf("the http_addr = \"off\" run wrote %q (%v), want 2 records", b, err)
	}
}

// validate --offline skips the checks of this machine (a pod's config
// validated in CI) but not the rest.
func TestValidateOffline(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg.hcl")
	os.WriteFile(cfg, []byte("agent {\n  data_dir = \"/proc/x\"\n}\nsource \"file\" \"in\" {\n  paths = [\"/var/log/*.log\"]\n}\nsink \"file\" \"out\" {\n  inputs = [source.file.in]\n  path = \"/proc/x/out\"\n}\n"), 0o600)
	if code, out, errs := octo("validate", "--offline", "-c", cfg); code != 0 {
		t.Errorf("validate --offline: %d %s%s", code, out, errs)
	}
	if code, _, errs := octo("validate", "-c", cfg); code != 1 || strings.Count(errs, "virtual file system") != 2 {
		t.Errorf("validate: %d, want 1 and two errors:\n%s", code, errs)
	}
}
