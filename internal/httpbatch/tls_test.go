package httpbatch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
)

// TestMutualTLS: a client certificate from tls.cert_file/key_file is
// presented; without it the server refuses the handshake. The server's
// certificate is verified against tls.ca_file, with TLS 1.2 at least.
func TestMutualTLS(t *testing.T) {
	p := agenttest.NewPKI(t)
	_, _, serverPair := p.Issue(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	clientCert, clientKey, _ := p.Issue(t, "agent", x509.ExtKeyUsageClientAuth)
	pool := p.CertPool()
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.Version < tls.VersionTLS12 {
			w.WriteHeader(403)
			return
		}
		w.Write([]byte(`{}`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		os.WriteFile(path, b, 0o600)
		return path
	}
	o := testOptions()
	o.TLS = &TLSConfig{CAFile: write("ca.pem", p.CAPEM), CertFile: write("c.pem", clientCert), KeyFile: write("k.pem", clientKey)}
	s, _ := newSinkTLS(t, o, srv.URL, nil)
	var failed, done atomic.Int64
	s.Consume(context.Background(), batchOf(0, 5, &failed, &done))
	s.Flush(context.Background())
	if done.Load() != 1 || failed.Load() != 0 || hits.Load() == 0 {
		t.Fatalf("with a client certificate: done %d failed %d hits %d", done.Load(), failed.Load(), hits.Load())
	}
	cfg, _ := o.TLSClientConfig()
	if cfg.MinVersion != tls.VersionTLS12 || cfg.InsecureSkipVerify {
		t.Fatal("TLS defaults")
	}
}

func newSinkTLS(t *testing.T, o Options, url string, log *slog.Logger) (*Sink, *dlOut) {
	dl := &dlOut{}
	m := agent.NewMetrics(nil)
	set := agent.Settings{ID: "sink.test.x", Metrics: m.For("sink.test.x"), DeadLetter: dl, Logger: log}
	s, err := New(set, o, &proto{url: url + "/v1/records"}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dl
}

func TestInsecureSkipVerifyWarns(t *testing.T) {
	var buf bytes.Buffer
	o := testOptions()
	o.TLS = &TLSConfig{InsecureSkipVerify: true}
	newSinkTLS(t, o, "https://127.0.0.1:1", slog.New(slog.NewTextHandler(&buf, nil)))
	if !strings.Contains(buf.String(), "insecure_skip_verify") || !strings.Contains(buf.String(), "WARN") {
		t.Fatalf("no warning at start: %s", buf.String())
	}
}
