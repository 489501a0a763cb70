// Package iamapi serves the AWS IAM Query API (version 2010-05-08) for OpenID Connect
// providers and roles, over an iam.Registry, to the AWS SDKs, botocore and the AWS CLI
// unchanged: a control plane for the providers and roles that the verifier and package stsapi
// decide AssumeRoleWithWebIdentity with. Every request is SigV4-signed by an admin credential,
// as IAM requires, and acts on that credential's account. (AssumeRoleWithWebIdentity itself
// is served, unsigned as in AWS, by package stsapi, not here.)
//
// # Mounting the endpoint
//
//	reg, err := st.Registry(iam.Options{}) // a store.Store's registry, which the verifier reads
//	h, err := iamapi.NewHandler(iamapi.Options{
//		Credentials: iamapi.StaticAdmins{
//			"AKIAADMIN1": {SecretAccessKey: secret1, Account: "111122223333"},
//			"AKIAADMIN2": {SecretAccessKey: secret2, Account: "444455556666", Partition: "aws"},
//		},
//		Registry: reg,
//		Logger:   logger, // one line per request; never a secret or a policy document
//	})
//	mux.Handle("/{$}", h) // the SDKs post to the endpoint's root
//	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 64 << 10}
//
// Clients then call it with an endpoint override and the admin key:
//
//	aws iam create-open-id-connect-provider --endpoint-url https://iam.example.internal \
//		--url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com
//	AWS_ENDPOINT_URL_IAM=https://iam.example.internal  (any AWS SDK)
//
// # Accounts
//
// A request acts on the account of the admin key that signed it, as an IAM user's key acts on
// its own account. Options.Credentials must therefore implement AdminCredentials, whose
// Admin(accessKeyID) returns the key's secret, account and partition ("aws" if empty) in one
// lookup; StaticAdmins is the map form (NewHandler checks each entry), and any type with both
// methods can read keys from elsewhere (a secret store, rotation). Several keys may
// administer one account. Roles are named by RoleName within the account (IAM's
// case-insensitive resolution); providers by ARN, and an ARN of another account or partition
// is refused with AccessDenied (403) whether or not it exists, as IAM refuses a cross-account
// call. Every admin key may do every action on its account: there are no IAM permissions.
//
// # What the handler answers
//
// Requests are POST with an application/x-www-form-urlencoded body (what every AWS client
// sends) or GET with a query string; the body is read first, at most Options.MaxBodyBytes
// (1 MiB by default: IAM's largest trust policy, fully percent-encoded, fits), then
// authenticated, and a refusal at either step changes nothing. Parameters are encoded as the
// SDKs encode them: Name=value, lists as ClientIDList.member.1, ThumbprintList.member.N and
// TagKeys.member.N, tags as Tags.member.N.Key and Tags.member.N.Value, an empty list as
// "Name=". IAM documents nothing for unknown or repeated parameters, so both are refused with
// InvalidInput naming the parameter (a typo must not pass silently; a request must mean one
// thing), and so is a parameter IAM defines that this server does not implement
// (PermissionsBoundary). A missing required parameter is IAM's ValidationError "Value null
// at 'RoleName' failed to satisfy constraint: Member must not be null". Values are checked as
// IAM checks them (package iam's validation, plus the paging and ARN constraints here), and
// the registry's errors are answered with its code and a message naming its field
// ("Tags[0].Key", "ClientIDList[2]"); a MalformedPolicyDocument message carries the parse
// error's path ("Statement[0].Condition: ...").
//
// Answers are IAM's XML: <XxxResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
// <XxxResult>...</XxxResult><ResponseMetadata><RequestId>, HTTP 200, Content-Type text/xml,
// and an x-amzn-RequestId header (a random UUID); no Result element for the actions without
// output, an empty UpdateRoleResult. Errors are <ErrorResponse><Error><Type>Sender</Type>
// (Receiver for a 5xx)<Code><Message></Error><RequestId>, with the statuses IAM documents
// (HTTPStatus): EntityAlreadyExists 409, NoSuchEntity 404, MalformedPolicyDocument 400,
// ValidationError 400, LimitExceeded 409, InvalidInput 400, ServiceFailure 500 (the
// registry's store failed; the cause is logged, not shown), AccessDenied 403, InvalidAction
// 400 (another action, or a Version other than 2010-05-08), MissingAction 400,
// MalformedQueryString 404, and the authentication codes below. The SDKs map them to their
// modeled errors (types.NoSuchEntityException, ...; ValidationError and AccessDenied are
// generic API errors).
//
// Details that clients depend on, as IAM does them:
//
//   - AssumeRolePolicyDocument (CreateRole, GetRole, ListRoles, UpdateRoleDescription) is the
//     document exactly as written, percent-encoded per RFC 3986 (EncodePolicyDocument: every
//     byte but A-Z a-z 0-9 - . _ ~, so a space is %20 and "+" is %2B). botocore and the CLI
//     decode it into a JSON object; the Go SDK returns it encoded: url.QueryUnescape it.
//   - CreateDate is ISO 8601 in UTC to the second; MaxSessionDuration is in seconds.
//   - GetOpenIDConnectProvider answers Url without "https://", as the ARN has it.
//   - Tags are sorted by key; ListRoles omits them (and IAM's PermissionsBoundary and
//     RoleLastUsed, which this server never returns); GetRole and CreateRole include them.
//   - ListRoles, ListRoleTags and ListOpenIDConnectProviderTags page with MaxItems (1 to
//     1,000, default 100), IsTruncated and an opaque Marker, the key of the next page's first
//     entry: a page resumes at that key or the next one, so entries added or deleted between
//     pages never make a page repeat or skip an entry that existed throughout.
//   - DeleteOpenIDConnectProvider is idempotent, as documented: deleting a provider that does
//     not exist succeeds.
//
// A change made through the Handler is the registry's write: when the answer is sent it is
// durable (Options.Commit of the registry) and visible to the registry's lookups, so the next
// AssumeRoleWithWebIdentity sees it.
//
// # Logging
//
// Each request logs one "iam request" line: request_id, action, code ("OK" on success),
// status, access_key_id, account, partition, entity (the role or provider ARN), reason and
// parameter for a refusal (Reason: the AuthError's reasons, or the Handler's own such as
// unknown_parameter), remote and duration; at Error level with the cause for a 5xx. Never a
// secret, a signature, a trust policy document or a registry message that may quote one.
//
// # Implemented actions and parameters
//
//	Action                                   Parameters                                   Not implemented
//	CreateOpenIDConnectProvider              Url, ClientIDList, ThumbprintList, Tags      -
//	GetOpenIDConnectProvider                 OpenIDConnectProviderArn                     -
//	ListOpenIDConnectProviders               (none)                                       -
//	DeleteOpenIDConnectProvider              OpenIDConnectProviderArn                     -
//	AddClientIDToOpenIDConnectProvider       OpenIDConnectProviderArn, ClientID           -
//	RemoveClientIDFromOpenIDConnectProvider  OpenIDConnectProviderArn, ClientID           -
//	UpdateOpenIDConnectProviderThumbprint    OpenIDConnectProviderArn, ThumbprintList     -
//	TagOpenIDConnectProvider                 OpenIDConnectProviderArn, Tags               -
//	UntagOpenIDConnectProvider               OpenIDConnectProviderArn, TagKeys            -
//	ListOpenIDConnectProviderTags            OpenIDConnectProviderArn, Marker, MaxItems   -
//	CreateRole                               RoleName, AssumeRolePolicyDocument, Path,    PermissionsBoundary (InvalidInput)
//	                                         Description, MaxSessionDuration, Tags
//	GetRole                                  RoleName                                     RoleLastUsed, PermissionsBoundary in the answer
//	ListRoles                                PathPrefix, Marker, MaxItems                 -
//	DeleteRole                               RoleName                                     -
//	UpdateAssumeRolePolicy                   RoleName, PolicyDocument                     -
//	UpdateRole                               RoleName, Description, MaxSessionDuration    -
//	UpdateRoleDescription                    RoleName, Description                        -
//	TagRole                                  RoleName, Tags                               -
//	UntagRole                                RoleName, TagKeys                            -
//	ListRoleTags                             RoleName, Marker, MaxItems                   -
//
// Every other IAM action is InvalidAction: users, groups, access keys, managed and inline
// policies (CreatePolicy, AttachRolePolicy, PutRolePolicy, ListRolePolicies, ...; roles here
// carry a trust policy only), permissions boundaries (PutRolePermissionsBoundary, ...),
// instance profiles, service-linked roles, SAML providers, account aliases, reports and
// simulation. The Handler never answers ConcurrentModification, DeleteConflict (a role has no
// attachments to conflict with) or UnmodifiableEntity.
//
// # Authenticating a request
//
// The Authenticator stands alone too, for a handler of another Query API:
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
