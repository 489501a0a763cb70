// Package stsapi serves the AWS STS Query API for AssumeRoleWithWebIdentity (version
// 2011-06-15) on top of a verifier.Verifier, so that a service can answer the AWS SDKs and
// CLI that IRSA pods and CI jobs already run, with credentials from its own store.
//
// # Mounting the endpoint
//
// Build the verifier as package verifier shows, then the handler with the service's
// CredentialIssuer, and mount it at "/" (the SDKs post to the endpoint's root):
//
//	h, err := stsapi.NewHandler(stsapi.Options{
//		Verifier: v,                   // *verifier.Verifier
//		Issuer:   myIssuer,            // the service's CredentialIssuer
//		RoleIDs:  stsapi.StaticRoleIDs{"arn:aws:iam::111122223333:role/app": "AROA..."},
//		Logger:   logger,              // one line per request; never the token
//	})
//	mux.Handle("/{$}", h)
//	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 64 << 10}
//
// Clients then call it unchanged:
//
//	aws sts assume-role-with-web-identity --endpoint-url https://sts.example.internal --no-sign-request ...
//	AWS_ENDPOINT_URL_STS=https://sts.example.internal  (any AWS SDK's IRSA path)
//
// # Minting credentials
//
// The handler calls CredentialIssuer.Issue only after the verifier allowed the request, with
// the verifier's Result (role, session name, subject, session tags, granted Duration), the
// role's RoleId, the AssumedRoleUser the answer will show, and the caller's session policies
// (Policy, PolicyArns), which may only narrow the role's permissions: an issuer that cannot
// apply them must fail rather than mint broader credentials. Any error is answered with
// InternalFailure (500) and logged, never shown. LocalIssuer mints random credentials that
// grant nothing, for local testing (as LocalStack and moto do).
//
// # What the handler answers
//
// POST with an application/x-www-form-urlencoded body, or GET with a query string; a
// parameter given twice, an unknown parameter, a missing RoleArn, RoleSessionName or
// WebIdentityToken, a malformed DurationSeconds or session policy are refused with a message
// that names the parameter ("DurationSecond is not a parameter of
// AssumeRoleWithWebIdentity."). A caller-chosen name is repeated only when it is a plain name
// of at most 64 characters of [A-Za-z0-9._-]. Answers are AWS's XML shapes:
// AssumeRoleWithWebIdentityResponse with Credentials, AssumedRoleUser,
// SubjectFromWebIdentityToken, Audience, Provider and SourceIdentity; or ErrorResponse with
// Type (Sender, or Receiver for 500), Code, Message and RequestId. Provider is the provider's
// IAM ARN (arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH), as real STS answers it, or the
// domain of a well-known issuer (Result.ProviderPrincipal). Every answer has an x-amzn-RequestId header (a random UUID). HTTPStatus gives
// the status of each code: the verifier's (verifier.Code) and this package's (Code*
// constants). Messages never repeat the token. Each request logs one "sts decision" line
// with the request id, source IP, role ARN, code, reason (the verifier's Reason name or one
// of this package's Reason constants), the parameter a refusal is about, the duration as a
// Go duration ("1.234ms") and, for a verified token, its provider, subject, audience and the
// policy decision.
// aws:SourceIp is the TCP peer's address; X-Forwarded-For is not trusted.
//
// # Metrics
//
// Options.Observer sees every answer (code, reason, parameter, status, duration, request id);
// the verifier's own Options.Observer sees every decision (code, reason, provider, latency).
// Neither carries token content, and this package imports no metrics library: the service's adapter does.
package stsapi
