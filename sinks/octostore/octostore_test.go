package octostore_test

import (
	"bytes"
	"testing"

	"github.com/octostore/agent/adapters/filesource"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/config"
	"github.com/octostore/agent/sinks/octostore"
)

func load(t *testing.T, src string) (*octostore.Config, string) {
	t.Helper()
	reg := agent.NewRegistry(filesource.NewFactory(), octostore.NewFactory())
	res, diags := config.LoadSources([]config.Source{{Name: "x.hcl", Data: []byte(src)}}, reg)
	var buf bytes.Buffer
	config.WriteDiagnostics(&buf, res.Files, diags)
	for _, c := range res.Components {
		if oc, ok := c.Config.(*octostore.Config); ok {
			return oc, buf.String()
		}
	}
	return nil, buf.String()
}

// TestDecodeSharedAttributes: the shared HTTP attributes (tls block, token,
// batching) reach the config through the loader.
func TestDecodeSharedAttributes(t *testing.T) {
	c, diags := load(t, `
source "file" "a" {
  paths = ["/x.log"]
}
sink "octostore" "c" {
  inputs            = [source.file.a]
  endpoint          = "https://127.0.0.1:8443"
  token             = "s3cret-token"
  batch_max_records = 7
  tls {
    ca_file = "/etc/ca.pem"
  }
}`)
	if c == nil {
		t.Fatalf("not loaded:\n%s", diags)
	}
	if c.Common.TLS == nil || c.Common.TLS.CAFile != "/etc/ca.pem" || c.Common.BatchMaxRecords != 7 || c.Common.Token.Reveal() != "s3cret-token" {
		t.Fatalf("shared attributes not decoded: %+v", c.Common)
	}
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`endpoint = "ftp://x"`, "endpoint"},
		{`endpoint = "https://user:pw@x"`, "credentials"},
		{"endpoint = \"https://x\"\n  compression = \"zstd\"", "compression"},
		{"endpoint = \"https://x\"\n  compression_level = 0", "compression_level"},
		{"endpoint = \"https://x\"\n  compression_level = 10", "compression_level"},
		{"endpoint = \"https://x\"\n  in_flight = 0", "in_flight"},
		{"endpoint = \"https://x\"\n  token = \"a\"\n  token_file = \"/f\"", "token"},
	} {
		_, diags := load(t, "source \"file\" \"a\" {\n  paths = [\"/x.log\"]\n}\nsink \"octostore\" \"c\" {\n  inputs = [source.file.a]\n  "+tc.body+"\n}\n")
		if !bytes.Contains([]byte(diags), []byte(tc.want)) {
			t.Errorf("%s: diagnostics do not mention %q:\n%s", tc.body, tc.want, diags)
		}
		if bytes.Contains([]byte(diags), []byte("user:pw@x\" carries")) {
			t.Errorf("the error repeats the URL password:\n%s", diags)
		}
	}
}
