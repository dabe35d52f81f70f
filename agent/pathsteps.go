package agent

import "unsafe"

// pathSteps keeps, for an encoder, what appendPathStep writes between two
// nested fields: records of one parse step hold the same keys in the same
// order (a grok pattern's captures, the same strings every record), so the
// closing braces, comma, opened objects and escaped leaf between two of
// them are written once and copied after that. A direct-mapped table of
// the pairs last seen, found by the keys' addresses and checked by their
// bytes (a key at a reused address, or another key, is a miss, written
// afresh): the bytes are always appendPathStep's.
type pathSteps [256]pathStep

type pathStep struct {
	prev, key string
	first     bool
	depth     int    // objects open after it
	enc       []byte // appendPathStep's bytes
}

// append writes the step from prev (with depth objects open) to key, as
// appendPathStep does, and returns the objects open after it.
func (c *pathSteps) append(dst []byte, prev, key string, depth int, first bool) ([]byte, int) {
	h := uint64(uintptr(unsafe.Pointer(unsafe.StringData(prev))))*0x9E3779B97F4A7C15 ^ uint64(uintptr(unsafe.Pointer(unsafe.StringData(key))))
	h ^= h >> 29
	e := &c[(h*0xBF58476D1CE4E5B9)>>56]
	if e.enc == nil || e.first != first || e.key != key || e.prev != prev {
		e.enc, e.depth = appendPathStep(e.enc[:0], prev, key, depth, first)
		e.prev, e.key, e.first = prev, key, first
	}
	return append(dst, e.enc...), e.depth
}
