package tail

import (
	"bytes"
	"context"
	"io"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/lines"
)

// Reading: a few chunks per turn, lines through the decoder, entries to
// records, records out in batches whose positions the tracker commits.

// readsPerTurn bounds how much one file is read before the next gets its
// turn, so one busy file cannot starve the others.
const readsPerTurn = 4

// readTurn reads a few chunks of one file and emits what they complete.
func (s *Tailer) readTurn(ctx context.Context, t *tailed) bool {
	progressed := false
	if t.f == nil {
		return false
	}
	t.split.Limit(s.readLimit())
	for i := 0; i < readsPerTurn; i++ {
		var n int
		var err error
		s.out, n, err = t.split.Read(t.f, s.out[:0])
		s.noteBuffer(t)
		if n > 0 {
			// Check the identity after the read and before emitting: if the
			// file was truncated and refilled, these bytes are not what
			// follows the position, so they are read again from 0.
			if s.replaced(t) {
				s.restart(ctx, t, "file truncated and written again (its first bytes changed)")
				return true
			}
			t.readAt += int64(n)
			s.takeFingerprint(t, false)
			progressed = true
			t.eof = false
			t.data = time.Now()
		}
		if len(s.out) > 0 {
			ok := s.emitLines(ctx, t, s.out)
			clear(s.out) // see emit
			if !ok {
				return progressed // the pipeline refused them (drain deadline)
			}
		}
		if ctx.Err() != nil {
			return progressed // shutdown: stop intake after handing on what was read
		}
		if err == io.EOF || (err == nil && n == 0) {
			t.eof = true
			return progressed
		}
		if err != nil {
			s.readErrors.Inc()
			s.log.Warn("read failed", "path", t.path, "error", err)
			t.eof = true
			return progressed
		}
	}
	return progressed
}

func (s *Tailer) emitLines(ctx context.Context, t *tailed, ls []lines.Line) bool {
	now := time.Now()
	s.ents = s.ents[:0]
	if d, ok := t.dec.(plainDecoder); ok && d.ml == nil {
		// Plain lines (most files): one entry a line, without a call
		// through the interface for each.
		s.ents = slices.Grow(s.ents, len(ls))
		for _, l := range ls {
			s.ents = append(s.ents, lineEntry(l))
		}
		return s.emit(ctx, t, s.ents, false)
	}
	for _, l := range ls {
		s.ents = t.dec.Add(l, now, s.ents)
	}
	return s.emit(ctx, t, s.ents, false)
}

// idle emits last lines that waited line_idle_timeout for their newline,
// and records whose joining timed out.
func (s *Tailer) idle(ctx context.Context, now time.Time) {
	for _, k := range sortedKeys(s.files) {
		t := s.files[k]
		if !t.started {
			continue
		}
		s.ents = s.ents[:0]
		// A line without its newline is flushed only at the end of the
		// file: a read that stopped at a chunk boundary, with more to
		// read, holds the head of a line whose rest is already written
		// (a file not read for line_idle_timeout while others keep the
		// reader busy must not have its line cut in two).
		if t.eof && t.split.Pending() > 0 && now.Sub(t.data) >= s.cfg.idle {
			s.out = t.split.Flush(s.out[:0])
			s.partials.Add(float64(len(s.out)))
			for _, l := range s.out {
				s.ents = t.dec.Add(l, now, s.ents)
			}
			clear(s.out)
		}
		s.ents = t.dec.Tick(now, s.ents)
		if len(s.ents) > 0 {
			s.emit(ctx, t, s.ents, true)
		}
		if (t.eof || t.f == nil) && now.Sub(t.data) >= s.cfg.idle {
			s.release(t)
		}
	}
}

// release drops an idle file's read buffer and the line and entry lists
// that point into it, unless it holds part of a line: a file with nothing
// to read costs no buffer, however many are followed. The next read
// starts a small one.
func (s *Tailer) release(t *tailed) {
	if t.split != nil && t.split.Release() {
		s.noteBuffer(t)
	}
}

// readBudget is what the read buffers of all the files a tailer follows
// may grow to together, and minRead the least a file's buffer may grow to
// under it. A file's buffer grows (while its reads fill it) up to
// read_buffer_bytes, or to an even share of the budget among the files
// that hold a buffer, whichever is less: one busy file reads 256 KiB at a
// time, 256 busy files 32 KiB each. Records point into these buffers, so
// the share also bounds what the records in flight keep alive.
const (
	readBudget = 8 << 20
	minRead    = 16 << 10
)

// readLimit is the largest buffer a file may grow to now.
func (s *Tailer) readLimit() int {
	return min(s.cfg.ReadBufferBytes, max(minRead, readBudget/max(1, s.holding)))
}

// noteBuffer keeps the file_read_buffer_bytes gauge up to date with the
// size of t's read buffer.
func (s *Tailer) noteBuffer(t *tailed) {
	if n := t.split.Held(); n != t.held {
		s.holding += b2i(n != 0) - b2i(t.held != 0)
		s.buffered += n - t.held
		t.held = n
		s.readBuffers.Set(float64(s.buffered))
	}
}

// flushAll emits the partial last line (if partial) and everything the
// decoder holds: end of input, rotation, truncation.
func (s *Tailer) flushAll(ctx context.Context, t *tailed, partial bool) {
	if !t.started {
		return
	}
	s.ents = s.ents[:0]
	if partial {
		s.out = t.split.Flush(s.out[:0])
		for _, l := range s.out {
			s.ents = t.dec.Add(l, time.Now(), s.ents)
		}
		clear(s.out)
	}
	s.ents = t.dec.Flush(s.ents)
	if len(s.ents) > 0 {
		s.emit(ctx, t, s.ents, true)
	}
}

// emit hands entries on in batches; false if the pipeline refused them
// (the drain deadline passed).
//
// The entries are cleared once handed on. s.out and s.ents are scratch
// lists reused from turn to turn, and an entry or line left in one (past
// the length the next turn reslices to) still points into the read chunk
// it came from: the collector would keep the last chunks alive long after
// their records were written (when each file had lists of its own, with
// 100 busy files, 70 of the 91 MB of live heap).
func (s *Tailer) emit(ctx context.Context, t *tailed, ents []Entry, final bool) bool {
	defer clear(ents)
	s.ensureStream(t, final)
	now := time.Now()
	base := agent.Origin{Host: s.set.Host, Component: s.set.ID, Stream: t.stream, Path: t.path, Device: t.dev, Inode: t.ino}
	for len(ents) > 0 {
		n := min(len(ents), s.cfg.BatchMaxRecords)
		chunk := ents[:n]
		ents = ents[n:]
		t.commit = max(t.commit, chunk[n-1].Commit)
		tok := t.tracker.Track(n, checkpoint{Path: t.path, Offset: t.commit, FPLen: t.fpLen, FP: t.fp, Gen: t.gen, Stream: t.streamOf, Prev: t.prev})
		if done := t.split.Hold(); done != nil {
			tok.OnRelease(done) // the chunk the batch's lines lie in
		}
		recs, cut := s.records(chunk, now, base, tok)
		if cut != nil {
			s.cutLines.Add(float64(len(cut)))
			_ = s.set.DeadLetter.Emit(ctx, cut)
		}
		out := s.set.Out
		if r, ok := t.dec.(Routed); ok {
			out = r.Output(out)
		}
		if err := out.Emit(ctx, recs); err != nil {
			return false
		}
	}
	return true
}

// records turns entries into records that all carry tok. A cut entry
// becomes a dead letter, returned in cut.
func (s *Tailer) records(ents []Entry, now time.Time, base agent.Origin, tok *agent.Token) (recs, cut agent.Batch) {
	recs = s.slab(len(ents), tok)
	n := 0
	for i := range ents {
		e := &ents[i]
		// Filled in place, field by field: a record is too large to be
		// copied into the batch without the collector's bulk barrier,
		// which costs more than building it while the collector marks.
		r := &recs[n]
		r.Time, r.Raw, r.Entity = e.Time, e.Raw, e.Entity
		setOrigin(&r.Origin, &base)
		if e.Fields != nil {
			r.SetFields(e.Fields)
		}
		if r.Time.IsZero() {
			r.Time = now
		}
		r.Origin.Offset = e.Offset
		r.SetToken(tok)
		if e.Cut {
			cut = append(cut, lines.CutDeadLetter(r, base.Component, s.cfg.MaxLineBytes))
			*r = agent.Record{}
			continue
		}
		n++
		// Most lines are plain ASCII, which a word-at-a-time check settles
		// faster than utf8.Valid; the rest are decoded.
		if !lines.ASCII(r.Raw) && !utf8.Valid(r.Raw) {
			s.invalidUTF8.Inc()
			r.Raw = bytes.ToValidUTF8(r.Raw, []byte("\uFFFD"))
			r.Set("message", string(r.Raw))
			r.Set("invalid_utf8", true)
		}
	}
	return recs[:n], cut
}

// slab returns n empty records for a batch that carries tok. A batch of at
// least half batch_max_records (a busy file) takes a slab of
// batch_max_records that an earlier batch released, or a new one, and
// releases it when tok resolves: every record of the batch (and every
// record made from them, which carries tok) has an outcome then, and no
// component touches a record after its outcome (docs/architecture.md,
// "Recycled memory"). A smaller batch gets records of its own, left to
// the collector: a slab held by one line would pin a batch's worth of
// memory for every quiet file.
func (s *Tailer) slab(n int, tok *agent.Token) agent.Batch {
	size := s.cfg.BatchMaxRecords
	if n*2 < size || n > size {
		return make(agent.Batch, n)
	}
	var full agent.Batch
	if p, _ := s.slabs.Get().(*agent.Batch); p != nil {
		full = *p
	} else {
		full = make(agent.Batch, size)
	}
	tok.OnRelease(func() {
		clear(full) // what the records pointed to is not kept alive
		s.slabs.Put(&full)
	})
	return full[:n]
}

// setOrigin sets *o to *base one field at a time (see records).
func setOrigin(o, base *agent.Origin) {
	o.Host, o.Component, o.Stream, o.Path, o.Topic = base.Host, base.Component, base.Stream, base.Path, base.Topic
	o.Offset, o.Rule, o.Index = base.Offset, base.Rule, base.Index
	o.Device, o.Inode, o.Partition = base.Device, base.Inode, base.Partition
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
