package diskbuffer

// What a writer that must not wait (the Fluent Bit plugin's flush) asks
// before it writes, and what a shutdown reports it leaves behind.

// Room reports whether a batch of about n bytes would be written now
// without waiting for space: the buffer is empty, or n more bytes fit
// under max_bytes.
func (b *Buffer) Room(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total == 0 || b.total+n <= b.maxBytes
}

// Left tells what the log still holds for the sink: records handed to it
// and not resolved (they are sent again at the next start), and bytes not
// read yet.
func (b *Buffer) Left() (records int, unreadBytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.chunks {
		if !c.resolved {
			records += c.n
		}
	}
	for _, s := range b.segs {
		switch {
		case s.id == b.rseg:
			unreadBytes += max(s.size-b.roff, 0)
		case s.id > b.rseg:
			unreadBytes += s.size
		}
	}
	return records, unreadBytes
}
