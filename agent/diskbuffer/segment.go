package diskbuffer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Segments: the log's files. open lists those the last run left, new ones
// are started when the active one is full, and advance deletes those the
// sink has resolved.

type segment struct {
	id     uint64
	path   string
	size   int64 // bytes durably written
	sealed bool
}

func segName(id uint64) string { return fmt.Sprintf("%016d.seg", id) }

// open reads the directory: the cursor, the segments left by the last run
// (sealed: never written again), and starts a new segment.
func (b *Buffer) open() error {
	if err := os.MkdirAll(b.dir, 0o750); err != nil {
		return fmt.Errorf("disk buffer: %w", err)
	}
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("disk buffer: %w", err)
	}
	var ids []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || e.IsDir() {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	cur, skip, ok := b.readCursor()
	if !ok && len(ids) > 0 {
		cur = position{seg: ids[0]}
	}
	for _, id := range ids {
		p := filepath.Join(b.dir, segName(id))
		if id < cur.seg {
			_ = os.Remove(p) // fully resolved before the last stop
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("disk buffer: %w", err)
		}
		b.segs = append(b.segs, &segment{id: id, path: p, size: fi.Size(), sealed: true})
		b.total += fi.Size()
		b.nextID = id + 1
	}
	if len(b.segs) > 0 {
		if cur.seg < b.segs[0].id {
			cur = position{seg: b.segs[0].id}
		}
		if cur.seg == b.segs[0].id && cur.off > b.segs[0].size {
			cur.off = b.segs[0].size
		}
		b.log.Info("disk buffer: replaying records not yet resolved by the sink", "segments", len(b.segs), "bytes", b.total-cur.off)
	}
	if b.nextID == 0 {
		b.nextID = max(cur.seg+1, 1)
	}
	b.cursor, b.saved = cur, cur
	for _, sp := range skip {
		if sp.seg > cur.seg || sp.seg == cur.seg && sp.start >= cur.off {
			b.skip = append(b.skip, sp)
		}
	}
	sort.Slice(b.skip, func(i, j int) bool {
		return b.skip[i].seg < b.skip[j].seg || b.skip[i].seg == b.skip[j].seg && b.skip[i].start < b.skip[j].start
	})
	b.rseg, b.roff = cur.seg, cur.off
	if err := b.newSegment(); err != nil {
		return err
	}
	if b.rseg < b.segs[0].id {
		b.rseg, b.roff = b.segs[0].id, 0
	}
	if b.cursor.seg < b.segs[0].id {
		b.cursor = position{seg: b.segs[0].id}
	}
	b.gauges()
	return nil
}

// newSegment seals the active segment (if any) and starts the next one.
// Called with mu held, or before anything runs.
func (b *Buffer) newSegment() error {
	id := b.nextID
	p := filepath.Join(b.dir, segName(id))
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("disk buffer: %w", err)
	}
	if err := syncDir(b.dir); err != nil {
		f.Close()
		os.Remove(p)
		return fmt.Errorf("disk buffer: %w", err)
	}
	if b.w != nil {
		b.w.Close()
		b.segs[len(b.segs)-1].sealed = true
	}
	b.w = f
	b.nextID++
	b.segs = append(b.segs, &segment{id: id, path: p})
	if b.cond != nil {
		b.cond.Broadcast() // the reader may move on to the new segment
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (b *Buffer) segByID(id uint64) *segment {
	for _, s := range b.segs {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (b *Buffer) segAfter(id uint64) *segment {
	for _, s := range b.segs {
		if s.id > id {
			return s
		}
	}
	return nil
}

// advance moves the cursor over the resolved prefix of chunks and deletes
// the segments it has passed. Called with mu held.
func (b *Buffer) advance() {
	moved := false
	for len(b.chunks) > 0 && b.chunks[0].resolved {
		c := b.chunks[0]
		b.chunks = b.chunks[1:]
		b.cursor = position{seg: c.seg, off: c.end}
		moved = true
	}
	// Segments the cursor is past: sealed, read to the end, all resolved.
	for len(b.segs) > 1 {
		s := b.segs[0]
		if !s.sealed || b.rseg == s.id || b.cursor.seg < s.id || b.cursor.seg == s.id && b.cursor.off < s.size {
			break
		}
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.log.Warn("disk buffer: cannot delete a resolved segment", "segment", s.path, "error", err)
			break
		}
		b.total -= s.size
		b.segs = b.segs[1:]
		if b.freed != nil {
			close(b.freed)
			b.freed = nil
		}
		if b.cursor.seg == s.id {
			b.cursor = position{seg: b.segs[0].id}
		}
		moved = true
	}
	if moved {
		b.gauges()
		b.cond.Broadcast()
	}
}
