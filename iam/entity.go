package iam

import (
	"slices"
	"strings"
	"time"

	"github.com/webidentity/webidentity/policy"
)

// Tag is a key-value pair attached to a provider or a role, as IAM's Tag.
type Tag struct {
	Key   string
	Value string
}

// OIDCProvider is an IAM OpenID Connect provider: an account's registration
// of an issuer, with the audiences (client IDs) it accepts and the
// certificate thumbprints it pins.
//
// Build one to pass to CreateOIDCProvider, PutOIDCProvider or Load: set ARN,
// or Account (and Partition, "aws" if empty) and URL; the registry fills the
// rest. The values the registry returns are immutable snapshots shared by
// every reader: never modify one (or its slices); a change is a new value
// published by a write method.
//
// The fields are ordered so that what the verifier reads per request (the
// names, the client IDs and the thumbprints, the precomputed fields) lies in
// the struct's first three cache lines, and the struct fills its size
// class exactly, so that it starts on a cache line.
type OIDCProvider struct {
	// URL is the issuer exactly as tokens carry it in iss:
	// "https://" + HOST/PATH. Derived from ARN when empty.
	URL string
	// Partition and Account are the ARN's; derived from ARN when empty.
	Partition string
	Account   string
	// ARN is arn:PARTITION:iam::ACCOUNT:oidc-provider/HOST/PATH.
	ARN string

	// clientID0 is ClientIDs[0] (or ""), kept in the struct so that the
	// common single-audience check reads no other memory than the string.
	clientID0 string
	// ClientIDs are the accepted audiences (0 to 100; with none, no token
	// is accepted). Duplicates are dropped, order is kept.
	ClientIDs []string
	// clientIDSet is set when ClientIDs is long enough that a map beats a
	// scan.
	clientIDSet map[string]struct{}
	// finished says that the precomputed fields are built (by the
	// registry or NewOIDCProvider); a value built by hand has them zero.
	finished bool
	// keyPrefix is KeyPrefix's answer, computed once.
	keyPrefix string
	// Thumbprints are hex SHA-1 certificate thumbprints (0 to 5), as IAM
	// returns them. Optional, as in IAM since 2024; comparisons ignore case.
	Thumbprints []string
	// thumb0 holds a single thumbprint, which Thumbprints then points at:
	// the list is read in the struct's lines.
	thumb0 [1]string

	// Tags are at most 50, keys unique ignoring case.
	Tags []Tag
	// CreateDate is when the provider was created; if zero, the registry's
	// clock fills it at creation and an update keeps the old one.
	CreateDate time.Time

	_ [32]byte // to 256 bytes: see above
}

// clientIDSetMin is the number of client IDs from which AcceptsClientID uses
// a map instead of a linear scan.
const clientIDSetMin = 8

// AcceptsClientID reports whether aud is one of the provider's client IDs
// (exact, case-sensitive comparison). It does not allocate.
func (p *OIDCProvider) AcceptsClientID(aud string) bool {
	if !p.finished {
		// Built by hand, not by the registry or NewOIDCProvider: no
		// precomputed fields to read.
		return slices.Contains(p.ClientIDs, aud)
	}
	if p.clientIDSet != nil {
		_, ok := p.clientIDSet[aud]
		return ok
	}
	if len(p.ClientIDs) == 0 {
		return false
	}
	if p.clientID0 == aud {
		return true
	}
	for _, c := range p.ClientIDs[1:] {
		if c == aud {
			return true
		}
	}
	return false
}

// KeyPrefix returns the prefix of the condition keys that trust policies
// write for the provider's claims ("oidc.eks.us-west-2.amazonaws.com/id/X"
// in "oidc.eks.us-west-2.amazonaws.com/id/X:sub"): URL without "https://",
// folded as package policy folds condition keys (policy.FoldKey), so that
// it compares directly with the keys a policy looks up. Computed once for
// the values the registry and NewOIDCProvider return.
func (p *OIDCProvider) KeyPrefix() string {
	if p.finished {
		return p.keyPrefix
	}
	return policy.FoldKey(strings.TrimPrefix(p.URL, "https://"))
}

// HasThumbprint reports whether the hex SHA-1 thumbprint is pinned by the
// provider, ignoring case.
func (p *OIDCProvider) HasThumbprint(hex string) bool {
	for _, t := range p.Thumbprints {
		if strings.EqualFold(t, hex) {
			return true
		}
	}
	return false
}

// clone returns a deep copy without the precomputed fields.
func (p *OIDCProvider) clone() *OIDCProvider {
	c := *p
	c.ClientIDs = slices.Clone(p.ClientIDs)
	c.Thumbprints = slices.Clone(p.Thumbprints)
	c.Tags = slices.Clone(p.Tags)
	c.clientIDSet, c.clientID0, c.keyPrefix, c.finished, c.thumb0 = nil, "", "", false, [1]string{}
	return &c
}

// Role is an IAM role as the verifier needs it: who may assume it (the trust
// policy) and for how long.
//
// Build one to pass to CreateRole, PutRole or Load: set ARN, or Account (and
// Partition, "aws" if empty), Path ("/" if empty) and Name; and
// TrustPolicyDocument. The registry parses the document into TrustPolicy
// (any TrustPolicy the caller sets is replaced), generates RoleID if empty
// and fills CreateDate. The values the registry returns are immutable
// snapshots shared by every reader: never modify one (or its slices).
//
// The fields the verifier reads per request (RoleID, TrustPolicy,
// MaxSessionDuration) and ARN, which a lookup may compare, come first and
// share the struct's first cache line: the struct fills its size class
// (192 bytes) exactly, so that it starts on a cache line.
type Role struct {
	// RoleID is IAM's unique ID, "AROA" followed by 17 characters;
	// generated when empty.
	RoleID string
	// TrustPolicy is TrustPolicyDocument compiled by policy.Parse.
	TrustPolicy *policy.Policy
	// MaxSessionDuration is 1 to 12 hours in whole seconds; if zero, 1
	// hour (IAM's default).
	MaxSessionDuration time.Duration
	// ARN is arn:PARTITION:iam::ACCOUNT:role/PATH/NAME.
	ARN string
	// Name is 1 to 64 characters of [A-Za-z0-9+=,.@_-], unique in the
	// account ignoring case.
	Name string
	// Path is "/" or "/.../", up to 512 characters.
	Path      string
	Account   string
	Partition string
	// TrustPolicyDocument is the trust policy as written, which is what
	// IAM returns (URL-encoded on the wire) from GetRole.
	TrustPolicyDocument string
	// Description is up to 1,000 characters.
	Description string
	// Tags are at most 50, keys unique ignoring case.
	Tags []Tag
	// CreateDate is when the role was created; if zero, the registry's
	// clock fills it at creation and an update keeps the old one.
	CreateDate time.Time
}

// clone returns a copy with its own Tags; the compiled policy is immutable
// and shared.
func (r *Role) clone() *Role {
	c := *r
	c.Tags = slices.Clone(r.Tags)
	return &c
}
