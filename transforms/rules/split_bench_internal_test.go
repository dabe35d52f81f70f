package rules

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkSplitTokensNginx tokenizes the generated nginx lines of
// testdata/nginx_gen.log as the split variant's first step does.
func BenchmarkSplitTokensNginx(b *testing.B) {
	lines := NginxGenLines(b)
	var buf [32]span
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := splitTokens(lines[i%len(lines)], ' ', true, buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// NginxGenLines returns the lines of testdata/nginx_gen.log (256 lines of
// e2e/gen, seed 1), for the benchmarks and tests of this package and of
// rules_test.
func NginxGenLines(tb testing.TB) [][]byte {
	data, err := os.ReadFile("testdata/nginx_gen.log")
	if err != nil {
		tb.Fatal(err)
	}
	var lines [][]byte
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		lines = append(lines, []byte(l))
	}
	return lines
}
