// Package lines splits a byte stream into lines without allocating per
// line: it reads into large chunks and hands out sub-slices of them, so a
// line's bytes stay valid for as long as anyone holds them.
package lines

import (
	"bytes"
	"io"
)

// Splitter reads a stream in chunks and yields complete lines with their
// byte offsets. "\n" ends a line; a "\r" before it is dropped.
type Splitter struct {
	chunkSize int
	maxLine   int
	// chunk[:fill] holds what was read; chunk[cstart:fill] is the start of a
	// line not yet complete. Bytes before cstart were handed out and are
	// never written again, so the lines handed out stay valid.
	chunk    []byte
	fill     int
	cstart   int
	start    int64 // stream offset of chunk[cstart]
	resume   int64 // where a restart resumes: the start of the first line not handed out whole
	skipping bool  // inside an over-long line, discarding until '\n'
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

// New returns a splitter that starts at stream offset offset. chunkSize is
// the read size; maxLine the longest line kept whole.
func New(offset int64, chunkSize, maxLine int) *Splitter {
	if maxLine <= 0 {
		maxLine = 100 << 10
	}
	if chunkSize < 2*maxLine {
		chunkSize = 2 * maxLine
	}
	return &Splitter{chunkSize: chunkSize, maxLine: maxLine, start: offset, resume: offset}
}

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
	if len(s.chunk)-s.fill < s.chunkSize/4 {
		// Start a new chunk, carrying the incomplete line over. The old
		// chunk lives on only through the lines handed out from it.
		c := make([]byte, s.chunkSize)
		s.fill = copy(c, s.chunk[s.cstart:s.fill])
		s.chunk, s.cstart = c, 0
	}
	n, err := r.Read(s.chunk[s.fill:])
	if n == 0 {
		return out, 0, err
	}
	s.fill += n
	return s.split(out), n, err
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
