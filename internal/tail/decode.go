package tail

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// Routed is implemented by a decoder whose records may go elsewhere than
// the source's main output (to some of its consumers only, or nowhere:
// a kubernetes_logs container excluded by an annotation). It is asked
// before each batch of its file is emitted.
type Routed interface {
	// Output returns where the next batch goes, given the main output.
	Output(main agent.Output) agent.Output
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
	ml *Joiner
}

func newPlainDecoder(m *MultilineConfig, truncated prometheus.Counter) Decoder {
	if m == nil {
		return plainDecoder{}
	}
	return plainDecoder{ml: NewJoiner(m, truncated)}
}

func (d plainDecoder) Add(l lines.Line, now time.Time, out []Entry) []Entry {
	if d.ml == nil || l.Cut {
		if d.ml != nil {
			out = d.ml.Flush(out) // an over-long line ends the record it was in
		}
		return append(out, lineEntry(l))
	}
	return d.ml.Add(Message{Bytes: l.Bytes, Offset: l.Offset, End: l.End}, now, out)
}

// lineEntry is a line as its own entry (no multiline block).
func lineEntry(l lines.Line) Entry {
	return Entry{Raw: l.Bytes, Offset: l.Offset, Commit: l.End, Cut: l.Cut}
}

func (d plainDecoder) Tick(now time.Time, out []Entry) []Entry {
	if d.ml != nil {
		out = d.ml.Tick(now, out)
	}
	return out
}

func (d plainDecoder) Flush(out []Entry) []Entry {
	if d.ml != nil {
		out = d.ml.Flush(out)
	}
	return out
}
