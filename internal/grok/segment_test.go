package grok

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// TestPlainLine: plainLine's word-at-a-time pass says what a byte loop
// says, for a newline or a non-ASCII byte at every position of lines of
// every length around the word sizes.
func TestPlainLine(t *testing.T) {
	want := func(in []byte) bool {
		for _, b := range in {
			if b == '\n' || b >= utf8.RuneSelf {
				return false
			}
		}
		return true
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 70; n++ {
		base := make([]byte, n)
		for i := range base {
			base[i] = byte(' ' + rng.IntN(95))
		}
		if !plainLine(base) {
			t.Fatalf("%q: not plain", base)
		}
		for i := 0; i < n; i++ {
			for _, b := range []byte{'\n', 0x0b, 0x09, 0x00, 0x8a, 0x80, 0xff, 0x7f, 0x0a ^ 0x80} {
				in := bytes.Clone(base)
				in[i] = b
				if got := plainLine(in); got != want(in) {
					t.Fatalf("%q (byte %#x at %d): got %v", in, b, i, got)
				}
			}
		}
	}
	for range 20000 {
		in := make([]byte, rng.IntN(80))
		for i := range in {
			in[i] = byte(rng.IntN(256))
			if rng.IntN(4) > 0 {
				in[i] &= 0x7f
			}
		}
		if got := plainLine(in); got != want(in) {
			t.Fatalf("%q: got %v", in, got)
		}
	}
}
