package httpbatch

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

type pki struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
}

func newPKI(t *testing.T) *pki {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &pki{caCert: c, caKey: key, caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (p *pki) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, pair tls.Certificate) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	pair, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return
}

// TestMutualTLS: a client certificate from tls.cert_file/key_file is
// presented; without it the server refuses the handshake. The server's
// certificate is verified against tls.ca_file, with TLS 1.2 at least.
func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	_, _, serverPair := p.issue(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	clientCert, clientKey, _ := p.issue(t, "agent", x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
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
	o.TLS = &TLSConfig{CAFile: write("ca.pem", p.caPEM), CertFile: write("c.pem", clientCert), KeyFile: write("k.pem", clientKey)}
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
