package tail

import (
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/lines"
)

// Entry is one record a Decoder made from one or more lines of a file.
type Entry struct {
	// Raw is the message: the record's Raw.
	Raw []byte
	// Offset is the byte offset of the entry's first line: the record's
	// origin offset, which its id derives from.
	Offset int64
	// Commit is where a restart resumes once this entry and every entry
	// before it have reached an outcome: past its last line, or earlier if
	// the decoder still holds lines from before that point (an unfinished
	// record of another stream).
	Commit int64
	// Time is the record's time; zero means the time the lines were read.
	Time time.Time
	// Entity and Fields become the record's; Fields nil keeps the record
	// raw (fields.message is Raw on the wire). Entity must not be appended
	// to in place (give it len == cap), so entries can share it.
	Entity []agent.KV
	Fields map[string]any
	// Cut marks the head of a line longer than max_line_bytes: it goes to
	// the dead-letter output.
	Cut bool
}

// Decoder turns the lines of one file into entries. The Tailer makes one
// per file and calls it from one goroutine. Lines arrive in file order; a
// decoder may hold lines back (joining them) but must hand out every line
// it was given as part of some entry, eventually, or drop it on purpose.
type Decoder interface {
	// Add takes the next line and appends the entries it finished.
	Add(l lines.Line, now time.Time, out []Entry) []Entry
	// Tick appends the entries whose joining timed out by now.
	Tick(now time.Time, out []Entry) []Entry
	// Flush appends everything held: end of input, rotation, truncation.
	Flush(out []Entry) []Entry
}

// Hooks let another source reuse the Tailer: which files to take, and how
// to decode their lines.
type Hooks struct {
	// Accept filters the paths the globs found (after exclude); nil
	// accepts them all.
	Accept func(path string) bool
	// NewDecoder returns the decoder of one file; nil means plain lines,
	// joined per the multiline block if there is one.
	NewDecoder func(path string) Decoder
}

// plainDecoder passes each line on as an entry, or joins lines per the
// multiline block.
type plainDecoder struct {
	ml *joiner
}

func newPlainDecoder(m *MultilineConfig) Decoder {
	if m == nil {
		return plainDecoder{}
	}
	return plainDecoder{ml: &joiner{cfg: m}}
}

func (d plainDecoder) Add(l lines.Line, now time.Time, out []Entry) []Entry {
	if d.ml == nil || l.Cut {
		if d.ml != nil {
			out = d.ml.flush(out) // an over-long line ends the record it was in
		}
		return append(out, Entry{Raw: l.Bytes, Offset: l.Offset, Commit: l.End, Cut: l.Cut})
	}
	return d.ml.add(l, now, out)
}

func (d plainDecoder) Tick(now time.Time, out []Entry) []Entry {
	if d.ml != nil && d.ml.n > 0 && now.Sub(d.ml.last) >= d.ml.cfg.timeout {
		out = d.ml.flush(out)
	}
	return out
}

func (d plainDecoder) Flush(out []Entry) []Entry {
	if d.ml != nil {
		out = d.ml.flush(out)
	}
	return out
}

// joiner joins consecutive lines into one entry per the multiline block.
// The entry's offset is its first line's; its commit position is past its
// last line.
type joiner struct {
	cfg    *MultilineConfig
	buf    []byte
	first  []byte // the first line, while it is the only one (no copy yet)
	n      int
	offset int64
	end    int64
	last   time.Time
}

func (j *joiner) add(l lines.Line, now time.Time, out []Entry) []Entry {
	m := j.cfg
	if m.cond == nil { // start_pattern only
		if j.n > 0 && m.start.Match(l.Bytes) {
			out = j.flush(out)
		}
		j.push(l, now)
		return j.limit(out)
	}
	if j.n > 0 {
		match := m.cond.Match(l.Bytes)
		switch m.Mode {
		case ModeContinueThrough:
			if match {
				j.push(l, now)
				return j.limit(out)
			}
			out = j.flush(out)
		case ModeHaltBefore:
			if !match {
				j.push(l, now)
				return j.limit(out)
			}
			out = j.flush(out)
		case ModeContinuePast:
			j.push(l, now)
			if !match {
				return j.flush(out)
			}
			return j.limit(out)
		case ModeHaltWith:
			j.push(l, now)
			if match {
				return j.flush(out)
			}
			return j.limit(out)
		}
	}
	// l begins a record.
	if m.start != nil && !m.start.Match(l.Bytes) {
		return append(out, Entry{Raw: l.Bytes, Offset: l.Offset, Commit: l.End})
	}
	j.push(l, now)
	if m.start == nil {
		// With no start_pattern the first line is a line like any other.
		switch match := m.cond.Match(l.Bytes); {
		case m.Mode == ModeContinuePast && !match, m.Mode == ModeHaltWith && match:
			return j.flush(out)
		}
	}
	return j.limit(out)
}

func (j *joiner) push(l lines.Line, now time.Time) {
	switch j.n {
	case 0:
		j.first, j.offset = l.Bytes, l.Offset
	case 1:
		j.buf = append(append(append(j.buf[:0:0], j.first...), '\n'), l.Bytes...)
		j.first = nil
	default:
		j.buf = append(append(j.buf, '\n'), l.Bytes...)
	}
	j.n++
	j.end, j.last = l.End, now
}

func (j *joiner) limit(out []Entry) []Entry {
	if j.n >= j.cfg.MaxLines {
		return j.flush(out)
	}
	return out
}

func (j *joiner) flush(out []Entry) []Entry {
	if j.n == 0 {
		return out
	}
	raw := j.first
	if j.n > 1 {
		raw = j.buf
		j.buf = nil // the entry owns it now
	}
	out = append(out, Entry{Raw: raw, Offset: j.offset, Commit: j.end})
	j.first, j.n = nil, 0
	return out
}
