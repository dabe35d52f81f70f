//go:build !purego

package agent

import "golang.org/x/sys/cpu"

// escapeBlocks copies src[:n] to dst 16 bytes at a time (32 with AVX2),
// escaping '"' and '\\' on the way, up to the first byte that needs a
// closer look in a JSON string (below 0x20, 0x80 and above), the last
// whole block of n, or an escape that would take more than extra bytes
// beyond n; it returns the bytes of src read and of dst written (see
// escape_amd64.s). dst must have room for n+extra bytes, and for 16 bytes
// past any point it writes to while 16 bytes of src are left.
//
//go:noescape
func escapeBlocks(dst, src *byte, n, extra int) (read, written int)

// useAVX2 lets escapeBlocks take 32 bytes at a time.
var useAVX2 = cpu.X86.HasAVX2
