package otlpsource

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/credentials"
)

// NewFactory returns the factory of `source "otlp"`.
func NewFactory() *agent.Factory {
	return agent.NewSourceFactory(agent.FactorySpec[Config, agent.Source]{
		Type:        "otlp",
		Description: "Receives OpenTelemetry logs (OTLP over gRPC and HTTP, protobuf or JSON, gzip) and answers each export call once its records are accepted downstream.",
		Example:     example,
		NewConfig:   defaultConfig,
		Create: func(set agent.Settings, c *Config) (agent.Source, error) {
			s := &source{set: set, cfg: c, tokens: credentials.NewTokenSource(c.Token, c.TokenFile)}
			if c.TLS != nil {
				cfg, err := c.TLS.Config()
				if err != nil {
					return nil, err
				}
				s.tls = cfg
			}
			s.exp = newExporter(set, c)
			return s, nil
		},
		Claims: func(c *Config) []string { return c.claims() },
	})
}

type source struct {
	set    agent.Settings
	cfg    *Config
	tls    *tls.Config
	tokens *credentials.TokenSource
	exp    *exporter

	mu      sync.Mutex
	grpcSrv *grpc.Server
	httpSrv *http.Server
	stopped chan struct{} // closed once both servers have stopped
	addrs   map[string]string
}

// Run serves until ctx ends. Then it refuses new export calls, waits until
// the calls already under way have handed their records on, and returns;
// those calls are answered as their records are resolved, while the
// pipeline drains (Close ends what is left). The source has no end of
// input: with --once it serves until the agent is stopped.
func (s *source) Run(ctx context.Context) error {
	var lns []net.Listener
	listen := func(addr string) (net.Listener, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		lns = append(lns, ln)
		return ln, nil
	}
	var grpcLn, httpLn net.Listener
	var err error
	if s.cfg.GRPCAddress != "" {
		if grpcLn, err = listen(s.cfg.GRPCAddress); err != nil {
			return err
		}
	}
	if s.cfg.HTTPAddress != "" {
		if httpLn, err = listen(s.cfg.HTTPAddress); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	s.mu.Lock()
	s.stopped = make(chan struct{})
	s.addrs = map[string]string{}
	if grpcLn != nil {
		s.grpcSrv = s.newGRPCServer(s.tls)
		s.addrs["grpc"] = grpcLn.Addr().String()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.grpcSrv.Serve(grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				s.set.Logger.Error("gRPC server stopped", "error", err)
				s.set.Metrics.Error("serve")
			}
		}()
	}
	if httpLn != nil {
		s.httpSrv = &http.Server{
			Handler:           s.newHTTPHandler(),
			TLSConfig:         s.tls,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          nil,
		}
		s.addrs["http"] = httpLn.Addr().String()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if s.tls != nil {
				err = s.httpSrv.ServeTLS(httpLn, "", "")
			} else {
				err = s.httpSrv.Serve(httpLn)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.set.Logger.Error("HTTP server stopped", "error", err)
				s.set.Metrics.Error("serve")
			}
		}()
	}
	grpcSrv, httpSrv := s.grpcSrv, s.httpSrv
	s.mu.Unlock()
	s.set.Logger.Info("receiving OTLP logs", "grpc", s.addrs["grpc"], "http", s.addrs["http"], "tls", s.tls != nil, "mtls", s.tls != nil && s.tls.ClientCAs != nil, "token", s.tokens.Configured())
	if s.tls == nil && s.tokens.Configured() {
		s.set.Logger.Warn("a token is required but TLS is off: clients send it in plaintext; add a tls block")
	}

	<-ctx.Done()
	// Stop intake: new calls are refused, the servers stop accepting
	// connections and wait for the calls under way, which wait for their
	// records' outcomes while the pipeline drains.
	s.exp.stop()
	go func() {
		var sw sync.WaitGroup
		if grpcSrv != nil {
			sw.Add(1)
			go func() { defer sw.Done(); grpcSrv.GracefulStop() }()
		}
		if httpSrv != nil {
			sw.Add(1)
			go func() { defer sw.Done(); _ = httpSrv.Shutdown(context.Background()) }()
		}
		sw.Wait()
		wg.Wait()
		close(s.stopped)
	}()
	return nil
}

// Close stops the servers: after the pipeline stopped, every call has its
// answer, or never will; it waits a little for the answers to go out.
func (s *source) Close() error {
	s.mu.Lock()
	stopped, grpcSrv, httpSrv := s.stopped, s.grpcSrv, s.httpSrv
	s.mu.Unlock()
	if stopped == nil {
		return nil
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		if grpcSrv != nil {
			grpcSrv.Stop()
		}
		if httpSrv != nil {
			httpSrv.Close()
		}
		<-stopped
	}
	return nil
}

// unauthenticated is the answer to a call without the right token.
func (s *source) unauthenticated(err error) answer {
	if err != nil {
		s.set.Logger.Warn("cannot read the token file; calls are refused until it can be read", "error", err)
	}
	return refused("unauthenticated", codes.Unauthenticated, http.StatusUnauthorized, "a valid bearer token is required (authorization: Bearer …)")
}

// Addrs returns the addresses the source listens on, by transport ("grpc",
// "http"), once it does (for tests that listen on port 0).
func (s *source) Addrs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.addrs))
	for k, v := range s.addrs {
		out[k] = v
	}
	return out
}
