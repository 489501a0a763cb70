package verifier

import (
	"slices"
	"strings"
	"time"

	"github.com/webidentity/webidentity/iam"
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
//     provider and role lookups that produced the decision;
//   - the keys: the key cache still serves the stamped key set, without a refresh due (which
//     also covers the thumbprint check, made against that set's chains and the provider's
//     pins);
//   - the request: every field that reaches the decision or the Result is byte-identical;
//   - time: exp, nbf and the maximum lifetime are checked on every use, and a policy whose
//     conditions read anything but the token, the request and the provider is never
//     memoised (memoisable).
//
// It is immutable once published in its cacheEntry.
type decisionMemo struct {
	// What a use reads first, together (the first line): the checks, the request's
	// lengths; then the request and the token's times.
	epoch                  uint64
	keys                   jwks.Stamp
	durationSeconds        int32 // checkRequest bounds it (900..43200)
	arnLen, sessionNameLen int32 // of RoleARN and RoleSessionName, the first parts of request
	// request is the request's RoleARN, RoleSessionName and SourceIP, one after the other
	// in one string (read in one go); out.res.RoleARN and RoleSessionName point into it.
	request       string
	exp, nbf, iat time.Time         // the token's
	provider      *iam.OIDCProvider // for the observer
	// out is what each caller gets a copy of (see result), laid out as it is copied: the
	// Result, then its Token (the cache entry's, Audience in out.aud or cloned), whose
	// slices are the memo's own. out.res.Token is nil: each copy points at its own.
	out callerResult
}

// sameRequest reports whether req's fields that reach the decision or the Result are
// byte-identical to those the memo was made for (the token is the entry's).
func (m *decisionMemo) sameRequest(req *Request) bool {
	a, n := int(m.arnLen), int(m.sessionNameLen)
	return len(req.RoleARN) == a && len(req.RoleSessionName) == n && len(req.SourceIP) == len(m.request)-a-n &&
		req.DurationSeconds == int(m.durationSeconds) && req.ProviderID == "" &&
		m.request[:a] == req.RoleARN && m.request[a:a+n] == req.RoleSessionName && m.request[a+n:] == req.SourceIP
}

// memoTrace is what a decision needs to be memoised, gathered along the full path: the
// registry epoch read before the lookups, and the key stamp taken before the key lookups.
type memoTrace struct {
	epoch   uint64
	entry   *cacheEntry // the token-cache entry the decision used (a hit), or nil
	keys    jwks.Stamp
	stamped bool
}

// memoized answers req from the decision memo of its token, or returns nil; partition and
// account are the role ARN's. The caller checks req (checkRequest) before using the answer.
func (v *Verifier) memoized(req *Request, partition, account string) (*decisionMemo, *cacheEntry) {
	if len(req.WebIdentityToken) > maxTokenLen {
		return nil, nil
	}
	e, _ := v.tokens.lookup(req.WebIdentityToken)
	if e == nil {
		return nil, nil
	}
	m := e.memo.Load()
	if m == nil || !m.sameRequest(req) {
		return nil, nil
	}
	if v.epochs.ChangeEpoch(partition, account) != m.epoch || !m.keys.Current() {
		return nil, nil
	}
	if checkTokenTimes(m.exp, m.nbf, m.iat, v.now(), v.leeway, v.maxLifetime) != nil {
		return nil, nil // the full path refuses it, and drops the entry
	}
	return m, e
}

// result returns the caller's own copy of the memoised Result, with a Token of its own: one
// allocation and one copy of out, then the copy's own pointers.
func (m *decisionMemo) result() *Result {
	c := new(callerResult)
	*c = m.out
	c.res.Token = &c.tok
	if n := len(c.tok.Audience); n <= len(c.aud) {
		c.tok.Audience = c.aud[:n:n]
	} else {
		c.tok.Audience = slices.Clone(c.tok.Audience)
	}
	if c.res.SessionTags != nil {
		c.res.SessionTags = slices.Clone(c.res.SessionTags)
	}
	if c.res.TransitiveTagKeys != nil {
		c.res.TransitiveTagKeys = slices.Clone(c.res.TransitiveTagKeys)
	}
	return &c.res
}

// remember memoises the Allow decision ev made for req with role, when everything it
// depended on is covered (see decisionMemo).
func (v *Verifier) remember(ev *evaluation, req *Request, role *Role) {
	tr := &ev.trace
	if tr.entry == nil || !tr.stamped || !tr.keys.Holds(ev.vt.key) || !memoisable(role.TrustPolicy, &ev.vt.route) {
		return
	}
	a, n := len(req.RoleARN), len(req.RoleSessionName)
	tok := &tr.entry.v.tok
	m := &decisionMemo{
		epoch:           tr.epoch,
		keys:            tr.keys,
		durationSeconds: int32(req.DurationSeconds), // checkRequest bounds it
		arnLen:          int32(a),                   // and these
		sessionNameLen:  int32(n),
		request:         concat(req.RoleARN, req.RoleSessionName, req.SourceIP),
		exp:             tok.ExpiresAt,
		nbf:             tok.NotBefore,
		iat:             tok.IssuedAt,
		provider:        ev.vt.route.p,
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
	tr.entry.memo.Store(m)
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
