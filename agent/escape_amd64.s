//go:build !purego

#include "textflag.h"

// func escapeBlocks(dst, src *byte, n, extra int) (read, written int)
//
// Copies src to dst 16 bytes at a time while a block holds no byte that
// needs a look in a JSON string (below 0x20, '"', '\\', 0x80 and above).
// At the first such byte of a block (the block is stored whole, its bytes
// from there on written again later): a '"' or '\\' is written escaped, at
// the cost of one byte of extra, and the copying goes on from the byte
// after it; any other byte, or no extra left, ends the copy there. It ends
// too with fewer than 16 bytes left. Quotes are in every log line with a
// request or a user agent: escaping them here keeps such a line in this
// loop from one end to the other. SSE2, in every amd64; with AVX2
// (useAVX2), 32 bytes at a time while 32 are left, the same way.
TEXT ·escapeBlocks(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ extra+24(FP), R8
	XORQ AX, AX // read
	XORQ BX, BX // written
	XORL R10, R10 // 1 while in the 32-byte loop
	MOVQ $0x2020202020202020, DX
	MOVQ DX, X1
	PUNPCKLQDQ X1, X1
	MOVQ $0x2222222222222222, DX
	MOVQ DX, X2
	PUNPCKLQDQ X2, X2
	MOVQ $0x5c5c5c5c5c5c5c5c, DX
	MOVQ DX, X3
	PUNPCKLQDQ X3, X3
	CMPB ·useAVX2(SB), $0
	JEQ  sse
	CMPQ CX, $32
	JLT  sse
	VPBROADCASTQ X1, Y1
	VPBROADCASTQ X2, Y2
	VPBROADCASTQ X3, Y3
	LEAQ -32(CX), R9 // the last start of a whole 32-byte block
	MOVL $1, R10

avxloop:
	CMPQ AX, R9
	JGT  avxdone
	VMOVDQU (SI)(AX*1), Y0
	VMOVDQU Y0, (DI)(BX*1)
	VPCMPGTB Y0, Y1, Y4 // 0x20 > b, signed: below 0x20 or 0x80 and above
	VPCMPEQB Y2, Y0, Y5
	VPOR     Y5, Y4, Y4
	VPCMPEQB Y3, Y0, Y5
	VPOR     Y5, Y4, Y4
	VPMOVMSKB Y4, DX
	TESTL DX, DX
	JNZ   found
	ADDQ  $32, AX
	ADDQ  $32, BX
	JMP   avxloop

avxdone:
	VZEROUPPER
	XORL R10, R10

sse:
	SUBQ $16, CX // the last start of a whole block

loop:
	CMPQ AX, CX
	JGT  done
	MOVOU (SI)(AX*1), X0
	MOVOU X0, (DI)(BX*1)
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
	ADDQ  $16, BX
	JMP   loop

found: // from either loop, which R10 tells
	BSFL DX, DX
	ADDQ DX, AX
	ADDQ DX, BX
	MOVBLZX (SI)(AX*1), DX
	CMPB DL, $0x22
	JEQ  escape
	CMPB DL, $0x5c
	JNE  done

escape:
	TESTQ R8, R8
	JLE   done
	DECQ  R8
	MOVB  $0x5c, (DI)(BX*1)
	MOVB  DL, 1(DI)(BX*1)
	ADDQ  $2, BX
	INCQ  AX
	TESTL R10, R10
	JNZ   avxloop
	JMP   loop

done:
	TESTL R10, R10
	JZ    ret
	VZEROUPPER

ret:
	MOVQ AX, read+32(FP)
	MOVQ BX, written+40(FP)
	RET
