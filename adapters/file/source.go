package file

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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/adapters/lines"
	"github.com/octostore/agent/agent"
)

// fingerprintMax bounds the bytes hashed to tell a file from another one
// that reuses its inode: the first line, or this many bytes of it.
const fingerprintMax = 256

// readsPerTurn bounds how much one file is read before the next gets its
// turn, so one busy file cannot starve the others.
const readsPerTurn = 4

// checkpoint is what is stored per file (key "dev:inode").
type checkpoint struct {
	Path   string `json:"path"`
	Offset int64  `json:"offset"`
	FPLen  int    `json:"fp_len"`
	FP     string `json:"fp"`
	// Gen counts the truncations seen at this file: new content after a
	// copytruncate gets new ids even when its first line is the same.
	Gen int `json:"gen,omitempty"`
}

type source struct {
	cfg *Config
	set agent.Settings
	log *slog.Logger

	files map[string]*tailed // by "dev:inode"

	truncations prometheus.Counter
	cutLines    prometheus.Counter
	inodeReuse  prometheus.Counter
	openFiles   prometheus.Gauge
	readErrors  prometheus.Counter
}

type tailed struct {
	key     string
	path    string
	dev     uint64
	ino     uint64
	f       *os.File
	split   *lines.Splitter
	readAt  int64 // offset of the next byte read from f
	fpLen   int
	fp      string
	gen     int
	stream  string
	tracker *agent.Tracker[checkpoint]
	gone    time.Time // when its path stopped leading to it; zero while it does
	eof     bool
	out     []lines.Line
}

func newSource(set agent.Settings, cfg *Config) *source {
	m := set.Metrics
	return &source{
		cfg: cfg, set: set, log: set.Logger, files: map[string]*tailed{},
		truncations: m.Counter("file_truncations_total", "Files found shorter than the read position (copytruncate); reading restarted at 0."),
		cutLines:    m.Counter("lines_cut_total", "Lines longer than max_line_bytes; their head went to the dead-letter output."),
		inodeReuse:  m.Counter("file_inode_reuse_total", "Checkpoints ignored because the file at that inode has a different fingerprint."),
		openFiles:   m.Gauge("file_open_files", "Files held open."),
		readErrors:  m.Counter("file_read_errors_total", "Errors opening, reading or stating files."),
	}
}

// Run reads until ctx ends or, in once mode, until every file matched at
// start has been read to its end.
func (s *source) Run(ctx context.Context) error {
	s.scan(true)
	lastGlob := time.Now()
	for {
		progressed := false
		keys := make([]string, 0, len(s.files))
		for k := range s.files {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ctx.Err() != nil {
				return nil
			}
			if s.readTurn(ctx, s.files[k]) {
				progressed = true
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if s.set.Once {
			if !progressed && s.allAtEOF() {
				for _, k := range keys {
					s.flushPartial(ctx, s.files[k])
				}
				return nil
			}
			continue
		}
		if progressed {
			continue
		}
		if time.Since(lastGlob) >= s.cfg.glob {
			s.scan(false)
			lastGlob = time.Now()
		}
		s.checkRotation()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.cfg.poll):
		}
	}
}

func (s *source) allAtEOF() bool {
	for _, f := range s.files {
		if !f.eof {
			return false
		}
	}
	return true
}

// scan opens files that match the globs and are not open yet.
func (s *source) scan(initial bool) {
	var paths []string
	for _, g := range s.cfg.Paths {
		m, _ := filepath.Glob(g)
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if s.excluded(p) {
			continue
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		dev, ino := ids(st)
		key := fmt.Sprintf("%d:%d", dev, ino)
		if f, ok := s.files[key]; ok {
			f.path = p // renamed, still matched: follow it under its new name
			continue
		}
		s.open(p, key, dev, ino, initial)
	}
}

func (s *source) excluded(p string) bool {
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

func (s *source) open(path, key string, dev, ino uint64, initial bool) {
	fh, err := os.Open(path)
	if err != nil {
		s.readErrors.Inc()
		s.log.Warn("cannot open file", "path", path, "error", err)
		return
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return
	}
	if d, i := ids(st); d != dev || i != ino {
		fh.Close() // replaced between stat and open; the next scan takes it
		return
	}
	t := &tailed{key: key, path: path, dev: dev, ino: ino, f: fh}
	start := int64(0)
	var cp checkpoint
	switch {
	case s.set.Checkpoints != nil && s.set.Checkpoints.Load(key, &cp):
		switch {
		case cp.FPLen > 0 && !s.fingerprintMatches(fh, cp):
			s.inodeReuse.Inc()
			s.log.Info("file at a checkpointed inode has other content; reading it from the start", "path", path)
		case st.Size() < cp.Offset:
			s.truncations.Inc()
			t.gen = cp.Gen + 1
			s.log.Info("file is shorter than its checkpoint (truncated while stopped); reading it from the start", "path", path, "checkpoint", cp.Offset, "size", st.Size())
		default:
			start = cp.Offset
			t.fpLen, t.fp, t.gen = cp.FPLen, cp.FP, cp.Gen
		}
	case initial && s.cfg.StartAt == "end":
		start = st.Size()
	}
	if _, err := fh.Seek(start, io.SeekStart); err != nil {
		fh.Close()
		s.readErrors.Inc()
		return
	}
	t.readAt = start
	t.split = lines.New(start, s.cfg.ReadBufferBytes, s.cfg.MaxLineBytes)
	t.tracker = agent.NewTracker(s.set.Acks, func(cp checkpoint) {
		if s.set.Checkpoints != nil {
			s.set.Checkpoints.Commit(key, cp)
		}
	}, func() {
		s.set.Metrics.StuckStream()
		s.log.Warn("a record from this file failed; its position is not committed past it in this run, so the next start reads it again", "path", path)
	})
	s.files[key] = t
	s.openFiles.Set(float64(len(s.files)))
	s.log.Debug("following file", "path", path, "offset", start)
}

// fingerprintMatches compares the first bytes of f with a checkpoint's.
func (s *source) fingerprintMatches(f *os.File, cp checkpoint) bool {
	buf := make([]byte, cp.FPLen)
	n, _ := f.ReadAt(buf, 0)
	return n == cp.FPLen && hashHex(buf) == cp.FP
}

func hashHex(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// ensureFingerprint fixes the file's identity once its first line (or its
// first fingerprintMax bytes) exists. final accepts a shorter, newline-less
// start (end of input).
func (s *source) ensureFingerprint(t *tailed, final bool) {
	if t.fpLen == 0 {
		buf := make([]byte, fingerprintMax)
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
		}
	}
	if t.stream == "" && t.fpLen > 0 {
		t.stream = strconv.FormatUint(t.dev, 10) + ":" + strconv.FormatUint(t.ino, 10) + ":" + t.fp
		if t.gen > 0 {
			t.stream += ":" + strconv.Itoa(t.gen)
		}
	}
}

// readTurn reads a few chunks of one file and emits its complete lines.
func (s *source) readTurn(ctx context.Context, t *tailed) bool {
	progressed := false
	for i := 0; i < readsPerTurn; i++ {
		var n int
		var err error
		t.out, n, err = t.split.Read(t.f, t.out[:0])
		t.readAt += int64(n)
		if n > 0 {
			progressed = true
			t.eof = false
		}
		if len(t.out) > 0 && !s.emit(ctx, t, t.out, false) {
			return progressed // the stream is stuck for this run: reading on only makes duplicates
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

// flushPartial emits a last line that has no newline (end of input).
func (s *source) flushPartial(ctx context.Context, t *tailed) {
	t.out = t.split.Flush(t.out[:0])
	if len(t.out) > 0 {
		s.emit(ctx, t, t.out, true)
	}
}

// emit hands lines on in batches; false if the pipeline refused them (the
// drain deadline passed).
func (s *source) emit(ctx context.Context, t *tailed, ls []lines.Line, final bool) bool {
	s.ensureFingerprint(t, final)
	now := time.Now()
	base := agent.Origin{Host: s.set.Host, Component: s.set.ID, Stream: t.stream, Path: t.path, Device: t.dev, Inode: t.ino}
	for len(ls) > 0 {
		n := min(len(ls), s.cfg.BatchMaxRecords)
		chunk := ls[:n]
		ls = ls[n:]
		tok := t.tracker.Track(n, checkpoint{Path: t.path, Offset: chunk[n-1].End, FPLen: t.fpLen, FP: t.fp, Gen: t.gen})
		recs, cut := lines.Records(chunk, now, base, tok, s.cfg.MaxLineBytes)
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

// checkRotation notices files whose path now leads elsewhere (renamed
// away, deleted) or that shrank (copytruncate).
func (s *source) checkRotation() {
	for key, t := range s.files {
		st, err := t.f.Stat()
		if err != nil {
			continue
		}
		if st.Size() < t.readAt {
			s.truncations.Inc()
			s.log.Info("file truncated; reading it from the start", "path", t.path, "was", t.readAt, "size", st.Size())
			if _, err := t.f.Seek(0, io.SeekStart); err == nil {
				t.readAt = 0
				t.split.Reset(0)
				t.fpLen, t.fp, t.stream = 0, "", ""
				t.gen++
				t.eof = false
			}
			continue
		}
		pst, err := os.Stat(t.path)
		moved := err != nil
		if err == nil {
			d, i := ids(pst)
			moved = d != t.dev || i != t.ino
		}
		if !moved {
			t.gone = time.Time{}
			continue
		}
		if t.gone.IsZero() {
			t.gone = time.Now()
			continue
		}
		// Keep reading a rotated file to its end for rotate_wait, then let go.
		if t.eof && time.Since(t.gone) >= s.cfg.rotateWait {
			s.log.Debug("file rotated away and read to its end; closing it", "path", t.path)
			t.f.Close()
			delete(s.files, key)
			s.openFiles.Set(float64(len(s.files)))
		}
	}
}

// Close releases the open files.
func (s *source) Close() error {
	var errs []error
	for _, t := range s.files {
		if err := t.f.Close(); err != nil && !errors.Is(err, fs.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.files = map[string]*tailed{}
	return errors.Join(errs...)
}

func ids(st os.FileInfo) (dev, ino uint64) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Dev), sys.Ino
	}
	return 0, 0
}
