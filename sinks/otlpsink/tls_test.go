package otlpsink

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/octostore/agent/adapters/otlpsource"
	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/agent/agenttest"
	"github.com/octostore/agent/internal/credentials"
	"github.com/octostore/agent/internal/httpbatch"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestMutualTLSToSource: sink "otlp" → source "otlp", both protocols,
// with TLS verified both ways (mTLS) and a bearer token; a sink without
// its client certificate gets nothing through.
func TestMutualTLSToSource(t *testing.T) {
	p := agenttest.NewPKI(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	srvCert, srvKey, _ := p.Issue(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	cliCert, cliKey, _ := p.Issue(t, "agent", x509.ExtKeyUsageClientAuth)
	ca := write("ca.pem", p.CAPEM)

	// The receiving agent: source "otlp" with mTLS and a token.
	scfg := otlpsource.NewFactory().NewConfig().(*otlpsource.Config)
	scfg.GRPCAddress, scfg.HTTPAddress = freeAddr(t), freeAddr(t)
	scfg.Token = "s3cret"
	scfg.TLS = &credentials.ServerTLS{CertFile: write("srv.pem", srvCert), KeyFile: write("srv-key.pem", srvKey), CAFile: ca}
	if err := scfg.Validate(); err != nil {
		t.Fatal(err)
	}
	got := &agenttest.Capture{}
	g := agent.Graph{Agent: agent.DefaultAgentSettings()}
	g.Agent.DataDir, g.Agent.HTTPAddr = t.TempDir(), ""
	g.Nodes = []agent.NodeSpec{
		{ID: "source.otlp.in", Kind: agent.KindSource, Type: "otlp", Name: "in", Factory: otlpsource.NewFactory(), Config: scfg},
		{ID: "sink.c.c", Kind: agent.KindSink, Type: "c", Name: "c", Inputs: []string{"source.otlp.in"}, Factory: got.Factory("c")},
	}
	rt, err := agent.New(g, agent.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", scfg.GRPCAddress)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("source \"otlp\" did not listen within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	sent := 0
	for _, proto := range []string{"grpc", "http"} {
		addr := scfg.GRPCAddress
		if proto == "http" {
			addr = scfg.HTTPAddress
		}
		s := newSink(t, func(c *Config) {
			c.Protocol = proto
			c.Endpoint = "https://" + addr
			c.Common.Token = "s3cret"
			c.Common.TLS = &httpbatch.TLSConfig{CAFile: ca, CertFile: write("cli.pem", cliCert), KeyFile: write("cli-key.pem", cliKey)}
		})
		b := testBatch(5)
		s.send(t, b)
		sent += 5
		if n := len(got.Records()); n != sent {
			t.Fatalf("%s: source \"otlp\" got %d records, want %d", proto, n, sent)
		}
	}
	// The records came through whole: the sink's attributes are the
	// source's fields.attributes.
	r := got.Records()[0]
	attrs, _ := r.Get("attributes")
	if m, ok := attrs.(map[string]any); !ok || m["method"] != "GET" || m["event.name"] != "http_request" {
		t.Errorf("attributes %v", attrs)
	}

	// Without the client certificate: nothing gets through, the sink
	// retries (and gives up here, as configured).
	s := newSink(t, func(c *Config) {
		c.Endpoint = "https://" + scfg.GRPCAddress
		c.Common.Token = "s3cret"
		c.Common.TLS = &httpbatch.TLSConfig{CAFile: ca}
		c.Common.RetryGiveUpAfter = "1s"
	})
	failed := make(chan bool, 1)
	b := testBatch(2)
	tok := agent.NewAcks().NewToken(len(b), func(f bool) { failed <- f })
	for i := range b {
		b[i].SetToken(tok)
	}
	s.sink.Consume(context.Background(), b)
	select {
	case f := <-failed:
		if !f {
			t.Fatal("records went through without a client certificate")
		}
	case <-time.After(time.Minute):
		t.Fatal("not resolved within a minute")
	}
	if n := len(got.Records()); n != sent {
		t.Fatalf("%d records, want %d", n, sent)
	}
}
