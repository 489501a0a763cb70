//go:build amd64 && !purego

package verifier

import "golang.org/x/sys/cpu"

// useAVX2 says whether b64Decode starts with decodeBlocksAVX2: the CPU has AVX2 and the
// operating system saves its registers.
var useAVX2 = cpu.X86.HasAVX2

// decodeBlocksAVX2 decodes the longest prefix of src made of whole 32-character blocks of
// base64url characters into dst, 24 bytes per block, and returns the number of characters it
// consumed (a multiple of 32). It stops before the first block holding a byte outside the
// alphabet (CR and LF included) and before a block whose 24 bytes would not fit in dst; it
// writes nothing else, and nothing of a block it stops before. Such a block and everything
// after it are the caller's. It requires AVX2 (useAVX2). Implemented in b64_amd64.s.
//
//go:noescape
func decodeBlocksAVX2(dst, src []byte) int
