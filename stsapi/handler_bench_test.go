package stsapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHandler is the handler's own cost around a decision: parameters, checks, answer,
// log line (discarded), with a Decider that allows at once.
func BenchmarkHandler(b *testing.B) {
	h, err := NewHandler(Options{Verifier: allowAll, Issuer: &LocalIssuer{}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		form string
	}{
		{"allowed", assumeForm(testRoleARN, "header.payload.signature").Encode()},
		{"unknown parameter", assumeForm(testRoleARN, "header.payload.signature").Encode() + "&DurationSecond=7200"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(bc.form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
