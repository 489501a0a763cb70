package verifier

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every call returns a Token of the caller's own, also for an aud of more values than the
// verified token keeps inline, from the full path and from a token-cache hit: editing it
// changes neither the next caller's Token nor what later decisions see.
func TestReturnedTokenIsTheCallers(t *testing.T) {
	auds := []any{"other-1", testClientID, "other-2"}
	for _, aud := range []any{testClientID, auds} {
		e := newAssumeEnv(t, &Role{TrustPolicy: trustPolicy(t, testARN, []string{ActionAssumeRoleWithWebIdentity}, irsaCondition)}, func(o *Options) {
			o.TokenCacheSize = 0
			o.Providers[0].ClientIDs = []string{testClientID}
		})
		req := e.request(t, with(baseClaims(), map[string]any{"aud": aud}))
		want, err := e.v.Verify(context.Background(), req.WebIdentityToken)
		require.NoError(t, err)
		wantAud := append([]string(nil), want.Audience...)
		for i := range 3 { // the full path, then cache hits
			tok, err := e.v.Verify(context.Background(), req.WebIdentityToken)
			require.NoError(t, err, "Verify %d", i)
			assert.Equal(t, wantAud, tok.Audience, "Verify %d", i)
			tok.Audience[len(tok.Audience)-1] = "edited"
			tok.Subject = "edited"
		}
		for i := range 3 {
			res, err := e.v.AssumeRoleWithWebIdentity(context.Background(), req)
			require.NoError(t, err, "assume %d", i)
			assert.Equal(t, wantAud, res.Token.Audience, "assume %d", i)
			assert.Equal(t, want.Subject, res.Token.Subject, "assume %d", i)
			for j := range res.Token.Audience {
				res.Token.Audience[j] = "edited"
			}
			res.Token.Subject = "edited"
		}
	}
}
