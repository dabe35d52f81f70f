// Package durable keeps a transform's state in the data directory, in step
// with the positions its sources commit.
//
// A transform that remembers records (a window of rollouts, the steps of a
// run) must not let a source commit past a record before the state built
// from it is on disk, or a crash would lose the record from the state and
// never read it again. So a Saver holds a share of the token of every
// record that changed the state (Hold: Token.Add(1)) and resolves it only
// once a save that includes the change has reached the disk (written to a
// temporary file, fsynced, renamed over state/<component id>.json, the
// directory fsynced). A source therefore commits a position only when the
// state reflects every record up to it; after a crash it reads again what
// it had not committed, and the transform, which keys what it remembers by
// record id, replaces rather than duplicates.
//
// Saves happen on the transform's own clock (every save interval while the
// state changed), at the end of its input (Flush) and at Close. A save
// that fails keeps the holds for the next try: the source does not commit,
// which is safe. Throttle bounds what waits: past maxHeld batches the
// transform saves at once, and waits while saves fail. Without a data
// directory (rule tests), nothing is held or saved.
package durable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
)

// Version is the format of the state file envelope.
const Version = 1

// Saver saves one component's state and holds acknowledgements until it
// has. Its methods other than Save and Load must be called with the
// component's lock held (the one given to New), the lock that also guards
// the state the encode function reads.
type Saver struct {
	path        string // "" without a data directory
	component   string
	fingerprint string
	lock        sync.Locker
	encode      func() (any, error)
	log         *slog.Logger

	held  []held     // guarded by lock
	dirty bool       // guarded by lock
	saveM sync.Mutex // one save at a time

	saves, errors prometheus.Counter
	bytes         prometheus.Gauge
	seconds       prometheus.Counter
}

// held is n shares of one token (the records of one batch, mostly).
type held struct {
	tok *agent.Token
	n   int64
}

// maxHeld is how many tokens (batches) may wait for a save before the
// component saves at once (Throttle), and, while saves fail, waits: its
// sources then slow down instead of memory growing.
const maxHeld = 4096

// envelope is the file: the component, a fingerprint of the config the
// state was built with, and the component's own state.
type envelope struct {
	Version     int             `json:"version"`
	Component   string          `json:"component"`
	Fingerprint string          `json:"fingerprint"`
	Saved       time.Time       `json:"saved"`
	State       json.RawMessage `json:"state"`
}

// New returns the saver of set's component. fingerprint names the config
// the state depends on (a state saved under another is not loaded). encode
// is called with lock held and returns the state to save (encoded as JSON).
func New(set agent.Settings, fingerprint string, lock sync.Locker, encode func() (any, error)) *Saver {
	s := &Saver{lock: lock, encode: encode, log: set.Logger, component: set.ID, fingerprint: fingerprint}
	if s.log == nil {
		s.log = slog.Default()
	}
	if set.DataDir != "" {
		s.path = filepath.Join(set.DataDir, "state", strings.ReplaceAll(set.ID, "/", "_")+".json")
	}
	if m := set.Metrics; m != nil {
		s.saves = m.Counter("state_saves_total", "Saves of a transform's state to the data directory.")
		s.errors = m.Counter("state_save_errors_total", "Saves of a transform's state that failed (tried again; its sources do not commit meanwhile).")
		s.bytes = m.Gauge("state_bytes", "Size of a transform's state file at its last save.")
		s.seconds = m.Counter("state_save_seconds_total", "Time spent encoding and writing a transform's state.")
	}
	return s
}

// Path is the state file, or "" without a data directory.
func (s *Saver) Path() string { return s.path }

// Durable reports whether the state is saved (there is a data directory).
func (s *Saver) Durable() bool { return s.path != "" }

// Load reads the saved state into v. It reports false when there is none,
// when it was built with another config (fingerprint differs: the change is
// logged and the old file kept aside), or when the file is unreadable (moved
// aside to <name>.corrupt-<time>, logged): the component then starts empty.
func (s *Saver) Load(v any) bool {
	if s.path == "" {
		return false
	}
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	var env envelope
	if err == nil {
		err = json.Unmarshal(data, &env)
		if err == nil && (env.Version != Version || len(env.State) == 0) {
			err = fmt.Errorf("version %d, %d bytes of state", env.Version, len(env.State))
		}
		if err == nil && env.Fingerprint == s.fingerprint {
			dec := json.NewDecoder(strings.NewReader(string(env.State)))
			dec.UseNumber()
			err = dec.Decode(v)
		}
	}
	if err != nil {
		aside := fmt.Sprintf("%s.corrupt-%d", s.path, time.Now().UnixNano())
		s.log.Error("state file is unreadable; starting with an empty state", "path", s.path, "error", err, "moved_to", aside)
		_ = os.Rename(s.path, aside)
		return false
	}
	if env.Fingerprint != s.fingerprint {
		aside := fmt.Sprintf("%s.config-%d", s.path, time.Now().UnixNano())
		s.log.Warn("the saved state was built with another config (keys, conditions or fields changed); starting with an empty state", "path", s.path, "moved_to", aside)
		_ = os.Rename(s.path, aside)
		return false
	}
	return true
}

// Hold keeps tok open until the next save: the record it belongs to
// changed the state. Call with the lock held. Without a data directory it
// does nothing.
func (s *Saver) Hold(tok *agent.Token) {
	s.dirty = true
	if tok == nil || s.path == "" {
		return
	}
	tok.Add(1)
	if n := len(s.held); n > 0 && s.held[n-1].tok == tok {
		s.held[n-1].n++
		return
	}
	s.held = append(s.held, held{tok, 1})
}

// Throttle saves at once when many tokens wait for a save, and while the
// save fails, waits and tries again (every second, until ctx ends): a
// component calls it after each batch, without the lock.
func (s *Saver) Throttle(ctx context.Context) {
	for {
		s.lock.Lock()
		n := len(s.held)
		s.lock.Unlock()
		if n < maxHeld || s.Save() == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Dirty marks the state as changed. Call with the lock held.
func (s *Saver) Dirty() { s.dirty = true }

// Held returns the number of record shares held. Call with the lock held.
func (s *Saver) Held() int {
	n := 0
	for _, h := range s.held {
		n += int(h.n)
	}
	return n
}

// Save writes the state if it changed since the last save, then resolves
// the tokens held until then. Call without the lock.
func (s *Saver) Save() error {
	s.saveM.Lock()
	defer s.saveM.Unlock()
	start := time.Now()
	s.lock.Lock()
	if !s.dirty {
		s.lock.Unlock()
		return nil
	}
	if s.path == "" {
		s.dirty = false
		s.lock.Unlock()
		return nil
	}
	st, err := s.encode()
	var raw []byte
	if err == nil {
		raw, err = json.Marshal(st)
	}
	held := s.held
	s.held = nil
	s.dirty = false
	s.lock.Unlock()

	var data []byte
	if err == nil {
		// The envelope around the state, without encoding the state a
		// second time (json.Marshal would compact a RawMessage again).
		var head []byte
		head, err = json.Marshal(envelope{Version: Version, Component: s.component, Fingerprint: s.fingerprint, Saved: time.Now().UTC()})
		if err == nil {
			head = bytes.TrimSuffix(head, []byte(`,"state":null}`))
			data = make([]byte, 0, len(head)+len(raw)+11)
			data = append(append(append(data, head...), `,"state":`...), raw...)
			data = append(data, '}')
		}
	}
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(s.path), 0o750); err == nil {
			err = agent.WriteFileAtomic(s.path, data, 0o640)
		}
	}
	if s.seconds != nil {
		s.seconds.Add(time.Since(start).Seconds())
	}
	if err != nil {
		if s.errors != nil {
			s.errors.Inc()
		}
		s.lock.Lock()
		s.held = append(held, s.held...)
		s.dirty = true
		s.lock.Unlock()
		return fmt.Errorf("save state to %s (its sources do not commit until it succeeds; set agent.data_dir to a writable directory): %w", s.path, err)
	}
	if s.saves != nil {
		s.saves.Inc()
		s.bytes.Set(float64(len(data)))
	}
	Release(held)
	return nil
}

// SaveOrLog is Save, with a failure logged and counted as the component's
// error of kind "save".
func (s *Saver) SaveOrLog(set agent.Settings) error {
	err := s.Save()
	if err != nil {
		s.log.Error("cannot save the state", "error", err)
		if set.Metrics != nil {
			set.Metrics.Error("save")
		}
	}
	return err
}

// Release resolves the held shares.
func Release(hs []held) {
	var r agent.Record
	for _, h := range hs {
		for i := int64(0); i < h.n; i++ {
			r.SetToken(h.tok)
			r.Ack(agent.Delivered)
		}
	}
}

// Loop calls a function every interval on its own goroutine, until Stop:
// the clock of a transform that saves its state and emits late.
type Loop struct {
	once sync.Once
	stop chan struct{}
	done chan struct{}
}

// Every starts fn every interval.
func Every(interval time.Duration, fn func(now time.Time)) *Loop {
	l := &Loop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				fn(now)
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

// Stop stops the loop and waits for a call in progress to return. It may
// be called more than once.
func (l *Loop) Stop() {
	if l == nil {
		return
	}
	l.once.Do(func() { close(l.stop) })
	<-l.done
}
