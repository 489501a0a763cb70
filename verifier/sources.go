package verifier

import (
	"errors"
	"fmt"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/jwks"
)

// ProviderSource finds the OpenID Connect provider that an account registers for an issuer:
// the question STS asks of every AssumeRoleWithWebIdentity, with the role ARN's partition and
// account and the token's (unverified) iss, before any key is fetched. *iam.Registry
// implements it, lock-free; embedders may back it with a store of their own (build the values
// with iam.NewOIDCProvider).
//
// It is read on the hot path of every request: answer from memory. A miss must be an error
// matching iam.ErrNoSuchEntity (the request is refused with InvalidIdentityToken, "No
// OpenIDConnect provider found in your account for ..."); any other error refuses the request
// with ServiceUnavailable. The values returned must be immutable snapshots: the verifier
// reads them without locks.
type ProviderSource interface {
	OIDCProvider(partition, account, issuer string) (*iam.OIDCProvider, error)
}

// RoleSource finds roles by ARN, exactly (IAM's case-insensitive role names are for
// uniqueness; STS takes the ARN as given). *iam.Registry and StaticRoles implement it.
// A miss must be an error matching iam.ErrNoSuchEntity or ErrRoleNotFound (the request is
// refused with AccessDenied, as a denial is: callers cannot probe for roles); any other error
// refuses it with ServiceUnavailable. Read on the hot path: answer from memory; the values
// must be immutable.
type RoleSource interface {
	Role(arn string) (*Role, error)
}

// Role is an IAM role as the verifier reads it: its ARN, its compiled TrustPolicy and
// MaxSessionDuration (zero: one hour). It is iam.Role: a role from an *iam.Registry carries
// the rest of IAM's fields too (RoleID, path, tags), which the verifier passes on in Result.
type Role = iam.Role

// ErrRoleNotFound is returned by a RoleSource for an unknown role; iam.ErrNoSuchEntity is
// taken the same way.
var ErrRoleNotFound = errors.New("verifier: role not found")

// Both sources of package iam fit.
var (
	_ ProviderSource = (*iam.Registry)(nil)
	_ RoleSource     = (*iam.Registry)(nil)
	_ RoleSource     = (*StaticRoles)(nil)
)

// StaticRoles is an in-memory RoleSource for a fixed set of roles. Build it with
// NewStaticRoles.
type StaticRoles struct {
	roles map[string]*Role
}

// NewStaticRoles returns a RoleSource holding roles, keyed by their ARN. It fails on a role
// without ARN, on duplicate ARNs and on a negative MaxSessionDuration. The roles are used as
// given (TrustPolicy compiled by the caller with policy.Parse); for IAM's validation of names,
// documents and durations, use an iam.Registry instead.
func NewStaticRoles(roles ...*Role) (*StaticRoles, error) {
	s := &StaticRoles{roles: make(map[string]*Role, len(roles))}
	for i, r := range roles {
		switch {
		case r == nil || r.ARN == "":
			return nil, fmt.Errorf("verifier: role %d has no ARN", i)
		case s.roles[r.ARN] != nil:
			return nil, fmt.Errorf("verifier: duplicate role %q", r.ARN)
		case r.MaxSessionDuration < 0:
			return nil, fmt.Errorf("verifier: role %q has a negative MaxSessionDuration", r.ARN)
		}
		s.roles[r.ARN] = r
	}
	return s, nil
}

// Role returns the role with the given ARN or ErrRoleNotFound. It is safe for concurrent use.
func (s *StaticRoles) Role(arn string) (*Role, error) {
	if r, ok := s.roles[arn]; ok {
		return r, nil
	}
	return nil, ErrRoleNotFound
}

// ThumbprintChecker is the optional interface of a KeySource whose keys were fetched over
// TLS and that records the verified certificate chains of those fetches, as jwks.Cache does
// (jwks.Cache.CheckThumbprints). A provider's Thumbprints are checked with it on every
// request, against the chain of the fetch that produced the key that verified the token: one
// fetch serves every account that registers the issuer, each with pins of its own. With a key
// source that does not implement it, a provider that pins thumbprints accepts no token.
type ThumbprintChecker interface {
	CheckThumbprints(issuer string, key *jwks.Key, thumbprints []string) error
}

var _ ThumbprintChecker = (*jwks.Cache)(nil)

// watcher is what the verifier needs of an *iam.Registry to follow its issuers: the registry
// reports issuers that gained their first provider or lost their last one.
type watcher interface {
	Watch(fn func(iam.Change)) (stop func())
	Issuers() []string
}

var _ watcher = (*iam.Registry)(nil)
