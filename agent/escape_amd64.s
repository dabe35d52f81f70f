//go:build !purego

#include "textflag.h"

// func plainBlocks(dst, src *byte, n int) int
//
// Copies src to dst 16 bytes at a time while a block holds no byte that
// needs a look in a JSON string (below 0x20, '"', '\\', 0x80 and above),
// and returns the bytes copied: the offset of the first such byte, or the
// bytes of the whole blocks of n when none has one. The block holding the
// first such byte is stored whole too. SSE2, in every amd64.
TEXT ·plainBlocks(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	MOVQ $0x2020202020202020, DX
	MOVQ DX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x2222222222222222, DX
	MOVQ DX, X2
	PUNPCKLQDQ X2, X2
	MOVQ $0x5c5c5c5c5c5c5c5c, DX
	MOVQ DX, X3
	PUNPCKLQDQ X3, X3
	SUBQ $16, CX

loop:
	CMPQ AX, CX
	JGT  done
	MOVOU (SI)(AX*1), X0
	MOVOU X0, (DI)(AX*1)
	MOVO  X1, X4
	PCMPGTB X0, X4 // 0x20 > b, signed: below 0x20 or 0x80 and above
	MOVO  X0, X5
	PCMPEQB X2, X5
	POR   X5, X4
	PCMPEQB X3, X0
	POR   X0, X4
	PMOVMSKB X4, DX
	TESTL DX, DX
	JNZ   found
	ADDQ  $16, AX
	JMP   loop

found:
	BSFL DX, DX
	ADDQ DX, AX

done:
	MOVQ AX, ret+24(FP)
	RET
