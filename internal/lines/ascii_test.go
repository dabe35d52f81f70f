package lines

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// ASCII must agree with a byte-by-byte check, for every length and every
// position of a high byte, and never call an invalid line valid.
func TestASCIIAgainstByteCheck(t *testing.T) {
	for n := 0; n <= 100; n++ {
		b := bytes.Repeat([]byte{'a'}, n)
		if !ASCII(b) {
			t.Fatalf("len %d: plain ASCII reported as not ASCII", n)
		}
		for i := 0; i < n; i++ {
			for _, c := range []byte{0x80, 0xC3, 0xFF, 0x7F, '\r', '\n', 0} {
				c2 := append([]byte(nil), b...)
				c2[i] = c
				want := c < 0x80
				if got := ASCII(c2); got != want {
					t.Fatalf("len %d, byte %#x at %d: ASCII = %v, want %v", n, c, i, got, want)
				}
				if ASCII(c2) && !utf8.Valid(c2) {
					t.Fatalf("len %d: ASCII line not valid UTF-8", n)
				}
			}
		}
	}
}

func BenchmarkASCII(b *testing.B) {
	line := []byte(`203.0.113.7 - - [10/Oct/2026:13:55:36 +0000] "GET /api/v1/items?page=2 HTTP/1.1" 200 5120 "https://example.com/start" "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0"`)
	b.Run("ASCII", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for i := 0; i < b.N; i++ {
			if !ASCII(line) {
				b.Fatal("not ASCII")
			}
		}
	})
	b.Run("utf8.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for i := 0; i < b.N; i++ {
			if !utf8.Valid(line) {
				b.Fatal("not valid")
			}
		}
	})
}
