package jwks

import "unsafe"

// keyHotBytes is how much of a Key a verifier reads per token: kty, crv, alg, the public key
// and kid, the first fields.
const keyHotBytes = unsafe.Offsetof(Key{}.kid) + unsafe.Sizeof(Key{}.kid)

// PrefetchKey asks the processor for the memory that CachedKey(iss, kid), CheckThumbprints
// and a signature check with the key read, one link of the chain per depth, without waiting
// for it: depth 0 looks the issuer up and asks for its state; depth 1 reads the state and asks
// for its current key snapshot (the kids, the key entries, the TLS chain's fingerprints);
// depth 2 reads the snapshot, finds the key for kid and asks for the key; depth 3 reads the
// key too and asks for its public material. Call depth 0 first and each next depth once the
// previous one's lines have had time to arrive (a few hundred nanoseconds of other work).
//
// It is a hint, with no effect on any result or on the cache (it marks no issuer used and
// starts no refresh): it allocates nothing, takes no lock, never blocks, and ignores an
// issuer or kid the cache does not hold. It keeps nothing of kid. Safe for concurrent use.
func (c *Cache) PrefetchKey(iss string, kid []byte, depth int) {
	l := c.PrepareKey(iss, kid)
	l.Prefetch(depth)
}
