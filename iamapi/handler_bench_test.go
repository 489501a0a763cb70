package iamapi_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/iamapi"
)

// BenchmarkHandler measures whole requests through ServeHTTP (signed as the Go SDK signs,
// answered into a recorder), beside "authenticate", the Authenticator alone on the same
// GetRole request: the difference is the Handler's own cost (parameters, registry, XML, log
// line to a discarding handler).
func BenchmarkHandler(b *testing.B) {
	reg := iam.New(iam.Options{Now: func() time.Time { return t0 }, MaxRolesPerAccount: -1})
	for i := 0; i < 100; i++ {
		_, err := reg.CreateRole(&iam.Role{Account: acctA, Name: fmt.Sprintf("role-%03d", i), Path: "/teams/",
			TrustPolicyDocument: trustPolicy("repo:org/app:*"), Tags: []iam.Tag{{Key: "team", Value: "platform"}}})
		require.NoError(b, err)
	}
	opts := iamapi.Options{Credentials: adminsAB, Registry: reg, Now: func() time.Time { return t0 },
		Logger: slog.New(slog.DiscardHandler)}
	h, err := iamapi.NewHandler(opts)
	require.NoError(b, err)
	a, err := iamapi.NewAuthenticator(opts)
	require.NoError(b, err)

	serve := func(b *testing.B, body string) {
		req := signedServerRequest(b, body)
		raw := []byte(body)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		require.Equal(b, http.StatusOK, w.Code, w.Body.String())
		b.ReportAllocs()
		for b.Loop() {
			req.Body = io.NopCloser(bytes.NewReader(raw))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatal(w.Code)
			}
		}
	}
	getRole := "Action=GetRole&Version=2010-05-08&RoleName=role-042"
	b.Run("authenticate", func(b *testing.B) {
		req := signedServerRequest(b, getRole)
		raw := []byte(getRole)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Authenticate(req, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetRole", func(b *testing.B) { serve(b, getRole) })
	b.Run("ListRoles-100", func(b *testing.B) { serve(b, "Action=ListRoles&Version=2010-05-08&PathPrefix=%2Fteams%2F") })
	b.Run("ListRoles-1", func(b *testing.B) { serve(b, "Action=ListRoles&Version=2010-05-08&MaxItems=1") })
}
