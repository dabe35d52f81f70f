//go:build !chunkpoison

package lines

// poison is off in normal builds; see poison_on.go.
const poison = false

const poisonByte = 0
