package verifier

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/prefetch"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
)

// Verifier verifies web identity tokens and decides AssumeRoleWithWebIdentity requests. It is
// safe for concurrent use. Build it with New; Close it to stop the default key cache and its
// watch of the registry.
type Verifier struct {
	providers ProviderSource
	// static: for Verify without an account, the static Providers by URL (a nil value: the
	// URL is registered in several accounts). nil with a ProviderSource.
	static map[string]*iam.OIDCProvider
	// global: well-known issuers given without ARN (accounts.google.com,
	// cognito-identity.amazonaws.com), valid in every account, as STS treats them.
	global   map[string]*iam.OIDCProvider
	settings map[string]*issuerSettings // by URL, from static Providers; nil: defaults
	roles    RoleSource
	keys     KeySource
	thumbs   ThumbprintChecker // keys, when it can check thumbprints
	ownCache *jwks.Cache       // the default key cache, closed by Close
	// ownSource: providers is an *iam.Registry, whose lookups keep nothing of their
	// arguments (so the hot path may pass them strings into scratch memory).
	ownSource bool
	// hintProviders and hintRoles are the provider and role sources when they are
	// *iam.Registry values (else nil), and hintKeys the key cache: the full path asks them for
	// prefetch hints (see hints), which change no result.
	hintProviders, hintRoles *iam.Registry
	hintKeys                 *jwks.Cache

	// cache is keys as a *jwks.Cache (the default one or the caller's): issuers are registered
	// in it when a provider of theirs is first used, and dropped when the registry reports
	// their last provider gone (only those this verifier registered).
	cache      *jwks.Cache
	discovery  map[string]string // static DiscoveryURL by issuer
	regMu      sync.Mutex
	registered map[string]bool
	stopWatch  func()

	leeway      time.Duration
	maxLifetime time.Duration
	now         func() time.Time
	realClock   bool // now is time.Now (Options.Now was nil)
	kids        kidTable
	tokens      *tokenCache // nil when disabled
	// epochs and stamps, both set only with a token cache, enable the decision memo (see
	// decisionMemo and memoSource): the registry that is both ProviderSource and Roles, for
	// its change epochs, and the key cache's stamps.
	epochs   *iam.Registry
	stamps   keyStamper
	observer Observer // nil: no events
	issuers  []string // static provider URLs, in Options order, for Prefetch
}

// New validates opts and returns a Verifier. It fails closed: neither or both of
// ProviderSource and Providers, a static provider without client IDs or with a bad URL, ARN
// or algorithm, a provider registered twice in one account, two providers of one URL asking
// for different Algorithms or Types, a negative MaxTokenLifetime and JWKS options that
// jwks.New refuses are errors. A negative Leeway is not an error: it means no leeway.
//
// With Options.Keys set, New registers in a *jwks.Cache each static provider's issuer it
// does not serve yet (see Options.Keys), and refuses Provider.Thumbprints and DiscoveryURL that
// the key source would not apply (ErrProviderSettingIgnored) and a jwks.Static for another
// issuer than a static provider's (ErrKeySourceIssuer).
func New(opts Options) (*Verifier, error) {
	switch {
	case opts.ProviderSource == nil && len(opts.Providers) == 0:
		return nil, errors.New("verifier: no providers (set Options.ProviderSource or Options.Providers)")
	case opts.ProviderSource != nil && len(opts.Providers) > 0:
		return nil, errors.New("verifier: Options.ProviderSource and Options.Providers are both set: put the static providers in the source")
	}
	if opts.MaxTokenLifetime < 0 {
		return nil, errors.New("verifier: negative MaxTokenLifetime")
	}
	v := &Verifier{
		providers:   opts.ProviderSource,
		roles:       opts.Roles,
		keys:        opts.Keys,
		leeway:      opts.Leeway,
		maxLifetime: opts.MaxTokenLifetime,
		now:         opts.Now,
		observer:    opts.Observer,
		registered:  map[string]bool{},
	}
	if v.providers == nil {
		if err := v.fillStatic(opts.Providers); err != nil {
			return nil, err
		}
	}
	v.hintProviders, v.ownSource = v.providers.(*iam.Registry)
	v.hintRoles, _ = v.roles.(*iam.Registry)
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	if v.now == nil {
		v.now, v.realClock = time.Now, true
	}
	switch {
	case opts.TokenCacheSize == 0:
		v.tokens = newTokenCache(DefaultTokenCacheSize)
	case opts.TokenCacheSize > 0:
		v.tokens = newTokenCache(opts.TokenCacheSize)
	}
	if v.keys == nil {
		// The default key cache: JWKS's own Issuers (static keys, pins) first, then every
		// issuer it does not name, registered by setupKeys or when first used.
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
	v.thumbs, _ = v.keys.(ThumbprintChecker)
	if v.tokens != nil && v.static == nil {
		if v.epochs = memoSource(v.providers, v.roles); v.epochs != nil {
			// The key source must be a *jwks.Cache itself, as the registry must be an
			// *iam.Registry (memoSource): a type embedding one inherits Stamp by method
			// promotion, but its own Key may refuse a key (revoked, say) while the cache's
			// stamp stands still, and the memo would go on answering with it.
			if c, ok := v.keys.(*jwks.Cache); ok && c != nil {
				v.stamps = c
			} else {
				v.epochs = nil
			}
		}
	}
	if err := v.setupKeys(&opts); err != nil {
		_ = v.Close()
		return nil, err
	}
	v.hintKeys = v.cache
	if w, ok := v.providers.(watcher); ok && v.cache != nil && opts.ProviderSource != nil {
		v.stopWatch = w.Watch(func(c iam.Change) {
			if len(c.IssuersRemoved) > 0 {
				v.unregister(c.IssuersRemoved...)
			}
		})
	}
	return v, nil
}

// fillStatic builds the registry of static providers.
func (v *Verifier) fillStatic(providers []Provider) error {
	reg := iam.New(iam.Options{MaxOIDCProvidersPerAccount: -1, AllowURLPort: true})
	v.providers = reg
	v.static = make(map[string]*iam.OIDCProvider, len(providers))
	for i := range providers {
		p := &providers[i]
		set, err := checkStatic(p)
		if err != nil {
			return err
		}
		if _, seen := v.static[p.URL]; seen {
			if !v.settings[p.URL].same(set) {
				return fmt.Errorf("verifier: providers of %q ask for different Algorithms or Types: they are the issuer's, so set them alike", p.URL)
			}
			if d := v.discovery[p.URL]; d != p.DiscoveryURL {
				return fmt.Errorf("verifier: providers of %q have different DiscoveryURLs: it is the issuer's, so set it alike", p.URL)
			}
		} else {
			v.issuers = append(v.issuers, p.URL)
			if set != nil {
				if v.settings == nil {
					v.settings = map[string]*issuerSettings{}
				}
				v.settings[p.URL] = set
			}
			if p.DiscoveryURL != "" {
				if v.discovery == nil {
					v.discovery = map[string]string{}
				}
				v.discovery[p.URL] = p.DiscoveryURL
			}
		}
		ip := &iam.OIDCProvider{ARN: p.ARN, URL: p.URL, ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints}
		if p.ARN == "" { // a well-known issuer, valid in every account
			if v.global[p.URL] != nil {
				return fmt.Errorf("verifier: provider %q registered twice", p.URL)
			}
			ip.Account = globalAccount
			g, err := iam.NewOIDCProvider(ip)
			if err != nil {
				return fmt.Errorf("verifier: provider %q: %w", p.URL, err)
			}
			if v.global == nil {
				v.global = map[string]*iam.OIDCProvider{}
			}
			v.global[p.URL] = g
			if _, seen := v.static[p.URL]; seen {
				v.static[p.URL] = nil // also in an account: Verify cannot choose, whatever the order
			} else {
				v.static[p.URL] = g
			}
			continue
		}
		stored, err := reg.CreateOIDCProvider(ip)
		if err != nil {
			if errors.Is(err, iam.ErrEntityAlreadyExists) {
				return fmt.Errorf("verifier: provider %q registered twice", p.ARN)
			}
			return fmt.Errorf("verifier: provider %q: %w", p.URL, err)
		}
		if _, seen := v.static[p.URL]; seen {
			v.static[p.URL] = nil // in several accounts: Verify needs one
		} else {
			v.static[p.URL] = stored
		}
	}
	return nil
}

// globalAccount stands in for the account of a well-known issuer's provider, which belongs to
// every account; it never leaves the verifier (the principal is the issuer's domain).
const globalAccount = "000000000000"

// Close stops the default key cache, if New started one, and the watch of the registry.
// Verification after Close fails for keys that are not already cached.
func (v *Verifier) Close() error {
	if v.stopWatch != nil {
		v.stopWatch()
	}
	if v.ownCache != nil {
		return v.ownCache.Close()
	}
	return nil
}

// route is the provider a request uses, with what the hot path reads of it.
type route struct {
	p         *iam.OIDCProvider
	principal string // the Federated principal: the ARN, or a well-known issuer's domain
	prefix    string // condition-key prefix (iam.OIDCProvider.KeyPrefix)
	kind      providerKind
	set       *issuerSettings
}

// selector says whose provider a call uses.
type selector struct {
	partition, account string
	url                string // from a provider ARN: the token's iss must be this
	static             bool   // Verify: the one static provider of the token's iss
	// role is the prepared lookup of the role AssumeRoleWithWebIdentity looks up once the
	// token is judged, when the role source is an *iam.Registry (nil otherwise, and for
	// Verify): the hints and the lookup share its parse and hash of the ARN.
	role *iam.RoleLookup
	// own says the call hands its caller a Result of its own (AssumeRoleWithWebIdentity);
	// then the full path allocates that Result's copy together with the payload's bytes
	// (see payload), into result.
	own    bool
	result *resultCopy
}

// hints are the prefetch hints of the full path (see iam.Registry.PrefetchRole,
// iam.Registry.PrefetchOIDCProvider, jwks.Cache.PrefetchKey): at full size the memory a
// decision reads beyond the signature check is tens of cache lines in three chains, each
// line cold (provider slot, record, its strings; the issuer's key state, snapshot, key; the
// role's slot, record, trust policy). Each step asks each chain for its next link, so that
// their misses overlap, and the last links are asked for before the signature check, which
// hides them. The sources are asked only when they are our own (*iam.Registry, *jwks.Cache),
// whose hints read nothing that could block and change no result.
//
// The chains are prepared lookups (iam.ProviderLookup, iam.RoleLookup, jwks.KeyLookup): the
// provider key, the role ARN and the issuer are parsed, hashed and looked up once for every
// step and for the lookups that follow (selectProvider, the role, the cached key), which
// answer as the sources do at the time they are made. A zero lookup hints nothing.
type hints struct {
	sel  *selector
	prov iam.ProviderLookup // zero unless the provider chain applies (not Verify's static providers)
	key  jwks.KeyLookup     // zero without our own key cache
	// keyIss is the issuer key was prepared for ("" for none): the cached key is looked up
	// through key only for that issuer.
	keyIss string
}

// step asks each chain for link depth (the provider and key chains) and depth+1 (the role
// chain, which the request's start began).
func (h *hints) step(depth int) {
	h.prov.Prefetch(depth)
	if h.sel.role != nil {
		h.sel.role.Prefetch(depth + 1)
	}
	h.key.Prefetch(depth)
}

// selectProvider fills r with the provider sel picks for the token's (unverified) iss, or
// refuses: no provider there (InvalidIdentityToken, worded as STS words it), a source failure.
func (v *Verifier) selectProvider(sel *selector, iss string, r *route) *Error {
	return v.selectProviderVia(sel, iss, r, nil)
}

// selectProviderVia is selectProvider looking the provider up through pl when it is not nil:
// the prepared lookup of (sel.partition, sel.account, iss) in v.providers, an *iam.Registry.
func (v *Verifier) selectProviderVia(sel *selector, iss string, r *route, pl *iam.ProviderLookup) *Error {
	var p *iam.OIDCProvider
	principal := ""
	if sel.static {
		var ok bool
		if p, ok = v.static[iss]; !ok {
			return errorf(ReasonUnknownIssuer, "iss is not a registered provider")
		}
		if p == nil {
			return errorf(ReasonUnknownIssuer, "the issuer is registered in several accounts: Verify cannot choose one (use VerifyFor)")
		}
	} else {
		if sel.url != "" && iss != sel.url {
			return noProvider(iss)
		}
		var err error
		if pl != nil {
			p, err = pl.OIDCProvider()
		} else {
			p, err = v.providers.OIDCProvider(sel.partition, sel.account, iss)
		}
		switch {
		case err != nil || p == nil:
			if err != nil && !errors.Is(err, iam.ErrNoSuchEntity) {
				return newError(ReasonSourceFailure, err)
			}
			if p = v.global[iss]; p == nil || sel.url != "" {
				return noProvider(iss)
			}
		case !v.ownSource && (p.URL != iss || p.Account != sel.account || p.Partition != sel.partition):
			// A source of one's own that matched loosely (ignoring case, or another
			// account's provider): STS's key is exact, so this is no provider of the account.
			// (*iam.Registry's lookup is exact: its hit needs no second look, which would
			// read the provider's strings, cold lines, once more.)
			return noProvider(iss)
		}
	}
	principal = p.ARN
	if v.global != nil && v.global[p.URL] == p { // only static providers are global
		if g := wellKnownIssuers[p.URL]; g != "" {
			principal = g
		}
	}
	set := defaultSettings
	if v.settings != nil {
		if s := v.settings[p.URL]; s != nil {
			set = s
		}
	}
	*r = route{p: p, principal: principal, prefix: p.KeyPrefix(), kind: kindOf(p.URL), set: set}
	return nil
}

// scratchString returns b as a string without copying. The string is valid only while b's
// memory is not reused: for a lookup that keeps nothing of it.
func scratchString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// noProvider is STS's refusal of a token whose issuer the account has no provider for. The
// issuer is named as STS names it when it is a plain https URL (it is unverified token
// content, so anything else is left out).
func noProvider(iss string) *Error {
	e := errorf(ReasonUnknownIssuer, "no provider for iss in the account")
	if plainURL(iss) {
		e.Message = "No OpenIDConnect provider found in your account for " + iss
	} else {
		e.Message = "No OpenIDConnect provider found in your account for the token's issuer"
	}
	return e
}

// plainURL reports whether s is https:// followed by at most 255 characters of a host, port
// and path made of letters, digits and . - _ ~ / : (what a provider URL can be), so that
// repeating it to a caller repeats nothing else.
func plainURL(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok || rest == "" || len(s) > iam.MaxURLLength {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_~/:", c) >= 0) {
			return false
		}
	}
	return true
}

// verified is a token that passed every check, with what the decision needs.
type verified struct {
	tok Token
	// spans locates the known claims inside tok.Claims (the parser's); kept beside tok rather
	// than in it, so that the Token each caller gets a copy of stays small.
	spans  claimSpans
	route  route      // set as soon as the token is routed, so also on later refusals
	key    *jwks.Key  // pointer identity: still current while the key source returns it
	alg    *algorithm // the algorithm the signature was checked with
	audBuf [2]string  // backing for tok.Audience when it has one or two values
	// accepted is the client ID admit accepted the token for (an aud value, or azp), when
	// admitted: admit ran for route in this call and passed. A decision the memo vouched
	// for skips admit (and copies a stored verified whose route may be another's).
	accepted string
	admitted bool
	cacheHit bool // found in the verified-token cache
	hasKid   bool // the header has a kid (perhaps an empty one): pickKey's hasKid
}

// fixAudience gives tok.Audience backing of v's own after v was copied (audBuf for one or
// two values, else a clone), so that a copy never shares (nor keeps alive) the original's
// and an edit of one never reaches the other.
func (v *verified) fixAudience() {
	if n := len(v.tok.Audience); n <= len(v.audBuf) {
		v.tok.Audience = v.audBuf[:n:n]
	} else {
		v.tok.Audience = slices.Clone(v.tok.Audience)
	}
}

// VerifyRequest names a token and whose provider verifies it, for VerifyFor.
type VerifyRequest struct {
	// WebIdentityToken is the token (a compact JWS).
	WebIdentityToken string
	// Partition ("aws" if empty) and Account select the provider that the account registers
	// for the token's iss, as AssumeRoleWithWebIdentity does with the role's account.
	Partition, Account string
	// ProviderARN, instead of Partition and Account, selects one provider: the token's iss
	// must be its URL.
	ProviderARN string
}

// Verify checks a token's shape, header, signature and registered claims against the static
// providers (Options.Providers) and returns it: the provider is the one registered for the
// token's iss. A verifier with a ProviderSource, or one whose static providers register the
// token's issuer in several accounts, cannot choose a provider from the token alone: use
// VerifyFor. It does not look at roles or policies. Errors are *Error. It is safe for
// concurrent use.
//
// Not checked: jti replay, and any claim this package does not name (read them with
// Token.Claim).
func (v *Verifier) Verify(ctx context.Context, token string) (*Token, error) {
	if v.static == nil {
		return v.verifyCall(ctx, token, &selector{}, errorf(ReasonUnknownIssuer, "Verify needs static providers; with a ProviderSource use VerifyFor"))
	}
	return v.verifyCall(ctx, token, &selector{static: true}, nil)
}

// VerifyFor checks a token as Verify does, with the provider that req's account registers for
// the token's iss (or the provider req.ProviderARN names): the provider
// AssumeRoleWithWebIdentity would use for a role of that account, with its client IDs and
// thumbprints. An account without a provider for the issuer is InvalidIdentityToken, whatever
// other accounts register. Errors are *Error. It is safe for concurrent use.
func (v *Verifier) VerifyFor(ctx context.Context, req *VerifyRequest) (*Token, error) {
	if req == nil {
		return nil, errorf(ReasonUnknownIssuer, "nil request")
	}
	sel := &selector{partition: req.Partition, account: req.Account}
	if req.ProviderARN != "" {
		part, acct, url, err := iam.ParseOIDCProviderARN(req.ProviderARN)
		if err != nil {
			return nil, newError(ReasonUnknownIssuer, err)
		}
		sel = &selector{partition: part, account: acct, url: url}
	} else if sel.partition == "" {
		sel.partition = "aws"
	}
	return v.verifyCall(ctx, req.WebIdentityToken, sel, nil)
}

// verifyCall is Verify and VerifyFor with the observer; refuse, when set, refuses the call.
func (v *Verifier) verifyCall(ctx context.Context, token string, sel *selector, refuse *Error) (*Token, error) {
	var start time.Time
	if v.observer != nil {
		start = time.Now() // latency on the monotonic clock, not v.now
	}
	vt := new(verified)
	e := refuse
	if e == nil {
		e = v.verify(ctx, token, v.now(), sel, vt, nil)
	}
	if v.observer != nil {
		v.observe(ctx, OpVerify, start, vt, e)
	}
	if e != nil {
		return nil, e
	}
	return &vt.tok, nil
}

// verify fills out from token, using the verified-token cache when it can. The cache holds
// what is the issuer's (signature, claims, the key); what is the provider's (client IDs,
// thumbprints) is checked on every call against the provider sel picks now, unless the
// token's last decision memo vouches for it (decisionMemo.vouches: same account, its
// registry epoch and the key set unchanged since). tr, when non-nil, gathers what a
// decision memo needs (the cache entry, a stamp of the issuer's keys taken before they are
// looked up).
func (v *Verifier) verify(ctx context.Context, token string, now time.Time, sel *selector, out *verified, tr *memoTrace) *Error {
	c, e := splitCompact(token)
	if e != nil {
		return e
	}
	var h uint64
	if v.tokens != nil {
		var hit *cacheEntry
		hit, h = v.tokens.lookup(token)
		if hit != nil && tr != nil {
			tr.entry = hit
			if m := hit.memo.Load(); m != nil && m.vouches(sel, tr.epoch) {
				// The last decision with the token vouches for its provider, key and
				// admission (another session name, say): only the times are checked again.
				tr.keys, tr.stamped = m.keys, true
				*out = hit.v
				out.route = m.route
				out.admitted = false // admitted for the stored copy's route, not for this call
				out.fixAudience()
				out.cacheHit = true
				if e := checkTokenTimes(out.tok.ExpiresAt, out.tok.NotBefore, out.tok.IssuedAt, now, v.leeway, v.maxLifetime); e != nil {
					v.tokens.remove(h)
					return e
				}
				v.tokens.hits.Add(1)
				v.tokens.vouched.Add(1)
				return nil
			}
			tr.keys, tr.stamped = v.stamps.Stamp(hit.v.tok.Issuer)
		}
		if hit != nil {
			if e := v.selectProvider(sel, hit.v.tok.Issuer, &out.route); e != nil {
				return e
			}
			if !v.current(ctx, hit) {
				v.tokens.remove(h) // its key is gone: verify from scratch
				hit = nil
				if tr != nil {
					*tr = memoTrace{epoch: tr.epoch}
				}
			}
		}
		if hit != nil {
			r := out.route
			*out = hit.v
			out.route = r
			out.fixAudience()
			out.cacheHit = true
			if e := checkTokenTimes(out.tok.ExpiresAt, out.tok.NotBefore, out.tok.IssuedAt, now, v.leeway, v.maxLifetime); e != nil {
				v.tokens.remove(h)
				return e
			}
			if e := v.admit(out); e != nil {
				return e
			}
			v.tokens.hits.Add(1)
			return nil
		}
	}
	if e := v.verifyFull(ctx, &c, now, sel, out); e != nil {
		return e
	}
	if v.tokens != nil {
		v.tokens.store(h, token, out)
	}
	return nil
}

// admit checks what is the provider's: an aud value (or, for accounts.google.com, azp) is
// one of its client IDs, and, when it pins thumbprints, the key arrived through a TLS chain
// holding one of them.
func (v *Verifier) admit(out *verified) *Error {
	p := out.route.p
	t := &out.tok
	out.admitted = false
	match := false
	for _, a := range t.Audience {
		if p.AcceptsClientID(a) {
			match, out.accepted = true, a
			break
		}
	}
	if !match && out.route.kind == kindGoogle && t.AuthorizedParty != "" {
		match, out.accepted = p.AcceptsClientID(t.AuthorizedParty), t.AuthorizedParty
	}
	if !match {
		return errorf(ReasonAudience, "no aud value is a client ID of the provider")
	}
	if len(p.Thumbprints) > 0 {
		if v.thumbs == nil {
			return errorf(ReasonThumbprint, "the provider pins thumbprints and the key source records no TLS chain")
		}
		if err := v.thumbs.CheckThumbprints(p.URL, out.key, p.Thumbprints); err != nil {
			return newError(ReasonThumbprint, err)
		}
	}
	out.admitted = true
	return nil
}

// verifyFull runs every check on a token that splitCompact accepted.
func (v *Verifier) verifyFull(ctx context.Context, c *compact, now time.Time, sel *selector, out *verified) *Error {
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

	// Route by the unverified iss: only the selected provider's issuer's keys may verify.
	issSpan := cl.spans[cIss]
	var iss string
	switch {
	case issSpan.esc:
		iss = string(unescape(nil, pay[issSpan.start:issSpan.end]))
	case v.ownSource:
		// Our own registry keeps nothing of the string it looks up, so it may point into the
		// scratch buffer for the lookup; a source of the caller's gets a string of its own.
		iss = scratchString(pay[issSpan.start:issSpan.end])
	default:
		iss = string(pay[issSpan.start:issSpan.end])
	}
	// The lookups' chains, in lock step (see hints): this step's lines arrive while the next
	// step's hints compute their hashes.
	hs := hints{sel: sel}
	var pl *iam.ProviderLookup
	if v.hintProviders != nil && !sel.static {
		hs.prov = v.hintProviders.PrepareOIDCProvider(sel.partition, sel.account, iss)
		if v.providers == ProviderSource(v.hintProviders) {
			pl = &hs.prov // the lookup of v.providers, prepared
		}
	}
	if v.hintKeys != nil {
		var kid []byte
		if hd.kid.kind != kindNone && !hd.kid.esc {
			kid = hdr[hd.kid.start:hd.kid.end]
		}
		hs.key, hs.keyIss = v.hintKeys.PrepareKey(iss, kid), iss
	}
	hs.step(0)
	hs.step(1)
	if e := v.selectProviderVia(sel, iss, &out.route, pl); e != nil {
		return e
	}
	hs.step(2)
	rt := &out.route
	p := rt.p
	if !rt.set.algs[hd.alg] {
		return errorf(ReasonAlgorithm, "alg is not allowed for the provider")
	}
	alg := algorithms[hd.alg]
	if hd.typ.kind != kindNone {
		typ := hdr[hd.typ.start:hd.typ.end]
		if hd.typ.esc {
			typ = unescape(nil, typ)
		}
		if !rt.set.typeAllowed(typ) {
			return errorf(ReasonType, "typ is not allowed for the provider")
		}
	}

	var (
		kid   string
		found *jwks.Key // the key for kid, found in the key cache by the kid's bytes
	)
	if hd.kid.kind != kindNone {
		switch {
		case hd.kid.esc:
			kid = string(unescape(nil, hdr[hd.kid.start:hd.kid.end]))
		case v.cache != nil:
			// The key cache is the key source: a cached key is found by the kid's bytes in
			// scratch memory (kept by nothing), and its own kid, equal to them, is the
			// token's KeyID: no string to make or to intern, and no look into the kid table,
			// one more cold map for a random issuer.
			var k *jwks.Key
			var ok bool
			if v.hintKeys == v.cache && hs.keyIss != "" && hs.keyIss == p.URL {
				k, ok = hs.key.CachedKey() // prepared with these kid bytes
			} else {
				k, ok = v.cache.CachedKey(p.URL, hdr[hd.kid.start:hd.kid.end])
			}
			if ok {
				found, kid = k, k.KeyID()
				break
			}
			fallthrough
		default:
			kid = v.kids.kid(hdr[hd.kid.start:hd.kid.end])
		}
	}
	hs.key.Prefetch(3) // the key's public material
	key, e := v.verifySignature(ctx, p.URL, kid, hd.kid.kind != kindNone, alg, input, sig, &sc.sig, found)
	if e != nil {
		return e
	}

	if e := checkTimes(&cl, now, v.leeway, v.maxLifetime); e != nil {
		return e
	}

	// The token is genuine: keep the payload as a string and point the claims into it.
	payload := sel.payload(pay)
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
	}
	out.spans = cl.spans
	if sp := cl.spans[cAzp]; sp.kind == kindString {
		t.AuthorizedParty = stringValue(payload, sp)
	}
	if e := out.setAudience(pay); e != nil {
		return e
	}
	out.key, out.alg, out.hasKid = key, alg, hd.kid.kind != kindNone
	if e := v.admit(out); e != nil {
		return e
	}
	if kid != "" && found == nil {
		v.kids.intern(kid)
	}
	return nil
}

// verifySignature finds the key (pickKey) and checks the signature: at most one signature
// check whatever the token, so that a forged token never costs more than a genuine one.
// found, when non-nil, is the key source's current key for kid: when it fits alg it is the
// key pickKey would pick, and pickKey is not asked (it would look the key up again).
func (v *Verifier) verifySignature(ctx context.Context, iss, kid string, hasKid bool, alg *algorithm, input, sig []byte, ss *sigScratch, found *jwks.Key) (*jwks.Key, *Error) {
	key := found
	if key == nil || !canVerify(key, alg) {
		var e *Error
		if key, e = v.pickKey(ctx, iss, kid, hasKid, alg, nil); e != nil {
			return nil, e
		}
	}
	if err := verifySignature(alg, key.Public(), input, sig, ss); err != nil {
		return nil, newError(ReasonBadSignature, err)
	}
	return key, nil
}

// pickKey returns the one key of the issuer's current keys that may verify a token with alg
// and (when hasKid) kid, or refuses. A token with kid uses the key with that kid (or, when
// that key's type does not fit alg, the sibling under the same kid that does: RFC 7517
// section 4.5). A token without kid uses the issuer's one key that fits alg; when several fit
// it is refused unchecked with ReasonKidRequired, rather than trying each (RFC 7515 makes kid
// a hint, not a requirement, so the issuer is not at fault, but one signature check per token
// is the rule here).
//
// It is the rule of the full path and of a verified-token cache hit alike (see current): a
// cached token stays good only while pickKey still picks the key that verified it. known,
// when non-nil, is a key known to fit alg (that key, whose facts never change): when the key
// for kid is known, its fit is not read again.
func (v *Verifier) pickKey(ctx context.Context, iss, kid string, hasKid bool, alg *algorithm, known *jwks.Key) (*jwks.Key, *Error) {
	if hasKid {
		k, err := v.key(ctx, iss, kid)
		if err != nil {
			return nil, keySourceError(err)
		}
		if k == nil {
			return nil, errorf(ReasonUnknownKey, "the key source returned no key for kid")
		}
		if k == known {
			return k, nil
		}
		if err := fits(k, alg); err != nil {
			// RFC 7517 section 4.5 lets one kid name keys of different types (equivalent
			// alternatives); Key returns the first. Look for a sibling under the same kid that
			// fits alg before refusing.
			if k = v.siblingKey(ctx, iss, kid, k, alg); k == nil {
				return nil, newError(ReasonKeyMismatch, err)
			}
		}
		return k, nil
	}
	keys, err := v.keySet(ctx, iss)
	if err != nil {
		return nil, keySourceError(err)
	}
	// Member reads only (the key's facts were derived when jwks parsed it): a walk past
	// many keys of other types or curves costs no derivation and no signature check.
	var key *jwks.Key
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
	return key, nil
}

// siblingKey returns another of the issuer's current keys with the same kid as first that fits
// alg, or nil. It runs only when the key for kid does not fit alg, off the common path.
func (v *Verifier) siblingKey(ctx context.Context, iss, kid string, first *jwks.Key, alg *algorithm) *jwks.Key {
	keys, err := v.keySet(ctx, iss)
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

// setAudience fills tok.Audience from the aud claim, which must be present; admit checks it
// against the provider's client IDs. pay is the payload the spans index (tok.Claims's bytes,
// still in scratch memory): walking it rather than []byte(tok.Claims) saves a copy of the
// whole payload per token (every EKS token has an array aud).
func (out *verified) setAudience(pay []byte) *Error {
	t := &out.tok
	sp := out.spans[cAud]
	switch sp.kind {
	case kindNone:
		return errorf(ReasonMissingClaim, "claim aud is missing")
	case kindString:
		out.audBuf[0] = stringValue(t.Claims, sp)
		t.Audience = out.audBuf[:1]
	case kindArray:
		t.Audience = appendStrings(out.audBuf[:0], t.Claims, pay, sp)
	}
	return nil
}

// Result is the outcome of AssumeRoleWithWebIdentity. Callers may construct one.
type Result struct {
	// Provider is the provider's URL (the token's iss); ProviderPrincipal is how the trust
	// policy named it (its ARN, or the domain of a well-known issuer).
	Provider, ProviderPrincipal string
	// RoleARN and RoleSessionName are the request's; RoleID is the role's unique ID (AROA...),
	// as the RoleSource gave it (empty for a role without one).
	RoleARN, RoleSessionName, RoleID string
	// Subject is the token's sub.
	Subject string
	// Audience is the client ID the token was accepted for.
	Audience string
	// Token is the verified token: the caller's own copy (editing it changes nothing for
	// other callers or later decisions).
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
	res   Result
	vt    verified
	sel   selector
	role  iam.RoleLookup // sel.role's, when set
	cc    condContext
	preq  policy.Request
	trace memoTrace
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
	return v.assumeCall(ctx, req, nil)
}

// ownResult returns a copy of res whose Token is a copy of tok, its Audience the copy's own:
// a caller may edit all of it without reaching the token cache's copy, a decision memo or
// another caller's Result.
// c, when non-nil, is the copy the full path allocated for this call with the payload (see
// selector.payload).
func ownResult(res *Result, tok *Token, c *resultCopy) *Result {
	if c == nil {
		c = new(resultCopy)
	}
	return c.fromFull(res, tok, spill{})
}

// evalPool recycles evaluations (1.4 KB each): AssumeRoleWithWebIdentity copies out what the
// caller keeps (the Result, and the Token unless the cache holds it). Evaluations in the pool
// are zero (putEval).
var evalPool = sync.Pool{New: func() any { return new(evaluation) }}

// putEval clears ev and returns it to the pool: a pooled evaluation keeps nothing alive (its
// role handle would keep a whole registry state, tables and records, long after a Load
// replaced it; its token, provider and key likewise).
func putEval(ev *evaluation) {
	*ev = evaluation{}
	evalPool.Put(ev)
}

// assume is AssumeRoleWithWebIdentity without the observer. ev is nil when the request was
// refused before its token was looked at; res is set on success and on policy denials. m,
// when non-nil, is the decision memo that answered the request (and nothing else is set).
// With the memo on (v.epochs set) the memo is asked first, before checkRequest: a memo answers
// only for byte-identical request fields and the same token, which passed it when the memo was
// made (see decisionMemo), and it keeps the role ARN's account, so it is not read again.
func (v *Verifier) assume(ctx context.Context, req *Request, own bool) (res *Result, ev *evaluation, m *decisionMemo, e *Error) {
	if req == nil {
		return nil, nil, nil, newError(ReasonRoleARN, errors.New("verifier: nil request"))
	}
	if v.epochs != nil {
		if m := v.memoAnswer(req); m != nil {
			v.tokens.hits.Add(1)
			v.tokens.memoHits.Add(1)
			return nil, nil, m, nil
		}
	}
	// STS picks the provider from the role's partition and account and the token's iss.
	partition, account, e := checkRequest(req)
	if e != nil {
		return nil, nil, nil, e
	}
	ev = evalPool.Get().(*evaluation) // zero: putEval cleared it
	ev.sel.own = own
	if v.hintRoles != nil {
		// The first link of the role's chain (see hints): the token's checks come first.
		ev.role = v.hintRoles.PrepareRole(req.RoleARN)
		ev.sel.role = &ev.role
		ev.role.Prefetch(0)
	}
	if t := req.WebIdentityToken; t != "" {
		prefetch.Lines(unsafe.Pointer(unsafe.StringData(t)), uintptr(len(t)))
	}
	var epoch uint64
	if v.epochs != nil {
		// Read before the lookups: a memo made from them is good while it stays the same.
		epoch = v.epochs.ChangeEpoch(partition, account)
	}
	res, e = v.decideFull(ctx, req, ev, partition, account, epoch)
	return res, ev, nil, e
}

// decideFull is assume's full evaluation, which memoises an Allow when it can.
// ev is fresh from evalPool (its role lookup prepared when the role source is our own).
func (v *Verifier) decideFull(ctx context.Context, req *Request, ev *evaluation, partition, account string, epoch uint64) (res *Result, e *Error) {
	now := v.now()
	ev.sel.partition, ev.sel.account = partition, account
	var tr *memoTrace
	if v.epochs != nil {
		tr = &ev.trace
		tr.epoch = epoch
	}
	if e := v.verify(ctx, req.WebIdentityToken, now, &ev.sel, &ev.vt, tr); e != nil {
		return nil, e
	}
	tok, p := &ev.vt.tok, &ev.vt.route
	res = &ev.res
	res.Provider, res.ProviderPrincipal = p.p.URL, p.principal
	res.RoleARN, res.RoleSessionName = req.RoleARN, req.RoleSessionName
	res.Subject = tok.Subject
	if ev.vt.admitted {
		res.Audience = ev.vt.accepted
	} else {
		res.Audience = matchedAudience(tok, p) // vouched for by the memo: admit did not run
	}
	res.Token = tok

	// The session claims are judged before the role is looked up, so that their errors cannot
	// tell a caller which roles exist.
	cc := &ev.cc
	spans := &ev.vt.spans
	cc.tok, cc.spans, cc.prov, cc.req, cc.now = tok, spans, p, req, now
	if sp := spans[cTags]; sp.kind != kindNone {
		st, e := parseSessionTags(tok.Claims, sp)
		if e != nil {
			return nil, e
		}
		cc.tags = st
		res.SessionTags, res.TransitiveTagKeys = st.tags, st.transitive
	}
	if sp := spans[cSourceIdentity]; sp.kind != kindNone {
		si, e := parseSourceIdentity(tok.Claims, sp)
		if e != nil {
			return nil, e
		}
		cc.sourceIdentity, res.SourceIdentity = si, si
	}

	if v.roles == nil {
		return nil, errorf(ReasonUnknownRole, "no role source")
	}
	var (
		role *Role
		err  error
	)
	if ev.sel.role != nil && v.roles == RoleSource(v.hintRoles) {
		role, err = ev.sel.role.Role() // the lookup of v.roles, prepared
	} else {
		role, err = v.roles.Role(req.RoleARN)
	}
	if err != nil || role == nil {
		switch {
		case err == nil:
			err = ErrRoleNotFound
		case !errors.Is(err, ErrRoleNotFound) && !errors.Is(err, iam.ErrNoSuchEntity):
			return nil, newError(ReasonSourceFailure, err)
		}
		return nil, newError(ReasonUnknownRole, err)
	}
	res.RoleID = role.RoleID

	if role.TrustPolicy == nil {
		return nil, errorf(ReasonDenied, "role has no trust policy")
	}
	ev.preq = policy.Request{
		Action:    ActionAssumeRoleWithWebIdentity,
		Principal: policy.Principal{Type: "Federated", ID: p.principal},
		Resource:  req.RoleARN,
		Context:   cc,
	}
	if e := v.decide(role, ev, ActionAssumeRoleWithWebIdentity, ReasonDenied); e != nil {
		return res, e
	}
	allowed := res.Decision
	if cc.tags != nil {
		if e := v.decide(role, ev, ActionTagSession, ReasonTagSessionDenied); e != nil {
			return res, e
		}
	}
	if cc.sourceIdentity != "" {
		if e := v.decide(role, ev, ActionSetSourceIdentity, ReasonSourceIdentityDenied); e != nil {
			return res, e
		}
	}
	res.Decision = allowed
	d, ok := grantDuration(req, role)
	if !ok {
		return nil, errorf(ReasonDuration, "DurationSeconds exceeds the role's maximum session duration")
	}
	res.Duration = d
	if tr != nil {
		v.remember(ev, req, role)
	}
	return res, nil
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

// matchedAudience returns the client ID the token was accepted for (what admit records).
func matchedAudience(t *Token, r *route) string {
	for _, a := range t.Audience {
		if r.p.AcceptsClientID(a) {
			return a
		}
	}
	return t.AuthorizedParty // accounts.google.com: accepted for azp
}
