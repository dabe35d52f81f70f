package tail

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/octostore/agent/agent"
	"github.com/octostore/agent/internal/lines"
)

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
	readBuffers prometheus.Gauge
	buffered    int // bytes in the read buffers of all files (readBuffers)
	holding     int // files whose read buffer is not empty (readLimit)

	// The lines of the read being handed on and their entries: scratch
	// shared by every file (one goroutine reads them all, in turn), so
	// many busy files do not each keep lists as long as a turn's lines.
	out  []lines.Line
	ents []Entry
	// slabs holds the record slabs of batches whose records all have
	// an outcome, for the next batches to reuse (slab).
	slabs sync.Pool
	// chunks recycles the read chunks of plain files (lines.Chunks), when
	// the pipeline keeps nothing of a record past its outcome
	// (agent.Settings.Recycle); nil otherwise.
	chunks      *lines.Chunks
	knownFiles  prometheus.Gauge
	readErrors  prometheus.Counter
	mlTruncated prometheus.Counter
	// skipped: matched paths that cannot be followed, and why (skip.go).
	skipped      map[string]skipState
	skippedTotal *prometheus.CounterVec
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
	held    int // the size of split's buffer, as counted in Tailer.buffered
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
	fpBuf    [fingerprintMax]byte
}

// NewTailer returns a tailer for a validated config.
func NewTailer(set agent.Settings, cfg *Config, hooks Hooks) *Tailer {
	m := set.Metrics
	var chunks *lines.Chunks
	if set.Recycle {
		chunks = lines.NewChunks(cfg.ReadBufferBytes)
	}
	return &Tailer{
		cfg: cfg, set: set, log: set.Logger, hooks: hooks, chunks: chunks,
		files: map[string]*tailed{}, orphans: map[string]time.Time{},
		truncations:  m.Counter("file_truncations_total", "Files found shorter than the read position, or with other first bytes (copytruncate); reading restarted at 0."),
		cutLines:     m.Counter("lines_cut_total", "Lines longer than max_line_bytes; their head went to the dead-letter output."),
		inodeReuse:   m.Counter("file_inode_reuse_total", "Checkpoints ignored because the file at that inode has a different fingerprint."),
		invalidUTF8:  m.Counter("lines_invalid_utf8_total", "Records whose bytes were not valid UTF-8; invalid bytes were replaced by U+FFFD and fields.invalid_utf8 set."),
		expired:      m.Counter("file_checkpoints_expired_total", "Checkpoints of files not seen for checkpoint_ttl, deleted."),
		rotations:    m.Counter("file_rotations_total", "Files whose path stopped leading to them (renamed away or deleted), read to their end and closed."),
		parked:       m.Counter("file_parked_total", "Idle files whose handle was closed to stay within max_open_files."),
		partials:     m.Counter("lines_idle_flushed_total", "Last lines without a newline emitted after line_idle_timeout."),
		copies:       m.Counter("file_copies_continued_total", "New files found to be copies of a followed file (copytruncate), read from where that file was."),
		openFiles:    m.Gauge("file_open_files", "Files held open."),
		readBuffers:  m.Gauge("file_read_buffer_bytes", "Bytes in the read buffers of followed files. A buffer grows while a file has much to read or a long line, and is dropped once the file has been idle for line_idle_timeout."),
		knownFiles:   m.Gauge("file_known_files", "Files followed, open or waiting for a handle."),
		readErrors:   m.Counter("file_read_errors_total", "Errors opening, reading or stating files."),
		mlTruncated:  MultilineTruncated(m),
		skippedTotal: m.CounterVec("file_skipped_total", "Paths the globs match that cannot be followed, per reason (directory, not_regular, unreadable): counted once per path and change of state; /healthz lists them.", "reason"),
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

// MultilineTruncated is the counter of records cut at a multiline limit.
func MultilineTruncated(m *agent.ComponentMetrics) prometheus.Counter {
	return m.Counter("multiline_truncated_total", "Multiline records cut at max_lines or max_bytes: each piece is emitted with fields.multiline_truncated = true.")
}
