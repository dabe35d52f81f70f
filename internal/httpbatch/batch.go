package httpbatch

import (
	"bytes"
	"io"
	"time"

	// klauspost/compress's gzip instead of compress/gzip: the same format
	// and API, for about half the CPU at level 1 and a slightly smaller
	// body (BenchmarkBatch); gzip was 28% of the agent's CPU in the
	// nginx_octostore bench. The module was already in the build (franz-go,
	// the Kafka client), so it adds no dependency.
	"github.com/klauspost/compress/gzip"

	"github.com/octostore/agent/agent"
)

// Batching: records join the open batch of their key, which is sent when it is
// full or has waited batch_max_wait; batches, buffers and gzip writers come
// from free lists.

// batch is the records of one request. While it is open, buf is the body
// being built: the framing's open, then the records' wire forms separated
// by sep; seal adds the close and, with gzip, compresses buf into z and
// gives buf back (only the compressed body is kept for retries). Batches
// and their buffers are reused (release).
type batch struct {
	key     string
	recs    []agent.Record
	buf     []byte       // the framed, uncompressed body (nil once compressed)
	size    int          // the records' bytes alone: what batch_max_bytes counts
	z       bytes.Buffer // the compressed body
	body    []byte       // what is sent: buf or z's bytes (set by seal)
	ids     []string     // the records' ids, for Results
	lent    bool         // the transport may still read body: do not reuse it
	started time.Time
	bld     Builder // a BatchEncoder's builder (kept with the batch when it is reused)
}

// add puts r in the open batch of its key, encoding it once, straight
// into the body, and appends the batches it filled to full. s.mu is held.
// r is in the batch Consume was given (the sink's own copy): it is changed
// in place (its id is set) rather than copied to the heap first.
func (s *Sink) add(r *agent.Record, full []*batch) []*batch {
	r.EnsureID()
	key := s.proto.Key(r)
	bt := s.open[key]
	if bt == nil {
		bt = s.newBatch(key)
		s.open[key] = bt
	}
	if bt.bld != nil {
		// One message built from every record: the record that reaches
		// batch_max_bytes is the batch's last.
		bt.size += bt.bld.Add(r)
		bt.recs = append(bt.recs, *r)
		if len(bt.recs) >= s.opt.MaxRecords || bt.size >= s.opt.MaxBytes {
			full = append(full, bt)
			delete(s.open, key)
		}
		return full
	}
	before := len(bt.buf)
	if len(bt.recs) > 0 {
		bt.buf = append(bt.buf, s.fSep...)
	}
	start := len(bt.buf)
	bt.buf = s.encode(&s.enc, bt.buf, r)
	n := len(bt.buf) - start
	if len(bt.recs) > 0 && bt.size+n > s.opt.MaxBytes {
		// This record would overflow the batch: it starts the next one.
		next := s.newBatch(key)
		next.buf = append(next.buf, bt.buf[start:]...)
		bt.buf = bt.buf[:before]
		full = append(full, bt)
		bt = next
		s.open[key] = bt
	}
	bt.size += n
	bt.recs = append(bt.recs, *r)
	if len(bt.recs) >= s.opt.MaxRecords || bt.size >= s.opt.MaxBytes {
		full = append(full, bt)
		delete(s.open, key)
	}
	return full
}

// ticker sends batches that waited batch_max_wait.
func (s *Sink) ticker() {
	defer close(s.tickDone)
	every := max(s.opt.MaxWait/4, 5*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.tickStop:
			return
		case <-t.C:
		}
		var due []*batch
		now := time.Now()
		s.mu.Lock()
		for k, bt := range s.open {
			if now.Sub(bt.started) >= s.opt.MaxWait {
				due = append(due, bt)
				delete(s.open, k)
			}
		}
		s.mu.Unlock()
		for _, bt := range due {
			s.dispatch(bt)
		}
	}
}

// newBatch returns an empty open batch for key, reusing a released one.
func (s *Sink) newBatch(key string) *batch {
	var b *batch
	select {
	case b = <-s.freeBatches:
	default:
		b = &batch{}
	}
	b.key, b.started = key, time.Now()
	if s.batchEnc != nil && b.bld == nil {
		b.bld = s.batchEnc.NewBuilder()
	}
	select {
	case b.buf = <-s.freeBufs:
	default:
		b.buf = make([]byte, 0, min(s.opt.MaxBytes+s.opt.MaxBytes/8, 64<<10))
	}
	b.buf = append(b.buf[:0], s.fOpen...)
	return b
}

// release gives a resolved batch and its buffers back to the free lists.
// It drops the records, so that what they hold can be collected.
func (s *Sink) release(b *batch) {
	if b.lent {
		b.buf, b.z = nil, bytes.Buffer{}
	}
	s.putBuf(b.buf)
	clear(b.recs)
	clear(b.ids)
	if b.bld != nil {
		b.bld.Reset()
	}
	*b = batch{recs: b.recs[:0], z: b.z, ids: b.ids[:0], bld: b.bld}
	b.z.Reset()
	if cap(b.recs) > 2*s.opt.MaxRecords+1 {
		b.recs = nil
	}
	if cap(b.ids) > 2*s.opt.MaxRecords+1 {
		b.ids = nil
	}
	if b.z.Cap() > s.keepBytes {
		b.z = bytes.Buffer{}
	}
	select {
	case s.freeBatches <- b:
	default:
	}
}

func (s *Sink) putBuf(buf []byte) {
	if buf == nil || cap(buf) > s.keepBytes {
		return
	}
	select {
	case s.freeBufs <- buf[:0]:
	default:
	}
}

// seal finishes the body: the framing's close, then gzip (the uncompressed
// buffer is given back at once).
func (s *Sink) seal(b *batch) {
	if b.bld != nil {
		b.buf = b.bld.AppendBody(b.buf)
	}
	b.buf = append(b.buf, s.fClose...)
	if !s.zip {
		b.body = b.buf
		return
	}
	b.z.Reset()
	b.z.Grow(len(b.buf)/8 + 4096) // JSON records compress about 10:1
	var zw *gzip.Writer
	select {
	case zw = <-s.freeZ:
		zw.Reset(&b.z)
	default:
		zw, _ = gzip.NewWriterLevel(&b.z, s.opt.GzipLevel) // the level was validated
	}
	_, _ = zw.Write(b.buf) // a bytes.Buffer does not fail
	_ = zw.Close()
	zw.Reset(io.Discard) // drop the reference to b.z
	select {
	case s.freeZ <- zw:
	default:
	}
	b.body = b.z.Bytes()
	s.putBuf(b.buf)
	b.buf = nil
}

// encode appends r's body part: the wire form, with enc, or what the
// protocol's Encoder writes.
func (s *Sink) encode(enc *agent.Encoder, dst []byte, r *agent.Record) []byte {
	if s.encoder != nil {
		return s.encoder.AppendRecord(dst, r)
	}
	return enc.Append(dst, r)
}

// subset returns a new sealed batch of the records of b at idx (in
// order), encoded again (the rare path: a 413 or an incomplete answer).
func (s *Sink) subset(b *batch, idx []int) *batch {
	n := s.newBatch(b.key)
	n.started = b.started
	var enc agent.Encoder
	for j, i := range idx {
		if n.bld != nil {
			n.recs = append(n.recs, b.recs[i])
			n.size += n.bld.Add(&n.recs[j])
			continue
		}
		if j > 0 {
			n.buf = append(n.buf, s.fSep...)
		}
		start := len(n.buf)
		n.recs = append(n.recs, b.recs[i])
		n.buf = s.encode(&enc, n.buf, &n.recs[j])
		n.size += len(n.buf) - start
	}
	s.seal(n)
	return n
}
