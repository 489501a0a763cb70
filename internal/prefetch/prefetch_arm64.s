#include "textflag.h"

// func line(p unsafe.Pointer)
TEXT ·line(SB), NOSPLIT|NOFRAME, $0-8
	MOVD	p+0(FP), R0
	PRFM	(R0), PLDL1KEEP
	RET

// func linesAt(addr, k uintptr)
TEXT ·linesAt(SB), NOSPLIT|NOFRAME, $0-16
	MOVD	addr+0(FP), R0
	MOVD	k+8(FP), R1
	AND	$~63, R0
	CBZ	R1, done
loop:
	PRFM	(R0), PLDL1KEEP
	ADD	$64, R0
	SUB	$1, R1
	CBNZ	R1, loop
done:
	RET
