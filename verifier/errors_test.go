package verifier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReasonCodes pins the one table from reasons to STS codes.
func TestReasonCodes(t *testing.T) {
	want := map[Reason]Code{
		ReasonTokenSize:            CodeValidationError,
		ReasonTokenFormat:          CodeInvalidIdentityToken,
		ReasonTokenEncoding:        CodeInvalidIdentityToken,
		ReasonHeaderMalformed:      CodeInvalidIdentityToken,
		ReasonAlgorithm:            CodeInvalidIdentityToken,
		ReasonHeaderForbidden:      CodeInvalidIdentityToken,
		ReasonType:                 CodeInvalidIdentityToken,
		ReasonClaimsMalformed:      CodeInvalidIdentityToken,
		ReasonMissingClaim:         CodeInvalidIdentityToken,
		ReasonUnknownIssuer:        CodeInvalidIdentityToken,
		ReasonUnknownKey:           CodeInvalidIdentityToken,
		ReasonKeyMismatch:          CodeInvalidIdentityToken,
		ReasonBadSignature:         CodeInvalidIdentityToken,
		ReasonAudience:             CodeInvalidIdentityToken,
		ReasonExpired:              CodeExpiredToken,
		ReasonNotYetValid:          CodeInvalidIdentityToken,
		ReasonIssuedInFuture:       CodeInvalidIdentityToken,
		ReasonLifetime:             CodeInvalidIdentityToken,
		ReasonKeysUnavailable:      CodeIDPCommunicationError,
		ReasonSessionTags:          CodeIDPRejectedClaim,
		ReasonSourceIdentity:       CodeIDPRejectedClaim,
		ReasonRoleARN:              CodeValidationError,
		ReasonSessionName:          CodeValidationError,
		ReasonDuration:             CodeValidationError,
		ReasonProviderID:           CodeValidationError,
		ReasonSourceIP:             CodeValidationError,
		ReasonUnknownRole:          CodeAccessDenied,
		ReasonDenied:               CodeAccessDenied,
		ReasonTagSessionDenied:     CodeAccessDenied,
		ReasonSourceIdentityDenied: CodeAccessDenied,
		ReasonKidRequired:          CodeInvalidIdentityToken,
		ReasonThumbprint:           CodeInvalidIdentityToken,
		ReasonSourceFailure:        CodeServiceUnavailable,
	}
	require.Len(t, want, int(reasonCount)-1, "every reason has an expected code")
	for r := Reason(1); r < reasonCount; r++ {
		t.Run(r.String(), func(t *testing.T) {
			assert.Equal(t, want[r], r.Code())
			assert.NotEmpty(t, reasons[r].msg)
			e := newError(r, nil)
			assert.Equal(t, want[r], e.Code)
			assert.True(t, errors.Is(e, r))
			assert.True(t, errors.Is(e, &Error{Code: want[r]}))
			assert.True(t, errors.Is(e, &Error{Reason: r}))
			assert.False(t, errors.Is(e, &Error{Code: want[r], Reason: r%(reasonCount-1) + 1}))
		})
	}
	assert.Equal(t, "Reason(99)", Reason(99).String())
	assert.Equal(t, CodeInvalidIdentityToken, Reason(0).Code())
}

func TestErrorWrapping(t *testing.T) {
	cause := errors.New("cause")
	e := newError(ReasonKeysUnavailable, cause)
	assert.ErrorIs(t, e, cause)
	assert.ErrorIs(t, e, ReasonKeysUnavailable)
	assert.NotErrorIs(t, e, ReasonUnknownKey)
	var target *Error
	require.ErrorAs(t, error(e), &target)
	assert.Equal(t, CodeIDPCommunicationError, target.Code)
}

// TestMessagesNeverEchoTheToken sends tokens carrying a marker in every place a message could
// pick it up and checks that neither the caller-facing Message nor the full error text
// contains it.
func TestMessagesNeverEchoTheToken(t *testing.T) {
	const marker = "MARKER7f3a"
	ks := newKeySet(t)
	v := newTestVerifier(t, ks.source(), nil)
	marked := with(baseClaims(), map[string]any{"sub": marker})
	tokens := map[string]string{
		"unknown issuer":   mint(t, ks.rs, with(marked, map[string]any{"iss": "https://" + marker}), nil),
		"unknown kid":      mint(t, ks.rs, marked, map[string]any{"kid": marker}),
		"bad alg":          mint(t, ks.rs, marked, map[string]any{"alg": marker}),
		"bad typ":          mint(t, ks.rs, marked, map[string]any{"typ": marker}),
		"audience":         mint(t, ks.rs, with(marked, map[string]any{"aud": marker}), nil),
		"expired":          mint(t, ks.rs, with(marked, map[string]any{"exp": 1}), nil),
		"malformed claim":  mint(t, ks.rs, with(marked, map[string]any{"exp": marker}), nil),
		"forbidden header": mint(t, ks.rs, marked, map[string]any{"jku": "https://" + marker}),
		"bad signature":    mint(t, ks.rs, marked, nil)[:200] + strings.Repeat("A", 20),
	}
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tok)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.NotContains(t, e.Message, marker)
			assert.NotContains(t, e.Error(), marker)
		})
	}
}

// TestStringersAgreeWithFmt checks that fmt's %s and %v print what String documents. fmt
// prefers Error to String, so a Reason (which is an error) printed "verifier: Denied" while
// String returned "Denied".
func TestStringersAgreeWithFmt(t *testing.T) {
	cases := []struct {
		name string
		v    fmt.Stringer
		want string
	}{
		{"reason", ReasonDenied, "Denied"},
		{"reason expired", ReasonExpired, "Expired"},
		{"invalid reason", Reason(99), "Reason(99)"},
		{"operation", OpAssumeRoleWithWebIdentity, "AssumeRoleWithWebIdentity"},
		{"invalid operation", Operation(9), "Operation(9)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.v.String())
			assert.Equal(t, tc.want+"|"+tc.want, fmt.Sprintf("%s|%v", tc.v, tc.v))
			assert.Equal(t, tc.want, fmt.Sprint(tc.v))
			if e, ok := tc.v.(error); ok {
				assert.Equal(t, tc.want, e.Error())
			}
		})
	}
	// *Error and PolicyDenial are errors only: %s and %v print Error, with the package prefix.
	e := newError(ReasonDenied, nil)
	assert.Equal(t, e.Error()+"|"+e.Error(), fmt.Sprintf("%s|%v", e, e))
	assert.True(t, strings.HasPrefix(e.Error(), "verifier: "))
}
