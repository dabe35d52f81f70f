package e2e

import (
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/agent/internal/testfig"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "octoagent test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf issues a server certificate for hosts (IPs or names), valid from
// notBefore to notAfter; with ca nil it is self-signed.
func leaf(t testing.TB, ca *testCA, hosts []string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: hosts[0]},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tpl.IPAddresses = append(tpl.IPAddresses, ip)
		} else {
			tpl.DNSNames = append(tpl.DNSNames, h)
		}
	}
	parent, signer := tpl, key
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// fakeStore accepts every record (no database); it counts the requests
// that reached it.
func fakeStore(requests *atomic.Int64, accepted *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/v1/records" {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		var req struct {
			Records []struct {
				ID string `json:"id"`
			} `json:"records"`
		}
		rd, err := gzipReader(r)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if err := json.NewDecoder(rd).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		res := make([]map[string]string, len(req.Records))
		for i, rec := range req.Records {
			res[i] = map[string]string{"id": rec.ID, "status": "accepted"}
		}
		accepted.Add(int64(len(res)))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"results": res})
	})
}

func gzipReader(r *http.Request) (io.Reader, error) {
	if r.Header.Get("Content-Encoding") == "gzip" {
		return gzip.NewReader(r.Body)
	}
	return r.Body, nil
}

// TestStoreTLS: a self-signed certificate, a certificate for another host
// name and an expired certificate are each refused with a clear error, and
// nothing reaches the server; a valid certificate from the configured CA
// works.
func TestStoreTLS(t *testing.T) {
	ca := newTestCA(t)
	now := time.Now()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writeFile(t, caFile, string(ca.pem))
	cases := []struct {
		name   string
		cert   tls.Certificate
		caFile string
		want   string // in the agent's log
		ok     bool
	}{
		{"self_signed", leaf(t, nil, []string{"127.0.0.1", "localhost"}, now.Add(-time.Hour), now.Add(time.Hour)), "", "not signed by a trusted authority", false},
		{"wrong_hostname", leaf(t, ca, []string{"store.example.com"}, now.Add(-time.Hour), now.Add(time.Hour)), caFile, "does not match the host name", false},
		{"expired", leaf(t, ca, []string{"127.0.0.1"}, now.Add(-48*time.Hour), now.Add(-24*time.Hour)), caFile, "has expired", false},
		{"valid", leaf(t, ca, []string{"127.0.0.1"}, now.Add(-time.Hour), now.Add(time.Hour)), caFile, "", true},
	}
	var figures []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var requests, accepted atomic.Int64
			srv := httptest.NewUnstartedServer(fakeStore(&requests, &accepted))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{tc.cert}}
			srv.Config.ErrorLog = nil
			srv.StartTLS()
			defer srv.Close()

			d := t.TempDir()
			logPath := filepath.Join(d, "app.log")
			appendSeq(t, logPath, 1, 50)
			tlsBlock := ""
			if tc.caFile != "" {
				tlsBlock = fmt.Sprintf("  tls {\n    ca_file = %s\n  }\n", hclString(tc.caFile))
			}
			cfg := filepath.Join(d, "agent.hcl")
			writeFile(t, cfg, storeAgentConfig(filepath.Join(d, "data"), logPath, srv.URL, tlsBlock))
			p := startAgent(t, "", "run", "-c", cfg, "--log-level", "info")
			if tc.ok {
				waitFor(t, startDeadline, "the records to be accepted", func() bool { return accepted.Load() >= 50 })
			} else {
				waitFor(t, startDeadline, "a TLS error in the log", func() bool {
					if p.Exited() {
						t.Fatalf("agent exited: %s", p.Stderr.String())
					}
					return strings.Contains(p.Stderr.String(), tc.want)
				})
				// And a request with records, refused the same way.
				waitFor(t, startDeadline, "a refused request with records", func() bool {
					for _, l := range strings.Split(p.Stderr.String(), "\n") {
						if strings.Contains(l, "request failed") && strings.Contains(l, tc.want) {
							return true
						}
					}
					return false
				})
			}
			p.Signal(t, syscall.SIGKILL)
			p.WaitExit(t, exitDeadline)
			figures = append(figures, fmt.Sprintf("%s: requests_received=%d", tc.name, requests.Load()))
			if !tc.ok && requests.Load() != 0 {
				t.Fatalf("%d requests reached a server whose certificate must be refused", requests.Load())
			}
			if !tc.ok {
				line := ""
				for _, l := range strings.Split(p.Stderr.String(), "\n") {
					if strings.Contains(l, tc.want) && strings.Contains(l, "request failed") {
						line = l
						break
					}
				}
				t.Logf("the agent says: %s", line)
			}
		})
	}
	testfig.Report(t, "%s", strings.Join(figures, "; "))
}
