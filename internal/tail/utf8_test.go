package tail

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// The ASCII fast path in records must give what the general check gives
// (utf8.Valid, then U+FFFD for invalid bytes and fields.invalid_utf8) for
// every kind of line: plain ASCII, valid UTF-8 with bytes of 0x80 and
// above, invalid bytes at the start, the middle and in the last 8 bytes of
// short and long lines, CR before LF, empty lines, a last line without a
// newline. Both the plain decoder's path and the multiline decoder's.
func TestUTF8FastPathMatchesGeneralCheck(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 64)
	lines := []string{
		"plain ascii",
		"",
		"crlf line\r",
		"\r",
		"héllo wörld ✓ 日本",
		"\xffstart",
		"mid \xfe\xfd dle",
		"end\xff",
		"1234567\xff",
		"12345678\xc3",
		long + "\xff",
		long[:37] + "\xe2\x82",
		"\xc3" + long,
		long + "é",
		long,
		"a\u2028b",
		"\xed\xa0\x80 surrogate",
	}
	var want []string
	var wantFlags []bool
	for _, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		want = append(want, string(bytes.ToValidUTF8([]byte(l), []byte("\uFFFD"))))
		wantFlags = append(wantFlags, !utf8.ValidString(l))
	}
	content := strings.Join(lines, "\n") + "\n" + "last no newline \xff"
	want = append(want, "last no newline \uFFFD")
	wantFlags = append(wantFlags, true)

	for _, tc := range []struct {
		name string
		ml   *MultilineConfig
	}{
		{"plain", nil},
		// Every line starts a record: the multiline decoder's path, one
		// line a record.
		{"multiline", &MultilineConfig{StartPattern: `.?`, Timeout: "10s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, data := t.TempDir(), t.TempDir()
			log := filepath.Join(dir, "app.log")
			appendTo(t, log, content)
			h := start(t, data, true, func(c *Config) { c.Paths = []string{log}; c.Multiline = tc.ml })
			h.wait()
			equal(t, h.sink.lines(), want)
			bad := 0
			for i, f := range h.sink.flags {
				if f != wantFlags[i] {
					t.Errorf("line %d (%q): invalid_utf8 = %v, want %v", i, lines[min(i, len(lines)-1)], f, wantFlags[i])
				}
				if f {
					bad++
				}
			}
			if n := counter(h, "lines_invalid_utf8_total"); int(n) != bad {
				t.Fatalf("invalid utf8 counter = %v, want %d", n, bad)
			}
		})
	}
}
