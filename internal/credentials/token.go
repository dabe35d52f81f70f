// Package credentials holds what components share about credentials: a
// bearer token given inline or in a file that is read again when it
// changes (the HTTP sinks send it, the OTLP source checks it), and the TLS
// settings of a component that serves (certificate, client certificates
// for mTLS).
package credentials

import (
	"crypto/subtle"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/octostore/agent/agent"
)

// TokenSource hands out a bearer token: a fixed one, or the content of a
// file, read again whenever the file changes (size, mtime or inode), so a
// rotated token is picked up without a restart. The zero TokenSource has
// no token.
type TokenSource struct {
	static agent.Secret
	path   string

	mu    sync.Mutex
	tok   agent.Secret
	stamp fileStamp
	read  bool
	past  []agent.Secret // tokens read before, for scrubbing
}

// NewTokenSource returns the token source of a `token` or `token_file`
// attribute (at most one of them is set; neither: no token).
func NewTokenSource(static agent.Secret, path string) *TokenSource {
	return &TokenSource{static: static, path: path}
}

// Configured reports whether a token or a token file is set.
func (t *TokenSource) Configured() bool { return !t.static.IsZero() || t.path != "" }

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
func (t *TokenSource) Get() (agent.Secret, error) {
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
func (t *TokenSource) Invalidate() {
	t.mu.Lock()
	t.read = false
	t.mu.Unlock()
}

// Known returns every token value this source has handed out, to scrub
// from text that came from outside.
func (t *TokenSource) Known() []agent.Secret {
	if t.path == "" {
		return []agent.Secret{t.static}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]agent.Secret{t.tok}, t.past...)
}

// CheckBearer checks an Authorization header value against the current
// token, in constant time. With no token configured every request passes.
// ok is false for a missing or wrong token; err says the token file could
// not be read (the request is refused then too, unless a token was read
// before).
func (t *TokenSource) CheckBearer(header string) (ok bool, err error) {
	if !t.Configured() {
		return true, nil
	}
	want, err := t.Get()
	if want.IsZero() {
		return false, err
	}
	got, found := strings.CutPrefix(header, "Bearer ")
	if !found {
		got, found = strings.CutPrefix(header, "bearer ")
	}
	if !found {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want.Reveal())) == 1, err
}
