package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// refAppendString is the definition AppendString's word-at-a-time copy
// must match byte for byte: one byte or rune at a time, '"' and '\\'
// escaped, \n \r \t by name, other bytes below 0x20 as \u00XX, each invalid
// UTF-8 byte as \ufffd, U+2028 and U+2029 escaped, everything else as is.
func refAppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, `\n`...)
			case c == '\r':
				dst = append(dst, `\r`...)
			case c == '\t':
				dst = append(dst, `\t`...)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028':
			dst = append(dst, `\u2028`...)
		case r == '\u2029':
			dst = append(dst, `\u2029`...)
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// checkAppendString compares AppendString with the definition for s,
// appended to buffers of several lengths and spare capacities (none, a
// little, plenty), and checks that what was in dst stays as it was.
func checkAppendString(t testing.TB, s string) {
	t.Helper()
	want := refAppendString([]byte("pre"), s)
	for _, spare := range []int{0, 1, 7, len(s) + 9, len(s) + 10, 3*len(s) + 64} {
		dst := make([]byte, 3, 3+spare)
		copy(dst, "pre")
		got := AppendString(dst, s)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) with %d spare bytes:\n got %q\nwant %q", s, spare, got, want)
		}
	}
}

// Every byte value at every position, in strings of every length up to
// 5 words (a 32-byte block and what follows it), among plain bytes and
// among other special ones.
func TestAppendStringEveryByteEveryPosition(t *testing.T) {
	for _, fill := range []byte{'a', '"', 0x80, 0xe2} {
		for n := 1; n <= 40; n++ {
			for pos := 0; pos < n; pos++ {
				for c := 0; c < 256; c++ {
					b := bytes.Repeat([]byte{fill}, n)
					b[pos] = byte(c)
					checkAppendString(t, string(b))
				}
			}
		}
	}
}

// Multi-byte runes (valid, truncated, overlong, surrogates, U+2028/2029,
// U+FFFD itself) at every offset of a word, and across word boundaries.
func TestAppendStringUTF8AtEveryOffset(t *testing.T) {
	pieces := []string{"é", "東", "😀", "\u2028", "\u2029", "\u2027", "\u202a", "\ufffd",
		"\xe2\x80", "\xe2", "\xf0\x9f\x98", "\xc0\xaf", "\xed\xa0\x80", "\xff", "\x80\x80", "\xf4\x90\x80\x80"}
	for _, p := range pieces {
		for pre := 0; pre <= 17; pre++ {
			for post := 0; post <= 9; post++ {
				checkAppendString(t, strings.Repeat("x", pre)+p+strings.Repeat("y", post))
				checkAppendString(t, strings.Repeat("\"", pre)+p+p+strings.Repeat("\\", post))
			}
		}
	}
}

// Random strings over the bytes around every boundary the check uses.
func TestAppendStringRandomAgainstDefinition(t *testing.T) {
	edges := []byte{0, 1, '\b', '\t', '\n', '\f', '\r', 0x1f, 0x20, 0x21, '"', '\\', 0x7e, 0x7f, 0x80, 0x81, 0xa8, 0xa9, 0xbf, 0xc0, 0xc2, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xfe, 0xff, 'a'}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200000 {
		b := make([]byte, rng.IntN(70))
		for j := range b {
			switch rng.IntN(4) {
			case 0:
				b[j] = byte(rng.IntN(256))
			case 1:
				b[j] = edges[rng.IntN(len(edges))]
			default:
				b[j] = byte('a' + rng.IntN(26))
			}
		}
		checkAppendString(t, string(b))
	}
	checkAppendString(t, nginxLine)
	checkAppendString(t, strings.Repeat("\x01", 1000)) // grows 6 times over
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", nginxLine, "a\"b\\c\n\x00\x1f\x7f\x80\xff", "é東😀\u2028\u2029\ufffd", "\xe2\x80", strings.Repeat("\\", 17)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAppendString(t, s)
	})
}

// appendHex64 writes what encoding/hex writes for the big-endian bytes.
func TestAppendHex64(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range 100000 {
		u := rng.Uint64()
		switch i {
		case 0:
			u = 0
		case 1:
			u = ^uint64(0)
		case 2:
			u = 0x0123456789abcdef
		}
		var be [8]byte
		binary.BigEndian.PutUint64(be[:], u)
		if got, want := string(appendHex64([]byte("x"), u)), "x"+hex.EncodeToString(be[:]); got != want {
			t.Fatalf("appendHex64(%#x) = %s, want %s", u, got, want)
		}
	}
}

// shortWord is the bytes of s, spaces above them, for every length and
// many byte values.
func TestShortWord(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range 100000 {
		b := make([]byte, 1+rng.IntN(7))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		w := [8]byte{' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}
		copy(w[:], b)
		if got, want := shortWord(string(b)), binary.LittleEndian.Uint64(w[:]); got != want {
			t.Fatalf("shortWord(%q) = %#x, want %#x", b, got, want)
		}
	}
}
