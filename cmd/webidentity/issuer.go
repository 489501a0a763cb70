package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// runIssuer is the issuer subcommand: a local OpenID Connect issuer for trying serve with the
// AWS CLI. It serves discovery and a JWKS over HTTPS (a certificate for 127.0.0.1, whose CA
// it writes to -ca-out) and mints tokens at GET /token?sub=...&aud=... for anyone who asks: a
// demonstration, so it listens on loopback addresses only.
func runIssuer(ctx context.Context, args []string, e *env) int {
	fs := newFlagSet("issuer", e)
	addr := fs.String("addr", "127.0.0.1:8443", "listen `address` (loopback only)")
	path := fs.String("path", "/id/DEMO", "the issuer URL's `path` (\"\" for the root)")
	caOut := fs.String("ca-out", "issuer-ca.pem", "write the issuer's TLS certificate (PEM) to this `file`, for serve -ca-file and curl --cacert")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: webidentity issuer [-addr 127.0.0.1:8443] [-path /id/DEMO] [-ca-out FILE]")
		fs.PrintDefaults()
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if code := noArgs(fs); code >= 0 {
		return code
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usageError(fs, "-addr %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return usageError(fs, "-addr must be a loopback address: the issuer mints tokens for anyone who asks")
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "webidentity issuer: %v\n", err)
		return exitFail
	}
	iss, err := testissuer.New(testissuer.Options{Path: *path, Algorithms: []string{"RS256"}, Now: e.now, Listener: ln})
	if err != nil {
		_ = ln.Close()
		fmt.Fprintf(e.stderr, "webidentity issuer: %v\n", err)
		return exitUsage
	}
	defer iss.Close()
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: iss.Certificate().Raw})
	if err := os.WriteFile(*caOut, cert, 0o644); err != nil {
		fmt.Fprintf(e.stderr, "webidentity issuer: -ca-out: %v\n", err)
		return exitFail
	}
	iss.Handle(*path+"/token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sub, aud := q.Get("sub"), q.Get("aud")
		if sub == "" {
			sub = "system:serviceaccount:default:demo"
		}
		if aud == "" {
			aud = "sts.amazonaws.com"
		}
		tok, err := iss.Mint(iss.Claims(sub, aud), testissuer.MintOptions{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwt")
		_, _ = io.WriteString(w, tok) // no newline: the AWS CLI sends file:// contents verbatim
	}))
	fmt.Fprintf(e.stdout, "issuer %s\n", iss.URL())
	fmt.Fprintf(e.stdout, "tokens: curl --cacert %s '%s/token?sub=system:serviceaccount:default:demo'\n", *caOut, iss.URL())
	sum := sha1.Sum(iss.Certificate().Raw)
	fmt.Fprintf(e.stdout, "its TLS certificate: %s (serve -ca-file), thumbprint %s\n", *caOut, hex.EncodeToString(sum[:]))
	if e.listening != nil {
		e.listening(strings.TrimPrefix(iss.URL(), "https://"))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return exitOK
}
