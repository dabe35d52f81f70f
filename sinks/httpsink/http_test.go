package httpsink

import (
	"bufio"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octostore/agent/agent"
)

func TestTemplate(t *testing.T) {
	for _, bad := range []string{"ftp://x/", "https://x/{{nope}}", "https://x/{{kind", "https://u:p@x/"} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	tpl, err := parseTemplate("https://c.internal/in/{{kind}}/{{fields.ns}}?h={{host}}")
	if err != nil {
		t.Fatal(err)
	}
	p := &protocol{tpl: tpl}
	r := agent.Record{Kind: "http_request", Origin: agent.Origin{Host: "n1"}}.WithFields(map[string]any{"ns": "a/b c"})
	if got := p.Key(&r); got != "https://c.internal/in/http_request/a%2Fb%20c?h=n1" {
		t.Fatalf("rendered %q", got)
	}
	raw := agent.Record{Raw: []byte("x")}
	if got := p.Key(&raw); got != "https://c.internal/in/raw/_?h=_" {
		t.Fatalf("rendered %q", got)
	}
}

// TestSendsNDJSONPerURL: records go to the URL their kind selects, as
// gzipped JSON lines, with the configured headers.
func TestSendsNDJSONPerURL(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Tenant") != "platform" || r.Header.Get("Content-Type") != "application/x-ndjson" {
			w.WriteHeader(400)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		sc := bufio.NewScanner(zr)
		mu.Lock()
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), `{"id":`) {
				got[r.URL.Path]++
			}
		}
		mu.Unlock()
	}))
	defer srv.Close()
	f := NewFactory()
	cfg := f.NewConfig().(*Config)
	cfg.URL = srv.URL + "/in/{{kind}}"
	cfg.Headers = map[string]string{"X-Tenant": "platform"}
	cfg.Common.BatchMaxWait = "10ms"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	m := agent.NewMetrics(nil)
	s, err := f.Create(agent.Settings{ID: "sink.http.t", Metrics: m.For("sink.http.t")}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sink := s.(agent.Sink)
	defer s.(agent.Closer).Close()
	var b agent.Batch
	for i := 0; i < 30; i++ {
		k := []string{"a", "b", "c"}[i%3]
		b = append(b, agent.Record{Kind: k, Time: time.Unix(0, 0), Origin: agent.Origin{Offset: int64(i)}}.WithFields(map[string]any{"i": int64(i)}))
	}
	sink.Consume(context.Background(), b)
	if err := sink.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got["/in/a"] != 10 || got["/in/b"] != 10 || got["/in/c"] != 10 {
		t.Fatalf("per URL: %v", got)
	}
}
