package verifier

import "unsafe"

// The full path of AssumeRoleWithWebIdentity makes two things of the caller's own that live
// as long as each other: the verified payload as a string (Token.Claims, into which the
// Token's other claims point) and the copy of the Result and Token the caller gets
// (resultCopy). They are allocated together, the payload's bytes right after the copy, in
// one allocation of a size class: one allocation per decision less.

// resultBlock is a resultCopy followed by room B (a byte array) for the payload's bytes.
type resultBlock[B any] struct {
	c resultCopy
	b B
}

// resultCopySize is the size of a resultCopy (a size class of its own: see resultCopy).
const resultCopySize = int(unsafe.Sizeof(resultCopy{}))

// Room for a payload after a resultCopy, so that the two fill a size class (the runtime's
// header of an object with pointers included: see mallocHeader).
const (
	payRoom1024 = max(1024-mallocHeader-resultCopySize, 0)
	payRoom1280 = max(1280-mallocHeader-resultCopySize, 0)
	payRoom1536 = max(1536-mallocHeader-resultCopySize, 0)
	payRoom2048 = max(2048-mallocHeader-resultCopySize, 0)
	payRoom3072 = max(3072-mallocHeader-resultCopySize, 0)
	payRoom4096 = max(4096-mallocHeader-resultCopySize, 0)
)

// payload returns the verified token's payload pay as a string of its own. When the call
// hands its caller a Result (sel.own), the string's bytes follow that Result's copy in one
// allocation, kept in sel.result for ownResult; a payload too long for the largest block
// gets a string of its own (and ownResult a copy of its own). The bytes are never written
// again: a caller's edits of its Result or Token cannot reach them, and a token cache that
// keeps the Token keeps the block alive.
func (sel *selector) payload(pay []byte) string {
	if !sel.own || sel.result != nil || len(pay) == 0 {
		return string(pay)
	}
	var s string
	switch n := len(pay); {
	case n <= payRoom1024:
		sel.result, s = blockOf[[payRoom1024]byte](pay)
	case n <= payRoom1280:
		sel.result, s = blockOf[[payRoom1280]byte](pay)
	case n <= payRoom1536:
		sel.result, s = blockOf[[payRoom1536]byte](pay)
	case n <= payRoom2048:
		sel.result, s = blockOf[[payRoom2048]byte](pay)
	case n <= payRoom3072:
		sel.result, s = blockOf[[payRoom3072]byte](pay)
	case n <= payRoom4096:
		sel.result, s = blockOf[[payRoom4096]byte](pay)
	default:
		s = string(pay)
	}
	return s
}

// blockOf returns the copy of a new resultBlock[B] and a string of pay in its room (B has
// room for it).
func blockOf[B any](pay []byte) (*resultCopy, string) {
	w := new(resultBlock[B])
	b := unsafe.Slice((*byte)(unsafe.Pointer(&w.b)), unsafe.Sizeof(w.b))
	return &w.c, unsafe.String(&b[0], copy(b, pay)) // never written again
}
