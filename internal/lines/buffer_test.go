package lines

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// appendReader reads what was appended so far, then io.EOF, like a file
// being tailed.
type appendReader struct {
	data []byte
	at   int
}

func (a *appendReader) Read(p []byte) (int, error) {
	if a.at == len(a.data) {
		return 0, io.EOF
	}
	n := copy(p, a.data[a.at:])
	a.at += n
	return n, nil
}

func TestSmallStreamHoldsASmallChunk(t *testing.T) {
	s := New(0, 256<<10, 100<<10)
	r := &appendReader{data: []byte(strings.Repeat("a short line\n", 20))}
	if got := drain(t, s, r); len(got) != 20 {
		t.Fatalf("got %d lines", len(got))
	}
	if s.Held() != FirstChunk {
		t.Fatalf("a 260-byte stream holds a %d-byte chunk, want %d", s.Held(), FirstChunk)
	}
}

func TestBusyStreamReadsInLargerChunks(t *testing.T) {
	const chunk = 256 << 10
	s := New(0, chunk, 1<<10)
	data := []byte(strings.Repeat(strings.Repeat("x", 99)+"\n", 20000)) // 2 MB
	got := drain(t, s, &appendReader{data: data})
	if len(got) != 20000 {
		t.Fatalf("got %d lines", len(got))
	}
	if s.Held() != chunk {
		t.Fatalf("after 2 MB read at once, the chunk is %d bytes, want read_buffer_bytes %d", s.Held(), chunk)
	}
}

func TestLongLineGrowsTheChunkOnlyForItself(t *testing.T) {
	s := New(0, 64<<10, 300<<10)
	long := strings.Repeat("L", 200<<10)
	r := &appendReader{data: []byte("a\n" + long + "\nb\n")}
	got := drain(t, s, r)
	if len(got) != 3 || string(got[1].Bytes) != long || got[1].Cut || string(got[2].Bytes) != "b" {
		t.Fatalf("lines: %d, long line kept whole: %v", len(got), len(got) > 1 && len(got[1].Bytes) == len(long))
	}
	if s.Held() < len(long) {
		t.Fatalf("chunk %d bytes could not hold the long line", s.Held())
	}
	if !s.Release() || s.Held() != 0 {
		t.Fatal("an idle splitter with no partial line did not release its chunk")
	}
	r.data = append(r.data, "c\n"...)
	got = drain(t, s, r)
	if len(got) != 1 || string(got[0].Bytes) != "c" || got[0].Offset != int64(len(r.data)-2) {
		t.Fatalf("after release: %+v", got)
	}
	if s.Held() != FirstChunk {
		t.Fatalf("after a long line and a release, the next chunk is %d bytes, want %d", s.Held(), FirstChunk)
	}
}

func TestLongLineOverMaxIsStillCut(t *testing.T) {
	// read_buffer_bytes smaller than max_line_bytes: the chunk grows to
	// hold max_line_bytes, and a longer line is cut there.
	s := New(0, 4096, 10000)
	long := strings.Repeat("z", 25000)
	got := drain(t, s, &appendReader{data: []byte(long + "\nnext\n")})
	if len(got) != 2 || !got[0].Cut || len(got[0].Bytes) != 10000 || string(got[1].Bytes) != "next" {
		t.Fatalf("got %d lines; first cut=%v len=%d", len(got), len(got) > 0 && got[0].Cut, len(got[0].Bytes))
	}
}

func TestReleaseKeepsAPartialLine(t *testing.T) {
	s := New(0, 64<<10, 1<<10)
	r := &appendReader{data: []byte("whole\npart")}
	if got := drain(t, s, r); len(got) != 1 {
		t.Fatalf("got %d lines", len(got))
	}
	if s.Release() {
		t.Fatal("released a chunk holding an incomplete line")
	}
	r.data = append(r.data, "ial\n"...)
	if got := drain(t, s, r); len(got) != 1 || string(got[0].Bytes) != "partial" || got[0].Offset != 6 {
		t.Fatalf("got %+v", got)
	}
}

func TestIdleStreamAllocatesNothing(t *testing.T) {
	s := New(0, 256<<10, 100<<10)
	r := bytes.NewReader(nil)
	var out []Line
	allocs := testing.AllocsPerRun(100, func() {
		out, _, _ = s.Read(r, out[:0])
	})
	if allocs != 0 || s.Held() != 0 {
		t.Fatalf("reading an empty stream allocated %.0f times and holds %d bytes", allocs, s.Held())
	}
}

// Limit holds a busy stream's reads below chunkSize (a tailer sharing its
// memory among many files), still lets a long line grow a chunk of its
// own, and raised again lets reads grow back to chunkSize.
func TestLimitBoundsABusyStream(t *testing.T) {
	const chunk, limit = 256 << 10, 16 << 10
	s := New(0, chunk, 100<<10)
	s.Limit(limit)
	line := strings.Repeat("x", 99) + "\n"
	r := &appendReader{data: []byte(strings.Repeat(line, 5000))} // 500 KB
	most, n := 0, 0
	var out []Line
	for {
		var err error
		out, _, err = s.Read(r, out[:0])
		n += len(out)
		most = max(most, s.Held())
		if err == io.EOF {
			break
		}
	}
	if n != 5000 || most > limit {
		t.Fatalf("%d lines, chunks up to %d bytes under a limit of %d", n, most, limit)
	}
	long := strings.Repeat("L", 40<<10)
	r.data = append(r.data, long+"\n"+strings.Repeat(line, 5000)...)
	got := drain(t, s, r)
	if len(got) != 5001 || string(got[0].Bytes) != long {
		t.Fatalf("%d lines after the long one, long line whole: %v", len(got), len(got) > 0 && len(got[0].Bytes) == len(long))
	}
	if s.Held() > limit {
		t.Fatalf("after the long line, chunks of %d bytes under a limit of %d", s.Held(), limit)
	}
	s.Limit(1 << 30) // back up: to chunkSize, no further
	r.data = append(r.data, strings.Repeat(line, 20000)...)
	drain(t, s, r)
	if s.Held() != chunk {
		t.Fatalf("limit raised again: chunk %d bytes, want %d", s.Held(), chunk)
	}
}
