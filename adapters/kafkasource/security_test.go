package kafkasource

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/kafkaclient"
	"github.com/octostore/agent/internal/kafkatest"
	"github.com/octostore/agent/internal/testfig"
)

const secretPass = "pw-9f3c-very-secret"

// runLogged is run with the agent's logs (debug level, kafka-go's too)
// captured in buf.
func runLogged(t *testing.T, cfg *Config, sink agent.Sink, buf *agenttest.LogBuffer) *runner {
	t.Helper()
	old := testLoggerOverride
	testLoggerOverride = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	defer func() { testLoggerOverride = old }()
	return run(t, cfg, sink, false)
}

// SASL PLAIN and SCRAM reach a broker that requires them; a wrong password
// fails to join, and no log line ever holds the password.
func TestSASLAndRedaction(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			b := kafkatest.Start(t, 0, 1, []string{"events"}, kfake.EnableSASL(), kfake.Superuser(mech, "octo", secretPass))
			// Produce as the superuser with kafka-go's writer.
			sec := &kafkaclient.Security{SASL: &kafkaclient.SASL{Mechanism: mech, Username: "octo", Password: secretPass}}
			conn, err := sec.Build([]string{b.Addr}, "test", 5*time.Second, 0)
			if err != nil {
				t.Fatal(err)
			}
			produceWith(t, conn, "events", 50)

			var logs agenttest.LogBuffer
			good := testConfig(b.Addr, "g-"+mech, "events")
			good.SASL = &kafkaclient.SASL{Mechanism: strings.ToLower(mech), Username: "octo", Password: secretPass}
			sink := newCapture()
			r := runLogged(t, good, sink, &logs)
			waitFor(t, 30*time.Second, "50 records over SASL", func() bool { _, d := sink.count(); return d == 50 })
			r.stop(t)

			bad := testConfig(b.Addr, "g-bad-"+mech, "events")
			bad.SASL = &kafkaclient.SASL{Mechanism: mech, Username: "octo", Password: secretPass + "-wrong"}
			sink2 := newCapture()
			r2 := runLogged(t, bad, sink2, &logs)
			src := r2.rt.Component("source.kafka.k").(*source)
			waitFor(t, 30*time.Second, "the wrong password to be refused", func() bool { return testutil.ToFloat64(src.groupErrs) > 0 })
			r2.stop(t)
			if _, d := sink2.count(); d != 0 {
				t.Errorf("consumed %d records with a wrong password", d)
			}
			out := logs.String() + fmt.Sprintf("%v %+v %#v", good, *good.SASL, *bad.SASL)
			if strings.Contains(out, secretPass) {
				t.Errorf("the password appears in the logs or in a printed config")
			}
			if !strings.Contains(fmt.Sprintf("%+v", *good.SASL), agent.Redacted) {
				t.Errorf("printed SASL block does not show %s: %+v", agent.Redacted, *good.SASL)
			}
			testfig.Report(t, "%s: 50 records consumed; wrong password refused; %d log bytes, password found 0 times", mech, len(logs.String()))
		})
	}
}

func produceWith(t *testing.T, conn *kafkaclient.Conn, topic string, n int) {
	t.Helper()
	msgs := make([]kafkatest.Msg, n)
	for i := range msgs {
		msgs[i] = kafkatest.Msg{Value: fmt.Sprintf(`{"seq":%d}`, i)}
	}
	if err := kafkatest.ProduceVia(conn.Transport, conn.Brokers[0], topic, msgs); err != nil {
		t.Fatal(err)
	}
}

// TLS verifies the broker's certificate by default: without the CA the
// source does not connect; with ca_file it does.
func TestTLSVerifiesByDefault(t *testing.T) {
	dir := t.TempDir()
	caFile, srvCfg := selfSigned(t, dir)
	b := kafkatest.Start(t, 0, 1, []string{"events"}, kfake.TLS(srvCfg))
	sec := &kafkaclient.Security{TLS: &kafkaclient.TLS{CAFile: caFile}}
	conn, err := sec.Build([]string{b.Addr}, "test", 5*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	produceWith(t, conn, "events", 20)

	unverified := testConfig(b.Addr, "g-tls-no-ca", "events")
	unverified.TLS = &kafkaclient.TLS{}
	sink := newCapture()
	r := run(t, unverified, sink, false)
	src := r.rt.Component("source.kafka.k").(*source)
	waitFor(t, 30*time.Second, "the unknown certificate to be refused", func() bool { return testutil.ToFloat64(src.groupErrs) > 0 })
	r.stop(t)
	if _, d := sink.count(); d != 0 {
		t.Fatalf("consumed %d records from a broker whose certificate is not trusted", d)
	}

	verified := testConfig(b.Addr, "g-tls", "events")
	verified.TLS = &kafkaclient.TLS{CAFile: caFile}
	sink2 := newCapture()
	r2 := run(t, verified, sink2, false)
	waitFor(t, 30*time.Second, "20 records over TLS", func() bool { _, d := sink2.count(); return d == 20 })
	r2.stop(t)
	testfig.Report(t, "untrusted certificate refused (0 records); with ca_file 20 records consumed")
}

// selfSigned writes a CA certificate for 127.0.0.1 to dir and returns its
// path and the server's TLS config.
func selfSigned(t *testing.T, dir string) (string, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kb, _ := x509.MarshalECPrivateKey(key)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return p, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
