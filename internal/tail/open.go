package tail

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/lines"
)

// Opening a file: where reading starts (checkpoint, copy or start_at),
// giving a parked file its handle back, and the fingerprints that tell a file
// from another one at the same inode or from its truncated self.

// fingerprintMax bounds the bytes hashed to tell a file from another one
// that reuses its inode: the first line, or this many bytes of it.
const fingerprintMax = 256

// openAt opens t.path and checks it is still t's inode.
func (s *Tailer) openAt(t *tailed) (*os.File, os.FileInfo, bool) {
	fh, err := os.Open(t.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			if _, known := s.skipped[t.path]; !known {
				s.readErrors.Inc()
			}
			// Logged and counted once, and shown in /healthz, until it opens.
			s.skip(t.path, skipUnreadable, agent.ExplainPermission(err, t.path, "read").Error())
		}
		return nil, nil, false
	}
	s.unskip(t.path, skipUnreadable)
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, false
	}
	if d, i := ids(st); d != t.dev || i != t.ino {
		fh.Close() // replaced since the scan; the next scan finds it
		return nil, nil, false
	}
	return fh, st, true
}

// start opens a file for the first time: it decides where reading starts
// (its checkpoint; else, for a copy of a file followed before, where that
// file was; else start_at) and makes its splitter, decoder and tracker.
func (s *Tailer) start(t *tailed) {
	fh, st, ok := s.openAt(t)
	if !ok {
		return // the next scan finds it again, or forgets it
	}
	fpLen, fp := firstBytes(fh, t.fpBuf[:])
	if !t.endSet {
		// start_at = "end" means the end when the file was first found
		// (set by the scan), even if opening it is put off.
		t.endAt, t.endSet = st.Size(), true
	}
	start := int64(0)
	var cp checkpoint
	resumed := false
	if !t.restarted && s.set.Checkpoints != nil && s.set.Checkpoints.Load(t.key, &cp) {
		switch {
		case cp.FPLen > 0 && !fingerprintMatches(fh, cp):
			old := cp
			old.Prev = nil
			t.prev = &old // if it was truncated while stopped, a copy may follow
			if !t.noted {
				t.noted = true
				s.inodeReuse.Inc()
				s.log.Info("file at a checkpointed inode has other content; reading it from the start", "path", t.path)
			}
		case st.Size() < cp.Offset:
			old := cp
			old.Prev = nil
			t.prev = &old
			s.truncations.Inc()
			t.gen = cp.Gen + 1
			s.log.Info("file is shorter than its checkpoint (truncated while stopped); reading it from the start", "path", t.path, "checkpoint", cp.Offset, "size", st.Size())
		default:
			start, resumed = cp.Offset, true
			t.fpLen, t.fp, t.gen, t.stream, t.streamOf, t.prev = cp.FPLen, cp.FP, cp.Gen, cp.Stream, cp.Stream, cp.Prev
			t.fpSum, _ = strconv.ParseUint(cp.FP, 16, 64)
		}
	}
	if !resumed && !s.set.Once {
		if fpLen == 0 && time.Since(t.seen) < s.cfg.rotateWait {
			// Its first line is not complete yet: it may be a copy being
			// written (copytruncate). Wait for it, up to rotate_wait.
			fh.Close()
			s.deferred = append(s.deferred, t)
			return
		}
		if fpLen > 0 {
			d, wait := s.findDonor(t, fpLen, fp)
			if wait {
				fh.Close()
				s.deferred = append(s.deferred, t)
				return
			}
			if d != nil {
				start, resumed = d.cp.Offset, true
				t.gen, t.stream, t.streamOf = d.cp.Gen, d.stream, d.stream
				s.copies.Inc()
				if s.set.Checkpoints != nil {
					// Nothing before start is this file's to deliver: say so
					// now, so that a restart before its first record does
					// not take it for a new file.
					s.set.Checkpoints.Commit(t.key, checkpoint{Path: t.path, Offset: start, FPLen: fpLen, FP: fp, Gen: t.gen, Stream: t.stream})
				}
				s.log.Info("file is a copy of one followed before (copytruncate); continuing where that one was", "path", t.path, "offset", start, "copy_of", d.cp.Path)
			}
		}
	}
	if !resumed && t.initial && s.cfg.StartAt == "end" && !s.hadCheckpoints {
		start = min(t.endAt, st.Size())
	}
	if _, err := fh.Seek(start, io.SeekStart); err != nil {
		fh.Close()
		s.readErrors.Inc()
		return
	}
	t.f, t.started, t.readAt, t.commit, t.data = fh, true, start, start, time.Now()
	t.split = lines.New(start, s.cfg.ReadBufferBytes, s.cfg.MaxLineBytes)
	s.takeFingerprint(t, false)
	if s.hooks.NewDecoder != nil {
		t.dec = s.hooks.NewDecoder(t.path)
	} else {
		t.dec = newPlainDecoder(s.cfg.Multiline, s.mlTruncated)
	}
	if d, ok := t.dec.(plainDecoder); ok && d.ml == nil {
		// Each emit's entries are then the lines of one Read or Flush,
		// all in the chunk read into (see emit); a multiline record or a
		// decoder's entry may hold lines of earlier chunks.
		t.split.Recycle(s.chunks)
	}
	t.restarted = false
	if t.tracker == nil {
		key, path := t.key, t.path
		t.tracker = agent.NewTracker(s.set.Acks, func(cp checkpoint) {
			if s.set.Checkpoints != nil {
				s.set.Checkpoints.Commit(key, cp)
			}
		}, func() {
			s.set.Metrics.StuckStream()
			s.log.Warn("a record from this file failed; its position is not committed past it in this run, so the next start reads it again", "path", path)
		})
	}
	s.open++
	s.openFiles.Set(float64(s.open))
	s.log.Debug("following file", "path", t.path, "offset", start)
}

// reopen gives a parked file its handle back. If its first bytes changed
// while it was parked, the inode now holds another file (the parked one
// was deleted and its inode reused) or it was truncated: the old state is
// dropped and the file starts afresh as a new one.
func (s *Tailer) reopen(ctx context.Context, t *tailed) {
	fh, _, ok := s.openAt(t)
	if !ok {
		return
	}
	if t.fpLen > 0 {
		n, fp := firstBytes(fh, t.fpBuf[:])
		if n != t.fpLen || fp != t.fp {
			fh.Close()
			s.log.Info("parked file has other content now; following it as a new file", "path", t.path)
			s.flushAll(ctx, t, true)
			s.forget(t)
			old := &checkpoint{Path: t.path, Offset: t.commit, FPLen: t.fpLen, FP: t.fp, Gen: t.gen, Stream: t.stream}
			s.addDonor(donor{key: t.key, stream: t.stream, live: true, at: time.Now(), cp: *old})
			nt := &tailed{key: t.key, path: t.path, dev: t.dev, ino: t.ino, seen: time.Now(), prev: old}
			s.files[nt.key] = nt
			s.enqueue(nt)
			return
		}
	}
	if _, err := fh.Seek(t.readAt, io.SeekStart); err != nil {
		fh.Close()
		s.readErrors.Inc()
		return
	}
	t.f, t.eof = fh, false
	s.open++
	s.openFiles.Set(float64(s.open))
}

// fingerprintMatches compares the first bytes of f with a checkpoint's.
func fingerprintMatches(f *os.File, cp checkpoint) bool {
	buf := make([]byte, cp.FPLen)
	n, _ := f.ReadAt(buf, 0)
	return n == cp.FPLen && hashHex(buf) == cp.FP
}

func hashSum(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

func hashHex(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// takeFingerprint fixes the file's identity once its first line (or its
// first fingerprintMax bytes) exists. final accepts a shorter, newline-less
// start (end of input). Until then it keeps a provisional fingerprint of
// the bytes read so far, so that a truncation is noticed even before the
// first line is complete.
func (s *Tailer) takeFingerprint(t *tailed, final bool) {
	if t.fpLen > 0 || t.f == nil {
		return
	}
	buf := t.fpBuf[:]
	n, _ := t.f.ReadAt(buf, 0)
	buf = buf[:n]
	switch i := bytes.IndexByte(buf, '\n'); {
	case i >= 0:
		t.fpLen = i + 1
	case n == fingerprintMax || (final && n > 0):
		t.fpLen = n
	}
	if t.fpLen > 0 {
		t.fp = hashHex(buf[:t.fpLen])
		t.fpSum = hashSum(buf[:t.fpLen])
		t.provLen = 0
		return
	}
	t.provLen = int(min(int64(n), t.readAt))
	t.provSum = hashSum(buf[:t.provLen])
}

// ensureStream sets the record stream, "DEV:INODE:FINGERPRINT[:GEN]".
func (s *Tailer) ensureStream(t *tailed, final bool) {
	s.takeFingerprint(t, final)
	if t.stream == "" {
		t.stream = streamFor(t.key, t.fp, t.gen)
	}
}

// replaced reports whether the file's first bytes no longer hash to its
// fingerprint (or its provisional one): it was truncated and written again
// (copytruncate) since the fingerprint was taken.
func (s *Tailer) replaced(t *tailed) bool {
	n, sum := t.fpLen, t.fpSum
	if n == 0 {
		n, sum = t.provLen, t.provSum
	}
	if n == 0 {
		return false
	}
	buf := t.fpBuf[:n]
	got, _ := t.f.ReadAt(buf, 0)
	return got != n || hashSum(buf) != sum
}
