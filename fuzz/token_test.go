package fuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webidentity/webidentity/internal/testissuer"
	"github.com/webidentity/webidentity/verifier"
)

// Signature modes of the token targets. The low two bits of mode choose what happens to the
// signature; the other six choose the signing key (an index into keySpecs, modulo its length).
const (
	sigAsGiven = iota // the input's signature bytes, untouched
	sigSign           // a fresh signature by the chosen key over the signing input
	sigFlip           // a fresh signature with the input's signature bytes XORed into it
	sigVariant        // a non-canonical signature: PSS with maximum salt, ECDSA with s' = n-s
)

// modeFor returns the mode that signs with the key named sym.
func modeFor(op int, sym string) uint8 {
	for i, s := range keySpecs {
		if s.sym == sym {
			return uint8(i<<2 | op)
		}
	}
	panic("no key " + sym)
}

// resign applies mode to the signing input and the input's signature bytes.
func resign(t *testing.T, w *world, input string, sig []byte, mode uint8) []byte {
	op := int(mode & 3)
	if op == sigAsGiven {
		return sig
	}
	k := w.keys[int(mode>>2)%len(w.keys)]
	out, err := signJOSE(k, []byte(input), op == sigVariant)
	if err != nil {
		t.Fatalf("sign with %s: %v", k.sym, err)
	}
	if op == sigFlip {
		for i, b := range sig {
			out[i%len(out)] ^= b
		}
	}
	return out
}

// FuzzToken mutates the decoded header, payload and signature of web identity tokens.
// See doc.go for the invariants.
func FuzzToken(f *testing.F) {
	w := getWorld(f)
	for _, sym := range sortedKeys(w.minted) {
		h, p, s := splitDecoded(f, w.minted[sym])
		f.Add(h, p, s, uint8(sigAsGiven))
		f.Add(h, p, []byte{0x01}, modeFor(sigFlip, sym))
		f.Add(h, p, []byte(nil), modeFor(sigVariant, sym))
	}
	f.Fuzz(func(t *testing.T, header, payload, sig []byte, mode uint8) {
		input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
		token := input + "." + b64.EncodeToString(resign(t, w, input, sig, mode))
		examine(t, w, token)
	})
}

// FuzzTokenCompact mutates whole compact tokens: dots, base64 alphabets, padding, whitespace,
// trailing bits, JSON serializations. See doc.go.
func FuzzTokenCompact(f *testing.F) {
	w := getWorld(f)
	for _, sym := range sortedKeys(w.minted) {
		tok := w.minted[sym]
		f.Add(tok, uint8(sigAsGiven))
		f.Add(tok+"=", uint8(sigAsGiven))
		f.Add(strings.Replace(tok, ".", "=.", 1), modeFor(sigSign, sym))
	}
	f.Fuzz(func(t *testing.T, token string, mode uint8) {
		if i := strings.LastIndexByte(token, '.'); i >= 0 && mode&3 != sigAsGiven {
			token = token[:i+1] + b64.EncodeToString(resign(t, w, token[:i], nil, mode))
		}
		examine(t, w, token)
	})
}

// outcome is what a verifier said about a token, in comparable form.
type outcome struct {
	ok     bool
	code   verifier.Code
	reason verifier.Reason
	claims string
}

func (o outcome) String() string {
	if o.ok {
		return "accepted"
	}
	return string(o.code) + "/" + o.reason.String()
}

func verdict(t *testing.T, tok *verifier.Token, err error) outcome {
	t.Helper()
	if err == nil {
		return outcome{ok: true, claims: tok.Claims}
	}
	var verr *verifier.Error
	if !errors.As(err, &verr) {
		t.Fatalf("error is not a *verifier.Error: %T %v", err, err)
	}
	if verr.Reason.Code() != verr.Code {
		t.Fatalf("reason %v maps to %s, error says %s", verr.Reason, verr.Reason.Code(), verr.Code)
	}
	return outcome{code: verr.Code, reason: verr.Reason}
}

// examine runs token through both verifiers, twice each, and through
// AssumeRoleWithWebIdentity, and checks every invariant of the token path.
func examine(t *testing.T, w *world, token string) {
	ctx := context.Background()
	tok, err := w.plain.Verify(ctx, token)
	first := verdict(t, tok, err)
	if first.ok {
		checkAccepted(t, w, token, tok)
	} else if w.valid[token] {
		t.Fatalf("a valid minted token was refused: %v", err)
	}
	// Determinism, with and without the verified-token cache (the cached verifier is asked
	// twice so that its second answer may come from the cache).
	for i, v := range []*verifier.Verifier{w.plain, w.cached, w.cached} {
		again, err := v.Verify(ctx, token)
		if got := verdict(t, again, err); got != first {
			t.Fatalf("verdict changed on call %d: first %v, then %v\ntoken: %q", i+2, first, got, token)
		}
		if err == nil {
			checkAccepted(t, w, token, again)
		}
	}

	// The role decision starts with the same token checks.
	role := eksRoleARN
	if tok != nil && tok.Issuer == githubURL {
		role = githubRoleARN
	}
	res, err := w.plain.AssumeRoleWithWebIdentity(ctx, &verifier.Request{
		RoleARN: role, RoleSessionName: "fuzz-session", WebIdentityToken: token,
	})
	var assumedTok *verifier.Token
	if err == nil {
		assumedTok = res.Token
	}
	assumed := verdict(t, assumedTok, err)
	switch {
	case !first.ok && assumed != first:
		t.Fatalf("Verify said %v, AssumeRoleWithWebIdentity %v\ntoken: %q", first, assumed, token)
	case first.ok && !assumed.ok:
		if res == nil && assumed.reason == verifier.ReasonDenied {
			t.Fatalf("a policy denial without its Result")
		}
		switch assumed.reason {
		case verifier.ReasonDenied, verifier.ReasonTagSessionDenied, verifier.ReasonSourceIdentityDenied,
			verifier.ReasonSessionTags, verifier.ReasonSourceIdentity:
		default:
			t.Fatalf("verified token refused by AssumeRoleWithWebIdentity for %v\ntoken: %q", assumed, token)
		}
		// The IRSA role admits exactly its service account with the STS audience: a token
		// that has them, and no session claims, must get in.
		_, tags := tok.Claim("https://aws.amazon.com/tags")
		_, srcID := tok.Claim("https://aws.amazon.com/source_identity")
		if role == eksRoleARN && tok.Subject == eksSubject && slices.Equal(tok.Audience, []string{clientID}) && !tags && !srcID {
			t.Fatalf("IRSA role refused its own service account: %v\ntoken: %q", assumed, token)
		}
	case assumed.ok:
		if res.Token.Claims != tok.Claims {
			t.Fatalf("AssumeRoleWithWebIdentity saw other claims than Verify")
		}
		// The trust policies pin the subject: check the decision independently.
		switch role {
		case eksRoleARN:
			if tok.Subject != eksSubject || !slices.Contains(tok.Audience, clientID) {
				t.Fatalf("IRSA role assumed by sub %q aud %q", tok.Subject, tok.Audience)
			}
		case githubRoleARN:
			if !strings.HasPrefix(tok.Subject, githubSubPfx) || !slices.Contains(tok.Audience, clientID) {
				t.Fatalf("GitHub role assumed by sub %q aud %q", tok.Subject, tok.Audience)
			}
		}
	}

	// A flood of unknown kids never becomes a flood of fetches: the clock is frozen, so each
	// issuer may refresh at most once after warm-up. Unregistered issuers are never fetched.
	for _, iss := range []*testissuer.Issuer{w.eks, w.gh} {
		if n := iss.Requests(testissuer.JWKS); n > w.initialFetches[iss]+1 {
			t.Fatalf("%d JWKS fetches of %s (warm-up: %d)", n, iss.URL(), w.initialFetches[iss])
		}
	}
	if n := w.stranger.Requests(testissuer.JWKS) + w.stranger.Requests(testissuer.Discovery); n != 0 {
		t.Fatalf("the unregistered issuer was fetched %d times", n)
	}
}

// checkAccepted is the independent oracle for an accepted token: canonical compact JWS,
// signature valid under Go's crypto for a published key of the token's own registered issuer
// (by kid, or any fitting key without kid), header alg equal to the key's alg, and a Token
// that is exactly the signed payload.
func checkAccepted(t *testing.T, w *world, token string, tok *verifier.Token) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("ACCEPTED "+format+"\ntoken: %q", append(args, token)...)
	}
	if len(token) < 4 || len(token) > 20000 {
		fail("a token of %d characters", len(token))
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		fail("a token of %d segments", len(parts))
	}
	var seg [3][]byte
	for i, p := range parts {
		d, err := b64.Strict().DecodeString(p)
		if err != nil || b64.EncodeToString(d) != p {
			fail("segment %d, which is not canonical base64url: %v", i, err)
		}
		seg[i] = d
	}
	var hdr map[string]any
	if err := json.Unmarshal(seg[0], &hdr); err != nil {
		fail("a header that is not a JSON object: %v", err)
	}
	alg, _ := hdr["alg"].(string)
	kid, hasKid := hdr["kid"].(string)
	if _, present := hdr["kid"]; present && !hasKid {
		fail("a non-string kid")
	}
	for _, m := range []string{"crit", "jku", "x5u", "x5c", "jwk", "b64", "zip", "enc", "cty"} {
		if _, ok := hdr[m]; ok {
			fail("a header with %q", m)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(seg[1]))
	dec.UseNumber()
	var claims map[string]any
	if err := dec.Decode(&claims); err != nil || dec.More() {
		fail("a payload that is not one JSON object: %v", err)
	}
	iss, _ := claims["iss"].(string)
	keys, registered := w.pub[iss]
	if !registered {
		fail("a token of unregistered issuer %q", iss)
	}
	input := []byte(parts[0] + "." + parts[1])
	var signer *key
	if hasKid {
		k := keys[kid]
		if k == nil {
			fail("kid %q, which issuer %s does not publish", kid, iss)
		}
		if k.alg != alg {
			fail("alg %q with a %s key", alg, k.alg)
		}
		if !verifyJOSE(alg, k.signer.Public(), input, seg[2]) {
			fail("a signature that Go's crypto refuses (%s, key %s)", alg, k.sym)
		}
		signer = k
	} else {
		for _, k := range keys {
			if k.alg == alg && verifyJOSE(alg, k.signer.Public(), input, seg[2]) {
				signer = k
			}
		}
		if signer == nil {
			fail("a kid-less token that no published key of %s verifies", iss)
		}
	}

	// The Token is the signed payload, exactly.
	if tok.Claims != string(seg[1]) {
		fail("Claims %q that differ from the signed payload %q", tok.Claims, seg[1])
	}
	if tok.Issuer != iss || tok.Algorithm != alg || tok.KeyID != kid {
		fail("iss/alg/kid %q %q %q for %q %q %q", tok.Issuer, tok.Algorithm, tok.KeyID, iss, alg, kid)
	}
	if sub, ok := claims["sub"].(string); !ok || tok.Subject != sub {
		fail("Subject %q for sub %v", tok.Subject, claims["sub"])
	}
	var aud []string
	switch a := claims["aud"].(type) {
	case string:
		aud = []string{a}
	case []any:
		for _, v := range a {
			s, ok := v.(string)
			if !ok {
				fail("a non-string aud member %v", v)
			}
			aud = append(aud, s)
		}
	}
	if !slices.Equal(aud, tok.Audience) || !slices.Contains(aud, clientID) {
		fail("Audience %q for aud %v", tok.Audience, claims["aud"])
	}
	// Token.Claim reads every top-level claim as encoding/json does (escaped names included).
	for name, want := range claims {
		raw, ok := tok.Claim(name)
		if !ok {
			fail("Claim(%q) missing", name)
		}
		d := json.NewDecoder(strings.NewReader(raw))
		d.UseNumber()
		var got any
		if err := d.Decode(&got); err != nil || !reflect.DeepEqual(got, want) {
			fail("Claim(%q) = %s, encoding/json reads %v", name, raw, want)
		}
	}
	if _, present := claims["webidentity-fuzz-absent"]; !present {
		if _, ok := tok.Claim("webidentity-fuzz-absent"); ok {
			fail("Claim of an absent name")
		}
	}
	exp, ok := numericDate(claims["exp"])
	if !ok || !sameTime(tok.ExpiresAt, exp) || !exp.After(now.Add(-leeway)) {
		fail("exp %v (Token: %v)", claims["exp"], tok.ExpiresAt)
	}
	for name, got := range map[string]time.Time{"nbf": tok.NotBefore, "iat": tok.IssuedAt} {
		raw, present := claims[name]
		if !present {
			if !got.IsZero() {
				fail("%s %v without the claim", name, got)
			}
			continue
		}
		v, ok := numericDate(raw)
		if !ok || !sameTime(got, v) || v.After(now.Add(leeway)) {
			fail("%s %v (Token: %v)", name, raw, got)
		}
	}
}

// numericDate reads a JSON number as a time (encoding/json with UseNumber).
func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || f > 1e12 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// sameTime compares a parsed time with a float-derived one, to the microsecond.
func sameTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Microsecond && d < time.Microsecond
}

// splitDecoded returns the decoded segments of a compact token.
func splitDecoded(tb testing.TB, token string) (h, p, s []byte) {
	tb.Helper()
	parts := strings.Split(token, ".")
	var out [3][]byte
	for i := range out {
		d, err := b64.DecodeString(parts[i])
		if err != nil {
			tb.Fatalf("split: %v", err)
		}
		out[i] = d
	}
	return out[0], out[1], out[2]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
