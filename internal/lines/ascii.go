package lines

import "encoding/binary"

// ASCII reports whether b holds no byte of 0x80 or above: such bytes are
// valid UTF-8 without decoding. It reads 32 bytes a step, four times what
// utf8.Valid's ASCII loop does, so a reader can check every line cheaply
// and leave utf8.Valid to the few lines that are not plain ASCII.
func ASCII(b []byte) bool {
	const hi = 0x8080808080808080
	if len(b) < 8 {
		var x byte
		for _, c := range b {
			x |= c
		}
		return x < 0x80
	}
	// The last 8 bytes (overlapping those before them) settle the tail in
	// one step instead of a byte at a time.
	x := binary.LittleEndian.Uint64(b[len(b)-8:])
	for len(b) >= 32 {
		x |= binary.LittleEndian.Uint64(b) | binary.LittleEndian.Uint64(b[8:]) |
			binary.LittleEndian.Uint64(b[16:]) | binary.LittleEndian.Uint64(b[24:])
		b = b[32:]
	}
	for len(b) > 8 {
		x |= binary.LittleEndian.Uint64(b)
		b = b[8:]
	}
	return x&hi == 0
}
