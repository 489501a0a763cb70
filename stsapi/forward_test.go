package stsapi

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Options.Forward: a request with another Action reaches the forward handler with its body
// as sent (POST) or its query (GET); STS's own action and actions the forward declines stay
// with STS.
func TestForwardOtherActions(t *testing.T) {
	type seen struct {
		method, query, body, requestID string
	}
	got := make(chan seen, 1)
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		got <- seen{r.Method, r.URL.RawQuery, string(b), w.Header().Get(headerRequestID)}
		w.WriteHeader(http.StatusTeapot)
	})
	f := newFixture(t, func(o *Options) {
		o.Forward = func(action string) http.Handler {
			if action == "CreateRole" {
				return other
			}
			return nil
		}
	})

	form := url.Values{"Action": {"CreateRole"}, "Version": {"2010-05-08"}, "RoleName": {"r"},
		"AssumeRolePolicyDocument": {`{"Version":"2012-10-17","Statement":[]}`}}
	resp, err := http.DefaultClient.Do(postForm(t, f.srv.URL, form))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTeapot, resp.StatusCode)
	s := <-got
	assert.Equal(t, http.MethodPost, s.method)
	assert.Equal(t, form.Encode(), s.body, "the body reaches the forward handler as sent")
	assert.Empty(t, s.requestID, "the forward handler names the request itself")

	resp, err = http.Get(f.srv.URL + "/?" + form.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTeapot, resp.StatusCode)
	s = <-got
	assert.Equal(t, form.Encode(), s.query)
	assert.Empty(t, s.body)

	// Declined: STS's InvalidAction, as without Forward.
	r := do(t, postForm(t, f.srv.URL, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}))
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, CodeInvalidAction, r.err.Error.Code)
	// STS's own action is never forwarded.
	r = do(t, postForm(t, f.srv.URL, assumeForm(testRoleARN, f.token(t, testSubject, nil))))
	assert.Equal(t, http.StatusOK, r.status)
	assert.Empty(t, got)
}
