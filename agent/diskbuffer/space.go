package diskbuffer

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/octostore/agent/agent"
)

// Space: a data dir on a filesystem smaller than the buffer's bound. A
// segment is freed only whole, once the sink resolved all of it, so a
// segment larger than the free space would never be sealed and freed:
// segments are sized to a fraction of the free space at start, and shrink
// (and roll) when a write meets a full disk.

const minSegSize = 4 << 10

// freeSpace returns the bytes an unprivileged writer may still use on the
// filesystem of dir, and its size.
func freeSpace(dir string) (free, size int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), int64(st.Blocks) * int64(st.Bsize), nil
}

// checkSpace warns when max_bytes is larger than the free space of the
// data dir's filesystem, and sizes segments so that several fit in it.
// Called before anything runs.
func (b *Buffer) checkSpace() {
	free, size, err := freeSpace(b.dir)
	if err != nil {
		b.log.Warn("disk buffer: cannot read the free space of the data dir", "dir", b.dir, "error", err)
		return
	}
	free += b.total // the segments left by the last run are ours to free
	if free < b.maxBytes {
		b.log.Warn(fmt.Sprintf("disk buffer: max_bytes (%s) is larger than the free space of the data dir's filesystem (%s free of %s); the buffer holds at most what fits, blocks (or drops, with when_full = \"drop_newest\") when the disk is full, and resumes as the sink frees segments",
			agent.FormatBytes(b.maxBytes), agent.FormatBytes(free), agent.FormatBytes(size)),
			"dir", b.dir, "max_bytes", b.maxBytes, "free_bytes", free, "fs_bytes", size,
			"hint", "set buffer.max_bytes below the free space, or give data_dir a larger volume")
	}
	if seg := max(free/16, minSegSize); seg < b.segSize {
		b.segSize = seg
	}
}

// shrinkSegments is called, mu held, when a write to the active segment
// failed for want of space: later segments are smaller (an eighth of what
// the buffer holds now), and the active one is sealed at once so the sink
// can free it, instead of the writer retrying the same segment forever.
func (b *Buffer) shrinkSegments(active *segment) {
	b.segSize = max(min(b.segSize, b.total/8), minSegSize)
	if active.size == 0 || active != b.segs[len(b.segs)-1] {
		return
	}
	if err := b.newSegment(); err != nil {
		b.log.Warn("disk buffer: cannot start a new segment on a full disk; trying again at the next write", "error", err)
		return
	}
	b.advance()
}
