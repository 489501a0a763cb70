// Package verifier decides AWS STS AssumeRoleWithWebIdentity requests: is this web identity
// token genuine, and may it assume this role? It is the hot path that joins package jwks (the
// providers' keys) and package policy (the roles' trust policies).
//
// # Setting up: many accounts, changing at runtime
//
// A provider is one account's registration of an issuer, identified by its ARN; any number of
// accounts may register the same issuer, each with its own client IDs and thumbprints. Keep
// them, and the roles, in an iam.Registry (or a source of your own: ProviderSource and
// RoleSource are one method each) and hand it to the verifier; every change to the registry is
// enforced by the next request, without rebuilding anything:
//
//	reg := iam.New(iam.Options{})
//	reg.CreateOIDCProvider(&iam.OIDCProvider{
//		Account:   "111122223333",
//		URL:       "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
//		ClientIDs: []string{"sts.amazonaws.com"},
//	})
//	reg.CreateRole(&iam.Role{Account: "111122223333", Name: "app", TrustPolicyDocument: doc})
//	v, err := verifier.New(verifier.Options{ProviderSource: reg, Roles: reg})
//	defer v.Close()
//
// As STS, AssumeRoleWithWebIdentity picks the provider from the role ARN's partition and
// account and the token's iss, before any key is fetched; an account without one is refused
// with InvalidIdentityToken ("No OpenIDConnect provider found in your account for ..."),
// whatever other accounts register. The audience is checked against that provider's client
// IDs only, its thumbprints against the TLS chain the keys were fetched over, and its ARN is
// the Federated principal of the trust policy (a policy naming another account's provider
// never matches). VerifyFor checks a token for an account, or for one provider ARN.
//
// Keys are fetched once per issuer for all accounts: without Options.Keys, New starts a
// jwks.Cache, registers an issuer in it when a provider of it is first used and, with an
// *iam.Registry, drops it when the issuer's last provider is deleted. A new provider of a known
// issuer uses its keys at once. Each provider's thumbprint pins are checked per token against
// the verified certificate chain that the fetch recorded (ThumbprintChecker), so that one fetch
// serves tenants with different pins.
//
// # Setting up: a fixed configuration
//
// Static providers and roles are a convenience that fills a registry of the verifier's own:
//
//	trust, err := policy.Parse(trustPolicyJSON)
//	roles, err := verifier.NewStaticRoles(&verifier.Role{
//		ARN:         "arn:aws:iam::111122223333:role/app",
//		TrustPolicy: trust,
//	})
//	v, err := verifier.New(verifier.Options{
//		Providers: []verifier.Provider{{
//			URL:       "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
//			ARN:       "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
//			ClientIDs: []string{"sts.amazonaws.com"},
//		}},
//		Roles: roles,
//	})
//	defer v.Close()
//
// Pass a jwks.Static (or any KeySource) as Options.Keys to pin keys instead of discovery. A
// jwks.Cache of your own (shared by several verifiers, say) may be passed too: New registers in
// it the providers' issuers it does not serve yet, with their DiscoveryURL. New refuses what
// would silently fail: a jwks.Static for another issuer than a provider's (ErrKeySourceIssuer),
// and Thumbprints or DiscoveryURL that the key source cannot apply (ErrProviderSettingIgnored),
// so that pinning never fails open. Keys cross from the key source as *jwks.Key, whose type,
// curve, alg and Go public key jwks derived when it parsed the set: the verifier reads them
// directly, with no per-key derivation or cache of its own.
//
// # Deciding
//
//	res, err := v.AssumeRoleWithWebIdentity(ctx, &verifier.Request{
//		RoleARN:          "arn:aws:iam::111122223333:role/app",
//		RoleSessionName:  "build-42",
//		WebIdentityToken: token,
//	})
//	var verr *verifier.Error
//	if errors.As(err, &verr) {
//		// answer verr.Code and verr.Message; log err (it carries the detail)
//	}
//
// Every refusal is an *Error with an STS error Code (InvalidIdentityToken,
// ExpiredTokenException, IDPRejectedClaim, IDPCommunicationError, AccessDenied,
// ValidationError, and ServiceUnavailable when a source fails) and a Reason;
// errors.Is(err, verifier.ReasonExpired) tests a reason. Messages never repeat anything from
// the token (the one exception is STS's own "No OpenIDConnect provider found in your account
// for https://...", which names the issuer when it is a plain https URL). A policy denial
// also returns the Result, whose Decision names the statement and condition that failed, for
// the operator's logs.
//
// Services that only need authentication call VerifyFor (or, with static providers that
// register each issuer once, Verify), which checks the token without roles.
//
// # Readiness and metrics
//
// Prefetch loads every provider's keys (through the default key cache, or Options.Keys when it
// implements KeyPrefetcher); a service reports ready once it returned nil. Options.Observer
// receives one DecisionEvent per call (operation, Code, Reason, provider, latency, token cache
// hit; never token content) for metrics; without one the hot path measures nothing:
//
//	v, err := verifier.New(verifier.Options{
//		Providers: providers,
//		Roles:     roles,
//		Observer: verifier.ObserverFunc(func(ctx context.Context, e verifier.DecisionEvent) {
//			decisions.WithLabelValues(string(e.Code)).Inc()
//			latency.Observe(e.Latency.Seconds())
//		}),
//	})
//	if err := v.Prefetch(ctx); err != nil { /* not ready yet: retry */ }
//
// # What is checked, in order
//
//  1. STS parameters: RoleArn, RoleSessionName, DurationSeconds, ProviderId, token length.
//  2. Shape, before anything that costs: 4 to 20,000 characters, compact JWS only (three
//     base64url segments), canonical unpadded base64url.
//  3. Header and payload: strict JSON (duplicate members, invalid UTF-8 and lone surrogates are
//     refused), alg on the provider's allow-list (never none or HMAC), no crit, b64, zip, cty,
//     jku, x5u, x5c or jwk; typed registered claims (exp, nbf, iat are positive JSON numbers).
//  4. The unverified iss only selects the provider that the role's account registers for it
//     (exact match); an account without one is refused without any network access.
//  5. The key is the provider's key for (iss, kid), of the type, curve and size alg needs;
//     a token without kid is verified only when exactly one of the provider's keys fits alg
//     (with several, it is refused as ReasonKidRequired: RFC 7515 makes kid a hint, but no
//     token costs more than one signature check, so a forged one costs no more than a genuine
//     one). The signature is checked with Go's crypto: RSA of at least 2048 bits with PKCS #1 v1.5
//     or PSS (salt length = hash length), ECDSA as fixed-length r||s on alg's curve, Ed25519.
//  6. Claims: exp, nbf and iat with leeway (5 minutes by default); aud contains one of the
//     provider's client IDs; the provider's thumbprints, if any, match the chain the key came
//     over.
//  7. The role's trust policy, with the condition keys built from the verified claims under
//     the provider URL without "https://" (":aud", ":sub", ":azp", ":amr", ":oaud", the GitHub
//     Actions claims), plus sts:RoleSessionName, aws:CurrentTime, aws:SourceIp, session tags
//     (which need sts:TagSession) and source identity (sts:SetSourceIdentity).
//
// Verified tokens are cached (see Options.TokenCacheSize) until their exp, but a cached token
// is used only while its key is still the issuer's current key; the provider is selected, and
// its client IDs and thumbprints are checked, on every request, and so is the policy: a
// registry change is never hidden by the cache.
package verifier
