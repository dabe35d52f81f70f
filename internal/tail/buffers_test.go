package tail

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Many idle files hold no read buffer: each file's buffer is dropped once
// it has been idle for line_idle_timeout, open handles stay within
// max_open_files, and a file written again later is read with a new one.
func TestIdleFilesHoldNoReadBuffer(t *testing.T) {
	const files, perFile, maxOpen = 300, 5, 100
	dir, data := t.TempDir(), t.TempDir()
	for f := 0; f < files; f++ {
		appendTo(t, filepath.Join(dir, fmt.Sprintf("f%03d.log", f)), numbered(fmt.Sprintf("f%03d ", f), 0, perFile)...)
	}
	h := start(t, data, false, func(c *Config) {
		c.Paths = []string{filepath.Join(dir, "*.log")}
		c.MaxOpenFiles = maxOpen
		c.LineIdleTimeout = "50ms"
	})
	defer h.stop()
	h.waitLines(files * perFile)
	gauge := func(name string) float64 {
		return testutil.ToFloat64(h.rt.Metrics().GaugeVec(name, "").WithLabelValues("source.file.t"))
	}
	deadline := time.Now().Add(30 * time.Second)
	for gauge("file_read_buffer_bytes") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle files still hold %.0f bytes of read buffers", files, gauge("file_read_buffer_bytes"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if open := gauge("file_open_files"); open > maxOpen {
		t.Fatalf("%.0f files open, max_open_files = %d", open, maxOpen)
	}
	appendTo(t, filepath.Join(dir, "f007.log"), "f007 again\n")
	got := h.waitLines(files*perFile + 1)
	if last := got[len(got)-1]; last != "f007 again" {
		t.Fatalf("last line %q", last)
	}
}

// Lines handed on leave nothing behind in the tailer: its scratch lists of
// lines and entries, reused from turn to turn, are cleared once a turn's
// records are handed on, so nothing the collector can see keeps a file's
// read chunks (and so the bytes of records long written) alive. With 100
// busy files, lists left full held 70 of 91 MB of live heap.
func TestHandedOnLinesAreNotKept(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	for f := 0; f < 20; f++ {
		appendTo(t, filepath.Join(dir, fmt.Sprintf("f%02d.log", f)), numbered(fmt.Sprintf("f%02d ", f), 0, 500)...)
	}
	h := start(t, data, true, func(c *Config) { c.Paths = []string{filepath.Join(dir, "*.log")} })
	h.wait()
	if got := len(h.sink.lines()); got != 20*500 {
		t.Fatalf("%d lines, want %d", got, 20*500)
	}
	s := lastTailer.Load()
	if cap(s.out) == 0 || cap(s.ents) == 0 {
		t.Fatalf("scratch lists never used: cap %d and %d", cap(s.out), cap(s.ents))
	}
	for i, l := range s.out[:cap(s.out)] {
		if !reflect.ValueOf(l).IsZero() {
			t.Fatalf("line %d of the scratch list still holds %q", i, l.Bytes)
		}
	}
	for i, e := range s.ents[:cap(s.ents)] {
		if !reflect.ValueOf(e).IsZero() {
			t.Fatalf("entry %d of the scratch list still holds %q", i, e.Raw)
		}
	}
}
