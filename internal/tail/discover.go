package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Discovery: the globs and excludes, the scan, and the queue of files waiting
// for one of max_open_files handles (idle ones are parked to make room).

// scan finds files that match the globs: new ones queue for a handle,
// known ones get their current path, and parked ones that changed queue
// again.
func (s *Tailer) scan(initial bool) {
	now := time.Now()
	seen := map[string]bool{}
	matched := map[string]bool{}
	s.checkGlobDirs(matched)
	for _, p := range s.matches() {
		matched[p] = true
		st, err := os.Stat(p)
		if !s.checkMatch(p, st, err) {
			continue
		}
		s.watch.addDir(filepath.Dir(p))
		dev, ino := ids(st)
		key := fmt.Sprintf("%d:%d", dev, ino)
		seen[key] = true
		t, ok := s.files[key]
		if !ok {
			t = &tailed{key: key, path: p, dev: dev, ino: ino, initial: initial, seen: now, endAt: st.Size(), endSet: true}
			s.files[key] = t
			s.enqueue(t)
			continue
		}
		if t.path != p && !pathLeadsTo(t.path, dev, ino) {
			t.path = p // renamed, still matched: follow it under its new name
		}
		switch {
		case !t.started:
			s.enqueue(t) // could not be opened yet: try again
		case t.f == nil && (st.Size() != t.readAt || !st.ModTime().Equal(t.mtime)):
			s.enqueue(t) // parked, and it was written to since
		}
	}
	for _, g := range s.cfg.Paths {
		s.watch.addGlobDirs(g)
	}
	s.forgetSkipped(matched)
	for key, t := range s.files {
		if t.f != nil || seen[key] {
			t.lost = time.Time{}
			continue
		}
		// Never opened, or parked, and no longer matched: renamed out of
		// the globs or deleted while it had no handle.
		if t.lost.IsZero() {
			t.lost = now
		} else if now.Sub(t.lost) >= s.cfg.rotateWait {
			s.log.Info("file is gone while it had no handle; forgetting it", "path", t.path, "read_to", t.readAt)
			s.forget(t)
		}
	}
	s.knownFiles.Set(float64(len(s.files)))
}

func pathLeadsTo(path string, dev, ino uint64) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	d, i := ids(st)
	return d == dev && i == ino
}

// matches expands the globs: the accepted regular files, sorted.
func (s *Tailer) matches() []string {
	var paths []string
	for _, g := range s.cfg.Paths {
		m, _ := filepath.Glob(g)
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	out := paths[:0]
	for i, p := range paths {
		if i > 0 && p == paths[i-1] {
			continue
		}
		if s.excluded(p) || (s.hooks.Accept != nil && !s.hooks.Accept(p)) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (s *Tailer) excluded(p string) bool {
	for _, e := range s.cfg.Exclude {
		// A pattern with no slash matches the file name, like .gitignore.
		target := p
		if !strings.Contains(e, "/") {
			target = filepath.Base(p)
		}
		if ok, _ := filepath.Match(e, target); ok {
			return true
		}
	}
	return false
}

func ids(st os.FileInfo) (dev, ino uint64) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Dev), sys.Ino
	}
	return 0, 0
}

func (s *Tailer) enqueue(t *tailed) {
	if !t.queued {
		t.queued = true
		s.waiting = append(s.waiting, t)
	}
}

func (s *Tailer) forget(t *tailed) {
	if t.f != nil {
		t.f.Close()
		t.f = nil
		s.open--
	}
	if t.queued {
		for i, w := range s.waiting {
			if w == t {
				s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
				break
			}
		}
		t.queued = false
	}
	delete(s.files, t.key)
	if t.held != 0 {
		s.buffered -= t.held
		s.holding--
		t.held = 0
		s.readBuffers.Set(float64(s.buffered))
	}
	s.openFiles.Set(float64(s.open))
	s.knownFiles.Set(float64(len(s.files)))
}

// activate gives handles to waiting files, parking idle ones when
// max_open_files are open: fair turns when there are more files than
// handles.
func (s *Tailer) activate(ctx context.Context) {
	for len(s.waiting) > 0 {
		if s.open >= s.cfg.MaxOpenFiles && !s.parkOne() {
			return
		}
		t := s.waiting[0]
		s.waiting = s.waiting[1:]
		t.queued = false
		if _, ok := s.files[t.key]; !ok {
			continue
		}
		if !t.started {
			s.start(t)
		} else {
			s.reopen(ctx, t)
		}
	}
}

// parkOne closes the handle of the open file that has been idle longest,
// if one is at its end, still at its path, and fingerprinted (so it can be
// reopened and checked).
func (s *Tailer) parkOne() bool {
	var victim *tailed
	for _, t := range s.files {
		if t.f == nil || !t.eof || !t.gone.IsZero() || (t.fpLen == 0 && t.readAt > 0) {
			continue
		}
		if victim == nil || t.data.Before(victim.data) {
			victim = t
		}
	}
	if victim == nil {
		return false
	}
	if st, err := victim.f.Stat(); err == nil {
		victim.mtime = st.ModTime()
	}
	victim.f.Close()
	victim.f = nil
	s.release(victim)
	s.open--
	s.parked.Inc()
	s.openFiles.Set(float64(s.open))
	return true
}
