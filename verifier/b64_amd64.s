//go:build amd64 && !purego

#include "textflag.h"

// decodeBlocksAVX2 decodes base64url 32 characters at a time with AVX2, after Muła and Lemire,
// "Faster Base64 Encoding and Decoding using AVX2 Instructions" (2018), with tables for the
// URL alphabet. See b64_amd64.go for the contract; in short: whole 32-character blocks only,
// 24 bytes written per block and no more, stopping before the first block that holds a byte
// outside the alphabet or whose 24 bytes do not fit in dst.
//
// Each block goes through four steps:
//
//  1. Validate. Split every byte c into its high nibble hi = c>>4 and low nibble lo = c&15.
//     The valid characters, by high nibble:
//
//         hi  characters   valid low nibbles
//         2   -            D
//         3   0-9          0-9
//         4   A-O          1-F
//         5   P-Z _        0-A, F
//         6   a-o          1-F
//         7   p-z          0-A
//         0, 1, 8-F        none (control bytes, space and punctuation, bytes >= 0x80)
//
//     Give each row a bit (b64HiClass, indexed by hi); b64LoBad[lo] has the bit of every row
//     in which lo is NOT valid. A byte is outside the alphabet exactly when
//     b64HiClass[hi] & b64LoBad[lo] != 0. Both lookups are VPSHUFB, whose index here is a
//     nibble (0-15), so none has its top bit set (which would give 0 instead of a table entry).
//
//  2. Translate. Inside a row the values are consecutive, so a character's value is c plus an
//     offset that depends on hi only (b64Offset), except '_' (0x5F), which shares row 5 with
//     P-Z: where c == '_' the offset is replaced by -32 (VPBLENDVB).
//
//  3. Pack. Every byte now holds a 6-bit value; the four of a quantum are a, b, c, d in
//     memory order. VPMADDUBSW with the byte pairs (64, 1) makes the 16-bit words a<<6|b and
//     c<<6|d; VPMADDWD with the word pairs (4096, 1) makes the 32-bit word
//     a<<18|b<<12|c<<6|d, whose three low bytes, most significant first, are the quantum's
//     output.
//
//  4. Compact and store. VPSHUFB (b64Pack) moves the three output bytes of each 32-bit word
//     into big-endian order at the front of its 128-bit lane (12 bytes per lane), VPERMD
//     (b64Perm) joins the two lanes' 12 bytes into the first 24 bytes of the register, and the
//     store writes exactly those 24: 16 bytes, then 8.
//
// VPSHUFB works inside each 128-bit lane, so its tables are 16 bytes broadcast to both lanes.

// b64LoBad[lo]: the bits of the rows (see step 1) in which the low nibble lo is not valid.
// Row bits: 0x01 rows 0, 1, 8-F (nothing valid), 0x02 row 2, 0x04 row 3, 0x08 rows 4 and 6,
// 0x10 row 5, 0x20 row 7.
//   lo 0:    0x01|0x02|0x08           = 0x0B  ('@' and '`' are not valid)
//   lo 1-9:  0x01|0x02                = 0x03
//   lo A:    0x01|0x02|0x04           = 0x07  (':')
//   lo B, C: 0x01|0x02|0x04|0x10|0x20 = 0x37
//   lo D:    0x01|0x04|0x10|0x20      = 0x35  ('-' is valid in row 2)
//   lo E:    0x01|0x02|0x04|0x10|0x20 = 0x37
//   lo F:    0x01|0x02|0x04|0x20      = 0x27  ('_' is valid in row 5)
DATA b64LoBad<>+0(SB)/8, $0x030303030303030B
DATA b64LoBad<>+8(SB)/8, $0x2737353737070303
GLOBL b64LoBad<>(SB), RODATA|NOPTR, $16

// b64HiClass[hi]: the bit of row hi.
//   hi: 0    1    2    3    4    5    6    7    8-F
//       0x01 0x01 0x02 0x04 0x08 0x10 0x08 0x20 0x01
DATA b64HiClass<>+0(SB)/8, $0x2008100804020101
DATA b64HiClass<>+8(SB)/8, $0x0101010101010101
GLOBL b64HiClass<>(SB), RODATA|NOPTR, $16

// b64Offset[hi]: what to add to a valid character of row hi to get its value (mod 256).
//   row 2 '-' 0x2D -> 62: +17 (0x11)
//   row 3 '0' 0x30 -> 52: +4  (0x04)
//   rows 4, 5 'A' 0x41 -> 0: -65 (0xBF)
//   rows 6, 7 'a' 0x61 -> 26: -71 (0xB9)
//   other rows hold no valid character: 0
DATA b64Offset<>+0(SB)/8, $0xB9B9BFBF04110000
DATA b64Offset<>+8(SB)/8, $0x0000000000000000
GLOBL b64Offset<>(SB), RODATA|NOPTR, $16

// b64Low4: 0x0F in every byte, to isolate nibbles.
DATA b64Low4<>+0(SB)/8, $0x0F0F0F0F0F0F0F0F
DATA b64Low4<>+8(SB)/8, $0x0F0F0F0F0F0F0F0F
GLOBL b64Low4<>(SB), RODATA|NOPTR, $16

// b64Underscore: '_' (0x5F) in every byte.
DATA b64Underscore<>+0(SB)/8, $0x5F5F5F5F5F5F5F5F
DATA b64Underscore<>+8(SB)/8, $0x5F5F5F5F5F5F5F5F
GLOBL b64Underscore<>(SB), RODATA|NOPTR, $16

// b64UnderscoreOffset: -32 (0xE0) in every byte: '_' 0x5F -> 63.
DATA b64UnderscoreOffset<>+0(SB)/8, $0xE0E0E0E0E0E0E0E0
DATA b64UnderscoreOffset<>+8(SB)/8, $0xE0E0E0E0E0E0E0E0
GLOBL b64UnderscoreOffset<>(SB), RODATA|NOPTR, $16

// b64Merge6: the signed byte pairs (64, 1) for VPMADDUBSW: word = a*64 + b.
DATA b64Merge6<>+0(SB)/8, $0x0140014001400140
DATA b64Merge6<>+8(SB)/8, $0x0140014001400140
GLOBL b64Merge6<>(SB), RODATA|NOPTR, $16

// b64Merge12: the word pairs (4096, 1) for VPMADDWD: dword = (a<<6|b)*4096 + (c<<6|d).
DATA b64Merge12<>+0(SB)/8, $0x0001100000011000
DATA b64Merge12<>+8(SB)/8, $0x0001100000011000
GLOBL b64Merge12<>(SB), RODATA|NOPTR, $16

// b64Pack: per lane, bytes 2, 1, 0 of each of the four dwords (the quantum's output, most
// significant first), then four zero bytes (index 0xFF).
//   2 1 0  6 5 4  10 9 8  14 13 12  -1 -1 -1 -1
DATA b64Pack<>+0(SB)/8, $0x090A040506000102
DATA b64Pack<>+8(SB)/8, $0xFFFFFFFF0C0D0E08
GLOBL b64Pack<>(SB), RODATA|NOPTR, $16

// b64Perm: VPERMD's dword indices: lane 0's three packed dwords, lane 1's three, then the two
// zero dwords.
DATA b64Perm<>+0(SB)/4, $0
DATA b64Perm<>+4(SB)/4, $1
DATA b64Perm<>+8(SB)/4, $2
DATA b64Perm<>+12(SB)/4, $4
DATA b64Perm<>+16(SB)/4, $5
DATA b64Perm<>+20(SB)/4, $6
DATA b64Perm<>+24(SB)/4, $3
DATA b64Perm<>+28(SB)/4, $7
GLOBL b64Perm<>(SB), RODATA|NOPTR, $32

// func decodeBlocksAVX2(dst, src []byte) int
//
// Registers: DI dst, DX len(dst) left, SI src, CX len(src) left, AX characters consumed;
// Y0-Y3 the block and its temporaries, Y6-Y15 the constants.
TEXT ·decodeBlocksAVX2(SB), NOSPLIT, $0-56
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), DX
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	XORQ AX, AX

	VBROADCASTI128 b64Low4<>(SB), Y6
	VBROADCASTI128 b64LoBad<>(SB), Y7
	VBROADCASTI128 b64HiClass<>(SB), Y8
	VBROADCASTI128 b64Offset<>(SB), Y9
	VBROADCASTI128 b64Underscore<>(SB), Y10
	VBROADCASTI128 b64UnderscoreOffset<>(SB), Y11
	VBROADCASTI128 b64Merge6<>(SB), Y12
	VBROADCASTI128 b64Merge12<>(SB), Y13
	VBROADCASTI128 b64Pack<>(SB), Y14
	VMOVDQU        b64Perm<>(SB), Y15

loop:
	// Stop unless 32 characters remain to read and 24 bytes of room to write.
	CMPQ CX, $32
	JB   done
	CMPQ DX, $24
	JB   done

	VMOVDQU (SI), Y0 // the block's 32 characters

	// Step 1: validate.
	VPSRLD  $4, Y0, Y1 // shift every dword right by 4, so each byte holds its high nibble...
	VPAND   Y6, Y1, Y1 // ...and its right neighbour's low nibble, masked off: Y1 = hi
	VPAND   Y6, Y0, Y2 // Y2 = lo
	VPSHUFB Y2, Y7, Y2 // Y2 = b64LoBad[lo]
	VPSHUFB Y1, Y8, Y3 // Y3 = b64HiClass[hi]
	VPTEST  Y2, Y3     // ZF = 1 when no byte has a bit in both
	JNZ     done       // a byte outside the alphabet: leave the block to the caller

	// Step 2: translate.
	VPSHUFB   Y1, Y9, Y2         // Y2 = b64Offset[hi]
	VPCMPEQB  Y10, Y0, Y3        // Y3 = 0xFF where c == '_'
	VPBLENDVB Y3, Y11, Y2, Y2    // there, the offset is -32 instead
	VPADDB    Y2, Y0, Y0         // Y0 = 6-bit values

	// Step 3: pack each quantum into the low 24 bits of its dword.
	VPMADDUBSW Y12, Y0, Y0 // words a<<6|b, c<<6|d
	VPMADDWD   Y13, Y0, Y0 // dwords a<<18|b<<12|c<<6|d

	// Step 4: compact to 24 bytes and store exactly those.
	VPSHUFB      Y14, Y0, Y0 // 12 output bytes at the front of each lane
	VPERMD       Y0, Y15, Y0 // the 24 output bytes at the front of the register
	VMOVDQU      X0, (DI)    // bytes 0-15
	VEXTRACTI128 $1, Y0, X1
	MOVQ         X1, 16(DI)  // bytes 16-23

	ADDQ $32, SI
	SUBQ $32, CX
	ADDQ $24, DI
	SUBQ $24, DX
	ADDQ $32, AX
	JMP  loop

done:
	VZEROUPPER
	MOVQ AX, ret+48(FP)
	RET
