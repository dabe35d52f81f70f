// Command teststore serves the test Octostore (package e2e/store) on a
// PostgreSQL database:
//
//	teststore -dsn "host=/tmp/pg port=5432 user=postgres" -addr 127.0.0.1:0 [-tls-cert C -tls-key K] [-faults '{"flap":0.3}']
//
// It prints "listening on ADDR" on standard output once it serves.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/octostore/agent/e2e/store"
)

func main() {
	dsn := flag.String("dsn", "", "PostgreSQL connection string")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	cert := flag.String("tls-cert", "", "TLS certificate (PEM); with -tls-key, serve HTTPS")
	key := flag.String("tls-key", "", "TLS key (PEM)")
	faults := flag.String("faults", "", "faults to inject, as JSON (see store.Faults)")
	flag.Parse()
	var f store.Faults
	if *faults != "" {
		if err := json.Unmarshal([]byte(*faults), &f); err != nil {
			fmt.Fprintln(os.Stderr, "teststore: -faults:", err)
			os.Exit(2)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	s, err := store.New(ctx, *dsn, f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "teststore:", err)
		os.Exit(1)
	}
	defer s.Close()
	var ln net.Listener
	for i := 0; ; i++ {
		ln, err = net.Listen("tcp", *addr)
		if err == nil || i >= 100 {
			break
		}
		time.Sleep(100 * time.Millisecond) // the address of a store that just died may still be busy
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "teststore:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Printf("listening on %s\n", ln.Addr())
	if *cert != "" {
		err = srv.ServeTLS(ln, *cert, *key)
	} else {
		err = srv.Serve(ln)
	}
	if err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "teststore:", err)
		os.Exit(1)
	}
}
