package tail

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octostore/agent/internal/testfig"
)

// TestRotationSoak: 5 writers append 100,000 lines each to their own file
// and rotate it by rename every 256 KB while the source tails them. Every
// line written is delivered exactly once, counted by record id.
func TestRotationSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test; skipped with -short")
	}
	const (
		files     = 5
		perFile   = 100000
		rotateAt  = 256 << 10
		burst     = 200
		padLength = 40
	)
	dir, data := t.TempDir(), t.TempDir()
	h := start(t, data, false, func(c *Config) {
		c.Paths = []string{filepath.Join(dir, "*.log*")}
		c.RotateWait = "1s"
		c.PollInterval = "20ms"
		c.GlobInterval = "200ms"
	})
	begin := time.Now()
	var wg sync.WaitGroup
	rotations := make([]int, files)
	errs := make(chan error, files)
	for f := 0; f < files; f++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := filepath.Join(dir, fmt.Sprintf("app%d.log", f))
			w, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				errs <- err
				return
			}
			size := 0
			pad := strings.Repeat("x", padLength)
			var b []byte
			for n := 0; n < perFile; {
				b = b[:0]
				for k := 0; k < burst && n < perFile; k++ {
					b = fmt.Appendf(b, "f%d line %07d %s\n", f, n, pad)
					n++
				}
				if _, err := w.Write(b); err != nil {
					errs <- err
					return
				}
				size += len(b)
				if size >= rotateAt {
					rotations[f]++
					if err := os.Rename(name, fmt.Sprintf("%s.%d", name, rotations[f])); err != nil {
						errs <- err
						return
					}
					// A few more lines reach the old file before the writer reopens.
					b = fmt.Appendf(b[:0], "f%d line %07d %s\n", f, n, pad)
					n++
					w.Write(b)
					w.Close()
					if w, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
						errs <- err
						return
					}
					size = 0
				}
				if n%5000 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			w.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	written := time.Since(begin)
	const total = files * perFile
	deadline := time.Now().Add(3 * time.Minute)
	for {
		h.sink.mu.Lock()
		n := len(h.sink.recs)
		h.sink.mu.Unlock()
		if n >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d of %d lines", n, total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // anything extra (a duplicate) would arrive now
	h.stop()
	ids := map[string]bool{}
	lines := map[string]int{}
	for _, r := range h.sink.recs {
		ids[r.id] = true
		lines[r.line]++
	}
	dups := 0
	for _, c := range lines {
		if c > 1 {
			dups += c - 1
		}
	}
	lost := 0
	for f := 0; f < files; f++ {
		for n := 0; n < perFile; n++ {
			if lines[fmt.Sprintf("f%d line %07d %s", f, n, strings.Repeat("x", padLength))] == 0 {
				lost++
			}
		}
	}
	rot := 0
	for _, r := range rotations {
		rot += r
	}
	testfig.Report(t, "files: %d, lines written: %d, rotations: %d (every 256 KB); records delivered: %d, distinct ids: %d, duplicates: %d, lost: %d; writing took %v, delivery done %v after start",
		files, total, rot, len(h.sink.recs), len(ids), dups, lost, written.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
	if len(h.sink.recs) != total || len(ids) != total || dups != 0 || lost != 0 {
		t.Fatalf("delivered %d records with %d distinct ids for %d lines written (%d duplicates, %d lost)", len(h.sink.recs), len(ids), total, dups, lost)
	}
}
