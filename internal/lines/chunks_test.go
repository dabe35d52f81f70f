package lines

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// Recycled chunks: the lines of a chunk stay as they were read while any
// Hold on it is unreleased, however many chunks are read after it; once
// every Hold is released (and the splitter has moved on) the next chunk of
// full size is the same memory. Small first chunks and chunks grown for a
// long line are not recycled.
func TestRecycledChunkReusedOnlyOnceReleased(t *testing.T) {
	const chunk = 4096
	c := NewChunks(chunk)
	s := New(0, chunk, 3000)
	s.Recycle(c)
	var data strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&data, "line %05d %s\n", i, strings.Repeat("x", i%50))
		if i%500 == 250 {
			data.WriteString(strings.Repeat("L", 2500) + "\n") // a larger chunk of its own
		}
	}
	r := &appendReader{data: []byte(data.String())}
	type held struct {
		lines   []string // copies, to compare with
		views   [][]byte // the lines as handed out
		release func()
	}
	var holds []held
	seen := map[*byte]int{} // the chunks read into, by first byte: how often one was started
	var last *byte
	var out []Line
	for {
		var err error
		out, _, err = s.Read(r, out[:0])
		if s.held != nil {
			if len(s.chunk) != chunk {
				t.Fatalf("a chunk of %d bytes came from the pool", len(s.chunk))
			}
			if p := &s.chunk[0]; p != last {
				seen[p]++
				last = p
			}
		}
		if len(out) > 0 {
			h := held{release: s.Hold()}
			for _, l := range out {
				h.lines, h.views = append(h.lines, string(l.Bytes)), append(h.views, l.Bytes)
			}
			holds = append(holds, h)
		}
		// Lines held for three reads, then released (a sink's batches in
		// flight), all checked before their release.
		for len(holds) > 3 {
			h := holds[0]
			holds = holds[1:]
			for i, v := range h.views {
				if string(v) != h.lines[i] {
					t.Fatalf("held line changed: %q, was %q", v, h.lines[i])
				}
			}
			if h.release != nil {
				h.release()
			}
		}
		if err == io.EOF {
			break
		}
	}
	reused := 0
	for _, n := range seen {
		reused += n - 1
	}
	if reused == 0 {
		t.Fatal("no chunk was reused")
	}
}
