// Package dottedquad decides whether a text is an IPv4 address written as
// a dotted quad (four decimal numbers of one to three digits, each at most
// 255, between dots) a word at a time. Two spellings are served: netip's
// canonical one, without leading zeros (a schema's ip field keeps such an
// address as it is), and Logstash's IPV4, which allows them (grok accepts
// such a client address without its automaton).
package dottedquad

import "math/bits"

// Spelling is one of the two spellings of a dotted quad.
type Spelling bool

const (
	// Canonical is netip's spelling: no leading zeros.
	Canonical Spelling = false
	// LeadingZeros is Logstash's IPV4: `[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]`
	// four times between dots (001 and 01 are numbers too).
	LeadingZeros Spelling = true
)

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// Match reports whether t is a dotted quad of spelling s.
//
// The 7 to 15 bytes are two overlapping words, t[:8] and t[n-8:], whose
// low halves of bytes (a digit's value, 14 for a dot) make one word of 16
// nibbles, byte j of t[:8] at nibble 2j and byte j of t[n-8:] at 2j+1, so
// that the next byte in t is 8 bits up in either half: each nibble is
// classified at once, all 16 in a few word operations (SWAR): the dots,
// and the bytes that start a part which cannot be a number (3 digits
// above "255", compared as text, or a leading zero); every window of three
// bytes that can hold a part lies wholly in one of the words. Their bits,
// put side by side in t's order, are checked once: three dots, neither
// first nor last nor adjacent, no four digits in a row, no bad part start.
func Match[T string | []byte](s Spelling, t T) bool {
	n := len(t)
	if n < 7 || n > 15 {
		return false
	}
	var lo, hi uint64 // t[:8] and t[n-8:], t[i] at bits 8i of lo
	if n == 7 {
		// 1.1.1.1: lo is t and a dot, hi that dot and t (it is dropped).
		lo = uint64(le32(t[:4])) | uint64(le32(t[3:]))<<24 | '.'<<56
		hi = lo<<8 | '.'
	} else {
		lo, hi = le64(t), le64(t[n-8:])
	}
	const (
		lowNib = 0x0f0f0f0f0f0f0f0f
		h      = 0x8888888888888888 // each nibble's high bit
		ones   = 0x1111111111111111
	)
	v := lo&lowNib | (hi&lowNib)<<4 // the values
	u := lo>>4&lowNib | hi&^lowNib  // the high halves: 3 for a digit, 2 for a dot
	dot := v & (v << 1) & (v << 2) &^ (v << 3) & h // 14
	ge := func(k uint64) uint64 { return v | ((v | h) - k*ones) } // high bit: at least k (k <= 8)
	if (u^3*ones^dot>>3)|(v&((v|h)-2*ones)&^dot&h) != 0 {
		return false // a byte neither a digit (3, then 0-9) nor a dot (2, then 14)
	}
	// Above "255": 3-9, or 2 then 6-9, or 2 then 5 then 6-9.
	digit := h &^ dot
	bad := (ge(3) | ge(2)&((ge(6)|ge(5)&(ge(6)>>8))>>8)) & (digit >> 16)
	if s == Canonical {
		bad |= ^ge(1) // 0 then a digit
	}
	if bad&(digit>>8)&(dot<<8|8) != 0 {
		return false // at t[0] or after a dot
	}
	// Side by side: t[i] at bit i (hi's dropped bytes are lo's).
	sh := 16 - n
	full := uint(1)<<n - 1
	dots := (gather(dot<<4) | gather(dot)<<8>>sh) & full
	digits := full &^ dots
	return bits.OnesCount(dots) == 3 &&
		dots&(dots>>1|1|1<<(n-1))|digits&(digits>>1)&(digits>>2)&(digits>>3) == 0
}

// gather gathers the high bits of w's bytes, byte i to bit i.
func gather(w uint64) uint {
	return uint((w & 0x8080808080808080) * 0x0002040810204081 >> 56)
}

func le64[T string | []byte](t T) uint64 {
	_ = t[7]
	return uint64(t[0]) | uint64(t[1])<<8 | uint64(t[2])<<16 | uint64(t[3])<<24 |
		uint64(t[4])<<32 | uint64(t[5])<<40 | uint64(t[6])<<48 | uint64(t[7])<<56
}

func le32[T string | []byte](t T) uint32 {
	_ = t[3]
	return uint32(t[0]) | uint32(t[1])<<8 | uint32(t[2])<<16 | uint32(t[3])<<24
}
