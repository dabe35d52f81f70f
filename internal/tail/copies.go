package tail

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// Copytruncate: logrotate copies a file and truncates the original. When
// the copy matches the globs, the source recognises it by its fingerprint
// and continues it where the original was, under the original's record
// stream. The originals' last positions before a truncation are "donors".

// maxDonors bounds the truncated streams remembered for their copies.
const maxDonors = 1024

func (s *Tailer) addDonor(d donor) {
	if d.cp.FPLen == 0 {
		return
	}
	if d.stream == "" {
		d.stream = streamFor(d.key, d.cp.FP, d.cp.Gen)
	}
	if len(s.donors) >= maxDonors {
		s.donors = s.donors[1:]
	}
	s.donors = append(s.donors, d)
}

// donor is a stream that a copy of its file can continue: a file
// truncated in this run (copytruncate), or a position the last run
// committed.
type donor struct {
	key    string
	cp     checkpoint
	stream string
	live   bool      // truncated in this run: its batches up to cp must commit first
	at     time.Time // when the truncation was seen (live)
}

func streamFor(key, fp string, gen int) string {
	s := key + ":" + fp
	if gen > 0 {
		s += ":" + strconv.Itoa(gen)
	}
	return s
}

// findDonor looks for the stream that t, a file with no checkpoint whose
// first bytes hash to fp, is a copy of. wait asks to try again later.
//
// Two files can start with the same line (a header) without being copies,
// so a copy is only taken for one when the original is known to have been
// truncated, and the copy appeared around that time: within rotate_wait of
// a truncation seen in this run, or, for a truncation while the agent was
// stopped, at start.
func (s *Tailer) findDonor(t *tailed, fpLen int, fp string) (d *donor, wait bool) {
	for _, o := range s.files {
		if o == t || !o.started || o.fpLen != fpLen || o.fp != fp {
			continue
		}
		// A followed file still starts with these bytes: t may be a copy
		// of it about to be truncated (copytruncate copies first). Wait a
		// little for the truncation; if none comes, t is a file of its own.
		// A parked original is looked at on disk.
		if o.f == nil && o.eof {
			if truncated, known := s.truncatedOnDisk(o, checkpoint{FPLen: o.fpLen, FP: o.fp}); known && truncated {
				var c checkpoint
				if s.set.Checkpoints != nil && s.set.Checkpoints.Load(o.key, &c) && c.Gen == o.gen && c.Offset < o.commit {
					return nil, true
				}
				return &donor{key: o.key, stream: o.stream, cp: checkpoint{Path: o.path, Offset: o.commit, FPLen: o.fpLen, FP: o.fp, Gen: o.gen}}, false
			}
		}
		return nil, time.Since(t.seen) < s.cfg.rotateWait
	}
	for i := len(s.donors) - 1; i >= 0; i-- {
		d := s.donors[i]
		if d.key == t.key || d.cp.FPLen != fpLen || d.cp.FP != fp {
			continue
		}
		if d.live {
			if t.seen.After(d.at.Add(s.cfg.rotateWait)) {
				continue
			}
			if s.set.Checkpoints != nil {
				// The records read from the original before its truncation
				// commit first, so that a crash never leaves the copy
				// committed past lines that were not delivered.
				var c checkpoint
				if s.set.Checkpoints.Load(d.key, &c) && c.Gen == d.cp.Gen && c.Offset < d.cp.Offset {
					return nil, true
				}
			}
		} else {
			// A position from the last run: the original must still be
			// here, truncated (its first bytes changed) while the agent was
			// stopped, and t found at start.
			o := s.files[d.key]
			if !t.initial || o == nil {
				continue
			}
			if o.started && o.fpLen == d.cp.FPLen && o.fp == d.cp.FP && o.gen == d.cp.Gen {
				continue // the original was not truncated
			}
			if !o.started {
				truncated, known := s.truncatedOnDisk(o, d.cp)
				if !known {
					// Moved since the scan: the next scan finds it under its
					// new name, or forgets it.
					return nil, true
				}
				if !truncated {
					continue
				}
			}
		}
		s.donors = append(s.donors[:i], s.donors[i+1:]...)
		return &d, false
	}
	return nil, false
}

// truncatedOnDisk reports whether o, a file not opened yet, no longer
// starts with the bytes of cp; known is false if it is not at its path.
func (s *Tailer) truncatedOnDisk(o *tailed, cp checkpoint) (truncated, known bool) {
	fh, _, ok := s.openAt(o)
	if !ok {
		return false, false
	}
	defer fh.Close()
	var buf [fingerprintMax]byte
	n, fp := firstBytes(fh, buf[:])
	return n != cp.FPLen || fp != cp.FP, true
}

// firstBytes hashes the first line of f (or its first len(buf) bytes);
// fpLen is 0 if that line is not complete yet.
func firstBytes(f *os.File, buf []byte) (fpLen int, fp string) {
	n, _ := f.ReadAt(buf, 0)
	switch i := bytes.IndexByte(buf[:n], '\n'); {
	case i >= 0:
		fpLen = i + 1
	case n == len(buf):
		fpLen = n
	default:
		return 0, ""
	}
	return fpLen, hashHex(buf[:fpLen])
}
