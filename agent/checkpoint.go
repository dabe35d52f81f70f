package agent

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Checkpoints keeps each source's committed positions in memory and writes
// them to data_dir/checkpoints/<component id>.json atomically (temp file,
// fsync, rename, fsync of the directory). Sources commit positions as acks
// arrive; the runtime flushes on an interval and once more at shutdown,
// after the pipeline has drained.
type Checkpoints struct {
	dir     string
	log     *slog.Logger
	metrics *Metrics

	flushMu sync.Mutex // one flush at a time
	mu      sync.Mutex
	files   map[string]*checkpointFile
}

type checkpointFile struct {
	entries map[string]json.RawMessage
	pending map[string]any // committed since the last flush; nil value = delete
	dirty   bool
}

type checkpointDoc struct {
	Version int                        `json:"version"`
	Source  string                     `json:"source"`
	Saved   time.Time                  `json:"saved"`
	Entries map[string]json.RawMessage `json:"entries"`
}

// NewCheckpoints returns a store rooted at dataDir/checkpoints.
func NewCheckpoints(dataDir string, log *slog.Logger, m *Metrics) (*Checkpoints, error) {
	dir := filepath.Join(dataDir, "checkpoints")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create checkpoint directory (set agent.data_dir or --data-dir to a writable directory): %w", ExplainPermission(err, dir, "write"))
	}
	if log == nil {
		log = slog.Default()
	}
	return &Checkpoints{dir: dir, log: log, metrics: m, files: map[string]*checkpointFile{}}, nil
}

// For returns the view of one source's checkpoints.
func (c *Checkpoints) For(component string) *SourceCheckpoints {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.files[component]; !ok {
		c.files[component] = c.read(component)
	}
	return &SourceCheckpoints{store: c, component: component}
}

func (c *Checkpoints) path(component string) string {
	return filepath.Join(c.dir, strings.ReplaceAll(component, "/", "_")+".json")
}

// read loads a source's file. A corrupt or empty file is reported, counted,
// moved aside to <name>.corrupt-<time>, and replaced by an empty state: the source
// then starts as if it had no checkpoint (its start_at policy applies).
func (c *Checkpoints) read(component string) *checkpointFile {
	f := &checkpointFile{entries: map[string]json.RawMessage{}, pending: map[string]any{}}
	p := c.path(component)
	data, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return f
	}
	var doc checkpointDoc
	if err == nil {
		if len(data) == 0 {
			err = fmt.Errorf("file is empty")
		} else if err = json.Unmarshal(data, &doc); err == nil && doc.Entries == nil {
			err = fmt.Errorf("no entries object")
		}
	}
	if err != nil {
		aside := fmt.Sprintf("%s.corrupt-%d", p, time.Now().UnixNano())
		c.log.Error("checkpoint file is unreadable; starting this source without checkpoints (its start_at applies)",
			"component", component, "path", p, "error", err, "moved_to", aside)
		if c.metrics != nil {
			c.metrics.CheckpointErrors.WithLabelValues(component, "corrupt").Inc()
		}
		_ = os.Rename(p, aside)
		return f
	}
	f.entries = doc.Entries
	return f
}

// Flush writes every source whose positions changed since the last flush.
// The files are encoded under the lock and written (with fsync) outside it,
// so commits from acknowledgements never wait on the disk.
func (c *Checkpoints) Flush() error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	type job struct {
		comp string
		data []byte
	}
	var jobs []job
	var first error
	c.mu.Lock()
	for comp, f := range c.files {
		if !f.dirty {
			continue
		}
		for k, v := range f.pending {
			if v == nil {
				delete(f.entries, k)
				continue
			}
			raw, err := json.Marshal(v)
			if err != nil {
				if first == nil {
					first = fmt.Errorf("encode checkpoint %s/%s: %w", comp, k, err)
				}
				continue
			}
			f.entries[k] = raw
		}
		clear(f.pending)
		f.dirty = false
		doc := checkpointDoc{Version: 1, Source: comp, Saved: time.Now().UTC(), Entries: f.entries}
		data, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			if first == nil {
				first = fmt.Errorf("encode checkpoint of %s: %w", comp, err)
			}
			continue
		}
		jobs = append(jobs, job{comp, data})
	}
	c.mu.Unlock()
	for _, j := range jobs {
		if err := WriteFileAtomic(c.path(j.comp), j.data, 0o640); err != nil {
			if c.metrics != nil {
				c.metrics.CheckpointErrors.WithLabelValues(j.comp, "write").Inc()
			}
			c.mu.Lock()
			c.files[j.comp].dirty = true // try again at the next flush
			c.mu.Unlock()
			if first == nil {
				first = fmt.Errorf("write checkpoint of %s: %w", j.comp, err)
			}
		}
	}
	return first
}

// SourceCheckpoints is one source's part of the store.
type SourceCheckpoints struct {
	store     *Checkpoints
	component string
}

// Load decodes the committed position stored under key into v. It reports
// false if there is none. A position committed but not flushed yet counts.
// A stored value that does not decode counts as none, and is reported.
func (s *SourceCheckpoints) Load(key string, v any) bool {
	s.store.mu.Lock()
	f := s.store.files[s.component]
	raw, ok := f.entries[key]
	if pv, pending := f.pending[key]; pending {
		if pv == nil {
			s.store.mu.Unlock()
			return false
		}
		var err error
		if raw, err = json.Marshal(pv); err != nil {
			s.store.mu.Unlock()
			return false
		}
		ok = true
	}
	s.store.mu.Unlock()
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		s.store.log.Error("checkpoint entry is unreadable; ignoring it", "component", s.component, "key", key, "error", err)
		if s.store.metrics != nil {
			s.store.metrics.CheckpointErrors.WithLabelValues(s.component, "corrupt").Inc()
		}
		return false
	}
	return true
}

// Keys lists the keys with a stored position.
func (s *SourceCheckpoints) Keys() []string {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	f := s.store.files[s.component]
	keys := make([]string, 0, len(f.entries))
	for k := range f.entries {
		if v, ok := f.pending[k]; ok && v == nil {
			continue
		}
		keys = append(keys, k)
	}
	for k, v := range f.pending {
		if _, ok := f.entries[k]; !ok && v != nil {
			keys = append(keys, k)
		}
	}
	return keys
}

// Commit records v as the position under key. It is kept in memory and
// written at the next flush. v must not be changed afterwards.
func (s *SourceCheckpoints) Commit(key string, v any) {
	s.store.mu.Lock()
	f := s.store.files[s.component]
	f.pending[key] = v
	f.dirty = true
	s.store.mu.Unlock()
}

// Delete forgets the position under key at the next flush.
func (s *SourceCheckpoints) Delete(key string) {
	s.store.mu.Lock()
	f := s.store.files[s.component]
	f.pending[key] = nil
	f.dirty = true
	s.store.mu.Unlock()
}

// WriteFileAtomic writes data to path so that a crash leaves either the old
// file or the new one, never a torn one: temp file in the same directory,
// fsync, rename over path, fsync of the directory.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
