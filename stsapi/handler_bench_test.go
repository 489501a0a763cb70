package stsapi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHandler is the handler's own cost around a decision: parameters, checks, answer,
// log line (discarded, or written by a JSON logger to io.Discard), with a Decider that allows
// at once, without HTTP (httptest.NewRecorder).
func BenchmarkHandler(b *testing.B) {
	discard, err := NewHandler(Options{Verifier: allowAll, Issuer: &LocalIssuer{}})
	if err != nil {
		b.Fatal(err)
	}
	jsonlog, err := NewHandler(Options{Verifier: allowAll, Issuer: &LocalIssuer{}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		h    *Handler
		form string
	}{
		{"allowed", discard, assumeForm(testRoleARN, "header.payload.signature").Encode()},
		{"allowed/jsonlog", jsonlog, assumeForm(testRoleARN, "header.payload.signature").Encode()},
		{"unknown parameter", discard, assumeForm(testRoleARN, "header.payload.signature").Encode() + "&DurationSecond=7200"},
		{"unknown parameter/jsonlog", jsonlog, assumeForm(testRoleARN, "header.payload.signature").Encode() + "&DurationSecond=7200"},
	} {
		h := bc.h
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
