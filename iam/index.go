package iam

import (
	"encoding/binary"
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
// partition, TAIL's length and ten bits of the hash, and TAIL's first 16
// bytes. A TAIL of at most 16 bytes ("/app-7", "/ci/deploy") is compared in
// the slot alone; a longer one is confirmed by comparing the role's ARN.
//
// Tables are never modified once published: a write copies the one table it
// changes. Every table keeps at least three eighths of its slots empty, so
// that probes stay short and always end on an empty slot.

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
	var n uint64
	for i := 0; i < 12; i++ {
		d := a[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + uint64(d)
	}
	return n, true
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

func (r *Registry) issuerHash(url string) uint64 {
	return r.hashOf(maphash.String(r.seed, url))
}

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

// provIndexKey is the key word of (partition, account, issuer number) below
// r.inlineIssuers, and the word without the issuer otherwise.
func provIndexKey(pid, acct uint64, id uint32) uint64 {
	return acct | pid<<acctBits | uint64(id)<<(acctBits+partBits)
}

func (r *Registry) provHash(key uint64) uint64 { return r.hashOf(mix(key ^ r.hseed)) }

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
	pid, ok := partitionID(partition)
	if !ok {
		return nil
	}
	acct, ok := parseAccount(account)
	if !ok {
		return nil
	}
	id, ok := r.issuerID(s, url)
	if !ok {
		return nil
	}
	return r.providerByID(s, pid, acct, id)
}

func (r *Registry) providerByID(s *state, pid, acct uint64, id uint32) *OIDCProvider {
	if id >= r.inlineIssuers {
		xk := provXKey{acct | pid<<acctBits, id}
		if s.provX == nil {
			return nil
		}
		return s.provX[r.provXShard(xk)][xk]
	}
	key := provIndexKey(pid, acct, id)
	h := r.provHash(key)
	return findProvider(s.prov[shardOf(h)], key, h)
}

func (r *Registry) provXShard(k provXKey) uint64 {
	return shardOf(r.provHash(k.acctPart ^ uint64(k.issuer)<<(acctBits+partBits)))
}

// setProvider makes p (nil: none) the provider of (pid, acct, id) in ns,
// copying the one table or map it changes; ns is not published yet.
func (r *Registry) setProvider(ns *state, pid, acct uint64, id uint32, p *OIDCProvider) {
	if id >= r.inlineIssuers {
		xk := provXKey{acct | pid<<acctBits, id}
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
	key := provIndexKey(pid, acct, id)
	h := r.provHash(key)
	sh := shardOf(h)
	t, n := slices.Clone(ns.prov[sh]), 0
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
	case p != nil && (n+1)*8 <= len(t)*5:
		putProvSlot(t, h, provSlot{key, p})
	case p != nil:
		nt := make([]provSlot, loadSize(n+1))
		for _, s := range t {
			if s.p != nil {
				putProvSlot(nt, r.provHash(s.key), s)
			}
		}
		putProvSlot(nt, h, provSlot{key, p})
		t = nt
	case at < 0:
		return // nothing to delete
	case n == 1:
		t = nil
	default:
		deleteSlot(t, at, func(s *provSlot) bool { return s.p == nil }, func(s *provSlot) uint64 { return r.provHash(s.key) })
	}
	ns.prov[sh] = t
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
// most five eighths.
func loadSize(n int) int {
	size := 8
	for n*8 > size*5 {
		size *= 2
	}
	return size
}

// ---- roles ----

// roleSlot is a role table's slot; p nil is an empty slot.
type roleSlot struct {
	word   uint64 // account | partition | len(tail) | tag
	n0, n1 uint64 // the tail's first 16 bytes, zero-padded
	p      *Role
}

// roleKey is a role ARN as the role tables key it.
type roleKey struct {
	word   uint64 // without the tag
	n0, n1 uint64
	tail   int // len(tail)
}

// parseRoleKey splits arn:PARTITION:iam::ACCOUNT:role + TAIL; ok is false
// for a string that no stored role's ARN can equal.
func parseRoleKey(arn string) (k roleKey, tail string, ok bool) {
	var pid uint64
	var rest string
	if len(arn) > 13 && arn[:13] == "arn:aws:iam::" {
		rest = arn[13:]
	} else {
		s, ok := strings.CutPrefix(arn, "arn:")
		if !ok {
			return k, "", false
		}
		i := strings.IndexByte(s, ':')
		if i < 0 {
			return k, "", false
		}
		if pid, ok = partitionID(s[:i]); !ok {
			return k, "", false
		}
		if rest, ok = strings.CutPrefix(s[i+1:], "iam::"); !ok {
			return k, "", false
		}
	}
	if len(rest) < 12+len(":role") || rest[12:17] != ":role" {
		return k, "", false
	}
	acct, ok := parseAccount(rest[:12])
	tail = rest[17:]
	if !ok || len(tail) > maxTail {
		return k, "", false
	}
	var b [inlineTail]byte
	copy(b[:], tail)
	k = roleKey{
		word: acct | pid<<acctBits | uint64(len(tail))<<(acctBits+partBits),
		n0:   binary.LittleEndian.Uint64(b[:8]),
		n1:   binary.LittleEndian.Uint64(b[8:]),
		tail: len(tail),
	}
	return k, tail, true
}

func (r *Registry) roleHash(k *roleKey, tail string) uint64 {
	return r.hashOf(mix(maphash.String(r.seed, tail) ^ k.word ^ r.hseed))
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
		if s.word == w && s.n0 == k.n0 && s.n1 == k.n1 && (k.tail <= inlineTail || s.p.ARN == arn) {
			return s.p
		}
	}
}

// role is the role with the ARN in s, or nil.
func (r *Registry) role(s *state, arn string) *Role {
	k, tail, ok := parseRoleKey(arn)
	if !ok {
		return nil
	}
	h := r.roleHash(&k, tail)
	return findRole(s.roles[shardOf(h)], &k, h, arn)
}

// setRole makes ro (nil: none) the role with the ARN in ns, copying the
// one table it changes; ns is not published yet and arn is a valid role
// ARN.
func (r *Registry) setRole(ns *state, arn string, ro *Role) {
	k, tail, ok := parseRoleKey(arn)
	if !ok {
		panic("iam: role ARN outside the index: " + arn)
	}
	h := r.roleHash(&k, tail)
	sh := shardOf(h)
	t, n := slices.Clone(ns.roles[sh]), 0
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
			if s := &t[i]; s.word == w && s.n0 == k.n0 && s.n1 == k.n1 && (k.tail <= inlineTail || s.p.ARN == arn) {
				at = int(i)
				break
			}
		}
	}
	slot := roleSlot{word: w, n0: k.n0, n1: k.n1, p: ro}
	switch {
	case ro != nil && at >= 0:
		t[at].p = ro
	case ro != nil && (n+1)*8 <= len(t)*5:
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
	ns.roles[sh] = t
}

// roleSlotHash is the hash of a slot's role, from its ARN.
func (r *Registry) roleSlotHash(s *roleSlot) uint64 {
	k, tail, _ := parseRoleKey(s.p.ARN)
	return r.roleHash(&k, tail)
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
		id, _ := r.issuerID(ns, p.URL)
		if id >= r.inlineIssuers {
			xk := provXKey{acct | pid<<acctBits, id}
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
		key := provIndexKey(pid, acct, id)
		h := r.provHash(key)
		ents[i] = ent{h: h, key: key}
		count[shardOf(h)]++
	}
	for sh, n := range count {
		if n > 0 {
			ns.prov[sh] = make([]provSlot, loadSize(n))
		}
	}
	for i, p := range provs {
		if e := ents[i]; !e.over {
			putProvSlot(ns.prov[shardOf(e.h)], e.h, provSlot{e.key, p})
		}
	}
}

// buildRoles fills ns's role tables (empty) with the roles.
func (r *Registry) buildRoles(ns *state, roles []*Role) {
	hs := make([]uint64, len(roles))
	keys := make([]roleKey, len(roles))
	var count [shards]int
	for i, ro := range roles {
		k, tail, _ := parseRoleKey(ro.ARN)
		keys[i] = k
		hs[i] = r.roleHash(&k, tail)
		count[shardOf(hs[i])]++
	}
	for sh, n := range count {
		if n > 0 {
			ns.roles[sh] = make([]roleSlot, loadSize(n))
		}
	}
	for i, ro := range roles {
		h, k := hs[i], &keys[i]
		putRoleSlot(ns.roles[shardOf(h)], h, roleSlot{word: roleWord(k, h), n0: k.n0, n1: k.n1, p: ro})
	}
}

// eachProvider calls fn with every provider of s.
func (s *state) eachProvider(fn func(p *OIDCProvider)) {
	for _, t := range s.prov {
		for i := range t {
			if t[i].p != nil {
				fn(t[i].p)
			}
		}
	}
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
	for _, t := range s.roles {
		for i := range t {
			if t[i].p != nil {
				fn(t[i].p)
			}
		}
	}
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
