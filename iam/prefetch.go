package iam

import (
	"unsafe"

	"github.com/webidentity/webidentity/internal/prefetch"
	"github.com/webidentity/webidentity/policy"
)

// Prefetch hints. A request's lookups (the provider for the token's issuer, the role) each
// walk a short chain of cache lines that, in a registry of hundreds of thousands of entities,
// are all cold: the index slot, the record it points to, the memory the record points to. The
// hints below ask the processor for one link of such a chain without waiting for it, so that a
// caller can walk several chains in lock step (their misses overlap instead of adding up) and
// ask for the last links before a long computation (a signature check) that hides them.
//
// A hint has no effect on any result: it reads what a lookup would read up to the link it is
// asked for, and prefetches that link. It allocates nothing, takes no lock and never blocks; an
// input that no entity can have is ignored. Depth says how far along the chain to ask: call
// depth 0 first and the next depth once the previous one's line has had time to arrive (a few
// hundred nanoseconds of other work); a deeper hint issued too early costs the wait that a
// lookup would have paid anyway, no more.

// roleHotBytes is how much of a Role a decision reads: RoleID, TrustPolicy,
// MaxSessionDuration and ARN, the first fields.
const roleHotBytes = unsafe.Offsetof(Role{}.ARN) + unsafe.Sizeof(Role{}.ARN)

// providerHotBytes is how much of an OIDCProvider a request reads: the fields up to its one
// inline thumbprint (Tags and CreateDate are for IAM's API).
const providerHotBytes = unsafe.Offsetof(OIDCProvider{}.thumb0) + unsafe.Sizeof(OIDCProvider{}.thumb0)

// policyHeadBytes is how much of a compiled trust policy the role hint asks for: its first
// lines, where a packed policy keeps what its common decision reads (the rest is the policy's
// own to hint; see policy's packing).
const policyHeadBytes = 256

// PrefetchRole asks for the memory Role(roleARN) and the evaluation of its trust policy read:
// depth 0 the role's index slot; depth 1 reads the slot and asks for the role's record; depth
// 2 reads the record too and asks for the first lines of its compiled trust policy; depth 3
// reads those and asks for the rest of what Evaluate reads (policy.Policy.HotBytes). A hint:
// see above.
func (r *Registry) PrefetchRole(roleARN string, depth int) {
	l := r.PrepareRole(roleARN)
	l.Prefetch(depth)
}

// prefetchPolicy asks for pol's first lines or (rest) the rest of its hot bytes, which reads
// the first ones.
func prefetchPolicy(pol *policy.Policy, rest bool) {
	switch {
	case pol == nil:
	case !rest:
		prefetch.Lines(unsafe.Pointer(pol), policyHeadBytes)
	case pol.HotBytes() > policyHeadBytes:
		p := unsafe.Add(unsafe.Pointer(pol), policyHeadBytes) // inside the policy's block
		prefetch.Lines(p, pol.HotBytes()-policyHeadBytes)
	}
}

// PrefetchOIDCProvider asks for the memory OIDCProvider(partition, account, issuerURL)
// reads: depth 0 the provider's home slot and the issuer's slot in the issuer table; depth 1
// reads them and asks for the provider record and the issuer URL's bytes (the lookup compares
// them); depth 2 reads the record too and asks for what a request reads through it: the bytes
// of its ARN, key prefix and first client ID and thumbprint. A hint: see above.
func (r *Registry) PrefetchOIDCProvider(partition, account, issuerURL string, depth int) {
	l := r.PrepareOIDCProvider(partition, account, issuerURL)
	l.Prefetch(depth)
}

// lineOf asks for the first line of s's bytes.
func lineOf(s string) {
	if s != "" {
		prefetch.Line(unsafe.Pointer(unsafe.StringData(s)))
	}
}
