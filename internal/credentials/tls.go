package credentials

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/octostore/agent/agent"
)

// ServerTLS is the `tls { ... }` block of a component that serves
// (source "otlp"): the same attribute names as the sinks' block, read from
// the server's side. cert_file and key_file are the server's certificate;
// ca_file, when set, is the CA that signs the clients' certificates, and
// every client must then present one (mTLS).
type ServerTLS struct {
	CertFile string `hcl:"cert_file"`
	KeyFile  string `hcl:"key_file"`
	CAFile   string `hcl:"ca_file,optional"`
}

// Validate checks the block; attribute names are prefixed with "tls.".
func (t *ServerTLS) Validate() error {
	var errs []error
	if t.CertFile == "" {
		errs = append(errs, agent.AttrErrorf("tls.cert_file", "Give the PEM file of the server's certificate (and its chain).", "must not be empty"))
	}
	if t.KeyFile == "" {
		errs = append(errs, agent.AttrErrorf("tls.key_file", "Give the PEM file of the server certificate's private key.", "must not be empty"))
	}
	return errors.Join(errs...)
}

// Config builds the server's TLS settings: TLS 1.2 at least, the
// certificate read again when its files change (so a renewed certificate
// needs no restart), and with ca_file, client certificates required and
// verified against it.
func (t *ServerTLS) Config() (*tls.Config, error) {
	kp := &keyPair{cert: t.CertFile, key: t.KeyFile}
	if _, err := kp.get(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() },
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// keyPair is a certificate read from its files, read again (at most once
// a second) when either file changed.
type keyPair struct {
	cert, key string

	mu      sync.Mutex
	loaded  *tls.Certificate
	stamps  [2]fileStamp
	checked time.Time
}

func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loaded != nil && time.Since(k.checked) < time.Second {
		return k.loaded, nil
	}
	k.checked = time.Now()
	var stamps [2]fileStamp
	for i, p := range []string{k.cert, k.key} {
		fi, err := os.Stat(p)
		if err != nil {
			if k.loaded != nil {
				return k.loaded, nil // keep serving the one we have
			}
			return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
		}
		stamps[i] = stampOf(fi)
	}
	if k.loaded != nil && stamps == k.stamps {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil // a half-written renewal: keep the old one
		}
		return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
	}
	k.loaded, k.stamps = &c, stamps
	return k.loaded, nil
}
