package iam

import (
	"unsafe"

	"github.com/webidentity/webidentity/internal/prefetch"
)

// Prepared lookups. A caller that hints a lookup at several depths and then makes it (see the
// prefetch hints above) would parse and hash the same key at each call: a RoleLookup or a
// ProviderLookup does that once. What it keeps depends on the registry alone (its hash seed),
// never on a state of it: each hint and the lookup read the registry's current tables, so a
// lookup through a handle made before a write, a resize or a Load answers as the registry
// does at the time of the lookup, exactly as Role or OIDCProvider would.

// RoleLookup is Role(arn) prepared: the ARN parsed and hashed once, for hints at each depth
// (Prefetch) and the lookup (Role). Make it with Registry.PrepareRole; it keeps arn. A
// RoleLookup serves one goroutine at a time (Prefetch records what it read); distinct ones
// are independent. The zero RoleLookup finds no role and hints nothing.
type RoleLookup struct {
	r   *Registry
	arn string
	k   roleKey
	h   uint64
	ok  bool // arn is a key some role could have
	// The depth-1 hint's probe: the state it read and the role it found there (ignoring a
	// long tail's rest), for the deeper hints and for Role when the state is still current.
	s  *state
	ro *Role
}

// PrepareRole returns the prepared lookup of the role with the ARN. It allocates nothing and
// reads no table.
func (r *Registry) PrepareRole(roleARN string) RoleLookup {
	k, ok := parseRoleKey(roleARN)
	if !ok {
		return RoleLookup{r: r, arn: roleARN}
	}
	return RoleLookup{r: r, arn: roleARN, k: k, h: r.roleHash(&k), ok: true}
}

// Prefetch is Registry.PrefetchRole(arn, depth) without parsing or hashing the ARN again: a
// hint, with no effect on any result.
func (l *RoleLookup) Prefetch(depth int) {
	if !l.ok {
		return
	}
	if depth <= 0 {
		if t := l.r.cur.Load().roles.at(shardOf(l.h)); len(t) > 0 {
			prefetch.Line(unsafe.Pointer(&t[l.h&uint64(len(t)-1)]))
		}
		return
	}
	if l.s == nil || depth == 1 {
		// findRole's probe, without its comparison of a long tail's rest with the role's
		// ARN (bytes of another line; the hash covers the rest): a wrong guess only asks for
		// the wrong lines, and Role checks it.
		s := l.r.cur.Load()
		k := l.k
		k.rest = ""
		l.s, l.ro = s, findRole(s.roles.at(shardOf(l.h)), &k, l.h, "")
	}
	switch ro := l.ro; {
	case ro == nil:
	case depth == 1: // the record only: reading it now would wait for it
		prefetch.Lines(unsafe.Pointer(ro), roleHotBytes)
	case depth == 2:
		prefetchPolicy(ro.TrustPolicy, false)
	default:
		prefetchPolicy(ro.TrustPolicy, true)
	}
}

// Role is Registry.Role(arn): the role with exactly the ARN in the registry's current state,
// or an error matching ErrNoSuchEntity (preallocated). It does not allocate. When the state
// the last hint read is still current, its probe's answer is used (checked against the ARN's
// rest for a long tail) rather than probed again.
func (l *RoleLookup) Role() (*Role, error) {
	if !l.ok {
		return nil, errNoRole
	}
	s := l.r.cur.Load()
	var ro *Role
	switch {
	case s != l.s:
		ro = findRole(s.roles.at(shardOf(l.h)), &l.k, l.h, l.arn)
	case l.ro == nil:
		// The hint's probe, which matches whatever findRole matches, found nothing.
	case l.k.rest == "" || l.ro.ARN == l.arn:
		ro = l.ro
	default: // another role sharing the ARN's last bytes and tag: probe in full
		ro = findRole(s.roles.at(shardOf(l.h)), &l.k, l.h, l.arn)
	}
	if ro == nil {
		return nil, errNoRole
	}
	return ro, nil
}

// ProviderLookup is OIDCProvider(partition, account, issuerURL) prepared: the account and
// partition parsed and the URL hashed once, for hints at each depth (Prefetch) and the lookup
// (OIDCProvider). Make it with Registry.PrepareOIDCProvider; it keeps issuerURL, which must
// stay unchanged while the ProviderLookup is used. A ProviderLookup serves one goroutine at a
// time; distinct ones are independent. The zero ProviderLookup finds no provider and hints
// nothing.
type ProviderLookup struct {
	r         *Registry
	url       string
	ap, h, ih uint64 // the key's account and partition, the slot hash, the issuer-table hash
	ok        bool   // partition and account are some provider's
	// p is the provider the last OIDCProvider found (nil: none, or not asked yet): what the
	// depth-2 hint asks for, rather than the home slot's.
	p *OIDCProvider
}

// PrepareOIDCProvider returns the prepared lookup of the provider of (partition, account,
// issuerURL). It allocates nothing and reads no table.
func (r *Registry) PrepareOIDCProvider(partition, account, issuerURL string) ProviderLookup {
	l := ProviderLookup{r: r, url: issuerURL}
	pid, ok := partitionID(partition)
	acct, ok2 := parseAccount(account)
	if ok && ok2 {
		uh := r.urlHash(issuerURL)
		l.ap, l.ok = acctPart(pid, acct), true
		l.h, l.ih = r.provHash(uh, l.ap), r.hashOf(uh)
	}
	return l
}

// Prefetch is Registry.PrefetchOIDCProvider(partition, account, issuerURL, depth) without
// parsing or hashing again: a hint, with no effect on any result. After OIDCProvider found a
// provider, depth 2 asks for that provider's lines.
func (l *ProviderLookup) Prefetch(depth int) {
	if !l.ok {
		return
	}
	p := l.p
	if p == nil || depth < 2 {
		s := l.r.cur.Load()
		t := s.prov.at(shardOf(l.h))
		if len(t) == 0 || s.iss == nil {
			return
		}
		home := &t[l.h&uint64(len(t)-1)]
		is := &s.iss.slots[l.ih&uint64(len(s.iss.slots)-1)]
		if depth <= 0 {
			prefetch.Line(unsafe.Pointer(home))
			prefetch.Line(unsafe.Pointer(is))
			return
		}
		// The home slot's provider: the lookup's answer but for a collision (then the hint
		// asks for another provider's lines, no harm).
		p = home.p
		if depth == 1 {
			if is.url != "" {
				prefetch.Lines(unsafe.Pointer(unsafe.StringData(is.url)), uintptr(len(is.url)))
			}
			if p != nil {
				prefetch.Lines(unsafe.Pointer(p), providerHotBytes)
			}
			return
		}
	}
	if p == nil {
		return
	}
	lineOf(p.ARN)
	lineOf(p.keyPrefix)
	lineOf(p.clientID0)
	if len(p.Thumbprints) > 0 {
		lineOf(p.Thumbprints[0])
	}
}

// OIDCProvider is Registry.OIDCProvider(partition, account, issuerURL): the provider in the
// registry's current state, or an error matching ErrNoSuchEntity (preallocated). It does not
// allocate.
func (l *ProviderLookup) OIDCProvider() (*OIDCProvider, error) {
	l.p = nil
	if !l.ok {
		return nil, errNoProvider
	}
	r, s := l.r, l.r.cur.Load()
	// provider's steps from its hashes on.
	t := s.prov.at(shardOf(l.h))
	var home provSlot
	if len(t) > 0 {
		home = t[l.h&uint64(len(t)-1)]
	}
	var p *OIDCProvider
	is := s.iss.find(l.ih, l.url)
	switch {
	case is == nil:
	case is.id >= r.inlineIssuers:
		p = r.providerX(s, l.ap, is.id)
	default:
		key := provIndexKey(l.ap, is.id)
		if p = home.p; p != nil && home.key != key {
			p = findProvider(t, key, l.h)
		}
	}
	if p == nil {
		return nil, errNoProvider
	}
	l.p = p
	return p, nil
}
