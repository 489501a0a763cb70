package verifier

import (
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/prefetch"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
)

// keyStamper is what the decision memo needs of a KeySource: *jwks.Cache's stamps of an
// issuer's key set (see jwks.Stamp).
type keyStamper interface {
	Stamp(issuer string) (jwks.Stamp, bool)
}

var _ keyStamper = (*jwks.Cache)(nil)

// memoSource returns the registry whose change epochs the decision memo follows, or nil to
// leave the memo off. It is p when p is an *iam.Registry, that concrete type, and r is the
// same registry: (*iam.Registry).ChangeEpoch moves after every change that its own
// OIDCProvider and Role lookups could show. Anything else leaves the memo off, in particular
// a type that embeds *iam.Registry: it inherits ChangeEpoch by method promotion, but its own
// lookups may answer otherwise (a tenant suspended, a role hidden) while the registry's
// epoch stands still, and nothing would tell the memo. So do two sources that are separate
// objects, which could change apart.
func memoSource(p ProviderSource, r RoleSource) *iam.Registry {
	reg, ok := p.(*iam.Registry)
	if !ok || reg == nil {
		return nil
	}
	if rr, ok := r.(*iam.Registry); !ok || rr != reg {
		return nil
	}
	return reg
}

// decisionMemo is the last Allow decision made with a cached token, with what it depended on.
// A request reuses it only when a full evaluation now would certainly return the same Result:
//   - the registry: ChangeEpoch of the role's account is still epoch, read before the
//     provider and role lookups that produced the decision, and even (no change of the
//     account was being published around them; a write makes it odd before the new state
//     is visible, so no memo of the old state answers once a lookup could see the new);
//   - the keys: the key cache still serves the stamped key set, without a refresh due (which
//     also covers the thumbprint check, made against that set's chains and the provider's
//     pins);
//   - the request: every field that reaches the decision or the Result is byte-identical
//     (so checkRequest, a function of those fields and of the token, which is the entry's,
//     accepts it as it accepted the request the memo was made for);
//   - time: exp, nbf and iat are checked on every use (through validFrom and validUntil,
//     see setTimes; the maximum lifetime, a function of the token alone, passed when the
//     memo was made), and a policy whose conditions read anything but the token, the
//     request and the provider is never memoised (memoisable).
//
// It is immutable once published in its cacheEntry, and laid out in the order a use reads
// it, in one allocation of 768 bytes (TestMemoSizes pins it): the checks (the first two
// lines: entry, epoch, keys, the token's validity, the request's lengths and the account's
// place in it), the request (inline when it fits), the Result each caller gets a copy of,
// then what only the full path reads.
type decisionMemo struct {
	entry *cacheEntry // the token's
	epoch uint64
	keys  jwks.Stamp
	// validFrom and validUntil bound the instants (Unix nanoseconds) at which the token's
	// times pass checkTokenTimes: validFrom <= now < validUntil (see setTimes).
	validFrom, validUntil  int64
	arnLen, sessionNameLen int32 // of RoleARN and RoleSessionName, the first parts of request
	durationSeconds        int32 // checkRequest bounds it (900..43200)
	// partition and account are where the role ARN's partition and account sit in request
	// ([0]:[1]; checkRequest bounds the ARN to 2048 bytes).
	partitionAt, accountAt [2]uint16
	// request is the request's RoleARN, RoleSessionName and SourceIP, one after the other
	// (in inline when they fit); out.res.RoleARN and RoleSessionName point into it.
	request string
	inline  [memoInline]byte // written once, before the memo is published
	// out is what each caller gets a copy of (see result), laid out as it is copied: the
	// Result, then its Token (the cache entry's, Audience in out.aud or cloned), whose
	// slices are the memo's own. out.res.Token is nil: each copy points at its own.
	out resultCopy
	// route is the provider the decision used (route.p is the observer's), and policy the
	// trust policy: a later decision with the token reuses the route while the memo
	// vouches for it (see vouches) and skips memoisable for the same policy and provider.
	route  route
	policy *policy.Policy
}

// partition and account return the role ARN's partition and account.
func (m *decisionMemo) partition() string { return m.request[m.partitionAt[0]:m.partitionAt[1]] }
func (m *decisionMemo) account() string   { return m.request[m.accountAt[0]:m.accountAt[1]] }

// memoInline is the room for the request's strings inside a memo: an EKS role ARN, a
// session name and an IP address, mostly.
const memoInline = 128

// sameRequest reports whether req's fields that reach the decision or the Result are
// byte-identical to those the memo was made for (the token is the entry's).
func (m *decisionMemo) sameRequest(req *Request) bool {
	a, n := int(m.arnLen), int(m.sessionNameLen)
	return len(req.RoleARN) == a && len(req.RoleSessionName) == n && len(req.SourceIP) == len(m.request)-a-n &&
		req.DurationSeconds == int(m.durationSeconds) && req.ProviderID == "" &&
		m.request[:a] == req.RoleARN && m.request[a:a+n] == req.RoleSessionName && m.request[a+n:] == req.SourceIP
}

// vouches reports whether m vouches for what a decision of its token for a role of the
// account sel names would now find before the policy: the provider (m.route), the key
// (the entry's) and the token's admission (client IDs, thumbprints). It does when the
// registry's epoch of that account is still m's (epoch was read before this decision's
// lookups) and the key cache still serves m's key set: the provider lookup would return the
// same provider, pickKey the same key, and admit, which passed for m, would pass again.
// Token times are not covered (the caller checks them).
func (m *decisionMemo) vouches(sel *selector, epoch uint64) bool {
	return epoch == m.epoch && !sel.static && sel.url == "" && sel.account == m.account() && sel.partition == m.partition() &&
		m.keys.Current()
}

// memoTrace is what a decision needs to be memoised, gathered along the full path: the
// registry epoch read before the lookups, and the key stamp taken before the key lookups.
type memoTrace struct {
	epoch   uint64
	entry   *cacheEntry // the token-cache entry the decision used (a hit), or nil
	keys    jwks.Stamp
	stamped bool
}

// memoAnswer answers req from the decision memo of its token, or returns nil. A memo that
// answers stands for checkRequest too (see decisionMemo).
//
// Every check must pass, and their order does not change the answer; it is chosen for cold
// memory, where each line that misses costs about 200 ns and only misses in flight together
// overlap. The index gives the entry and the memo after two misses one after the other (the
// caller's token end for the hash, then the bucket); from there, what the checks read is
// independent: the memo's lines, the cached token's, the caller's token and request strings
// (asked for at the start) and the registry's epoch counter. So the code asks for all the
// lines it knows (prefetch) before it reads any, reads the clock while they arrive (a clock
// read waits for the loads before it, not for prefetches), and then checks, the key set's
// state last (it marks the issuer used).
func (v *Verifier) memoAnswer(req *Request) *decisionMemo {
	raw := req.WebIdentityToken
	if len(raw) > maxTokenLen {
		return nil
	}
	// The caller's token and request strings, while the hash waits for the token's end and
	// the index for the hash.
	prefetch.At(addr(unsafe.Pointer(unsafe.StringData(raw))), uintptr(min(len(raw), prefetchMax)))
	prefetch.At(addr(unsafe.Pointer(unsafe.StringData(req.RoleARN))), uintptr(min(len(req.RoleARN), prefetchMax)))
	prefetch.At(addr(unsafe.Pointer(unsafe.StringData(req.RoleSessionName))), 1)
	prefetch.At(addr(unsafe.Pointer(unsafe.StringData(req.SourceIP))), 1)
	c := v.tokens
	e, m, h := c.entry(raw)
	if e == nil {
		return nil
	}
	if m == nil || m.entry != e {
		if m = e.memo.Load(); m == nil {
			return nil
		}
	}
	prefetch.At(addr(unsafe.Pointer(m)), unsafe.Sizeof(*m))
	er := e.raw
	if p := addr(unsafe.Pointer(unsafe.StringData(er))); p != addr(unsafe.Pointer(e))+entrySize {
		prefetch.At(p, uintptr(min(len(er), prefetchMax))) // not after the entry (see newEntry)
	}
	now := v.now()
	if !m.sameRequest(req) || v.epochs.ChangeEpoch(m.partition(), m.account()) != m.epoch || er != raw {
		return nil
	}
	c.used(e, h)
	if !m.keysCurrent(v, now) || !m.valid(now) {
		return nil // on times, the full path refuses it, and drops the entry
	}
	return m
}

// keysCurrent reports whether m's key set is still the one the key cache serves (see
// jwks.Stamp.Current). now is the verifier's clock reading of this call: with the real
// clock, the key cache reads it instead of the clock (one clock read less per answer).
func (m *decisionMemo) keysCurrent(v *Verifier, now time.Time) bool {
	if v.realClock {
		return m.keys.CurrentAt(now)
	}
	return m.keys.Current()
}

// prefetchMax bounds what memoAnswer prefetches of a string.
const prefetchMax = 4096

// Instants whose Unix time in nanoseconds an int64 holds, in whole seconds.
const (
	minNanoSec = math.MinInt64/int64(time.Second) + 1
	maxNanoSec = math.MaxInt64/int64(time.Second) - 1
)

// unixNano returns t's Unix time in nanoseconds, or the int64 bound on its side when that
// does not fit.
func unixNano(t time.Time) int64 {
	switch s := t.Unix(); {
	case s < minNanoSec:
		return math.MinInt64
	case s > maxNanoSec:
		return math.MaxInt64
	}
	return t.UnixNano()
}

// setTimes sets m's validity from the token's times, for a verifier of that leeway and
// maximum lifetime, so that valid(now) holds exactly when checkTokenTimes(exp, nbf, iat,
// now, ...) passes, for every now whose Unix nanoseconds fit an int64 (valid refuses the
// others: the full path decides them). checkTokenTimes passes when now < exp+leeway,
// nbf-leeway <= now and iat-leeway <= now (for those present), and the lifetime bound, a
// function of the token alone, holds: setTimes reports false when it does not (no memo).
// Bounds beyond the int64 range clamp to it, which keeps them exact: an instant inside
// the range is before a bound after it and after a bound before it.
func (m *decisionMemo) setTimes(t *Token, leeway, maxLifetime time.Duration) bool {
	if maxLifetime > 0 && (t.IssuedAt.IsZero() || t.ExpiresAt.Sub(t.IssuedAt) > maxLifetime) {
		return false
	}
	m.validUntil = unixNano(t.ExpiresAt.Add(leeway))
	m.validFrom = math.MinInt64
	for _, at := range [...]time.Time{t.NotBefore, t.IssuedAt} {
		if !at.IsZero() {
			m.validFrom = max(m.validFrom, unixNano(at.Add(-leeway)))
		}
	}
	return true
}

// valid reports whether the token's times pass at now (see setTimes).
func (m *decisionMemo) valid(now time.Time) bool {
	if s := now.Unix(); s < minNanoSec || s > maxNanoSec {
		return false
	}
	n := now.UnixNano()
	return m.validFrom <= n && n < m.validUntil
}

// resultCopy is a Result with a Token of its own, allocated together: what a caller gets
// from a decision memo, and the memo's template of it. 448 bytes, a size class of its own:
// room for one aud value inline (IRSA's, GitHub's), more are cloned.
type resultCopy struct {
	res Result
	tok Token
	aud [1]string
}

// result returns the caller's own copy of the memoised Result, with a Token of its own: one
// allocation and one copy of out, then the copy's own pointers.
func (m *decisionMemo) result() *Result { return new(resultCopy).fromMemo(m, spill{}) }

// spill is where a resultCopy puts what it does not hold inline: an Answer's recycled
// slices, or (nil fields) new ones.
type spill struct {
	aud  *[]string
	tags *[]Tag
	keys *[]string
}

// cloneInto returns a copy of src in *buf (grown as needed) or, with a nil buf, in a new
// slice; nil stays nil and empty stays empty, as with slices.Clone.
func cloneInto[T any](src []T, buf *[]T) []T {
	if buf == nil || len(src) == 0 {
		return slices.Clone(src)
	}
	*buf = append((*buf)[:0], src...)
	return (*buf)[:len(src):len(src)]
}

// setAudience gives c's Token its own copy of aud: inline when it fits, else in sp.aud.
func (c *resultCopy) setAudience(aud []string, sp spill) {
	if n := len(aud); n <= len(c.aud) {
		c.tok.Audience = c.aud[:copy(c.aud[:], aud):n]
	} else {
		c.tok.Audience = cloneInto(aud, sp.aud)
	}
	c.res.Token = &c.tok
}

// fromMemo fills c with a copy of m's Result, its slices its own, and returns it.
func (c *resultCopy) fromMemo(m *decisionMemo, sp spill) *Result {
	*c = m.out
	c.setAudience(c.tok.Audience, sp)
	c.res.SessionTags = cloneInto(c.res.SessionTags, sp.tags)
	c.res.TransitiveTagKeys = cloneInto(c.res.TransitiveTagKeys, sp.keys)
	return &c.res
}

// fromFull fills c with a copy of the full path's res and tok and returns it. res's slices
// are the evaluation's own (parsed for it) and are kept; the Audience is copied.
func (c *resultCopy) fromFull(res *Result, tok *Token, sp spill) *Result {
	c.res, c.tok = *res, *tok
	c.setAudience(tok.Audience, sp)
	return &c.res
}

// remember memoises the Allow decision ev made for req with role, when everything it
// depended on is covered (see decisionMemo).
func (v *Verifier) remember(ev *evaluation, req *Request, role *Role) {
	tr := &ev.trace
	if tr.entry == nil || !tr.stamped || !tr.keys.Holds(ev.vt.key) {
		return
	}
	if tr.epoch&1 != 0 {
		return // a change of the account was being published around the lookups
	}
	// The policy's keys were judged for the previous memo of the token when it has the same
	// policy and provider (an *iam.Registry's policies and providers are immutable).
	if prev := tr.entry.memo.Load(); prev == nil || prev.policy != role.TrustPolicy || prev.route.p != ev.vt.route.p {
		if !memoisable(role.TrustPolicy, &ev.vt.route) {
			return
		}
	}
	a, n := len(req.RoleARN), len(req.RoleSessionName)
	tok := &tr.entry.v.tok
	m := &decisionMemo{
		epoch:           tr.epoch,
		keys:            tr.keys,
		durationSeconds: int32(req.DurationSeconds), // checkRequest bounds it
		arnLen:          int32(a),                   // and these
		sessionNameLen:  int32(n),
		route:           ev.vt.route,
		policy:          role.TrustPolicy,
	}
	if a+n+len(req.SourceIP) <= len(m.inline) {
		b := m.inline[:0]
		b = append(append(append(b, req.RoleARN...), req.RoleSessionName...), req.SourceIP...)
		m.request = unsafe.String(&m.inline[0], len(b)) // never written again
	} else {
		m.request = concat(req.RoleARN, req.RoleSessionName, req.SourceIP)
	}
	part, acct, ok := parseARN(m.request[:a]) // checkRequest's parse: it passed
	m.partitionAt, m.accountAt = spanIn(m.request, part), spanIn(m.request, acct)
	if !ok || m.partition() != part || m.account() != acct || !m.setTimes(tok, v.leeway, v.maxLifetime) {
		return
	}
	// Own copies: the request's strings may sit in a caller's larger buffer, and the Result
	// handed to this caller shares its slices.
	o := &m.out
	o.res, o.tok = ev.res, *tok
	o.res.Token = nil
	o.res.RoleARN, o.res.RoleSessionName = m.request[:a], m.request[a:a+n]
	o.res.SessionTags = slices.Clone(o.res.SessionTags)
	o.res.TransitiveTagKeys = slices.Clone(o.res.TransitiveTagKeys)
	if k := len(tok.Audience); k <= len(o.aud) {
		o.tok.Audience = o.aud[:copy(o.aud[:], tok.Audience):k]
	} else {
		o.tok.Audience = slices.Clone(tok.Audience)
	}
	m.entry = tr.entry
	v.tokens.setMemo(tr.entry, m)
}

// spanIn returns where sub, a substring of s (or empty), sits in s: sub is
// s[at[0]:at[1]]. checkRequest bounds the ARNs it is used for to 2048 bytes.
func spanIn(s, sub string) (at [2]uint16) {
	if len(sub) == 0 {
		return at
	}
	i := int(uintptr(unsafe.Pointer(unsafe.StringData(sub))) - uintptr(unsafe.Pointer(unsafe.StringData(s))))
	return [2]uint16{uint16(i), uint16(i + len(sub))}
}

// concat returns the strings one after the other, always in a new string of its own (+ may
// return an operand as it is, which would pin a caller's buffer).
func concat(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n)
	for _, p := range parts {
		b.WriteString(p)
	}
	return b.String()
}

// memoisable reports whether every condition key of p is answered (by condContext.Values)
// from the token, the request or the provider r alone: not from the clock, and nothing
// unknown. It mirrors Values' dispatch.
func memoisable(p *policy.Policy, r *route) bool {
	for _, key := range p.Keys() {
		if !fixedKey(key, r) {
			return false
		}
	}
	return true
}

// fixedKey reports whether condContext.Values answers key (canonical, lower-case) from the
// token, the request or the provider only.
func fixedKey(key string, r *route) bool {
	if rest, ok := strings.CutPrefix(key, r.prefix); ok && len(rest) > 0 && rest[0] == ':' {
		switch claim := rest[1:]; claim {
		case "sub", "azp", "aud", "oaud", "amr":
			return true
		default:
			if r.kind == kindGitHub {
				id := claimIndex(claim)
				return id >= cActor && id < claimCount
			}
			return false
		}
	}
	switch key {
	case "sts:rolesessionname", "sts:sourceidentity", "aws:sourceip", "aws:federatedprovider",
		"aws:tagkeys", "sts:transitivetagkeys":
		return true
	case "aws:currenttime", "aws:epochtime":
		return false
	}
	return strings.HasPrefix(key, "aws:requesttag/")
}
