//go:build !purego

package agent

import "testing"

// The 16-byte blocks alone, on a machine where the other tests take 32
// bytes at a time.
func TestAppendStringSSE2(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2: the other tests take the 16-byte path")
	}
	useAVX2 = false
	defer func() { useAVX2 = true }()
	TestAppendStringEveryByteEveryPosition(t)
	TestAppendStringUTF8AtEveryOffset(t)
	TestAppendStringRandomAgainstDefinition(t)
}
