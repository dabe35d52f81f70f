package lines

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads r to its end and flushes the last line.
func readAll(t *testing.T, s *Splitter, r io.Reader) []Line {
	t.Helper()
	return s.Flush(drain(t, s, r))
}

// drain reads r to its end (io.EOF), without flushing.
func drain(t *testing.T, s *Splitter, r io.Reader) []Line {
	t.Helper()
	var out []Line
	for {
		var err error
		out, _, err = s.Read(r, out)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSplitOffsets(t *testing.T) {
	in := "alpha\r\nbeta\n\ngamma"
	for _, name := range []string{"whole", "byte-at-a-time"} {
		t.Run(name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(in)
			if name != "whole" {
				r = iotest.OneByteReader(r)
			}
			s := New(100, 16, 8)
			got := readAll(t, s, r)
			want := []Line{
				{Bytes: []byte("alpha"), Offset: 100, End: 107},
				{Bytes: []byte("beta"), Offset: 107, End: 112},
				{Bytes: []byte(""), Offset: 112, End: 113},
				{Bytes: []byte("gamma"), Offset: 113, End: 118},
			}
			if len(got) != len(want) {
				t.Fatalf("got %d lines, want %d: %+v", len(got), len(want), got)
			}
			for i := range want {
				if !bytes.Equal(got[i].Bytes, want[i].Bytes) || got[i].Offset != want[i].Offset || got[i].End != want[i].End || got[i].Cut {
					t.Errorf("line %d = %q@%d-%d cut=%v, want %q@%d-%d", i, got[i].Bytes, got[i].Offset, got[i].End, got[i].Cut, want[i].Bytes, want[i].Offset, want[i].End)
				}
			}
			if s.Consumed() != 118 {
				t.Errorf("Consumed = %d, want 118", s.Consumed())
			}
		})
	}
}

func TestLongLineIsCutAndRestOfItSkipped(t *testing.T) {
	long := strings.Repeat("x", 50)
	in := "ok\n" + long + "\nnext\n"
	for _, name := range []string{"whole", "byte-at-a-time"} {
		t.Run(name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(in)
			if name != "whole" {
				r = iotest.OneByteReader(r)
			}
			s := New(0, 16, 8)
			got := readAll(t, s, r)
			if len(got) != 3 {
				t.Fatalf("got %d lines: %+v", len(got), got)
			}
			if string(got[1].Bytes) != long[:8] || !got[1].Cut || got[1].Offset != 3 {
				t.Errorf("cut line = %q cut=%v at %d", got[1].Bytes, got[1].Cut, got[1].Offset)
			}
			if string(got[2].Bytes) != "next" || got[2].Offset != 54 || got[2].End != 59 {
				t.Errorf("line after the long one = %q@%d-%d", got[2].Bytes, got[2].Offset, got[2].End)
			}
		})
	}
}

func TestLinesStayValidAcrossChunks(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		b.WriteString(strings.Repeat(string(rune('a'+i%26)), i%40))
		b.WriteByte('\n')
	}
	s := New(0, 64, 40)
	got := readAll(t, s, iotest.HalfReader(strings.NewReader(b.String())))
	if len(got) != 5000 {
		t.Fatalf("got %d lines", len(got))
	}
	for i, l := range got {
		if want := strings.Repeat(string(rune('a'+i%26)), i%40); string(l.Bytes) != want {
			t.Fatalf("line %d = %q, want %q", i, l.Bytes, want)
		}
	}
}

func BenchmarkSplit(b *testing.B) {
	line := `203.0.113.9 - - [21/Nov/2026:05:41:35 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64)"` + "\n"
	data := []byte(strings.Repeat(line, 10000))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var out []Line
	for i := 0; i < b.N; i++ {
		s := New(0, 256<<10, 100<<10)
		r := bytes.NewReader(data)
		for {
			var err error
			out, _, err = s.Read(r, out[:0])
			if err != nil {
				break
			}
		}
	}
}
