package httpbatch

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/octostore/agent/agent"
)

// tokenSource hands out the bearer token: a fixed one, or the content of a
// file, read again whenever the file changes (size, mtime or inode), so a
// rotated token is picked up without a restart.
type tokenSource struct {
	static agent.Secret
	path   string

	mu    sync.Mutex
	tok   agent.Secret
	stamp fileStamp
	read  bool
	past  []agent.Secret // tokens read before, for scrubbing
}

type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}

// Get returns the current token ("" when none is configured). An error
// means the file could not be read; the last token read, if any, is still
// returned with it.
func (t *tokenSource) Get() (agent.Secret, error) {
	if t.path == "" {
		return t.static, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fi, err := os.Stat(t.path)
	if err != nil {
		return t.tok, fmt.Errorf("token_file: %w", err)
	}
	st := stampOf(fi)
	if t.read && st == t.stamp {
		return t.tok, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return t.tok, fmt.Errorf("token_file: %w", err)
	}
	if !t.tok.IsZero() {
		t.past = append(t.past, t.tok)
		if len(t.past) > 8 {
			t.past = t.past[1:]
		}
	}
	t.tok = agent.Secret(strings.TrimSpace(string(b)))
	t.stamp, t.read = st, true
	return t.tok, nil
}

// Invalidate makes the next Get read the file again (after a 401).
func (t *tokenSource) Invalidate() {
	t.mu.Lock()
	t.read = false
	t.mu.Unlock()
}

// Known returns every token value this source has handed out, to scrub
// from text that came from outside.
func (t *tokenSource) Known() []agent.Secret {
	if t.path == "" {
		return []agent.Secret{t.static}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]agent.Secret{t.tok}, t.past...)
}
