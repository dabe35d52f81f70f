package diskbuffer

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"
)

// The cursor: the end of what the sink has resolved, and the ranges resolved
// past it, saved now and then and read back by open, so that a restart does
// not send them again.

type position struct {
	seg uint64
	off int64
}

// span is a byte range of one segment.
type span struct {
	seg        uint64
	start, end int64
}

// cursorLoop saves the cursor now and then, so a restart does not send
// again what the sink already resolved.
func (b *Buffer) cursorLoop() {
	defer close(b.cursorDone)
	t := time.NewTicker(cursorInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.saveCursor()
		case <-b.ctx.Done():
			return
		}
	}
}

const cursorFile = "cursor"

// maxSkipSpans bounds the resolved ranges saved past the cursor.
const maxSkipSpans = 4096

func (b *Buffer) saveCursor() {
	b.mu.Lock()
	cur, ver := b.cursor, b.doneVer
	if cur == b.saved && ver == b.saveVer {
		b.mu.Unlock()
		return
	}
	// The cursor, then the chunks resolved past it (the sink resolves out
	// of order), so that a restart sends neither again.
	data := make([]byte, 20, 24+24*min(len(b.chunks), maxSkipSpans))
	binary.LittleEndian.PutUint64(data[0:], cur.seg)
	binary.LittleEndian.PutUint64(data[8:], uint64(cur.off))
	n := 0
	for _, c := range b.chunks {
		if c.resolved && n < maxSkipSpans {
			data = binary.LittleEndian.AppendUint64(data, c.seg)
			data = binary.LittleEndian.AppendUint64(data, uint64(c.start))
			data = binary.LittleEndian.AppendUint64(data, uint64(c.end))
			n++
		}
	}
	b.mu.Unlock()
	binary.LittleEndian.PutUint32(data[16:], uint32(n))
	data = binary.LittleEndian.AppendUint32(data, crc32.Checksum(data, castagnoli))
	p := filepath.Join(b.dir, cursorFile)
	tmp := p + ".tmp"
	err := writeSync(tmp, data)
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err == nil {
		err = syncDir(b.dir)
	}
	if err != nil {
		b.log.Warn("disk buffer: cannot save the read position; a restart sends more again", "error", err)
		return
	}
	b.mu.Lock()
	b.saved, b.saveVer = cur, ver
	b.mu.Unlock()
}

func writeSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (b *Buffer) readCursor() (position, []span, bool) {
	data, err := os.ReadFile(filepath.Join(b.dir, cursorFile))
	if err != nil {
		return position{}, nil, false
	}
	ok := len(data) >= 24
	var n int
	if ok {
		n = int(binary.LittleEndian.Uint32(data[16:20]))
		ok = len(data) == 24+24*n && crc32.Checksum(data[:len(data)-4], castagnoli) == binary.LittleEndian.Uint32(data[len(data)-4:])
	}
	if !ok {
		b.log.Warn("disk buffer: the saved read position is damaged; replaying every segment (the store drops the duplicates by id)")
		return position{}, nil, false
	}
	cur := position{seg: binary.LittleEndian.Uint64(data[0:]), off: int64(binary.LittleEndian.Uint64(data[8:]))}
	spans := make([]span, 0, n)
	for i := 0; i < n; i++ {
		o := 20 + 24*i
		spans = append(spans, span{seg: binary.LittleEndian.Uint64(data[o:]), start: int64(binary.LittleEndian.Uint64(data[o+8:])), end: int64(binary.LittleEndian.Uint64(data[o+16:]))})
	}
	return cur, spans, true
}
