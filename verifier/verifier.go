package verifier

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
)

// Verifier verifies web identity tokens and decides AssumeRoleWithWebIdentity requests. It is
// safe for concurrent use. Build it with New; Close it to stop the default key cache.
type Verifier struct {
	providers   map[string]*provider // by URL
	roles       RoleSource
	keys        KeySource
	ownCache    *jwks.Cache // the default key cache, closed by Close
	leeway      time.Duration
	maxLifetime time.Duration
	now         func() time.Time
	kids        kidTable
	tokens      *tokenCache // nil when disabled
	observer    Observer    // nil: no events
	issuers     []string    // provider URLs, in Options order, for Prefetch
}

// New validates opts and returns a Verifier. It fails closed: no providers, a provider
// without client IDs or with a bad URL, ARN or algorithm, duplicate providers (or providers
// that differ only in case), a negative MaxTokenLifetime and JWKS options that jwks.New
// refuses are errors. A negative Leeway is not an error: it means no leeway.
//
// With Options.Keys set, New registers in a *jwks.Cache each provider it does not serve yet
// (see Options.Keys), and refuses Provider.Thumbprints and DiscoveryURL that the key source
// would not apply (ErrProviderSettingIgnored) and a jwks.Static for another issuer than a
// provider's (ErrKeySourceIssuer). Other key sources are not asked which issuers they know.
func New(opts Options) (*Verifier, error) {
	if len(opts.Providers) == 0 {
		return nil, errors.New("verifier: no providers")
	}
	if opts.MaxTokenLifetime < 0 {
		return nil, errors.New("verifier: negative MaxTokenLifetime")
	}
	v := &Verifier{
		providers:   make(map[string]*provider, len(opts.Providers)),
		roles:       opts.Roles,
		keys:        opts.Keys,
		leeway:      opts.Leeway,
		maxLifetime: opts.MaxTokenLifetime,
		now:         opts.Now,
		observer:    opts.Observer,
	}
	for _, p := range opts.Providers {
		pp, err := newProvider(p)
		if err != nil {
			return nil, err
		}
		if v.providers[p.URL] != nil {
			return nil, fmt.Errorf("verifier: provider %q registered twice", p.URL)
		}
		for _, other := range v.providers {
			if other.prefix == pp.prefix {
				return nil, fmt.Errorf("verifier: providers %q and %q differ only in case: condition keys are case-insensitive, so their keys would collide", other.URL, p.URL)
			}
		}
		v.providers[p.URL] = pp
		v.issuers = append(v.issuers, p.URL)
	}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case opts.TokenCacheSize == 0:
		v.tokens = newTokenCache(DefaultTokenCacheSize)
	case opts.TokenCacheSize > 0:
		v.tokens = newTokenCache(opts.TokenCacheSize)
	}
	if v.keys == nil {
		// The default key cache: JWKS's own Issuers (static keys, pins) first, then every
		// provider it does not name, registered by setupKeys as for a caller's jwks.Cache.
		jo := opts.JWKS
		if jo.Now == nil {
			jo.Now = opts.Now
		}
		c, err := jwks.New(jo)
		if err != nil {
			return nil, fmt.Errorf("verifier: key cache: %w", err)
		}
		v.keys, v.ownCache = c, c
	}
	if err := v.setupKeys(&opts); err != nil {
		_ = v.Close()
		return nil, err
	}
	return v, nil
}

// Close stops the default key cache, if New started one. Verification after Close fails for
// keys that are not already cached.
func (v *Verifier) Close() error {
	if v.ownCache != nil {
		return v.ownCache.Close()
	}
	return nil
}

// verified is a token that passed every check, with what the decision needs.
type verified struct {
	tok      Token
	prov     *provider // set as soon as the token is routed, so also on later refusals
	key      *jwks.Key // pointer identity: still current while the key source returns it
	audBuf   [2]string // backing for tok.Audience when it has one or two values
	cacheHit bool      // found in the verified-token cache
}

// fixAudience points tok.Audience at v's own audBuf after v was copied, so that a copy never
// refers to (and keeps alive) the original's buffer.
func (v *verified) fixAudience() {
	if n := len(v.tok.Audience); n <= len(v.audBuf) {
		v.tok.Audience = v.audBuf[:n]
	}
}

// Verify checks a token's shape, header, signature and registered claims against the
// registered providers and returns it. It does not look at roles or policies. Errors are
// *Error. It is safe for concurrent use.
//
// Not checked: jti replay, and any claim this package does not name (read them with
// Token.Claim).
func (v *Verifier) Verify(ctx context.Context, token string) (*Token, error) {
	var start time.Time
	if v.observer != nil {
		start = time.Now() // latency on the monotonic clock, not v.now
	}
	vt := new(verified)
	e := v.verify(ctx, token, v.now(), vt)
	if v.observer != nil {
		v.observe(ctx, OpVerify, start, vt, e)
	}
	if e != nil {
		return nil, e
	}
	return &vt.tok, nil
}

// verify fills out from token, using the verified-token cache when it can.
func (v *Verifier) verify(ctx context.Context, token string, now time.Time, out *verified) *Error {
	c, e := splitCompact(token)
	if e != nil {
		return e
	}
	var h uint64
	if v.tokens != nil {
		var hit *cacheEntry
		hit, h = v.tokens.lookup(token)
		if hit != nil && !v.current(ctx, hit) {
			v.tokens.lru.Remove(h) // its key is gone: verify from scratch
			hit = nil
		}
		if hit != nil {
			*out = hit.v
			out.fixAudience()
			out.cacheHit = true
			cl := claims{exp: out.tok.ExpiresAt, nbf: out.tok.NotBefore, iat: out.tok.IssuedAt}
			if e := checkTimes(&cl, now, v.leeway, v.maxLifetime); e != nil {
				v.tokens.lru.Remove(h)
				return e
			}
			v.tokens.hits.Add(1)
			return nil
		}
	}
	if e := v.verifyFull(ctx, &c, now, out); e != nil {
		return e
	}
	if v.tokens != nil {
		v.tokens.store(h, token, out)
	}
	return nil
}

// verifyFull runs every check on a token that splitCompact accepted.
func (v *Verifier) verifyFull(ctx context.Context, c *compact, now time.Time, out *verified) *Error {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)

	// One copy of the token into scratch memory, then the decoded parts after it.
	tok := c.token
	need := len(tok) + decodedLen(c.dot1) + decodedLen(c.dot2-c.dot1-1) + decodedLen(len(tok)-c.dot2-1)
	buf := grow(sc.buf[:0], need)[:0]
	buf = append(buf, tok...)
	raw := buf
	input := raw[:c.dot2]
	buf, hdr, err := decodeInto(buf, raw[:c.dot1])
	if err != nil {
		return segmentError(raw[:c.dot1], err)
	}
	buf, pay, err := decodeInto(buf, raw[c.dot1+1:c.dot2])
	if err != nil {
		return segmentError(raw[c.dot1+1:c.dot2], err)
	}
	buf, sig, err := decodeInto(buf, raw[c.dot2+1:])
	if err != nil {
		return segmentError(raw[c.dot2+1:], err)
	}
	sc.buf = buf

	r := &sc.reader
	hd, e := parseHeader(r, hdr)
	if e != nil {
		return e
	}
	cl, e := parseClaims(r, pay)
	if e != nil {
		return e
	}

	// Route by the unverified iss: only a registered provider's own keys may verify.
	issSpan := cl.spans[cIss]
	var p *provider
	if issSpan.esc {
		p = v.providers[string(unescape(nil, pay[issSpan.start:issSpan.end]))]
	} else {
		p = v.providers[string(pay[issSpan.start:issSpan.end])]
	}
	if p == nil {
		return errorf(ReasonUnknownIssuer, "iss is not a registered provider")
	}
	out.prov = p
	if !p.algs[hd.alg] {
		return errorf(ReasonAlgorithm, "alg is not allowed for the provider")
	}
	alg := algorithms[hd.alg]
	if hd.typ.kind != kindNone {
		typ := hdr[hd.typ.start:hd.typ.end]
		if hd.typ.esc {
			typ = unescape(nil, typ)
		}
		if !p.typeAllowed(typ) {
			return errorf(ReasonType, "typ is not allowed for the provider")
		}
	}

	var kid string
	if hd.kid.kind != kindNone {
		if hd.kid.esc {
			kid = string(unescape(nil, hdr[hd.kid.start:hd.kid.end]))
		} else {
			kid = v.kids.kid(hdr[hd.kid.start:hd.kid.end])
		}
	}
	key, e := v.verifySignature(ctx, p.URL, kid, hd.kid.kind != kindNone, alg, input, sig, &sc.sig)
	if e != nil {
		return e
	}

	if e := checkTimes(&cl, now, v.leeway, v.maxLifetime); e != nil {
		return e
	}

	// The token is genuine: keep the payload as a string and point the claims into it.
	payload := string(pay)
	t := &out.tok
	*t = Token{
		Issuer:    p.URL,
		Subject:   stringValue(payload, cl.spans[cSub]),
		ExpiresAt: cl.exp,
		NotBefore: cl.nbf,
		IssuedAt:  cl.iat,
		Algorithm: alg.name,
		KeyID:     kid,
		Claims:    payload,
		spans:     cl.spans,
	}
	if sp := cl.spans[cAzp]; sp.kind == kindString {
		t.AuthorizedParty = stringValue(payload, sp)
	}
	if e := out.setAudience(p); e != nil {
		return e
	}
	out.key = key
	if kid != "" {
		v.kids.intern(kid)
	}
	return nil
}

// verifySignature finds the key and checks the signature, with at most one signature check
// whatever the token, so that a forged token never costs more than a genuine one. A token with
// kid uses the provider's key with that kid (or, when that key's type does not fit alg, the
// sibling under the same kid that does: RFC 7517 section 4.5). A token without kid uses the
// provider's one key that fits alg; when several fit it is refused unchecked with
// ReasonKidRequired, rather than trying each (RFC 7515 makes kid a hint, not a requirement, so
// the issuer is not at fault, but one signature check per token is the rule here).
func (v *Verifier) verifySignature(ctx context.Context, iss, kid string, hasKid bool, alg *algorithm, input, sig []byte, ss *sigScratch) (*jwks.Key, *Error) {
	var key *jwks.Key
	if hasKid {
		k, err := v.keys.Key(ctx, iss, kid)
		if err != nil {
			return nil, keySourceError(err)
		}
		if k == nil {
			return nil, errorf(ReasonUnknownKey, "the key source returned no key for kid")
		}
		key = k
		if err := fits(k, alg); err != nil {
			// RFC 7517 section 4.5 lets one kid name keys of different types (equivalent
			// alternatives); Key returns the first. Look for a sibling under the same kid that
			// fits alg before refusing.
			key = v.siblingKey(ctx, iss, kid, k, alg)
			if key == nil {
				return nil, newError(ReasonKeyMismatch, err)
			}
		}
	} else {
		keys, err := v.keys.Keys(ctx, iss)
		if err != nil {
			return nil, keySourceError(err)
		}
		// Member reads only (the key's facts were derived when jwks parsed it): a walk past
		// many keys of other types or curves costs no derivation and no signature check.
		for _, k := range keys {
			if k == nil || !canVerify(k, alg) {
				continue
			}
			if key != nil {
				return nil, errorf(ReasonKidRequired, "token without kid; several of the provider's keys fit alg")
			}
			key = k
		}
		if key == nil {
			return nil, errorf(ReasonUnknownKey, "token without kid; no key of the provider fits alg")
		}
	}
	if err := verifySignature(alg, key.Public(), input, sig, ss); err != nil {
		return nil, newError(ReasonBadSignature, err)
	}
	return key, nil
}

// siblingKey returns another of the issuer's current keys with the same kid as first that fits
// alg, or nil. It runs only when the key for kid does not fit alg, off the common path.
func (v *Verifier) siblingKey(ctx context.Context, iss, kid string, first *jwks.Key, alg *algorithm) *jwks.Key {
	keys, err := v.keys.Keys(ctx, iss)
	if err != nil {
		return nil
	}
	for _, k := range keys {
		if k == nil || k == first || k.KeyID() != kid {
			continue
		}
		if canVerify(k, alg) {
			return k
		}
	}
	return nil
}

// setAudience fills tok.Audience and checks that one value is a client ID of the provider
// (for accounts.google.com, azp may be the client ID instead).
func (out *verified) setAudience(p *provider) *Error {
	t := &out.tok
	sp := t.spans[cAud]
	match := false
	switch sp.kind {
	case kindNone:
		return errorf(ReasonMissingClaim, "claim aud is missing")
	case kindString:
		a := stringValue(t.Claims, sp)
		out.audBuf[0] = a
		t.Audience = out.audBuf[:1]
		_, match = p.clientIDs[a]
	case kindArray:
		t.Audience = out.audBuf[:0]
		stringArray([]byte(t.Claims), sp, func(el span) {
			a := stringValue(t.Claims, el)
			t.Audience = append(t.Audience, a)
			if _, ok := p.clientIDs[a]; ok {
				match = true
			}
		})
	}
	if !match && p.kind == kindGoogle && t.AuthorizedParty != "" {
		_, match = p.clientIDs[t.AuthorizedParty]
	}
	if !match {
		return errorf(ReasonAudience, "no aud value is a client ID of the provider")
	}
	return nil
}

// Result is the outcome of AssumeRoleWithWebIdentity. Callers may construct one.
type Result struct {
	// Provider is the provider's URL (the token's iss); ProviderPrincipal is how the trust
	// policy named it (its ARN, or the domain of a well-known issuer).
	Provider, ProviderPrincipal string
	// RoleARN and RoleSessionName are the request's.
	RoleARN, RoleSessionName string
	// Subject is the token's sub.
	Subject string
	// Audience is the client ID the token was accepted for.
	Audience string
	// Token is the verified token. Treat it as read-only: it may be shared with the
	// verified-token cache.
	Token *Token
	// SessionTags and TransitiveTagKeys come from the https://aws.amazon.com/tags claim.
	SessionTags       []Tag
	TransitiveTagKeys []string
	// SourceIdentity comes from the https://aws.amazon.com/source_identity claim.
	SourceIdentity string
	// Duration is the granted session length.
	Duration time.Duration
	// Decision is the trust policy's decision for sts:AssumeRoleWithWebIdentity (or, when the
	// request is refused for tags or source identity, for sts:TagSession or
	// sts:SetSourceIdentity): which statement decided and why.
	Decision policy.Decision
}

// PolicyDenial is the detail error wrapped in an AccessDenied *Error when the trust policy
// refuses an action. Its text names the statement and condition, never request values, so it
// is safe to log.
type PolicyDenial struct {
	Action   string
	Decision policy.Decision
}

func (d *PolicyDenial) Error() string {
	return "verifier: trust policy: " + d.Action + ": " + d.Decision.Effect.String() + ": " + d.Decision.Reason
}

// The policy actions AssumeRoleWithWebIdentity needs.
const (
	ActionAssumeRoleWithWebIdentity = "sts:AssumeRoleWithWebIdentity"
	ActionTagSession                = "sts:TagSession"
	ActionSetSourceIdentity         = "sts:SetSourceIdentity"
)

// evaluation is everything one AssumeRoleWithWebIdentity call needs, allocated at once.
type evaluation struct {
	res  Result
	vt   verified
	cc   condContext
	preq policy.Request
}

// AssumeRoleWithWebIdentity decides an STS AssumeRoleWithWebIdentity request: request
// parameters, then the token (as Verify), then its session tags and source identity claims,
// then the role's trust policy for
// sts:AssumeRoleWithWebIdentity with the provider as Federated principal, plus sts:TagSession
// when the token carries session tags and sts:SetSourceIdentity when it carries a source
// identity, and finally DurationSeconds against the role's maximum. Errors are *Error. When the
// trust policy refuses, the Result is returned too, so that its Decision can be logged; never
// show it to the caller. It is safe for concurrent use.
func (v *Verifier) AssumeRoleWithWebIdentity(ctx context.Context, req *Request) (*Result, error) {
	var start time.Time
	if v.observer != nil {
		start = time.Now() // latency on the monotonic clock, not v.now
	}
	res, ev, e := v.assume(ctx, req)
	if v.observer != nil {
		var vt *verified
		if ev != nil {
			vt = &ev.vt
		}
		v.observe(ctx, OpAssumeRoleWithWebIdentity, start, vt, e)
	}
	if e != nil {
		return res, e
	}
	return res, nil
}

// assume is AssumeRoleWithWebIdentity without the observer. ev is nil when the request was
// refused before its token was looked at; res is set on success and on policy denials.
func (v *Verifier) assume(ctx context.Context, req *Request) (res *Result, ev *evaluation, e *Error) {
	if req == nil {
		return nil, nil, newError(ReasonRoleARN, errors.New("verifier: nil request"))
	}
	if e := checkRequest(req); e != nil {
		return nil, nil, e
	}
	now := v.now()
	ev = new(evaluation)
	if e := v.verify(ctx, req.WebIdentityToken, now, &ev.vt); e != nil {
		return nil, ev, e
	}
	tok, p := &ev.vt.tok, ev.vt.prov
	res = &ev.res
	res.Provider, res.ProviderPrincipal = p.URL, p.principal
	res.RoleARN, res.RoleSessionName = req.RoleARN, req.RoleSessionName
	res.Subject = tok.Subject
	res.Audience = matchedAudience(tok, p)
	res.Token = tok

	// The session claims are judged before the role is looked up, so that their errors cannot
	// tell a caller which roles exist.
	cc := &ev.cc
	cc.tok, cc.prov, cc.req, cc.now = tok, p, req, now
	if sp := tok.spans[cTags]; sp.kind != kindNone {
		st, e := parseSessionTags(tok.Claims, sp)
		if e != nil {
			return nil, ev, e
		}
		cc.tags = st
		res.SessionTags, res.TransitiveTagKeys = st.tags, st.transitive
	}
	if sp := tok.spans[cSourceIdentity]; sp.kind != kindNone {
		si, e := parseSourceIdentity(tok.Claims, sp)
		if e != nil {
			return nil, ev, e
		}
		cc.sourceIdentity, res.SourceIdentity = si, si
	}

	if v.roles == nil {
		return nil, ev, errorf(ReasonUnknownRole, "no role source")
	}
	role, err := v.roles.Role(ctx, req.RoleARN)
	if err != nil || role == nil {
		if err == nil {
			err = ErrRoleNotFound
		}
		return nil, ev, newError(ReasonUnknownRole, err)
	}

	if role.TrustPolicy == nil {
		return nil, ev, errorf(ReasonDenied, "role has no trust policy")
	}
	ev.preq = policy.Request{
		Action:    ActionAssumeRoleWithWebIdentity,
		Principal: policy.Principal{Type: "Federated", ID: p.principal},
		Resource:  req.RoleARN,
		Context:   cc,
	}
	if e := v.decide(role, ev, ActionAssumeRoleWithWebIdentity, ReasonDenied); e != nil {
		return res, ev, e
	}
	allowed := res.Decision
	if cc.tags != nil {
		if e := v.decide(role, ev, ActionTagSession, ReasonTagSessionDenied); e != nil {
			return res, ev, e
		}
	}
	if cc.sourceIdentity != "" {
		if e := v.decide(role, ev, ActionSetSourceIdentity, ReasonSourceIdentityDenied); e != nil {
			return res, ev, e
		}
	}
	res.Decision = allowed
	d, ok := grantDuration(req, role)
	if !ok {
		return nil, ev, errorf(ReasonDuration, "DurationSeconds exceeds the role's maximum session duration")
	}
	res.Duration = d
	return res, ev, nil
}

// decide evaluates the trust policy for action and records the decision.
func (v *Verifier) decide(role *Role, ev *evaluation, action string, denied Reason) *Error {
	ev.preq.Action = action
	ev.res.Decision = role.TrustPolicy.Evaluate(&ev.preq)
	if ev.res.Decision.Effect != policy.Allow {
		return newError(denied, &PolicyDenial{Action: action, Decision: ev.res.Decision})
	}
	return nil
}

// matchedAudience returns the client ID the token was accepted for.
func matchedAudience(t *Token, p *provider) string {
	for _, a := range t.Audience {
		if _, ok := p.clientIDs[a]; ok {
			return a
		}
	}
	return t.AuthorizedParty // accounts.google.com: accepted for azp
}
