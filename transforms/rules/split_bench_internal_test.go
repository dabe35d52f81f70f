package rules

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkSplitTokensNginx tokenizes the generated nginx lines of
// testdata/nginx_gen.log as the split variant's first step does.
func BenchmarkSplitTokensNginx(b *testing.B) {
	data, err := os.ReadFile("testdata/nginx_gen.log")
	if err != nil {
		b.Fatal(err)
	}
	var lines [][]byte
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		lines = append(lines, []byte(l))
	}
	var buf [32][2]int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := splitTokens(lines[i%len(lines)], ' ', true, buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
