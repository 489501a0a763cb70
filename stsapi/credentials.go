package stsapi

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"io"
	"time"

	"github.com/webidentity/webidentity/verifier"
)

// CredentialIssuer mints the temporary credentials that an allowed AssumeRoleWithWebIdentity
// returns. The handler calls it only after the verifier allowed the request. An embedding
// service implements it with its own credential store; LocalIssuer is the built-in one for
// local testing.
//
// Implementations must be safe for concurrent use. An error is answered with InternalFailure
// (HTTP 500) and logged; it is never shown to the caller.
type CredentialIssuer interface {
	Issue(ctx context.Context, req *IssueRequest) (*Credentials, error)
}

// IssueRequest is what a CredentialIssuer is asked to mint credentials for. Callers may
// construct one (for tests of their issuers).
type IssueRequest struct {
	// RequestID is the STS request id, for correlating logs.
	RequestID string
	// Result is the verifier's decision: role, session name, subject, audience, provider,
	// session tags, source identity and granted Duration. It is shared: read it, never
	// modify it.
	Result *verifier.Result
	// RoleID is the role's RoleId (from Options.RoleIDs), and AssumedRoleUser the session's
	// names as the answer shows them.
	RoleID          string
	AssumedRoleUser AssumedRoleUser
	// Policy and PolicyARNs are the session policies the caller passed. They can only narrow
	// the role's permissions; an issuer that cannot apply them must return an error rather
	// than mint broader credentials. They are validated for size and JSON syntax only.
	Policy     string
	PolicyARNs []string
}

// Credentials are temporary AWS credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// LocalIssuer mints random credentials that grant nothing anywhere, for local testing, as
// LocalStack and moto do. Its access key ids have the ASIA prefix of temporary AWS keys so
// that clients accept them; its session tokens start with LocalSessionTokenPrefix so that
// nobody mistakes them for real ones.
type LocalIssuer struct {
	// Now is the clock for Expiration. If nil, time.Now.
	Now func() time.Time
	// Rand is the source of randomness. If nil, crypto/rand.
	Rand io.Reader
}

// LocalSessionTokenPrefix starts every session token LocalIssuer mints.
const LocalSessionTokenPrefix = "webidentity-local-"

var _ CredentialIssuer = (*LocalIssuer)(nil)

// Issue mints credentials valid for req.Result.Duration, ignoring session policies (the
// credentials grant nothing to narrow). It is safe for concurrent use.
func (l *LocalIssuer) Issue(_ context.Context, req *IssueRequest) (*Credentials, error) {
	r := l.Rand
	if r == nil {
		r = rand.Reader
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	// One read for the three fields, in their order: 10 bytes for the access key id (16
	// base32 characters: ASIA + 16, the length of an AWS access key id), 30 for the secret
	// (40 base64 characters), 48 for the session token.
	var raw [10 + 30 + 48]byte
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return nil, err
	}
	// The three strings share one allocation.
	const idLen, secretLen = 4 + 16, 40
	var text [idLen + secretLen + len(LocalSessionTokenPrefix) + 64]byte
	copy(text[:], "ASIA")
	base32.StdEncoding.Encode(text[4:idLen], raw[:10])
	base64.StdEncoding.Encode(text[idLen:idLen+secretLen], raw[10:40])
	copy(text[idLen+secretLen:], LocalSessionTokenPrefix)
	base64.RawURLEncoding.Encode(text[idLen+secretLen+len(LocalSessionTokenPrefix):], raw[40:])
	all := string(text[:])
	return &Credentials{
		AccessKeyID:     all[:idLen],
		SecretAccessKey: all[idLen : idLen+secretLen],
		SessionToken:    all[idLen+secretLen:],
		Expiration:      now().Add(req.Result.Duration).UTC().Truncate(time.Second),
	}, nil
}
