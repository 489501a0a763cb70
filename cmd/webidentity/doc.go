// Command webidentity checks web identity tokens and trust policies from a shell, and serves
// an STS-compatible AssumeRoleWithWebIdentity endpoint that the AWS SDKs and CLI can call.
//
// Usage:
//
//	webidentity demo [-json]
//	webidentity verify -issuer URL [-token FILE] [-jwks FILE] [-role FILE | -policy FILE -role-arn ARN] [flags]
//	webidentity lint [-json] POLICY.json...
//	webidentity serve -config FILE [-addr ADDR] [-metrics-addr ADDR|off] [-drain DURATION] [-tls-cert FILE -tls-key FILE] [-log-level LEVEL]
//	webidentity serve -data DIR -admin FILE [-config FILE] [-allow-private-addresses] [-ca-file FILE] [flags]
//	webidentity import -config FILE -data DIR [-replace]
//	webidentity issuer [-addr 127.0.0.1:8443] [-path /id/DEMO] [-ca-out FILE]
//
// Every subcommand exits with 0 when the answer is yes (allowed, valid, no high-severity
// finding, clean shutdown), 1 when it is no (denied or invalid token, high-severity finding,
// unparseable policy, server failure) and 2 on a usage or configuration error.
//
// Flags and file arguments mix in any order ("webidentity lint a.json -json"); "--" ends the
// flags. -h, -help and --help print the command's usage on stdout and exit 0. A usage error
// (an unknown flag, a stray argument, a missing required flag) first says what is wrong,
// then prints the usage, on stderr.
//
// # demo
//
// demo starts an OIDC issuer on loopback TLS, registers it as a provider, loads an IRSA role
// whose trust policy admits system:serviceaccount:default:demo, and walks through
// AssumeRoleWithWebIdentity: allowed; denied for another namespace (AccessDenied, with the
// statement and condition that failed); denied for an expired token (ExpiredTokenException);
// and the allowed request once more over HTTP through the STS Query API that serve runs. It
// needs nothing but Go. With -json each step is one JSON object per line.
//
// # verify
//
// verify checks a token (from -token FILE, or stdin) for the issuer named by -issuer, and
// prints a JSON object: valid, allowed (with a role), issuer, provider (the provider ARN,
// only when -provider-arn or a role names its account), role, claims (only of a token that
// verified), decision {effect, statement, sid, reason} and error {code, reason, message,
// detail, hint}. A hint says how to fix a refusal that is the command's own setting: discovery
// refused for a loopback or private issuer names -allow-private-addresses. Keys come from the issuer's discovery document, or from -jwks FILE (a JWK
// Set, or PEM public keys or certificates, each with the kid kube-apiserver gives it) to verify
// offline. With -role FILE (aws iam get-role output) or -policy FILE (a trust
// policy, with -role-arn or -provider-arn to name the account) it also decides
// AssumeRoleWithWebIdentity for -session-name and -duration. A -role file that is a bare
// trust policy is refused with a hint to pass it as -policy: the role ARN it would need is
// not in it, and verify does not make one up. Flags:
//
//	-issuer URL                the issuer; a token whose iss differs is refused
//	-client-id ID              an accepted audience, repeatable (default sts.amazonaws.com)
//	-algorithm ALG             an accepted JOSE alg, repeatable (default every supported one)
//	-provider-arn ARN          the provider's IAM ARN (default: in the role's account)
//	-allow-private-addresses   let discovery reach loopback and private addresses
//	-ca-file FILE              trust only these roots (PEM) for discovery
//
// The token is never trusted to say where its keys are: only -issuer's discovery document or
// -jwks is used.
//
// # import
//
// import loads a serve configuration's providers and roles into the store in -data, all or
// nothing, validated as IAM validates them. A store with content is refused unless -replace.
//
// # issuer
//
// issuer runs a local OpenID Connect issuer on a loopback address, for trying serve with the
// AWS CLI: discovery and a JWKS over HTTPS (its certificate written to -ca-out; its SHA-1
// thumbprint printed), and GET <issuer>/token?sub=...&aud=... mints a token for anyone who
// asks. It is a demonstration: never expose it.
//
// # lint
//
// lint reports what policy.Lint finds in each file, a trust policy or aws iam get-role output
// (whose AssumeRolePolicyDocument may be URL-encoded): one line per finding, "FILE: SEVERITY
// PATH: MESSAGE [RULE]", or with -json a list of {file, findings: [{severity, path, rule,
// message}], error: {path, message}}. It exits 1 when any file has a high-severity finding or
// does not parse.
//
// # serve
//
// serve runs in one of two modes. With -config FILE alone, the providers and roles are the
// file's, read-only (SIGHUP reloads it). With -data DIR, they live in an embedded store (one
// bbolt file in DIR, crash-safe: a write is on disk before it is answered) and serve also
// answers the IAM Query API (version 2010-05-08: OIDC providers and roles; see package iamapi)
// on the same address: a request whose SigV4 credential scope names the iam service is IAM's,
// everything else STS's. IAM requests must be signed by a credential of the -admin file,
//
//	{"Admins": [{"AccessKeyId": "AKIA...", "SecretAccessKey": "...", "Account": "111122223333"}]}
//
// each key administering one account (Partition optional, "aws"); other, unsigned, stale or
// wrongly signed requests are refused with AWS's codes and change nothing. Every change is
// enforced by the next AssumeRoleWithWebIdentity. With -data, -config FILE is imported into an
// empty store at start (its Keys and Verifier settings apply in any case);
// -allow-private-addresses and -ca-file give the key settings without a file, and the former
// also lets provider URLs carry a port (local issuers; IAM refuses ports).
//
// serve answers the STS Query API for AssumeRoleWithWebIdentity, version 2011-06-15: POST /
// with a form body or GET / with query parameters, unsigned, as AWS accepts it. Answers are
// AWS's XML shapes (AssumeRoleWithWebIdentityResponse, ErrorResponse with Type, Code, Message
// and RequestId) with AWS's HTTP status per code and an x-amzn-RequestId header. It also
// serves GET /healthz (the process is up) and GET /readyz (200 once every provider's keys were
// fetched, 503 before and while draining) on that listener and on a second one, -metrics-addr
// (default 127.0.0.1:8081, loopback only; "off" for none), which alone serves GET /metrics
// (Prometheus). The answer's Provider is the provider's ARN, as real STS answers it. Protocol
// errors name the offending parameter ("DurationSecond is not a parameter of
// AssumeRoleWithWebIdentity."), never token content. It logs one JSON line per request to
// stderr with the request id, code, reason, role ARN, source IP, the parameter a refusal is
// about, the duration ("1.234ms") and decision, never the token.
//
// On SIGTERM or SIGINT, serve drains: /readyz answers 503 at once and every answer carries
// "Connection: close" for -drain (default 5s; 0 for none), so that load balancers and
// keep-alive clients move away, then the servers shut down gracefully.
//
// On SIGHUP, serve reads the configuration file again and, if it is valid, switches to it in
// one atomic swap (a request is decided wholly by the old configuration or the new one), keeping
// the keys of the issuers it keeps; a bad file keeps the current configuration, is logged
// ("configuration reload failed; keeping the previous configuration") and counted
// (webidentity_config_reloads_total{result="error"}). Keys settings cannot change on reload.
// With -data or -postgres, SIGHUP reads the -admin file again instead (providers and roles
// change through the IAM API): added, rotated and removed keys count from the next request,
// and a file that does not load keeps the keys in use.
//
// The built-in credential issuer mints random credentials that grant nothing in AWS (access
// key ids start with ASIA, session tokens with "webidentity-local-"), for local testing.
// Services that mint real credentials embed package stsapi, the same handler, with their own
// stsapi.CredentialIssuer.
//
// The configuration is one JSON file. Providers are IAM OIDC providers as aws iam
// get-open-id-connect-provider prints them, plus their Arn; roles are aws iam get-role output,
// pasted as is. Member names are case-sensitive in spirit: encoding/json folds case, but a
// member given twice in any case or Unicode spelling it would match alike (U+017F for s) is
// refused, and so is a member name of the configuration or get-role format that is not ASCII.
// Unknown members are refused, and every error names the path of the problem, such as
// Roles[1].Role.AssumeRolePolicyDocument.Statement[0].Effect:
//
//	{
//	  "Providers": [{
//	    "Url": "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
//	    "Arn": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
//	    "ClientIDList": ["sts.amazonaws.com"],
//	    "ThumbprintList": [],
//	    "DiscoveryUrl": "",
//	    "Algorithms": []
//	  }],
//	  "Roles": [{"Role": {
//	    "Arn": "arn:aws:iam::111122223333:role/app",
//	    "RoleId": "AROAEXAMPLEEXAMPLE01",
//	    "MaxSessionDuration": 3600,
//	    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": ["..."]}
//	  }}],
//	  "Keys": {"AllowPrivateAddresses": false, "CAFile": "", "FetchTimeout": "5s", "MinRefreshInterval": "30s", "MaxStale": "24h"},
//	  "Verifier": {"Leeway": "5m", "MaxTokenLifetime": "0s", "TokenCacheSize": 10000}
//	}
//
// See README.md for every member.
package main
