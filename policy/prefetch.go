package policy

import "unsafe"

// maxHotBytes bounds HotBytes: the largest block a packed policy has (see blockLayouts).
const maxHotBytes = 1536

// HotBytes returns how many bytes from p's own address Evaluate reads to decide a request that
// the policy's common form allows: for a packed policy with the fast form (see pack), the
// policy, its fast form, its bytes and its statement, which are adjacent in one block; for
// another policy, the Policy value alone (the rest lies elsewhere). It reads only p itself
// and is meant for prefetch hints: a caller that is about to evaluate a cold policy may ask
// the processor for these bytes ahead of time. nil has none.
func (p *Policy) HotBytes() uintptr {
	if p == nil {
		return 0
	}
	own := unsafe.Sizeof(*p)
	if p.fast == nil || len(p.stmts) == 0 {
		return own
	}
	start := uintptr(unsafe.Pointer(p))
	// The statement's labels (its Sid and explanations) are the one field of it that the
	// fast form's decision reads.
	end := uintptr(unsafe.Pointer(&p.stmts[0].labels)) + unsafe.Sizeof(p.stmts[0].labels)
	if end <= start || end-start > maxHotBytes {
		return own // not in p's block (never for a packed policy)
	}
	return end - start
}
