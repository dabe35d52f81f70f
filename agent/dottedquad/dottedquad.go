// Package dottedquad decides whether a text is an IPv4 address written as
// a dotted quad (four decimal numbers of one to three digits, each at most
// 255, between dots), a word at a time. Two spellings are served: netip's
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

// Match reports whether t is a dotted quad of spelling s.
//
// The 8 to 15 bytes are read as two overlapping words, t[:8] and t[n-8:]
// (never past t). A digit's or a dot's low half byte is its value (14 for
// a dot), and both words' low halves make one word of 16 nibbles, byte j
// of t[:8] at nibble 2j and byte j of t[n-8:] at 2j+1, so that the next
// byte of t is 8 bits up in either half: each test below runs on all 16
// at once, a few word operations (SWAR) in all, with no branch a byte.
// A window of two or three bytes (two dots in a row; a part's first digit
// and the next two, for a number above "255", compared as text, or a
// leading zero) lies wholly in one of the words; so do a part's start
// (after a dot) with its digits, and four digits in a row, when the three
// dots are where they may be (TestMatchEveryShape tries every shape).
//
// It replaced a table DFA (32 states by 256 bytes), one dependent load a
// byte: on the bench's client addresses (BenchmarkMatch, 9 interleaved
// runs, medians) 10.1 -> 6.7 ns a call (Canonical), 10.0 -> 6.4
// (LeadingZeros), of which the loop takes 1.3, for about as many
// instructions (147 -> 153 and 160 -> 150 with the loop's, callgrind).
func Match[T string | []byte](s Spelling, t T) bool {
	n := len(t)
	if n < 8 || n > 15 {
		return n == 7 && oneDigits(t)
	}
	lo, hi := le64(t), le64(t[n-8:])
	const (
		lowNib = 0x0f0f0f0f0f0f0f0f
		h      = 0x8888888888888888 // each nibble's high bit
		ones   = 0x1111111111111111
	)
	v := lo&lowNib | (hi&lowNib)<<4                // the values
	u := lo>>4&lowNib | hi&^lowNib                 // the high halves: 3 for a digit, 2 for a dot
	dot := v & (v << 1) & (v << 2) &^ (v << 3) & h // 14
	if (u^3*ones^dot>>3)|(v&((v|h)-2*ones)&^dot&h) != 0 {
		return false // a byte neither a digit (3, then 0-9) nor a dot (2, then 14)
	}
	digit := h &^ dot
	ge := func(k uint64) uint64 { return v | ((v | h) - k*ones) } // high bit: at least k (k <= 8)
	// Above "255": 3-9, or 2 then 6-9, or 2 then 5 then 6-9.
	bad := (ge(3) | ge(2)&((ge(6)|ge(5)&(ge(6)>>8))>>8)) & (digit >> 16)
	if s == Canonical {
		bad |= ^ge(1) // 0 then a digit
	}
	// The dots of t[:8], then those of t[n-8:] past it.
	return bits.OnesCount64(dot&(0x0808080808080808|0x8080808080808080<<(8*(15-n))<<8)) == 3 &&
		dot&(dot>>8|8|1<<63)| // adjacent, first, last
			digit&(digit>>8)&(digit>>16)&(digit>>24)| // four digits
			bad&(digit>>8)&(dot<<8|8) == 0 // at t[0] or after a dot
}

// oneDigits reports whether the 7 bytes of t are four digits between dots,
// the one shape of a dotted quad that short.
func oneDigits[T string | []byte](t T) bool {
	x := uint64(le32(t[:4])) | uint64(le32(t[3:]))<<24 ^ 0x302e302e302e30 // 0.0.0.0
	return x&0xf0fff0fff0fff0 == 0 && (x+0x06000600060006)&0x10001000100010 == 0
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
