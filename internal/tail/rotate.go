package tail

import (
	"context"
	"syscall"
	"time"
)

// Rotation and truncation of followed files, and the expiry of checkpoints of
// files no longer followed.

// checkRotation notices files that shrank (copytruncate), and files whose
// path now leads elsewhere (renamed away, deleted): those are read to
// their end and closed once rotate_wait has passed.
func (s *Tailer) checkRotation(ctx context.Context, now time.Time) {
	for _, key := range sortedKeys(s.files) {
		t := s.files[key]
		if t.f == nil {
			continue
		}
		st, err := t.f.Stat()
		if err != nil {
			continue
		}
		if st.Size() < t.readAt {
			s.restart(ctx, t, "file truncated")
			continue
		}
		if t.eof && s.replaced(t) {
			// Truncated and written again up to the very position read.
			s.restart(ctx, t, "file truncated and written again (its first bytes changed)")
			continue
		}
		moved := !pathLeadsTo(t.path, t.dev, t.ino)
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Nlink == 0 {
			moved = true
		}
		if !moved {
			t.gone = time.Time{}
			continue
		}
		if t.gone.IsZero() {
			t.gone = now
			continue
		}
		if now.Sub(t.gone) < s.cfg.rotateWait {
			continue
		}
		// Read to the very end once more before letting go, then emit the
		// last line even without its newline, and what the decoder holds.
		for i := 0; i < 1000 && s.readTurn(ctx, t); i++ {
		}
		if t.f == nil || !t.eof || ctx.Err() != nil {
			continue
		}
		s.flushAll(ctx, t, true)
		s.rotations.Inc()
		s.log.Debug("file rotated away and read to its end; closing it", "path", t.path)
		s.forget(t)
	}
}

// restart reads t again from offset 0 after a truncation. What the
// decoder holds is emitted first; an incomplete last line is dropped: its
// end went with the truncated bytes (or the bytes just read are already
// new content). The file is then started afresh, as a new generation of
// the same inode (the same tracker keeps its commits in order), so the new
// content gets the checks a new file gets: it may be a copy of another
// file (an inode reused by a copytruncate copy).
func (s *Tailer) restart(ctx context.Context, t *tailed, why string) {
	s.truncations.Inc()
	s.log.Info(why+"; reading it from the start", "path", t.path, "was", t.readAt)
	s.flushAll(ctx, t, false)
	if t.fpLen > 0 {
		t.prev = &checkpoint{Path: t.path, Offset: t.commit, FPLen: t.fpLen, FP: t.fp, Gen: t.gen, Stream: t.stream}
		s.addDonor(donor{key: t.key, stream: t.stream, live: true, at: time.Now(), cp: *t.prev})
	}
	t.f.Close()
	t.f = nil
	s.open--
	s.openFiles.Set(float64(s.open))
	t.started, t.restarted, t.initial = false, true, false
	t.gen++
	t.readAt, t.commit, t.eof, t.seen = 0, 0, false, time.Now()
	t.fpLen, t.fp, t.fpSum, t.stream, t.streamOf, t.provLen = 0, "", 0, "", "", 0
	s.enqueue(t)
}

// expire deletes the checkpoints of files not followed for checkpoint_ttl.
func (s *Tailer) expire(now time.Time) {
	if s.set.Checkpoints == nil {
		return
	}
	keys := s.set.Checkpoints.Keys()
	live := make(map[string]bool, len(keys))
	for _, k := range keys {
		live[k] = true
		if _, ok := s.files[k]; ok {
			delete(s.orphans, k)
			continue
		}
		since, ok := s.orphans[k]
		if !ok {
			s.orphans[k] = now
			continue
		}
		if now.Sub(since) >= s.cfg.ttl {
			s.set.Checkpoints.Delete(k)
			delete(s.orphans, k)
			s.expired.Inc()
			s.log.Debug("checkpoint expired", "key", k)
		}
	}
	for k := range s.orphans {
		if !live[k] {
			delete(s.orphans, k)
		}
	}
}
