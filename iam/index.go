package iam

import (
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"
)

// The read side's index: flat open-addressed tables (linear probing), one
// per copy-on-write shard and entity kind, whose slots hold the key inline,
// so that a lookup reads one slot (one cache line) and, for the common
// shapes, compares no string of the heap.
//
// A provider's key is one word: the 12-digit account as a number (40 bits),
// the partition as its index in partitions (4 bits) and the issuer URL as a
// small number (20 bits), which the registry assigns per distinct URL and
// keeps in the issuer table: one table for the whole registry, small (one
// slot per issuer) and read by every provider lookup, so that it stays in
// cache. Issuer numbers beyond the 20 bits (more than a million distinct
// issuers at once) go to overflow maps keyed the same way.
//
// A role's key is its ARN split as arn:PARTITION:iam::ACCOUNT:role + TAIL,
// TAIL being the path and the name: a word holding the account, the
// partition, TAIL's length and ten bits of the hash, and the ARN's last 16
// bytes. A TAIL of at most 16 bytes ("/app-7", "/ci/deploy") is compared in
// the slot alone; a longer one is confirmed by comparing the role's ARN.
//
// Tables are never modified once published: a write copies the one table it
// changes. Every provider and role table keeps at least an eighth of its
// slots empty (the issuer table three eighths), so that probes always end
// on an empty slot. The bound is high for linear probing on purpose: at
// full size (100,000 providers, 200,000 roles) the tables are 10 MB rather
// than 20 MB, which a lookup's cache and TLB misses feel far more than the
// longer probes (slots share cache lines; see NOTES-idx.md for figures).

// shardBits is log2(shards).
const shardBits = 9

// Bits of the provider and role key words.
const (
	acctBits      = 40 // 10^12 < 2^40
	partBits      = 4
	issuerBits    = 64 - acctBits - partBits // 20
	tailLenBits   = 10
	maxTail       = 1<<tailLenBits - 1 // a role's path (512) and name (64) fit
	inlineTail    = 16
	roleTagShift  = acctBits + partBits + tailLenBits // 54: the rest of the word is hash
	maxInlineIssr = 1 << issuerBits
)

// There must be room for every partition's index in partBits.
var _ = [1<<partBits - len(partitions)]struct{}{}

// partitionID returns p's index in partitions.
func partitionID(p string) (uint64, bool) {
	if p == "aws" {
		return 0, true
	}
	for i, q := range partitions {
		if p == q {
			return uint64(i), true
		}
	}
	return 0, false
}

// parseAccount returns the 12-digit account a as a number; ok is false for
// anything else (which no stored entity has).
func parseAccount(a string) (uint64, bool) {
	if len(a) != 12 {
		return 0, false
	}
	return digits12(a)
}

// digits12 returns the number that s[:12] spells in decimal, with ok false
// if one of them is not a digit; len(s) >= 12. The twelve bytes are
// checked and combined eight and four at a time, in registers.
func digits12(s string) (uint64, bool) {
	const (
		ones  = 0x0101010101010101
		zeros = '0' * ones
	)
	x := le64(s, 0)
	y := uint64(s[8]) | uint64(s[9])<<8 | uint64(s[10])<<16 | uint64(s[11])<<24
	y |= 0x30303030 << 32 // four more '0' bytes, to check both words alike
	// A byte is a digit iff its high nibble is 3 and adding 6 leaves it so.
	const hi = 0xF0 * ones
	if x&hi != zeros&hi || (x+6*ones)&hi != zeros&hi || y&hi != zeros&hi || (y+6*ones)&hi != zeros&hi {
		return 0, false
	}
	return swar8(x-zeros)*10000 + swar4((y-zeros)&0xFFFFFFFF), true
}

// swar8 is the number of eight decimal digits, one per byte of v (the first
// in the low byte).
func swar8(v uint64) uint64 {
	v = (v*10 + v>>8) & 0x00FF00FF00FF00FF
	v = (v*100 + v>>16) & 0x0000FFFF0000FFFF
	return (v*10000 + v>>32) & 0xFFFFFFFF
}

// swar4 is swar8 for four digits in the low four bytes.
func swar4(v uint64) uint64 {
	v = (v*10 + v>>8) & 0x00FF00FF
	return (v*100 + v>>16) & 0xFFFF
}

// le64 is the little-endian word of s[i:i+8].
func le64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// mix is the finaliser of the index's hashes: a 128-bit product folded.
func mix(x uint64) uint64 {
	hi, lo := bits.Mul64(x, 0x9E3779B97F4A7C15)
	return hi ^ lo
}

// hashOf applies the registry's test hook, if any, to a hash: tests force
// collisions of shards, slots and tags through it.
func (r *Registry) hashOf(h uint64) uint64 {
	if r.hashHook != nil {
		return r.hashHook(h)
	}
	return h
}

// shardOf is the shard of a hash; the slot index uses its low bits and the
// role tag its top ten.
func shardOf(h uint64) uint64 { return (h >> 32) & (shards - 1) }

// chunkBits is log2 of the shards per chunk of tables.
const chunkBits = 4

// tables holds one entity kind's shard tables, in chunks of 16 behind
// pointers (nil: 16 empty tables), so that a write copies one chunk (384
// bytes) rather than every shard's slice header (12 KiB): the state header
// that each write allocates stays small. A read pays one more dependent
// load, of a line that every lookup of the chunk's shards shares (the
// chunks together are the 12 KiB of slice headers there would be anyway).
type tables[S any] [shards >> chunkBits]*tableChunk[S]

type tableChunk[S any] [1 << chunkBits][]S

// at is shard sh's table.
func (d *tables[S]) at(sh uint64) []S {
	if c := d[sh>>chunkBits]; c != nil {
		return c[sh&(1<<chunkBits-1)]
	}
	return nil
}

// set makes t shard sh's table, copying its chunk: d is in a state that is
// not published yet, whose chunks may be shared with published ones.
func (d *tables[S]) set(sh uint64, t []S) {
	c := new(tableChunk[S])
	if old := d[sh>>chunkBits]; old != nil {
		*c = *old
	}
	c[sh&(1<<chunkBits-1)] = t
	d[sh>>chunkBits] = c
}

// fill is set for Load, whose fresh state shares no chunk: in place.
func (d *tables[S]) fill(sh uint64, t []S) {
	c := d[sh>>chunkBits]
	if c == nil {
		c = new(tableChunk[S])
		d[sh>>chunkBits] = c
	}
	c[sh&(1<<chunkBits-1)] = t
}

// each calls fn with every non-empty table.
func (d *tables[S]) each(fn func(t []S)) {
	for _, c := range d {
		if c == nil {
			continue
		}
		for _, t := range c {
			if len(t) > 0 {
				fn(t)
			}
		}
	}
}

// ---- issuers ----

// issuerTable maps the issuer URLs that have providers to their numbers.
type issuerTable struct {
	slots []issuerSlot // power of two; url "" is an empty slot
	n     int
}

type issuerSlot struct {
	url string
	tag uint32 // the hash's high half, checked before the URL's bytes
	id  uint32
}

// urlHash is the hash of an issuer URL that both the issuer table and the
// provider tables start from.
func (r *Registry) urlHash(url string) uint64 { return maphash.String(r.seed, url) }

func (r *Registry) issuerHash(url string) uint64 { return r.hashOf(r.urlHash(url)) }

// find returns the slot of url, or nil. t may be nil (no issuer).
func (t *issuerTable) find(h uint64, url string) *issuerSlot {
	if t == nil {
		return nil
	}
	m := uint64(len(t.slots) - 1)
	tag := uint32(h >> 32)
	for i := h & m; ; i = (i + 1) & m {
		s := &t.slots[i]
		if s.url == "" {
			return nil
		}
		if s.tag == tag && s.url == url {
			return s
		}
	}
}

// issuerID returns the number of the issuer url in s.
func (r *Registry) issuerID(s *state, url string) (uint32, bool) {
	if sl := s.iss.find(r.issuerHash(url), url); sl != nil {
		return sl.id, true
	}
	return 0, false
}

// withIssuer returns a copy of t with url (not in t) numbered id.
func (r *Registry) withIssuer(t *issuerTable, url string, id uint32) *issuerTable {
	n := 0
	var old []issuerSlot
	if t != nil {
		n, old = t.n, t.slots
	}
	size := max(len(old), 8)
	for (n+1)*8 > size*5 {
		size *= 2
	}
	nt := &issuerTable{slots: make([]issuerSlot, size), n: n + 1}
	for i := range old {
		if old[i].url != "" {
			nt.put(r.issuerHash(old[i].url), old[i])
		}
	}
	nt.put(r.issuerHash(url), issuerSlot{url: url, id: id})
	return nt
}

func (t *issuerTable) put(h uint64, s issuerSlot) {
	s.tag = uint32(h >> 32)
	m := uint64(len(t.slots) - 1)
	i := h & m
	for t.slots[i].url != "" {
		i = (i + 1) & m
	}
	t.slots[i] = s
}

// withIssuerLoading adds url, numbered id, to t, a table that Load is
// building for n issuers (nil at first): it is not published yet, so it is
// filled in place.
func (r *Registry) withIssuerLoading(t *issuerTable, n int, url string, id uint32) *issuerTable {
	if t == nil {
		t = &issuerTable{slots: make([]issuerSlot, loadSize(n))}
	}
	t.put(r.issuerHash(url), issuerSlot{url: url, id: id})
	t.n++
	return t
}

// withoutIssuer returns a copy of t without url (which t has).
func (r *Registry) withoutIssuer(t *issuerTable, url string) *issuerTable {
	if t.n == 1 {
		return nil
	}
	nt := &issuerTable{slots: make([]issuerSlot, len(t.slots)), n: t.n - 1}
	for i := range t.slots {
		if s := t.slots[i]; s.url != "" && s.url != url {
			nt.put(r.issuerHash(s.url), s)
		}
	}
	return nt
}

// ---- providers ----

// provSlot is a provider table's slot; p nil is an empty slot.
type provSlot struct {
	key uint64
	p   *OIDCProvider
}

// provXKey keys the overflow maps: providers whose issuer number does not
// fit the key word.
type provXKey struct {
	acctPart uint64
	issuer   uint32
}

// acctPart is the key word's account and partition.
func acctPart(pid, acct uint64) uint64 { return acct | pid<<acctBits }

const acctPartMask = 1<<(acctBits+partBits) - 1

// provIndexKey is the key word of (account and partition, issuer number).
func provIndexKey(ap uint64, id uint32) uint64 { return ap | uint64(id)<<(acctBits+partBits) }

// provHash places a provider from its URL's hash and its account and
// partition: not from its issuer's number, so that a lookup reads the slot
// while it looks the number up.
func (r *Registry) provHash(uh, ap uint64) uint64 { return r.hashOf(mix(uh ^ ap ^ r.hseed)) }

// provSlotHash is provHash of a stored slot.
func (r *Registry) provSlotHash(s *provSlot) uint64 {
	return r.provHash(r.urlHash(s.p.URL), s.key&acctPartMask)
}

// findProvider is a provider table's probe.
func findProvider(t []provSlot, key, h uint64) *OIDCProvider {
	if len(t) == 0 {
		return nil
	}
	m := uint64(len(t) - 1)
	for i := h & m; ; i = (i + 1) & m {
		s := &t[i]
		if s.p == nil {
			return nil
		}
		if s.key == key {
			return s.p
		}
	}
}

// provider is the provider of (partition, account, url) in s, or nil.
func (r *Registry) provider(s *state, partition, account, url string) *OIDCProvider {
	// ProviderLookup's steps, written out: this is the hot lookup.
	pid, ok := partitionID(partition)
	acct, ok2 := parseAccount(account)
	if !ok || !ok2 {
		return nil
	}
	ap := acctPart(pid, acct)
	uh := r.urlHash(url)
	h := r.provHash(uh, ap)
	t := s.prov.at(shardOf(h))
	// The home slot is read before the issuer's number is known: the two
	// reads are independent, so that the slot's cache miss overlaps the
	// issuer table's probe.
	var home provSlot
	if len(t) > 0 {
		home = t[h&uint64(len(t)-1)]
	}
	is := s.iss.find(r.hashOf(uh), url)
	switch {
	case is == nil:
		return nil
	case is.id >= r.inlineIssuers:
		return r.providerX(s, ap, is.id)
	}
	key := provIndexKey(ap, is.id)
	if home.p == nil || home.key == key {
		return home.p
	}
	return findProvider(t, key, h)
}

// providerAt is provider for a write: ap and uh are the key's, id the
// issuer's number.
func (r *Registry) providerAt(s *state, ap, uh uint64, id uint32) *OIDCProvider {
	if id >= r.inlineIssuers {
		return r.providerX(s, ap, id)
	}
	h := r.provHash(uh, ap)
	return findProvider(s.prov.at(shardOf(h)), provIndexKey(ap, id), h)
}

func (r *Registry) providerX(s *state, ap uint64, id uint32) *OIDCProvider {
	if s.provX == nil {
		return nil
	}
	xk := provXKey{ap, id}
	return s.provX[r.provXShard(xk)][xk]
}

func (r *Registry) provXShard(k provXKey) uint64 {
	return shardOf(mix(k.acctPart ^ uint64(k.issuer)<<(acctBits+partBits) ^ r.hseed))
}

// setProvider makes p (nil: none) the provider of (pid, acct, id) in ns,
// copying the one table or map it changes; ns is not published yet.
func (r *Registry) setProvider(ns *state, ap, uh uint64, id uint32, p *OIDCProvider) {
	if id >= r.inlineIssuers {
		xk := provXKey{ap, id}
		var x [shards]map[provXKey]*OIDCProvider
		if ns.provX != nil {
			x = *ns.provX
		}
		sh := r.provXShard(xk)
		m := make(map[provXKey]*OIDCProvider, len(x[sh])+1)
		for k, v := range x[sh] {
			m[k] = v
		}
		if p == nil {
			delete(m, xk)
		} else {
			m[xk] = p
		}
		x[sh] = m
		ns.provX = &x
		return
	}
	key := provIndexKey(ap, id)
	h := r.provHash(uh, ap)
	sh := shardOf(h)
	t, n := slices.Clone(ns.prov.at(sh)), 0
	for i := range t {
		if t[i].p != nil {
			n++
		}
	}
	at := -1 // key's slot, if any
	if len(t) > 0 {
		m := uint64(len(t) - 1)
		for i := h & m; t[i].p != nil; i = (i + 1) & m {
			if t[i].key == key {
				at = int(i)
				break
			}
		}
	}
	switch {
	case p != nil && at >= 0:
		t[at].p = p
	case p != nil && fits(n+1, len(t)):
		putProvSlot(t, h, provSlot{key, p})
	case p != nil:
		nt := make([]provSlot, loadSize(n+1))
		for _, s := range t {
			if s.p != nil {
				putProvSlot(nt, r.provSlotHash(&s), s)
			}
		}
		putProvSlot(nt, h, provSlot{key, p})
		t = nt
	case at < 0:
		return // nothing to delete
	case n == 1:
		t = nil
	default:
		deleteSlot(t, at, func(s *provSlot) bool { return s.p == nil }, r.provSlotHash)
	}
	ns.prov.set(sh, t)
}

func putProvSlot(t []provSlot, h uint64, s provSlot) {
	m := uint64(len(t) - 1)
	i := h & m
	for t[i].p != nil {
		i = (i + 1) & m
	}
	t[i] = s
}

// deleteSlot empties slot at of a linear-probing table, moving back the
// entries after it whose probe passes through it (so that no tombstone is
// needed): empty tells an empty slot, hash gives an entry's hash.
func deleteSlot[S any](t []S, at int, empty func(*S) bool, hash func(*S) uint64) {
	m := len(t) - 1
	hole := at
	for j := (hole + 1) & m; !empty(&t[j]); j = (j + 1) & m {
		home := int(hash(&t[j])) & m
		// t[j] may fill the hole if its home is not cyclically in (hole, j].
		if (j-home)&m >= (j-hole)&m {
			t[hole] = t[j]
			hole = j
		}
	}
	var zero S
	t[hole] = zero
}

// loadSize is the smallest power of two (at least 8) that n fills to at
// most maxLoadNum/maxLoadDen.
func loadSize(n int) int {
	size := 8
	for !fits(n, size) {
		size *= 2
	}
	return size
}

// Provider and role tables hold at most maxLoadNum/maxLoadDen entries per
// slot.
const maxLoadNum, maxLoadDen = 7, 8

// fits tells whether n entries fit a table of size slots.
func fits(n, size int) bool { return n*maxLoadDen <= size*maxLoadNum }

// ---- roles ----

// roleSlot is a role table's slot; p nil is an empty slot.
type roleSlot struct {
	word   uint64 // account | partition | len(tail) | tag
	n0, n1 uint64 // the tail's first 16 bytes, zero-padded
	p      *Role
}

// roleKey is a role ARN as the role tables key it: the account, the
// partition and the tail's length (the word, without the tag), and the
// ARN's last 16 bytes. For a tail of at most 16 bytes, those bytes are the
// tail preceded by bytes of ":role" and of the account, which the word
// fixes: so (word, n0, n1) equal means ARNs equal. A longer tail has the
// rest of its bytes compared with the role's ARN.
type roleKey struct {
	word   uint64
	n0, n1 uint64
	rest   string // the tail but its last 16 bytes ("" for a short tail)
}

// parseRoleKey splits arn:PARTITION:iam::ACCOUNT:role + TAIL (TAIL being
// the path and the name); ok is false for a string that no stored role's
// ARN can equal.
func parseRoleKey(arn string) (k roleKey, ok bool) {
	var pid uint64
	off := len("arn:aws:iam::") // where the account starts
	if len(arn) < off || arn[:off] != "arn:aws:iam::" {
		s, ok := strings.CutPrefix(arn, "arn:")
		if !ok {
			return k, false
		}
		i := strings.IndexByte(s, ':')
		if i < 0 {
			return k, false
		}
		if pid, ok = partitionID(s[:i]); !ok || !strings.HasPrefix(s[i+1:], "iam::") {
			return k, false
		}
		off = len("arn:") + i + len(":iam::")
	}
	end := off + 12 + len(":role")
	if len(arn) < end || arn[off+12:end] != ":role" {
		return k, false
	}
	acct, ok := digits12(arn[off:])
	tail := len(arn) - end
	if !ok || tail > maxTail {
		return k, false
	}
	n := len(arn) // >= 16: end is more than that
	k = roleKey{word: acct | pid<<acctBits | uint64(tail)<<(acctBits+partBits), n0: le64(arn, n-16), n1: le64(arn, n-8)}
	if tail > inlineTail {
		k.rest = arn[end : n-16]
	}
	return k, true
}

// roleHash hashes every byte of the key: a long tail's rest too, so that
// tails sharing their last 16 bytes do not share a slot.
func (r *Registry) roleHash(k *roleKey) uint64 {
	h := mix(mix(k.n0^r.hseed) ^ k.n1 ^ bits.RotateLeft64(k.word, 29))
	if k.rest != "" {
		h ^= maphash.String(r.seed, k.rest)
	}
	return r.hashOf(h)
}

func roleWord(k *roleKey, h uint64) uint64 { return k.word | h>>roleTagShift<<roleTagShift }

// findRole is a role table's probe for arn, whose key is k.
func findRole(t []roleSlot, k *roleKey, h uint64, arn string) *Role {
	if len(t) == 0 {
		return nil
	}
	w := roleWord(k, h)
	m := uint64(len(t) - 1)
	for i := h & m; ; i = (i + 1) & m {
		s := &t[i]
		if s.p == nil {
			return nil
		}
		if s.word == w && s.n0 == k.n0 && s.n1 == k.n1 && (k.rest == "" || s.p.ARN == arn) {
			return s.p
		}
	}
}

// role is the role with the ARN in s, or nil (RoleLookup's steps, written
// out: this is the hot lookup).
func (r *Registry) role(s *state, arn string) *Role {
	k, ok := parseRoleKey(arn)
	if !ok {
		return nil
	}
	h := r.roleHash(&k)
	return findRole(s.roles.at(shardOf(h)), &k, h, arn)
}

// setRole makes ro (nil: none) the role with the ARN in ns, copying the
// one table it changes; ns is not published yet and arn is a valid role
// ARN.
func (r *Registry) setRole(ns *state, arn string, ro *Role) {
	k, ok := parseRoleKey(arn)
	if !ok {
		panic("iam: role ARN outside the index: " + arn)
	}
	h := r.roleHash(&k)
	sh := shardOf(h)
	t, n := slices.Clone(ns.roles.at(sh)), 0
	for i := range t {
		if t[i].p != nil {
			n++
		}
	}
	at := -1 // the ARN's slot, if any
	w := roleWord(&k, h)
	if len(t) > 0 {
		m := uint64(len(t) - 1)
		for i := h & m; t[i].p != nil; i = (i + 1) & m {
			if s := &t[i]; s.word == w && s.n0 == k.n0 && s.n1 == k.n1 && (k.rest == "" || s.p.ARN == arn) {
				at = int(i)
				break
			}
		}
	}
	slot := roleSlot{word: w, n0: k.n0, n1: k.n1, p: ro}
	switch {
	case ro != nil && at >= 0:
		t[at].p = ro
	case ro != nil && fits(n+1, len(t)):
		putRoleSlot(t, h, slot)
	case ro != nil:
		// Grow: every entry's hash again, from its ARN (rare: the table
		// doubles).
		nt := make([]roleSlot, loadSize(n+1))
		for i := range t {
			if t[i].p != nil {
				putRoleSlot(nt, r.roleSlotHash(&t[i]), t[i])
			}
		}
		putRoleSlot(nt, h, slot)
		t = nt
	case at < 0:
		return
	case n == 1:
		t = nil
	default:
		deleteSlot(t, at, func(s *roleSlot) bool { return s.p == nil }, r.roleSlotHash)
	}
	ns.roles.set(sh, t)
}

// roleSlotHash is the hash of a slot's role, from its ARN.
func (r *Registry) roleSlotHash(s *roleSlot) uint64 {
	k, _ := parseRoleKey(s.p.ARN)
	return r.roleHash(&k)
}

func putRoleSlot(t []roleSlot, h uint64, s roleSlot) {
	m := uint64(len(t) - 1)
	i := h & m
	for t[i].p != nil {
		i = (i + 1) & m
	}
	t[i] = s
}

// ---- Load ----

// buildProviders fills ns's provider tables (empty) with the providers,
// whose issuers ns.iss numbers.
func (r *Registry) buildProviders(ns *state, provs []*OIDCProvider) {
	type ent struct {
		h, key uint64
		over   bool // in the overflow maps
	}
	ents := make([]ent, len(provs))
	var count [shards]int
	for i, p := range provs {
		pid, _ := partitionID(p.Partition)
		acct, _ := parseAccount(p.Account)
		ap := acctPart(pid, acct)
		id, _ := r.issuerID(ns, p.URL)
		if id >= r.inlineIssuers {
			xk := provXKey{ap, id}
			if ns.provX == nil {
				ns.provX = new([shards]map[provXKey]*OIDCProvider)
			}
			sh := r.provXShard(xk)
			if ns.provX[sh] == nil {
				ns.provX[sh] = map[provXKey]*OIDCProvider{}
			}
			ns.provX[sh][xk] = p
			ents[i].over = true
			continue
		}
		h := r.provHash(r.urlHash(p.URL), ap)
		ents[i] = ent{h: h, key: provIndexKey(ap, id)}
		count[shardOf(h)]++
	}
	slab := slabTables(&ns.prov, &count)
	for i, p := range provs {
		if e := ents[i]; !e.over {
			putProvSlot(ns.prov.at(shardOf(e.h)), e.h, provSlot{e.key, p})
		}
	}
	adviseHuge(slab)
}

// slabTables gives every shard of d with count entries a table sized for
// them, all cut from one allocation (returned), so that Load's tables lie
// together in memory: they can then be backed by huge pages (adviseHuge),
// whose few TLB entries cover what thousands of 4 KiB pages would need.
// A write later replaces a shard's table with a copy of its own; the slab
// stays alive while any shard still uses its part.
func slabTables[S any](d *tables[S], count *[shards]int) []S {
	total := 0
	for _, n := range count {
		if n > 0 {
			total += loadSize(n)
		}
	}
	slab := make([]S, total)
	off := 0
	for sh, n := range count {
		if n > 0 {
			size := loadSize(n)
			d.fill(uint64(sh), slab[off:off+size:off+size])
			off += size
		}
	}
	return slab
}

// buildRoles fills ns's role tables (empty) with the roles.
func (r *Registry) buildRoles(ns *state, roles []*Role) {
	hs := make([]uint64, len(roles))
	keys := make([]roleKey, len(roles))
	var count [shards]int
	for i, ro := range roles {
		k, _ := parseRoleKey(ro.ARN)
		keys[i] = k
		hs[i] = r.roleHash(&k)
		count[shardOf(hs[i])]++
	}
	slab := slabTables(&ns.roles, &count)
	for i, ro := range roles {
		h, k := hs[i], &keys[i]
		putRoleSlot(ns.roles.at(shardOf(h)), h, roleSlot{word: roleWord(k, h), n0: k.n0, n1: k.n1, p: ro})
	}
	adviseHuge(slab)
}

// eachProvider calls fn with every provider of s.
func (s *state) eachProvider(fn func(p *OIDCProvider)) {
	s.prov.each(func(t []provSlot) {
		for i := range t {
			if t[i].p != nil {
				fn(t[i].p)
			}
		}
	})
	if s.provX != nil {
		for _, m := range s.provX {
			for _, p := range m {
				fn(p)
			}
		}
	}
}

// eachRole calls fn with every role of s.
func (s *state) eachRole(fn func(ro *Role)) {
	s.roles.each(func(t []roleSlot) {
		for i := range t {
			if t[i].p != nil {
				fn(t[i].p)
			}
		}
	})
}

// ---- issuer numbers (write side; r.mu is held) ----

// peekIssuerID is the number the next new issuer gets.
func (r *Registry) peekIssuerID() uint32 {
	if n := len(r.freeIDs); n > 0 {
		return r.freeIDs[n-1]
	}
	return r.nextID
}

// takeIssuerID marks id, which peekIssuerID returned, used.
func (r *Registry) takeIssuerID(id uint32) {
	if n := len(r.freeIDs); n > 0 && r.freeIDs[n-1] == id {
		r.freeIDs = r.freeIDs[:n-1]
		return
	}
	r.nextID = id + 1
}

// releaseIssuerID frees the number of an issuer that lost its last provider.
func (r *Registry) releaseIssuerID(id uint32) { r.freeIDs = append(r.freeIDs, id) }

// resetIssuerIDs makes the free numbers those that t does not use.
func (r *Registry) resetIssuerIDs(t *issuerTable) {
	r.freeIDs, r.nextID = nil, 0
	if t == nil {
		return
	}
	used := map[uint32]bool{}
	for _, s := range t.slots {
		if s.url != "" {
			used[s.id] = true
			r.nextID = max(r.nextID, s.id+1)
		}
	}
	for id := r.nextID; id > 0; id-- {
		if !used[id-1] {
			r.freeIDs = append(r.freeIDs, id-1)
		}
	}
}
