package fuzz

// Adversarial fuzz targets of the multi-account verifier (issue 10), over the accounts world
// of FuzzAccounts (A registers the EKS issuer and GitHub, B the EKS issuer with another client
// ID, C nothing). Both HOLD today: they document attacks that fail, as invariants.

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/webidentity/webidentity/verifier"
)

// FuzzAdversaryRoleARN presents a genuine token of A's EKS issuer (A's client ID) for a fuzzed
// role ARN. Invariants: it is assumed only for a role ARN that exists exactly and may be
// assumed with A's client ID, through the provider of that role's own account; when the
// ARN's partition and account (the fields STS reads) have no provider for the issuer, it is
// refused before any key; the token cache never changes the answer; no message repeats the
// ARN.
func FuzzAdversaryRoleARN(f *testing.F) {
	_, a := getAccounts(f)
	for _, r := range a.roles {
		f.Add(r.arn)
	}
	for _, s := range []string{
		"arn:aws:iam::111122223333:role/eks-app",
		"arn:aws-us-gov:iam::111122223333:role/eks-app",
		"arn:aws:sts::111122223333:role/eks-app",
		"arn:aws:iam:us-east-1:111122223333:role/eks-app",
		"arn:aws:iam:::111122223333:role/eks-app",
		"arn:aws:iam::111122223333:role/eks-app:x",
		"arn:aws:iam::111122223333 :role/eks-app",
		"arn:aws:iam::１１１１２２２２３３３３:role/eks-app",
		"arn:AWS:iam::111122223333:role/eks-app",
		"arn:aws:iam::444455556666:role/111122223333/eks-app",
		"arn:aws:iam::111122223333:role/EKS-APP",
		"arn:aws:iam::111122223333:role/eks-app\n",
		"arn:aws:iam::111122223333",
		eksARN,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		w, a := getAccounts(t)
		token := w.minted["eks/RS256"]
		ctx := context.Background()
		req := &verifier.Request{RoleARN: arn, RoleSessionName: "fuzz-session", WebIdentityToken: token}
		res, err := a.plain.AssumeRoleWithWebIdentity(ctx, req)
		got := verdictOf(t, err)
		for i := range 2 {
			_, err2 := a.cached.AssumeRoleWithWebIdentity(ctx, req)
			if again := verdictOf(t, err2); again != got {
				t.Fatalf("cached verifier, call %d: %v; uncached: %v (role %q)", i+1, again, got, arn)
			}
		}
		if err == nil {
			var role *fzRole
			for i := range a.roles {
				if a.roles[i].arn == arn {
					role = &a.roles[i]
				}
			}
			switch {
			case role == nil:
				t.Fatalf("ASSUMED %q, which is no role", arn)
			case role.never || role.aud != clientID:
				t.Fatalf("ASSUMED %q, which A's token may never assume", arn)
			case res.ProviderPrincipal != a.providerOfAcct[role.account]:
				t.Fatalf("ASSUMED %q through %s, not its account's provider", arn, res.ProviderPrincipal)
			case res.RoleARN != arn:
				t.Fatalf("ASSUMED %q, answered for %q", arn, res.RoleARN)
			}
			return
		}
		if f := strings.SplitN(arn, ":", 6); len(f) == 6 {
			if _, perr := a.reg.OIDCProvider(f[1], f[4], eksURL); perr != nil && isKeyOrLaterReason(got.reason) {
				t.Fatalf("role %q: no provider in (%q, %q), yet refused as late as %v", arn, f[1], f[4], got.reason)
			}
		}
		var ve *verifier.Error
		if errors.As(err, &ve) && strings.HasPrefix(arn, "arn:") && len(arn) >= 20 && strings.Contains(ve.Message, arn) {
			t.Fatalf("the message repeats the role ARN: %q", ve.Message)
		}
	})
}

// verdictOf is verdict for a call whose token is not needed.
func verdictOf(t *testing.T, err error) outcome {
	t.Helper()
	if err == nil {
		return outcome{ok: true}
	}
	return verdict(t, nil, err)
}

// FuzzAdversaryNoProviderMessage sends a forged token whose iss is the fuzzed JSON string
// content (escapes and all) for a role of each account. Invariants: whenever the refusal is
// that the account has no provider for the issuer, its message is STS's "No OpenIDConnect
// provider found in your account for ISS" with ISS the decoded iss and a plain https URL of
// at most 255 characters of [A-Za-z0-9._~/:-], or the same message without the issuer; the
// message and the log text are printable ASCII; accounts without a provider never get past
// that refusal.
func FuzzAdversaryNoProviderMessage(f *testing.F) {
	for _, s := range []string{
		"https://evil.example/id/X", `https:\/\/evil.example`, `\u0068ttps://evil.example`,
		"https://" + strings.Repeat("a", 247), "https://" + strings.Repeat("a", 248),
		"http://evil.example", "https://", `https://evil.example\u0000`, `https://evil.example\nX: 1`,
		"https://evil.example/%2e%2e", "https://user@evil.example", "https://evil.example?x",
		"https://\u0430ws.example", `https://evil.example\u202e`, "https://evil.example/ x",
		`https://evil.example\\`, `https://evil.example\"`, "\xff", eksURL, githubURL,
		strings.ReplaceAll(eksURL, "/", `\/`),
	} {
		for pick := range uint8(4) {
			f.Add(s, pick)
		}
	}
	const prefix = "No OpenIDConnect provider found in your account for "
	f.Fuzz(func(t *testing.T, issJSON string, pick uint8) {
		_, a := getAccounts(t)
		role := a.roles[int(pick)%len(a.roles)]
		payload := `{"iss":"` + issJSON + `","sub":"` + eksSubject + `","aud":"` + clientID + `","exp":` + strconv.FormatInt(now.Unix()+3600, 10) + `}`
		header := `{"alg":"RS256","kid":"fuzz","typ":"JWT"}`
		token := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(make([]byte, 256))
		_, err := a.plain.AssumeRoleWithWebIdentity(context.Background(), &verifier.Request{RoleARN: role.arn, RoleSessionName: "fuzz-session", WebIdentityToken: token})
		var ve *verifier.Error
		if !errors.As(err, &ve) {
			t.Fatalf("a forged token was not refused with an *Error: %v", err)
		}
		if _, has := a.providerOfAcct[role.account]; !has && isKeyOrLaterReason(ve.Reason) {
			t.Fatalf("account %s has no provider, yet refused as late as %v", role.account, ve.Reason)
		}
		for _, text := range []string{ve.Message, ve.Error()} {
			for i := 0; i < len(text); i++ {
				if text[i] < 0x20 || text[i] > 0x7e {
					t.Fatalf("byte %#x in %q", text[i], text)
				}
			}
		}
		if ve.Reason != verifier.ReasonUnknownIssuer {
			return
		}
		named, echoed := strings.CutPrefix(ve.Message, prefix)
		if !echoed || named == "the token's issuer" {
			return
		}
		if !plainIssuer(named) {
			t.Fatalf("the message names a non-plain issuer: %q", ve.Message)
		}
		var iss string
		if json.Unmarshal([]byte(`"`+issJSON+`"`), &iss) == nil && iss != named {
			t.Fatalf("the message names %q, the token's iss is %q", named, iss)
		}
	})
}

// plainIssuer: https:// and 1..247 characters of [A-Za-z0-9._~/:-] (255 in all).
func plainIssuer(s string) bool {
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok || rest == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._~/:-", c) >= 0) {
			return false
		}
	}
	return true
}
