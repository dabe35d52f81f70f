package diskbuffer

import "fmt"

func (b *Buffer) dump() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := fmt.Sprintf("rseg=%d roff=%d cursor=%v total=%d stop=%v chunks=%d retries=%d\n", b.rseg, b.roff, b.cursor, b.total, b.stop, len(b.chunks), len(b.retries))
	for _, sg := range b.segs {
		s += fmt.Sprintf("  seg %d size=%d sealed=%v\n", sg.id, sg.size, sg.sealed)
	}
	for i, c := range b.chunks {
		if i > 5 {
			break
		}
		s += fmt.Sprintf("  chunk %+v\n", *c)
	}
	return s
}
