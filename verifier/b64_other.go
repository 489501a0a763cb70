//go:build !amd64 || purego

package verifier

// useAVX2 is false: this build has no vector decoder (another architecture, or the purego tag).
const useAVX2 = false

// decodeBlocksAVX2 stands in for the amd64 vector decoder and decodes nothing: b64Decode's Go
// loops do all the work.
func decodeBlocksAVX2(dst, src []byte) int { return 0 }
