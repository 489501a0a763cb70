package fuzz

import (
	"context"
	"errors"
	"testing"

	"github.com/webidentity/webidentity/verifier"
)

// seedVerdicts is what Verify must answer for each token seed, built as the fuzz target
// builds it: "" for accepted, else the reason's name.
var seedVerdicts = map[string]string{
	"alg_ES256_on_EdDSA_kid": "KeyMismatch",
	"alg_lie_RS384":          "KeyMismatch",
	"alg_none":               "TokenFormat",
	"aud_many":               "",
	"aud_other":              "Audience",
	"b64_false":              "HeaderForbidden",
	"crit":                   "HeaderForbidden",
	"duplicate_sub":          "ClaimsMalformed",
	"eks_ES256":              "",
	"eks_ES256_high_s":       "",
	"eks_ES384":              "",
	"eks_ES512":              "",
	"eks_EdDSA":              "",
	"eks_PS256":              "",
	"eks_PS256_max_salt":     "BadSignature",
	"eks_PS384":              "",
	"eks_PS512":              "",
	"eks_RS256":              "",
	"eks_RS256_flipped":      "BadSignature",
	"eks_RS384":              "",
	"eks_RS512":              "",
	"eks_key_github_iss":     "UnknownKey",
	"eks_no_kid":             "",
	"eks_typ_jwt":            "",
	"embedded_jwk":           "HeaderForbidden",
	"exp_fraction":           "",
	"exp_string":             "ClaimsMalformed",
	"exp_within_leeway":      "",
	"expired":                "Expired",
	"github_current":         "",
	"github_key_eks_iss":     "UnknownKey",
	"github_next":            "",
	"github_other_repo":      "",
	"header_duplicate_alg":   "HeaderMalformed",
	"hs256_public_key":       "Algorithm",
	"iat_future":             "IssuedInFuture",
	"iss_trailing_slash":     "UnknownIssuer",
	"iss_upper_case":         "UnknownIssuer",
	"jku":                    "HeaderForbidden",
	"kid_number":             "HeaderMalformed",
	"lone_surrogate":         "ClaimsMalformed",
	"member_name_escaped":    "",
	"nbf_future":             "NotYetValid",
	"no_exp":                 "MissingClaim",
	"no_sub":                 "MissingClaim",
	"retired_key":            "UnknownKey",
	"session_tags":           "",
	"stranger_own_issuer":    "UnknownIssuer",
	"stranger_signs_eks_kid": "BadSignature",
	"sub_escaped":            "",
	"typ_at_jwt":             "Type",
	"unpublished_key":        "UnknownKey",
	"x5u":                    "HeaderForbidden",
}

// TestTokenSeedVerdicts pins the verdict of every real-shaped and forged token seed, so the
// corpus documents behaviour and a change in any verdict is seen.
func TestTokenSeedVerdicts(t *testing.T) {
	w := getWorld(t)
	for name, s := range tokenSeeds(t) {
		input := b64.EncodeToString([]byte(s.header)) + "." + b64.EncodeToString([]byte(s.payload))
		token := input + "." + b64.EncodeToString(resign(t, w, input, s.sig, s.mode))
		_, err := w.plain.Verify(context.Background(), token)
		got := ""
		var verr *verifier.Error
		if errors.As(err, &verr) {
			got = verr.Reason.String()
		} else if err != nil {
			t.Fatalf("%s: %T %v", name, err, err)
		}
		want, ok := seedVerdicts[name]
		if !ok {
			t.Errorf("seed %s has no pinned verdict (got %q)", name, got)
		} else if got != want {
			t.Errorf("seed %s: verdict %q, want %q", name, got, want)
		}
	}
}
