//go:build !amd64 || purego

package agent

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// escapeBlocks copies src[:n] to dst a word at a time, escaping '"' and
// '\\' on the way, up to the first byte that needs a closer look in a JSON
// string (below 0x20, 0x80 and above), the last whole word of n, or an
// escape that would take more than extra bytes beyond n; it returns the
// bytes of src read and of dst written. dst must have room for n+extra
// bytes, and for 8 bytes past any point it writes to while 8 bytes of src
// are left.
func escapeBlocks(dst, src *byte, n, extra int) (read, written int) {
	d, s := unsafe.Slice(dst, n+extra), unsafe.Slice(src, n)
	for read+8 <= n {
		x := binary.LittleEndian.Uint64(s[read : read+8])
		binary.LittleEndian.PutUint64(d[written:written+8], x)
		m := specialBytes(x)
		if m == 0 {
			read += 8
			written += 8
			continue
		}
		k := bits.TrailingZeros64(m) >> 3
		read += k
		written += k
		if c := s[read]; (c != '"' && c != '\\') || extra <= 0 {
			break
		}
		extra--
		d[written] = '\\'
		d[written+1] = s[read]
		written += 2
		read++
	}
	return read, written
}
