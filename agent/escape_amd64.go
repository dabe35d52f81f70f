//go:build !purego

package agent

// plainBlocks copies src[:n] to dst 16 bytes at a time up to the first byte
// that needs a look in a JSON string, and returns how many bytes it copied
// (see escape_amd64.s). dst must have room for n bytes.
//
//go:noescape
func plainBlocks(dst, src *byte, n int) int
