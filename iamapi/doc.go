// Package iamapi will serve the AWS IAM Query API (version 2010-05-08) for OpenID Connect
// providers and roles. This file set holds its authentication layer, which stands alone:
// an Authenticator that accepts only SigV4-signed requests from configured admin
// credentials, as IAM does. (AssumeRoleWithWebIdentity, served by package stsapi, stays
// unsigned, as in AWS.)
//
// # Authenticating a request
//
//	a, err := iamapi.NewAuthenticator(iamapi.Options{
//		Credentials: iamapi.StaticCredentials{"AKIAADMIN1": secret1, "AKIAADMIN2": secret2},
//		Logger:      logger, // one line per refusal; never a secret or a signature
//	})
//	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit)) // the caller bounds the body
//	p, err := a.Authenticate(r, body)
//	var ae *iamapi.AuthError
//	if errors.As(err, &ae) { /* answer ae.Code, ae.Message with ae.HTTPStatus(); change nothing */ }
//
// Authenticate hashes the whole body it is given and does not read r.Body, so the caller
// must read the body first, with a size limit (http.MaxBytesReader) that fits its largest
// action; a refusal then costs at most one hash of that many bytes.
//
// # What is accepted
//
// Exactly one Authorization header "AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/iam/
// aws4_request, SignedHeaders=..., Signature=<64 hex>", each component once, as the AWS SDKs,
// botocore and the AWS CLI send it; exactly one X-Amz-Date in ISO-8601 basic format, within
// MaxSkew (15 minutes) of the clock either way, on the scope's day (AWS also accepts a Date
// header instead; no AWS client sends one, so it is refused); SignedHeaders listing
// host and x-amz-date, lower case, ascending, distinct. The region may be any well-formed
// name unless Options.Regions lists the accepted ones (clients sign with their configured
// region when given --endpoint-url; IAM's own endpoint is us-east-1). Headers the client
// did not sign may be added or changed by proxies freely; Host is the request's Host as the
// server received it, so a proxy that rewrites Host breaks every signature.
//
// The expected signature is computed by the AWS SDK for Go v2's v4 signer (no
// canonicalisation is written here): the request is rebuilt with exactly the signed headers,
// the scope's region and service, the body's SHA-256 and X-Amz-Date as signing time, and its
// signature is compared in constant time. The SDK signer can express every verification
// these clients need: signed header names are passed lower-cased, because the signer skips
// the canonical names User-Agent, Expect, X-Amzn-Trace-Id and Transfer-Encoding that a client
// may nevertheless have signed, and content-length is signed from the received length. One
// SDK signer is kept per access key id that passed the credential lookup (so the set is
// bounded by the admin keys) and is replaced when that key's secret changes, because the SDK
// caches derived signing keys by key id, region, service and day but not by secret.
//
// A query string that does not parse is refused: url.Values drops what it cannot parse, so
// otherwise a signed request could carry unsigned garbage in its query.
//
// # What is refused
//
// With AWS's codes and statuses (AuthError.Code, HTTPStatus; the precise Reason is logged):
//
//   - MissingAuthenticationToken (403): no Authorization header; also query-string
//     (presigned URL) authentication, which no AWS client uses for IAM and which would put
//     a reusable credential in URLs and access logs.
//   - IncompleteSignature (400): a second Authorization header, another algorithm (SigV4a),
//     a malformed header, scope or SignedHeaders, host or x-amz-date not signed, X-Amz-Date
//     missing, repeated or malformed, an unparsable query string, or both query-string and
//     header authentication.
//   - SignatureDoesNotMatch (403): a wrong signature (wrong secret, changed body, changed
//     signed header, wrong canonicalisation), or a scope of another day, region or service.
//   - InvalidClientTokenId (403): an unknown access key id, or an X-Amz-Security-Token
//     header: admin credentials are long-term keys, and a session token names a session this
//     server never issued.
//   - RequestExpired (400): X-Amz-Date more than MaxSkew before or after the clock.
//
// Messages follow AWS's wording but never include the secret, the expected signature, the
// canonical request or the string to sign. (S3 returns the latter two with
// SignatureDoesNotMatch; IAM and STS do not, and since they show which headers the server saw
// and how it canonicalised them, they help a prober more than an admin, who has the
// client's own debug log, e.g. aws --debug, and the refusal's Reason in the server's log.)
package iamapi
