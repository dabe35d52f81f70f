package agent

import (
	"crypto/tls"
	"crypto/x509"
	"os"
)

// LoadTLSFiles adds to c the CA bundle (caFile, replacing the system roots)
// and the client certificate (certFile and keyFile) that a component's
// `tls` block names; empty names are skipped. Errors name the attribute and
// the file, never the file's content; they are AttrErrors (tls.ca_file,
// tls.cert_file), so a config's Preflight can return them as they are.
func LoadTLSFiles(c *tls.Config, caFile, certFile, keyFile string) error {
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return &AttrError{Attr: "tls.ca_file", Err: err, Hint: "Give a readable PEM file of CA certificates, or leave ca_file out to use the system's."}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return AttrErrorf("tls.ca_file", "Give a PEM file of CA certificates (-----BEGIN CERTIFICATE-----).", "%s holds no PEM certificate", caFile)
		}
		c.RootCAs = pool
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return &AttrError{Attr: "tls.cert_file", Err: err, Hint: "cert_file and key_file must be a readable PEM certificate and its private key."}
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return nil
}
