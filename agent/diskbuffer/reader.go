package diskbuffer

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sort"
	"time"

	"github.com/octostore/agent/agent"
)

// The read path: the reader hands the log on to the wrapped sink chunk by
// chunk, sends failed chunks again with backoff, and notes the resolved ones.

type chunk struct {
	seg        uint64
	start, end int64
	n          int
	resolved   bool
	inFlight   bool
	attempts   int
	retryAt    time.Time
}

// reader hands the log to the sink, chunk by chunk, and sends again the
// chunks the sink failed.
func (b *Buffer) reader() {
	defer close(b.readerDone)
	for {
		b.mu.Lock()
		var c *chunk
		var limit int64
		var sealed bool
		var path string
		var durable int64
		for {
			if b.stop || b.closed {
				b.mu.Unlock()
				return
			}
			now := time.Now()
			if len(b.retries) > 0 && !b.retries[0].retryAt.After(now) {
				c = b.retries[0]
				b.retries = b.retries[1:]
				break
			}
			if b.inFlight() < maxChunks {
				if s := b.segByID(b.rseg); s != nil && b.roff < s.size {
					// Ranges the sink resolved before the last stop are
					// not sent again.
					for len(b.skip) > 0 && (b.skip[0].seg < s.id || b.skip[0].seg == s.id && (b.skip[0].start < b.roff || b.skip[0].end > s.size || b.skip[0].end <= b.skip[0].start)) {
						b.skip = b.skip[1:]
					}
					if len(b.skip) > 0 && b.skip[0].seg == s.id && b.skip[0].start == b.roff {
						sp := b.skip[0]
						b.skip = b.skip[1:]
						b.chunks = append(b.chunks, &chunk{seg: sp.seg, start: sp.start, end: sp.end, resolved: true})
						b.roff, b.resync = sp.end, false
						b.advance()
						continue
					}
					c = &chunk{seg: s.id, start: b.roff}
					limit = s.size
					if len(b.skip) > 0 && b.skip[0].seg == s.id {
						limit = min(limit, b.skip[0].start)
					}
					break
				} else if s != nil && s.sealed {
					// Move on to the next segment.
					if nx := b.segAfter(s.id); nx != nil {
						b.rseg, b.roff, b.resync = nx.id, 0, false
						b.advance()
						continue
					}
				} else if s == nil {
					if nx := b.segAfter(b.rseg); nx != nil {
						b.rseg, b.roff, b.resync = nx.id, 0, false
						b.advance()
						continue
					}
				}
			}
			if len(b.retries) > 0 {
				wait := time.Until(b.retries[0].retryAt)
				t := time.AfterFunc(wait, func() { b.mu.Lock(); b.cond.Broadcast(); b.mu.Unlock() })
				b.cond.Wait()
				t.Stop()
			} else {
				b.cond.Wait()
			}
		}
		s := b.segByID(c.seg)
		if s == nil { // deleted meanwhile: nothing left to send
			b.mu.Unlock()
			continue
		}
		sealed, path, durable = s.sealed, s.path, s.size
		retry := c.end > 0
		resync := b.resync
		if retry {
			resync = false
		}
		b.mu.Unlock()

		var recs agent.Batch
		var end int64
		var damaged int
		var err error
		if retry {
			recs, _, damaged, _, err = readChunk(path, c.start, c.end, c.end, true, false, 1<<30, c.end-c.start)
			end = c.end
			damaged = 0 // counted the first time
		} else {
			recs, end, damaged, resync, err = readChunk(path, c.start, limit, durable, sealed, resync, chunkRecords, chunkBytes)
		}
		if err != nil {
			b.m.writeErrors.Inc()
			b.log.Error("disk buffer: cannot read a segment; retrying", "segment", path, "error", err)
			time.Sleep(writeRetry)
			b.mu.Lock()
			if retry {
				c.retryAt = time.Now().Add(retryMin)
				b.retries = append(b.retries, c)
			}
			b.mu.Unlock()
			continue
		}
		if damaged > 0 {
			b.m.corrupt.Add(float64(damaged))
			b.log.Error("disk buffer: skipped damaged records (bad checksum, bad length or torn write); they are lost", "records", damaged, "segment", path, "offset", c.start)
		}
		if !retry && end == c.start && len(recs) == 0 && damaged == 0 {
			// Nothing complete to read yet (cannot happen: reads stop at
			// the durable end); do not spin.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		b.mu.Lock()
		if !retry {
			c.end = end
			c.n = len(recs)
			b.roff = end
			b.resync = resync
			b.chunks = append(b.chunks, c)
		}
		c.inFlight = true
		c.attempts++
		if len(recs) == 0 {
			c.inFlight = false
			c.resolved = true
			b.advance()
			b.mu.Unlock()
			continue
		}
		b.mu.Unlock()

		tok := (*agent.Acks)(nil).NewToken(len(recs), func(failed bool) { b.resolved(c, failed) })
		for i := range recs {
			recs[i].SetToken(tok)
		}
		b.m.sent.Add(float64(len(recs)))
		if err := b.next.Consume(b.ctx, recs); err != nil && b.ctx.Err() == nil {
			b.log.Warn("disk buffer: the sink failed on a batch", "error", err)
		}
	}
}

func (b *Buffer) inFlight() int {
	n := 0
	for _, c := range b.chunks {
		if !c.resolved {
			n++
		}
	}
	return n
}

// resolved runs when the sink resolved every record of a chunk.
func (b *Buffer) resolved(c *chunk, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c.inFlight = false
	if failed {
		if b.stop || b.closed || b.ctx.Err() != nil {
			return // stays in the log: sent again at the next start
		}
		d := retryMin << min(c.attempts-1, 6)
		c.retryAt = time.Now().Add(min(d, retryMax))
		b.retries = append(b.retries, c)
		sort.Slice(b.retries, func(i, j int) bool { return b.retries[i].retryAt.Before(b.retries[j].retryAt) })
		b.cond.Broadcast()
		return
	}
	c.resolved = true
	b.doneVer++
	b.advance()
}

// readChunk reads frames from path between start and limit (the durable
// end of the segment): at most maxRecs records. It returns the records, the
// offset where the next chunk starts, the number of damaged records it
// skipped, and whether it stopped inside a damaged region. atEnd says the
// segment will not grow (sealed): a frame cut by its end is torn.
func readChunk(path string, start, limit, durable int64, sealed, resync bool, maxRecs int, maxRead int64) (recs agent.Batch, end int64, damaged int, stillResync bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, start, 0, resync, err
	}
	defer f.Close()
	want := min(limit-start, maxRead)
	force := false // the read cannot grow: a cut frame is damage
	for {
		data := make([]byte, want)
		n, err := f.ReadAt(data, start)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, start, 0, resync, err
		}
		data = data[:n]
		atEnd := start+int64(n) >= durable || force
		pos := 0
		recs = recs[:0]
		damaged = 0
		inDamage := resync
		need := 0
		for pos < len(data) && len(recs) < maxRecs {
			payload, size, ok, short := frameAt(data, pos)
			if ok {
				r, derr := decodeRecord(payload)
				if derr != nil {
					damaged++
				} else {
					recs = append(recs, r)
				}
				pos += size
				inDamage = false
				continue
			}
			if short && !atEnd {
				need = max(size, headerSize)
				break
			}
			if short && atEnd && !sealed {
				break // the writer is mid-write: cannot happen, reads stop at the durable end
			}
			// Damaged: count it once, then look for the next frame.
			if !inDamage {
				damaged++
				inDamage = true
			}
			next := -1
			for from := pos + 1; from < len(data); {
				i := bytes.Index(data[from:], magic[:])
				if i < 0 {
					break
				}
				cand := from + i
				if _, _, ok2, short2 := frameAt(data, cand); ok2 || (short2 && !atEnd) {
					next = cand
					break
				}
				from = cand + 1
			}
			if next < 0 {
				if atEnd {
					pos = len(data)
				} else {
					pos = max(pos+1, len(data)-3)
				}
				break
			}
			pos = next
		}
		if len(recs) == 0 && damaged == 0 && need > 0 && pos == 0 {
			// One frame larger than the read: read it whole.
			grown := min(limit-start, int64(max(need, int(want)*2)))
			if grown <= want {
				force = true
			}
			want = grown
			continue
		}
		return recs, start + int64(pos), damaged, inDamage, nil
	}
}
