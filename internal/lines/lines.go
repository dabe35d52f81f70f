// Package lines splits a byte stream into lines without allocating per
// line: it reads into large chunks and hands out sub-slices of them, so a
// line's bytes stay valid for as long as anyone holds them, or, for a
// splitter that recycles its chunks (Recycle), until the Hold covering
// them is released.
package lines

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Splitter reads a stream in chunks and yields complete lines with their
// byte offsets. "\n" ends a line; a "\r" before it is dropped.
type Splitter struct {
	chunkSize int // the largest read, for a file with much to read
	limit     int // the largest read for now (Limit), at most chunkSize
	maxLine   int
	// size is the next chunk's size: it starts at firstChunk, doubles
	// while reads fill whole chunks (up to chunkSize), grows to hold a
	// long line (up to 2 × maxLine), and starts over after Release.
	size int
	// probe takes the first read while there is no chunk.
	probe [512]byte
	// chunk[:fill] holds what was read; chunk[cstart:fill] is the start of a
	// line not yet complete. Bytes before cstart were handed out and are
	// never written again, so the lines handed out stay valid.
	chunk    []byte
	fill     int
	cstart   int
	start    int64 // stream offset of chunk[cstart]
	resume   int64 // where a restart resumes: the start of the first line not handed out whole
	skipping bool  // inside an over-long line, discarding until '\n'
	// recycle, when set (Recycle), gives the chunks of chunkSize bytes;
	// held is the one read into now if it came from there (nil for a
	// smaller or larger chunk, left to the collector).
	recycle *Chunks
	held    *pooled
}

// Line is one line handed out by Read.
type Line struct {
	Bytes []byte
	// Offset is the stream offset of the line's first byte; End the offset
	// to resume from once this line is done (just past its newline).
	Offset, End int64
	// Cut is set on the first MaxLine bytes of a line that was longer; the
	// rest of that line is skipped. Its End is its Offset until its
	// newline is seen, so a restart reads it again rather than resuming in
	// the middle of it.
	Cut bool
}

// FirstChunk is the size of a splitter's first chunk, and of the first
// after a Release: a file with little to read costs no more than this.
const FirstChunk = 4 << 10

// New returns a splitter that starts at stream offset offset. chunkSize is
// the largest read (reads start at FirstChunk and double while they fill
// whole chunks); maxLine the longest line kept whole. A chunk grows past
// chunkSize only to hold a line longer than a quarter of it.
func New(offset int64, chunkSize, maxLine int) *Splitter {
	if maxLine <= 0 {
		maxLine = 100 << 10
	}
	chunkSize = max(chunkSize, 4096)
	return &Splitter{chunkSize: chunkSize, limit: chunkSize, maxLine: maxLine, size: min(FirstChunk, chunkSize), start: offset, resume: offset}
}

// Release drops the chunk if no incomplete line is held in it, so an idle
// stream holds no buffer; the next Read starts a small one. The chunk
// is reused only if it was recycled and every Hold on it is released:
// lines handed out from it may still be held (as records' Raw). It
// reports whether a chunk was dropped.
func (s *Splitter) Release() bool {
	if s.chunk == nil || s.fill > s.cstart {
		return false
	}
	s.drop()
	s.chunk, s.fill, s.cstart = nil, 0, 0
	s.size = min(FirstChunk, s.chunkSize)
	return true
}

// Limit sets the largest read to n (at least 4096) from the next chunk
// on, below the chunkSize New was given, or back up to it: a reader of
// many streams shares one memory budget among them. A line longer than a
// quarter of the limit still gets a chunk large enough to hold it.
func (s *Splitter) Limit(n int) {
	s.limit = min(max(n, 4096), s.chunkSize)
	s.size = min(s.size, s.limit)
}

// Held returns the size of the chunk held (0 after Release).
func (s *Splitter) Held() int { return len(s.chunk) }

// Consumed is the offset to resume from: just past the last line handed
// out whole.
func (s *Splitter) Consumed() int64 { return s.resume }

// Pending returns how many bytes of an incomplete line are held.
func (s *Splitter) Pending() int { return s.fill - s.cstart }

// Reset forgets any partial line and restarts at offset (after a
// truncation).
func (s *Splitter) Reset(offset int64) {
	s.cstart, s.skipping, s.start, s.resume = s.fill, false, offset, offset
}

// Read does one Read call on r and appends the lines it completed to out.
// It returns io.EOF (or another error) as r did, after handing out what was
// read.
func (s *Splitter) Read(r io.Reader, out []Line) ([]Line, int, error) {
	if s.chunk == nil {
		// No buffer (new, or released while idle): read into the probe
		// first, so that a stream with nothing to read allocates nothing.
		n, err := r.Read(s.probe[:])
		if n == 0 {
			return out, 0, err
		}
		s.newChunk()
		s.fill = copy(s.chunk, s.probe[:n])
		return s.split(out), n, err
	}
	if len(s.chunk)-s.fill < s.size/4 {
		s.newChunk()
	}
	n, err := r.Read(s.chunk[s.fill:])
	if n == 0 {
		return out, 0, err
	}
	s.fill += n
	if s.fill == len(s.chunk) && s.size < s.limit {
		s.size = min(2*s.size, s.limit) // more to read: read more at once
	}
	return s.split(out), n, err
}

// newChunk starts a chunk of s.size bytes, or larger to hold the
// incomplete line with room to read its end, carrying that line over. The
// old chunk lives on only through the lines handed out from it (and their
// Holds, when recycled).
func (s *Splitter) newChunk() {
	pending := s.fill - s.cstart
	size := s.size
	for size < 2*pending && size < 2*s.maxLine {
		size *= 2
	}
	size = max(size, pending+s.size/4)
	var p *pooled
	var c []byte
	if s.recycle != nil && size == s.chunkSize {
		p = s.recycle.get()
		c = p.b
	} else {
		c = uncleared(size)
	}
	s.fill = copy(c, s.chunk[s.cstart:s.fill])
	s.drop()
	s.chunk, s.cstart, s.held = c, 0, p
}

// Chunks recycles read chunks of one size among the splitters of a
// reader: a chunk goes back once the splitter has moved past it and every
// Hold on it has been released, and a later chunk of that size is the
// same memory instead of a fresh allocation. (Fresh chunks were 94% of
// the bytes the passthrough bench allocated, and the collections they
// brought on most of its collector's time.)
type Chunks struct {
	size int
	pool sync.Pool
}

// pooled is a chunk of Chunks with the count of its holders: the
// splitter while it reads into it, and each Hold not yet released.
type pooled struct {
	b    []byte
	refs atomic.Int32
	from *Chunks
}

// NewChunks returns a pool of chunks of size bytes (read_buffer_bytes).
func NewChunks(size int) *Chunks { return &Chunks{size: max(size, 4096)} }

func (c *Chunks) get() *pooled {
	p, _ := c.pool.Get().(*pooled)
	if p == nil {
		p = &pooled{b: uncleared(c.size), from: c}
	}
	p.refs.Store(1)
	return p
}

// release drops one holder; the last puts the chunk back.
func (p *pooled) release() {
	if p.refs.Add(-1) == 0 {
		if poison {
			for i := range p.b {
				p.b[i] = poisonByte
			}
		}
		p.from.pool.Put(p)
	}
}

// Recycle has the splitter take its chunks of full size (chunkSize) from
// c and give them back through Hold; c's size must be chunkSize, or it is
// not used. Every line handed out from then on must be covered by a Hold
// whose release runs only once nothing reads the line any more: a reader
// whose lines may be kept past that (joined into a multiline record,
// decoded into fields that outlive it) must not call Recycle.
func (s *Splitter) Recycle(c *Chunks) {
	if c != nil && c.size == s.chunkSize {
		s.recycle = c
	}
}

// Hold returns what to call once nothing reads the lines handed out by the
// last Read or Flush any more (they all lie in the chunk read into now),
// or nil if that chunk is not recycled. The chunk is reused only after
// every function Hold returned for it has been called.
func (s *Splitter) Hold() func() {
	if s.held == nil {
		return nil
	}
	s.held.refs.Add(1)
	return s.held.release
}

// drop gives up the splitter's own hold on the chunk it reads into.
func (s *Splitter) drop() {
	if s.held != nil {
		s.held.release()
		s.held = nil
	}
}

func (s *Splitter) split(out []Line) []Line {
	data := s.chunk[s.cstart:s.fill]
	pos := 0
	for {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			break
		}
		end := pos + i
		next := s.start + int64(end+1)
		if s.skipping {
			s.skipping = false
		} else {
			line := data[pos:end]
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			cut := false
			if len(line) > s.maxLine {
				line, cut = line[:s.maxLine], true
			}
			out = append(out, Line{Bytes: line[:len(line):len(line)], Offset: s.start + int64(pos), End: next, Cut: cut})
		}
		s.resume = next
		pos = end + 1
	}
	if rest := data[pos:]; !s.skipping && len(rest) > s.maxLine {
		// An over-long line with no end in sight: hand out its head now and
		// skip the rest until its newline.
		at := s.start + int64(pos)
		out = append(out, Line{Bytes: rest[:s.maxLine:s.maxLine], Offset: at, End: at, Cut: true})
		s.skipping = true
	}
	if s.skipping {
		pos = len(data)
	}
	s.start += int64(pos)
	s.cstart += pos
	return out
}

// Flush hands out the incomplete last line, if any, as a line of its own
// (at the end of the input, or after an idle timeout).
func (s *Splitter) Flush(out []Line) []Line {
	if s.skipping {
		s.skipping = false
		s.resume = s.start
		return out
	}
	line := s.chunk[s.cstart:s.fill]
	if len(line) == 0 {
		return out
	}
	end := s.start + int64(len(line))
	if line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	out = append(out, Line{Bytes: line[:len(line):len(line)], Offset: s.start, End: end})
	s.start, s.resume, s.cstart = end, end, s.fill
	return out
}

// uncleared returns n bytes that are not cleared first: a chunk is only
// ever read up to what a Read or the carried-over line wrote into it, and
// clearing a fresh chunk of every file read costs as much as a pass over
// the input. strings.Builder is the standard library's way to such memory
// (its Grow does not clear); the builder is dropped, so the bytes have no
// other owner.
func uncleared(n int) []byte {
	var b strings.Builder
	b.Grow(n)
	b.WriteByte(0)
	return unsafe.Slice(unsafe.StringData(b.String()), n)
}
