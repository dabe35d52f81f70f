//go:build !amd64 || purego

package agent

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// plainBlocks copies src[:n] to dst a word at a time up to the first byte
// that needs a look in a JSON string, or to the last whole word, and
// returns how many bytes it copied. dst must have room for n bytes.
func plainBlocks(dst, src *byte, n int) int {
	d, s := unsafe.Slice(dst, n), unsafe.Slice(src, n)
	k := 0
	for ; k+8 <= n; k += 8 {
		x := binary.LittleEndian.Uint64(s[k : k+8])
		binary.LittleEndian.PutUint64(d[k:k+8], x)
		if m := specialBytes(x); m != 0 {
			return k + bits.TrailingZeros64(m)>>3
		}
	}
	return k
}
