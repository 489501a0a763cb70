package verifier_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/jwks"
	"github.com/webidentity/webidentity/policy"
	"github.com/webidentity/webidentity/verifier"
)

const (
	issuer      = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	providerARN = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	roleARN     = "arn:aws:iam::111122223333:role/payments-api"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// The issuer's signing key: fixed so that the example is reproducible.
var signingKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// mintToken signs claims as the issuer would (examples only: real tokens come from the IdP).
func mintToken(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]any{"alg": "EdDSA", "kid": "key-1", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	return input + "." + enc.EncodeToString(ed25519.Sign(signingKey, []byte(input)))
}

// newVerifier pins the issuer's public key (offline) and registers one role.
func newVerifier() *verifier.Verifier {
	key, err := jwks.NewKey(signingKey.Public(), "key-1", "EdDSA")
	if err != nil {
		panic(err)
	}
	keys, err := jwks.NewStatic(issuer, key)
	if err != nil {
		panic(err)
	}

	trust, err := policy.Parse([]byte(`{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Effect": "Allow",
	    "Principal": {"Federated": "` + providerARN + `"},
	    "Action": "sts:AssumeRoleWithWebIdentity",
	    "Condition": {"StringEquals": {
	      "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub": "system:serviceaccount:payments:api",
	      "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud": "sts.amazonaws.com"
	    }}
	  }]
	}`))
	if err != nil {
		panic(err)
	}
	roles, err := verifier.NewStaticRoles(&verifier.Role{ARN: roleARN, TrustPolicy: trust})
	if err != nil {
		panic(err)
	}
	v, err := verifier.New(verifier.Options{
		Providers: []verifier.Provider{{URL: issuer, ARN: providerARN, ClientIDs: []string{"sts.amazonaws.com"}}},
		Roles:     roles,
		Keys:      keys,
		Now:       func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	return v
}

func claims(sub string, exp time.Time) map[string]any {
	return map[string]any{
		"iss": issuer, "sub": sub, "aud": "sts.amazonaws.com",
		"iat": now.Unix(), "exp": exp.Unix(),
	}
}

func ExampleVerifier_AssumeRoleWithWebIdentity() {
	v := newVerifier()
	defer v.Close()

	res, err := v.AssumeRoleWithWebIdentity(context.Background(), &verifier.Request{
		RoleARN:          roleARN,
		RoleSessionName:  "api-pod",
		WebIdentityToken: mintToken(claims("system:serviceaccount:payments:api", now.Add(time.Hour))),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Decision.Effect, res.Subject, res.Duration)
	// Output: Allow system:serviceaccount:payments:api 1h0m0s
}

func ExampleVerifier_AssumeRoleWithWebIdentity_denied() {
	v := newVerifier()
	defer v.Close()

	res, err := v.AssumeRoleWithWebIdentity(context.Background(), &verifier.Request{
		RoleARN:          roleARN,
		RoleSessionName:  "worker-pod",
		WebIdentityToken: mintToken(claims("system:serviceaccount:payments:worker", now.Add(time.Hour))),
	})
	var e *verifier.Error
	if errors.As(err, &e) {
		fmt.Println("caller sees:", e.Code, "-", e.Message)
		fmt.Println("operator sees:", res.Decision.Reason)
	}
	// Output:
	// caller sees: AccessDenied - not authorized to perform sts:AssumeRoleWithWebIdentity
	// operator sees: Statement[0]: condition StringEquals on "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub" did not match
}

func ExampleVerifier_Verify() {
	v := newVerifier()
	defer v.Close()

	_, err := v.Verify(context.Background(), mintToken(claims("system:serviceaccount:payments:api", now.Add(-time.Hour))))
	var e *verifier.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Reason.String(), errors.Is(err, verifier.ReasonExpired))
	}
	// Output: ExpiredTokenException Expired true
}

// Two accounts register the same issuer with their own client IDs, in an iam.Registry that
// the verifier reads per request; a third registers nothing. Deleting a provider is enforced
// by the next request.
func ExampleNew_registry() {
	key, _ := jwks.NewKey(signingKey.Public(), "key-1", "EdDSA")
	keys, _ := jwks.NewStatic(issuer, key)
	reg := iam.New(iam.Options{})
	for account, clientID := range map[string]string{"111122223333": "sts.amazonaws.com", "444455556666": "tenant-b"} {
		if _, err := reg.CreateOIDCProvider(&iam.OIDCProvider{Account: account, URL: issuer, ClientIDs: []string{clientID}}); err != nil {
			panic(err)
		}
	}
	v, err := verifier.New(verifier.Options{ProviderSource: reg, Roles: reg, Keys: keys, Now: func() time.Time { return now }})
	if err != nil {
		panic(err)
	}
	defer v.Close()

	token := mintToken(claims("system:serviceaccount:payments:api", now.Add(time.Hour))) // aud sts.amazonaws.com
	for _, account := range []string{"111122223333", "444455556666", "777788889999"} {
		_, err := v.VerifyFor(context.Background(), &verifier.VerifyRequest{Account: account, WebIdentityToken: token})
		var e *verifier.Error
		if errors.As(err, &e) {
			fmt.Println(account, e.Reason, "-", e.Message)
		} else {
			fmt.Println(account, "valid")
		}
	}
	_ = reg.DeleteOIDCProvider(providerARN)
	_, err = v.VerifyFor(context.Background(), &verifier.VerifyRequest{Account: "111122223333", WebIdentityToken: token})
	fmt.Println("after the delete:", errors.Is(err, verifier.ReasonUnknownIssuer))
	// Output:
	// 111122223333 valid
	// 444455556666 Audience - the web identity token audience is not a registered client ID
	// 777788889999 UnknownIssuer - No OpenIDConnect provider found in your account for https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE
	// after the delete: true
}
