//go:build chunkpoison

package lines

// Under the chunkpoison build tag, a recycled chunk is overwritten with
// poisonByte before it is reused: a line (or a string field viewing it)
// read after its batch's release then shows as '\xA5' bytes in a test's
// output instead of passing unnoticed while the bytes happen to be
// unchanged.
const poison = true

const poisonByte = 0xA5
