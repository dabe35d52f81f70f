package tail

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/lines"
)

// fingerprintMax bounds the bytes hashed to tell a file from another one
// that reuses its inode: the first line, or this many bytes of it.
const fingerprintMax = 256

// readsPerTurn bounds how much one file is read before the next gets its
// turn, so one busy file cannot starve the others.
const readsPerTurn = 4

// maxDonors bounds the truncated streams remembered for their copies.
const maxDonors = 1024

// checkpoint is what is stored per file (key "dev:inode").
type checkpoint struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	FPLen  int    `json:"fp_len"`
	FP     string `json:"fp"`
	// Gen counts the truncations seen at this file: new content after a
	// copytruncate gets new ids even when its first line is the same.
	Gen int `json:"gen,omitempty"`
	// Stream is the record stream of a copy that continues another file's
	// stream (copytruncate), so its records keep their ids.
	Stream string `json:"stream,omitempty"`
	// Prev is where the previous generation of this file (before its last
	// truncation) was, for a copy of it found later, even after a restart.
	Prev *checkpoint `json:"prev,omitempty"`
}

// Tailer follows the files that globs match: it opens them (at most
// max_open_files at a time), reads them in turn, follows rotation and
// truncation, hands their lines to a Decoder, and emits the entries in
// batches whose positions a Tracker commits once acknowledged. It is the
// `source "file"` component, and the engine of `source "kubernetes_logs"`.
type Tailer struct {
	cfg   *Config
	set   agent.Settings
	log   *slog.Logger
	hooks Hooks

	files   map[string]*tailed // by "dev:inode"
	open    int                // files holding a handle
	waiting []*tailed          // files that want a handle, oldest first
	orphans map[string]time.Time
	watch   *watcher
	// hadCheckpoints: the source ran before, so start_at = "end" does not
	// apply (files that appeared while it was stopped are read whole).
	hadCheckpoints bool
	donors         []donor   // streams a copy may continue
	deferred       []*tailed // new files to try again (first line incomplete, or maybe a copy)

	truncations prometheus.Counter
	cutLines    prometheus.Counter
	inodeReuse  prometheus.Counter
	invalidUTF8 prometheus.Counter
	expired     prometheus.Counter
	rotations   prometheus.Counter
	parked      prometheus.Counter
	partials    prometheus.Counter
	copies      prometheus.Counter
	openFiles   prometheus.Gauge
	knownFiles  prometheus.Gauge
	readErrors  prometheus.Counter
}

type tailed struct {
	key     string
	path    string
	dev     uint64
	ino     uint64
	initial bool // found by the first scan (start_at applies)
	// restarted: truncated in this run; started again as a new generation.
	restarted bool

	f       *os.File // nil until opened, and while parked
	started bool     // checkpoint read, splitter and decoder made
	queued  bool     // in Tailer.waiting
	split   *lines.Splitter
	dec     Decoder
	readAt  int64 // offset of the next byte read from f
	fpLen   int
	fp      string
	fpSum   uint64
	provLen int // a provisional fingerprint while fpLen is 0
	provSum uint64
	gen     int
	stream  string
	// streamOf is the stream a copy continues (copytruncate); "" for a
	// file that is its own stream.
	streamOf string
	seen     time.Time // when a scan first found it
	endAt    int64     // its size when first opened (start_at = "end")
	endSet   bool
	mtime    time.Time   // when parked: its modification time then
	noted    bool        // the reuse of its inode was logged
	prev     *checkpoint // the previous generation's last position
	commit   int64       // highest position handed to the tracker in this gen
	tracker  *agent.Tracker[checkpoint]
	gone     time.Time // when its path stopped leading to it; zero while it does
	lost     time.Time // parked and no longer found by the globs
	eof      bool
	data     time.Time // when a read last returned bytes
	out      []lines.Line
	ents     []Entry
	fpBuf    [fingerprintMax]byte
}

// NewTailer returns a tailer for a validated config.
func NewTailer(set agent.Settings, cfg *Config, hooks Hooks) *Tailer {
	m := set.Metrics
	return &Tailer{
		cfg: cfg, set: set, log: set.Logger, hooks: hooks,
		files: map[string]*tailed{}, orphans: map[string]time.Time{},
		truncations: m.Counter("file_truncations_total", "Files found shorter than the read position, or with other first bytes (copytruncate); reading restarted at 0."),
		cutLines:    m.Counter("lines_cut_total", "Lines longer than max_line_bytes; their head went to the dead-letter output."),
		inodeReuse:  m.Counter("file_inode_reuse_total", "Checkpoints ignored because the file at that inode has a different fingerprint."),
		invalidUTF8: m.Counter("lines_invalid_utf8_total", "Records whose bytes were not valid UTF-8; invalid bytes were replaced by U+FFFD and fields.invalid_utf8 set."),
		expired:     m.Counter("file_checkpoints_expired_total", "Checkpoints of files not seen for checkpoint_ttl, deleted."),
		rotations:   m.Counter("file_rotations_total", "Files whose path stopped leading to them (renamed away or deleted), read to their end and closed."),
		parked:      m.Counter("file_parked_total", "Idle files whose handle was closed to stay within max_open_files."),
		partials:    m.Counter("lines_idle_flushed_total", "Last lines without a newline emitted after line_idle_timeout."),
		copies:      m.Counter("file_copies_continued_total", "New files found to be copies of a followed file (copytruncate), read from where that file was."),
		openFiles:   m.Gauge("file_open_files", "Files held open."),
		knownFiles:  m.Gauge("file_known_files", "Files followed, open or waiting for a handle."),
		readErrors:  m.Counter("file_read_errors_total", "Errors opening, reading or stating files."),
	}
}

// Run reads until ctx ends or, in once mode, until every file matched at
// start has been read to its end.
func (s *Tailer) Run(ctx context.Context) error {
	if !s.set.Once && (s.cfg.Fsnotify == nil || *s.cfg.Fsnotify) {
		w, err := newWatcher()
		if err != nil {
			s.log.Warn("cannot watch directories; finding new data by polling only", "error", err)
		} else {
			s.watch = w
			defer w.close()
		}
	}
	if s.set.Checkpoints != nil {
		keys := s.set.Checkpoints.Keys()
		sort.Strings(keys)
		s.hadCheckpoints = len(keys) > 0
		for _, k := range keys {
			var cp checkpoint
			if s.set.Checkpoints.Load(k, &cp) {
				if cp.Prev != nil {
					s.addDonor(donor{key: k, cp: *cp.Prev, stream: cp.Prev.Stream})
				}
				prev := cp
				prev.Prev = nil
				s.addDonor(donor{key: k, cp: prev, stream: cp.Stream})
			}
		}
	}
	s.scan(true)
	lastGlob, lastCheck := time.Now(), time.Now()
	for {
		s.activate(ctx)
		progressed := false
		keys := make([]string, 0, len(s.files))
		for k, t := range s.files {
			if t.f != nil {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ctx.Err() != nil {
				return nil
			}
			if t := s.files[k]; t != nil && t.f != nil && s.readTurn(ctx, t) {
				progressed = true
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if s.set.Once {
			if !progressed && len(s.waiting) == 0 && s.allAtEOF() {
				for _, k := range sortedKeys(s.files) {
					s.flushAll(ctx, s.files[k], true)
				}
				return nil
			}
			continue
		}
		now := time.Now()
		s.idle(ctx, now)
		if progressed && now.Sub(lastCheck) < s.cfg.poll {
			continue
		}
		if s.watch.takeRescan() || now.Sub(lastGlob) >= s.cfg.glob {
			s.scan(false)
			s.expire(now)
			lastGlob = now
		}
		s.checkRotation(ctx, now)
		for _, t := range s.deferred {
			if s.files[t.key] == t {
				s.enqueue(t)
			}
		}
		s.deferred = s.deferred[:0]
		lastCheck = now
		if progressed {
			continue
		}
		timer := time.NewTimer(s.cfg.poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.watch.wakeC():
		case <-timer.C:
		}
		timer.Stop()
	}
}

func sortedKeys(m map[string]*tailed) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Tailer) allAtEOF() bool {
	for _, t := range s.files {
		if t.f != nil && !t.eof {
			return false
		}
	}
	return true
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

// scan finds files that match the globs: new ones queue for a handle,
// known ones get their current path, and parked ones that changed queue
// again.
func (s *Tailer) scan(initial bool) {
	now := time.Now()
	seen := map[string]bool{}
	for _, p := range s.matches() {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
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
	s.open--
	s.parked.Inc()
	s.openFiles.Set(float64(s.open))
	return true
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

// openAt opens t.path and checks it is still t's inode.
func (s *Tailer) openAt(t *tailed) (*os.File, os.FileInfo, bool) {
	fh, err := os.Open(t.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.readErrors.Inc()
			s.log.Warn("cannot open file", "path", t.path, "error", err)
		}
		return nil, nil, false
	}
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
		t.dec = newPlainDecoder(s.cfg.Multiline)
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

// readTurn reads a few chunks of one file and emits what they complete.
func (s *Tailer) readTurn(ctx context.Context, t *tailed) bool {
	progressed := false
	if t.f == nil {
		return false
	}
	for i := 0; i < readsPerTurn; i++ {
		var n int
		var err error
		t.out, n, err = t.split.Read(t.f, t.out[:0])
		if n > 0 {
			// Check the identity after the read and before emitting: if the
			// file was truncated and refilled, these bytes are not what
			// follows the position, so they are read again from 0.
			if s.replaced(t) {
				s.restart(ctx, t, "file truncated and written again (its first bytes changed)")
				return true
			}
			t.readAt += int64(n)
			s.takeFingerprint(t, false)
			progressed = true
			t.eof = false
			t.data = time.Now()
		}
		if len(t.out) > 0 && !s.emitLines(ctx, t, t.out) {
			return progressed // the pipeline refused them (drain deadline)
		}
		if ctx.Err() != nil {
			return progressed // shutdown: stop intake after handing on what was read
		}
		if err == io.EOF || (err == nil && n == 0) {
			t.eof = true
			return progressed
		}
		if err != nil {
			s.readErrors.Inc()
			s.log.Warn("read failed", "path", t.path, "error", err)
			t.eof = true
			return progressed
		}
	}
	return progressed
}

func (s *Tailer) emitLines(ctx context.Context, t *tailed, ls []lines.Line) bool {
	now := time.Now()
	t.ents = t.ents[:0]
	for _, l := range ls {
		t.ents = t.dec.Add(l, now, t.ents)
	}
	return s.emit(ctx, t, t.ents, false)
}

// idle emits last lines that waited line_idle_timeout for their newline,
// and records whose joining timed out.
func (s *Tailer) idle(ctx context.Context, now time.Time) {
	for _, k := range sortedKeys(s.files) {
		t := s.files[k]
		if !t.started {
			continue
		}
		t.ents = t.ents[:0]
		if t.split.Pending() > 0 && now.Sub(t.data) >= s.cfg.idle {
			t.out = t.split.Flush(t.out[:0])
			s.partials.Add(float64(len(t.out)))
			for _, l := range t.out {
				t.ents = t.dec.Add(l, now, t.ents)
			}
		}
		t.ents = t.dec.Tick(now, t.ents)
		if len(t.ents) > 0 {
			s.emit(ctx, t, t.ents, true)
		}
	}
}

// flushAll emits the partial last line (if partial) and everything the
// decoder holds: end of input, rotation, truncation.
func (s *Tailer) flushAll(ctx context.Context, t *tailed, partial bool) {
	if !t.started {
		return
	}
	t.ents = t.ents[:0]
	if partial {
		t.out = t.split.Flush(t.out[:0])
		for _, l := range t.out {
			t.ents = t.dec.Add(l, time.Now(), t.ents)
		}
	}
	t.ents = t.dec.Flush(t.ents)
	if len(t.ents) > 0 {
		s.emit(ctx, t, t.ents, true)
	}
}

// emit hands entries on in batches; false if the pipeline refused them
// (the drain deadline passed).
func (s *Tailer) emit(ctx context.Context, t *tailed, ents []Entry, final bool) bool {
	s.ensureStream(t, final)
	now := time.Now()
	base := agent.Origin{Host: s.set.Host, Component: s.set.ID, Stream: t.stream, Path: t.path, Device: t.dev, Inode: t.ino}
	for len(ents) > 0 {
		n := min(len(ents), s.cfg.BatchMaxRecords)
		chunk := ents[:n]
		ents = ents[n:]
		t.commit = max(t.commit, chunk[n-1].Commit)
		tok := t.tracker.Track(n, checkpoint{Path: t.path, Offset: t.commit, FPLen: t.fpLen, FP: t.fp, Gen: t.gen, Stream: t.streamOf, Prev: t.prev})
		recs, cut := s.records(chunk, now, base, tok)
		if cut != nil {
			s.cutLines.Add(float64(len(cut)))
			_ = s.set.DeadLetter.Emit(ctx, cut)
		}
		if err := s.set.Out.Emit(ctx, recs); err != nil {
			return false
		}
	}
	return true
}

// records turns entries into records that all carry tok. A cut entry
// becomes a dead letter, returned in cut.
func (s *Tailer) records(ents []Entry, now time.Time, base agent.Origin, tok *agent.Token) (recs, cut agent.Batch) {
	recs = make(agent.Batch, 0, len(ents))
	for i := range ents {
		e := &ents[i]
		r := agent.Record{Time: e.Time, Raw: e.Raw, Entity: e.Entity, Origin: base}
		if e.Fields != nil {
			r.SetFields(e.Fields)
		}
		if r.Time.IsZero() {
			r.Time = now
		}
		r.Origin.Offset = e.Offset
		r.SetToken(tok)
		if e.Cut {
			cut = append(cut, lines.CutDeadLetter(&r, base.Component, s.cfg.MaxLineBytes))
			continue
		}
		if !utf8.Valid(r.Raw) {
			s.invalidUTF8.Inc()
			r.Raw = bytes.ToValidUTF8(r.Raw, []byte("\uFFFD"))
			r.Set("message", string(r.Raw))
			r.Set("invalid_utf8", true)
		}
		recs = append(recs, r)
	}
	return recs, cut
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

// Close releases the open files.
func (s *Tailer) Close() error {
	var errs []error
	for _, t := range s.files {
		if t.f == nil {
			continue
		}
		if err := t.f.Close(); err != nil && !errors.Is(err, fs.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.files = map[string]*tailed{}
	s.open = 0
	return errors.Join(errs...)
}

func ids(st os.FileInfo) (dev, ino uint64) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Dev), sys.Ino
	}
	return 0, 0
}
