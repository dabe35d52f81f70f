package tail

import (
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/fsnotify/fsnotify"
)

// watcher wakes the tailer when something happens in a watched directory
// (inotify through fsnotify): a write wakes it to read, a create, rename or
// remove also asks for a scan. The periodic scan (glob_interval) and poll
// (poll_interval) stay as the fallback, for events that are missed or
// directories that cannot be watched. A nil *watcher is valid and does
// nothing.
type watcher struct {
	w      *fsnotify.Watcher
	wake   chan struct{}
	rescan atomic.Bool
	mu     sync.Mutex
	dirs   map[string]bool
	done   chan struct{}
}

func newWatcher() (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	w := &watcher{w: fw, wake: make(chan struct{}, 1), dirs: map[string]bool{}, done: make(chan struct{})}
	go w.loop()
	return w, nil
}

func (w *watcher) loop() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.w.Events:
			if !ok {
				return
			}
			if !ev.Has(fsnotify.Write) {
				w.rescan.Store(true)
			}
			if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
				w.mu.Lock()
				delete(w.dirs, ev.Name) // a watched directory went away
				w.mu.Unlock()
			}
			select {
			case w.wake <- struct{}{}:
			default:
			}
		case _, ok := <-w.w.Errors:
			if !ok {
				return
			}
			// Overflow or another error: a scan finds what was missed.
			w.rescan.Store(true)
		}
	}
}

// addDir watches dir if it is not watched yet.
func (w *watcher) addDir(dir string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dirs[dir] {
		return
	}
	if err := w.w.Add(dir); err == nil {
		w.dirs[dir] = true
	}
}

// addGlobDirs watches every directory a file matching the glob could
// appear in, and the directories above them up to the glob's fixed prefix,
// so that new directories (a new pod) are noticed too.
func (w *watcher) addGlobDirs(glob string) {
	if w == nil {
		return
	}
	for dir := filepath.Dir(glob); ; dir = filepath.Dir(dir) {
		matches, _ := filepath.Glob(dir)
		for _, m := range matches {
			w.addDir(m)
		}
		if !strings.ContainsAny(dir, "*?[") || dir == filepath.Dir(dir) {
			return
		}
	}
}

// takeRescan reports whether an event asked for a scan since the last call.
func (w *watcher) takeRescan() bool {
	return w != nil && w.rescan.Swap(false)
}

// wakeC is readable after an event; nil (never readable) for a nil watcher.
func (w *watcher) wakeC() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.wake
}

func (w *watcher) close() {
	if w == nil {
		return
	}
	w.w.Close()
	<-w.done
}
