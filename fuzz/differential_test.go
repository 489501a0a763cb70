package fuzz

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/webidentity/webidentity/verifier"
)

// The differential: webidentity's strict parser against jwx/v2 jwt.Parse, configured as
// closely as jwx allows: compact serialization only (jwt.WithCompactOnly), the EKS issuer's
// JWKS document exactly as the key cache fetched it (jwt.WithKeySet, jwx's defaults: kid
// required, the JWK's alg), the same issuer, audience, required exp and sub, clock and leeway.
// Our side is a verifier with only the EKS provider, over the same key cache.
//
// Where both accept, the claims must agree. Where exactly one accepts, the input must fall in
// one of the categories below, each decided independently of both libraries by disagreement()
// and each shown by a case of TestDifferentialDisagreements:
//
// webidentity refuses, jwx accepts:
//   - encoding: a segment that is not canonical unpadded base64url (padding, the standard
//     alphabet, non-zero trailing bits). jwx decodes leniently and verifies the signature over
//     its own canonical re-encoding, so one signed token has many accepted spellings.
//   - json: duplicate member names, invalid UTF-8, an escaped lone surrogate, or data after the
//     object in the header or payload. jwx's decoder keeps the last duplicate, substitutes
//     U+FFFD and stops reading after the first value.
//   - header: a header member we refuse to honour (crit, b64, zip, cty, jku, x5u, x5c, jwk,
//     enc), a typ other than JWT, or an alg header that differs from the key's alg: jwx
//     verifies with the alg of the JWK it selected and never compares it with the header's.
//   - date: exp, nbf or iat that is not a plain positive decimal number of seconds in range
//     (jwx also takes strings, RFC 3339 text, exponents, zero, which disables its check).
//   - claim: a registered claim of the wrong type or length that jwx does not type-check (sub
//     over 255 characters or empty, amr/azp of a wrong type).
//   - size: a token over 20,000 characters (STS's limit).
//   - pss: an RSA-PSS signature whose salt is not as long as the hash. RFC 7518 section 3.5
//     fixes the salt length to the hash size; jwx lets crypto/rsa detect any salt length.
//
// jwx refuses, webidentity accepts:
//   - nokid: a token without kid. jwx's WithKeySet requires one; we try each of the issuer's
//     keys that fit alg (RFC 7515 leaves kid optional, and IAM accepts such tokens).
//   - jwxtype: a member whose type jwx enforces and we ignore: a non-string jti, or a header
//     x5t / x5t#S256 that is not a string.
//
// Either way:
//   - fraction: an exp, nbf or iat with a fractional part. jwx drops fractions when parsing
//     and truncates the clock to the second; we compare exactly, so the two differ within a
//     second of each leeway boundary.
func FuzzDifferential(f *testing.F) {
	w := getWorld(f)
	for _, sym := range sortedKeys(w.minted) {
		h, p, s := splitDecoded(f, w.minted[sym])
		f.Add(h, p, s, uint8(sigAsGiven))
	}
	d := getDiff(f)
	f.Fuzz(func(t *testing.T, header, payload, sig []byte, mode uint8) {
		input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
		token := input + "." + b64.EncodeToString(resign(t, w, input, sig, mode))
		d.compare(t, token)
	})
}

// diff holds both sides of the differential.
type diff struct {
	ours *verifier.Verifier
	set  jwk.Set
}

var (
	diffOnce sync.Once
	theDiff  *diff
	diffErr  error
)

func getDiff(tb testing.TB) *diff {
	tb.Helper()
	w := getWorld(tb)
	diffOnce.Do(func() {
		// Compact serialization only: a process-wide jwx setting.
		jwt.Settings(jwt.WithCompactOnly(true))
		d := &diff{}
		resp, err := w.eks.Client().Get(w.eks.JWKSURL())
		if err != nil {
			diffErr = err
			return
		}
		doc, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			diffErr = err
			return
		}
		if d.set, err = jwk.Parse(doc); err != nil {
			diffErr = err
			return
		}
		d.ours, diffErr = verifier.New(verifier.Options{
			Providers: []verifier.Provider{{URL: eksURL, ARN: eksARN, ClientIDs: []string{clientID}}},
			Keys:      w.cache, Now: clock, TokenCacheSize: -1,
		})
		theDiff = d
	})
	if diffErr != nil {
		tb.Fatalf("differential setup: %v", diffErr)
	}
	return theDiff
}

// jwxParse is jwt.Parse configured like our verifier.
func (d *diff) jwxParse(token string) (jwt.Token, error) {
	return jwt.Parse([]byte(token),
		jwt.WithKeySet(d.set),
		jwt.WithValidate(true),
		jwt.WithIssuer(eksURL),
		jwt.WithAudience(clientID),
		jwt.WithRequiredClaim("exp"),
		jwt.WithRequiredClaim("sub"),
		jwt.WithClock(jwt.ClockFunc(clock)),
		jwt.WithAcceptableSkew(leeway),
	)
}

// compare runs both sides and checks agreement.
func (d *diff) compare(t *testing.T, token string) {
	t.Helper()
	ours, ourErr := d.ours.Verify(context.Background(), token)
	theirs, jwxErr := d.jwxParse(token)
	switch {
	case ourErr == nil && jwxErr == nil:
		agreeClaims(t, token, ours, theirs)
	case ourErr != nil && jwxErr != nil:
	default:
		cats := disagreement(token)
		allowed := weRefuse
		if ourErr == nil {
			allowed = jwxRefuses
		}
		for _, c := range cats {
			if slices.Contains(allowed, c) {
				return
			}
		}
		t.Fatalf("unexplained disagreement: webidentity %v, jwx %v (categories %q)\ntoken: %q", ourErr, jwxErr, cats, token)
	}
}

// The allowed categories for each direction (see FuzzDifferential).
var (
	weRefuse   = []string{"encoding", "json", "header", "date", "claim", "size", "pss", "fraction"}
	jwxRefuses = []string{"nokid", "jwxtype", "fraction"}
)

// agreeClaims checks that both sides read the same claims.
func agreeClaims(t *testing.T, token string, ours *verifier.Token, theirs jwt.Token) {
	t.Helper()
	fail := func(what string, a, b any) {
		t.Helper()
		t.Fatalf("claims differ on %s: webidentity %v, jwx %v\ntoken: %q", what, a, b, token)
	}
	if ours.Issuer != theirs.Issuer() {
		fail("iss", ours.Issuer, theirs.Issuer())
	}
	if ours.Subject != theirs.Subject() {
		fail("sub", ours.Subject, theirs.Subject())
	}
	if !slices.Equal(ours.Audience, theirs.Audience()) {
		fail("aud", ours.Audience, theirs.Audience())
	}
	for _, c := range []struct {
		name   string
		a, b   int64
		aZero  bool
		bValid bool
	}{
		{"exp", ours.ExpiresAt.Unix(), theirs.Expiration().Unix(), ours.ExpiresAt.IsZero(), !theirs.Expiration().IsZero()},
		{"nbf", ours.NotBefore.Unix(), theirs.NotBefore().Unix(), ours.NotBefore.IsZero(), !theirs.NotBefore().IsZero()},
		{"iat", ours.IssuedAt.Unix(), theirs.IssuedAt().Unix(), ours.IssuedAt.IsZero(), !theirs.IssuedAt().IsZero()},
	} {
		if c.aZero == c.bValid || (!c.aZero && c.a != c.b) {
			fail(c.name, c.a, c.b)
		}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(ours.Claims), &m); err != nil {
		fail("payload", err, nil)
	}
	if jti, ok := m["jti"]; ok && jti != theirs.JwtID() {
		fail("jti", jti, theirs.JwtID())
	}
	for _, r := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"} {
		delete(m, r)
	}
	private := theirs.PrivateClaims()
	if len(m) == 0 && len(private) == 0 {
		return
	}
	if !reflect.DeepEqual(m, normalize(private)) {
		fail("private claims", m, private)
	}
}

// normalize passes a value through encoding/json, so that both sides have the same types.
func normalize(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// disagreement returns every category (see FuzzDifferential) that token falls in, judged
// with encoding/json and the standard library only.
func disagreement(token string) []string {
	var cats []string
	add := func(c string) {
		if !slices.Contains(cats, c) {
			cats = append(cats, c)
		}
	}
	if len(token) > 20000 {
		add("size")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return cats
	}
	var seg [3][]byte
	for i, p := range parts {
		d, err := b64.Strict().DecodeString(p)
		if err != nil {
			add("encoding")
			d, _ = lenientDecode(p)
		}
		seg[i] = d
	}
	for _, s := range seg[:2] {
		if !strictJSON(s) {
			add("json")
		}
	}
	var hdr map[string]any
	_ = json.Unmarshal(seg[0], &hdr)
	for _, m := range []string{"crit", "b64", "zip", "cty", "jku", "x5u", "x5c", "jwk", "enc"} {
		if _, ok := hdr[m]; ok {
			add("header")
		}
	}
	if typ, ok := hdr["typ"]; ok {
		if s, isStr := typ.(string); !isStr || !strings.EqualFold(s, "JWT") {
			add("header")
		}
	}
	kid, hasKid := hdr["kid"].(string)
	if !hasKid {
		add("nokid")
	}
	alg, _ := hdr["alg"].(string)
	if k := theWorld.pub[eksURL][kid]; hasKid && k != nil && k.alg != alg {
		add("header")
	}
	if k := theWorld.pub[eksURL][kid]; k != nil && strings.HasPrefix(alg, "PS") && k.alg == alg && anySaltPSS(alg, k, parts, seg[2]) {
		add("pss")
	}
	for _, m := range []string{"x5t", "x5t#S256"} {
		if v, ok := hdr[m]; ok {
			if _, isStr := v.(string); !isStr {
				add("jwxtype")
			}
		}
	}

	dec := json.NewDecoder(bytes.NewReader(seg[1]))
	dec.UseNumber()
	var claims map[string]any
	_ = dec.Decode(&claims)
	if jti, ok := claims["jti"]; ok {
		if _, isStr := jti.(string); !isStr {
			add("jwxtype")
		}
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		raw, ok := claims[name]
		if !ok {
			continue
		}
		n, isNum := raw.(json.Number)
		s := string(n)
		if !isNum || s == "" || strings.ContainsAny(s, "eE-+") || !validDateRange(s) {
			add("date")
		}
		if strings.Contains(s, ".") {
			add("fraction")
		}
	}
	if sub, ok := claims["sub"].(string); ok {
		if n := utf8.RuneCountInString(sub); n < 1 || n > 255 {
			add("claim")
		}
	}
	if v, ok := claims["azp"]; ok {
		if _, isStr := v.(string); !isStr {
			add("claim")
		}
	}
	if v, ok := claims["amr"]; ok && !stringOrStrings(v) {
		add("claim")
	}
	return cats
}

// anySaltPSS reports whether sig is an RSA-PSS signature of the token's canonical signing
// input (as jwx re-encodes it) under k with some salt length.
func anySaltPSS(alg string, k *key, parts []string, sig []byte) bool {
	h, _ := hashFor(alg)
	var input []byte
	for i, p := range parts[:2] {
		d, err := lenientDecode(p)
		if err != nil {
			return false
		}
		if i > 0 {
			input = append(input, '.')
		}
		input = append(input, b64.EncodeToString(d)...)
	}
	pub, ok := k.signer.Public().(*rsa.PublicKey)
	return ok && rsa.VerifyPSS(pub, h, digest(h, input), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
}

// validDateRange reports whether a decimal NumericDate has whole seconds in 1..10^12-1.
func validDateRange(s string) bool {
	whole, _, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 {
		return false
	}
	return strings.TrimLeft(whole, "0") != ""
}

func stringOrStrings(v any) bool {
	switch x := v.(type) {
	case string:
		return true
	case []any:
		for _, e := range x {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// lenientDecode decodes base64 the way lenient libraries do: either alphabet, padding optional.
func lenientDecode(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return b64.DecodeString(s)
}

// strictJSON reports whether data is valid UTF-8 JSON without duplicate member names (at any
// depth) and without escaped lone surrogates.
func strictJSON(data []byte) bool {
	if !utf8.Valid(data) || loneSurrogate(data) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				name, err := dec.Token()
				if err != nil {
					return err
				}
				if seen[name.(string)] {
					return errors.New("duplicate")
				}
				seen[name.(string)] = true
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if walk() != nil {
		return false
	}
	_, err := dec.Token() // nothing may follow the top-level value
	return err == io.EOF
}

// loneSurrogate reports whether a JSON text escapes a UTF-16 surrogate that is not half of a
// high-low pair.
func loneSurrogate(data []byte) bool {
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(data) && data[i+1] == 'u' {
				r, ok := hex4(data[i+2:])
				switch {
				case ok && r >= 0xD800 && r < 0xDC00:
					lo, ok2 := rune(0), false
					if i+7 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
						lo, ok2 = hex4(data[i+8:])
					}
					if !ok2 || lo < 0xDC00 || lo > 0xDFFF {
						return true
					}
					i += 11
					continue
				case ok && r >= 0xDC00 && r <= 0xDFFF:
					return true
				}
				i += 5
				continue
			}
			i++
		}
	}
	return false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// craft signs header and payload with the key sym, canonical encoding.
func craft(t *testing.T, header, payload []byte, sym string) string {
	t.Helper()
	w := getWorld(t)
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sig, err := signJOSE(w.bySym[sym], []byte(input), false)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

// mustJSON marshals v, failing the test on error.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDifferentialDisagreements shows each allowed category of FuzzDifferential with a real
// token: which side refuses it, and that disagreement() names the category.
func TestDifferentialDisagreements(t *testing.T) {
	d := getDiff(t)
	kid := kidFor("eks/RS256")
	hdr := func(extra map[string]any) []byte {
		h := map[string]any{"alg": "RS256", "kid": kid, "typ": "JWT"}
		for k, v := range extra {
			if v == nil {
				delete(h, k)
			} else {
				h[k] = v
			}
		}
		return mustJSON(t, h)
	}
	claims := func(edit func(map[string]any)) []byte {
		c := eksClaims()
		if edit != nil {
			edit(c)
		}
		return mustJSON(t, c)
	}
	base := craft(t, hdr(nil), claims(nil), "eks/RS256")
	cases := []struct {
		name     string
		token    string
		category string
		weAccept bool // else jwx accepts
	}{
		{"padding", func() string {
			// A payload whose encoding needs padding, presented padded: jwx re-encodes it.
			p := claims(func(c map[string]any) { c["pad"] = "x" })
			for len(p)%3 == 0 {
				p = append(p[:len(p)-1], ' ', '}')
			}
			tok := craft(t, hdr(nil), p, "eks/RS256")
			parts := strings.Split(tok, ".")
			return parts[0] + "." + parts[1] + strings.Repeat("=", (4-len(parts[1])%4)%4) + "." + parts[2]
		}(), "encoding", false},
		{"duplicate member", craft(t, hdr(nil),
			append(claims(nil)[:len(claims(nil))-1], []byte(`,"sub":"system:serviceaccount:default:app-sa"}`)...),
			"eks/RS256"), "json", false},
		{"data after the payload object", craft(t, hdr(nil), append(claims(nil), '0'), "eks/RS256"), "json", false},
		{"crit header", craft(t, hdr(map[string]any{"crit": []string{"exp"}, "exp": 1}), claims(nil), "eks/RS256"), "header", false},
		{"alg header lies", craft(t, hdr(map[string]any{"alg": "RS384"}), claims(nil), "eks/RS256"), "header", false},
		{"typ JOSE+JSON", craft(t, hdr(map[string]any{"typ": "JOSE+JSON"}), claims(nil), "eks/RS256"), "header", false},
		{"exp as string", craft(t, hdr(nil), claims(func(c map[string]any) { c["exp"] = "1748865600" }), "eks/RS256"), "date", false},
		{"exp with exponent", craft(t, hdr(nil), claims(func(c map[string]any) { c["exp"] = json.Number("1.7488656e9") }), "eks/RS256"), "date", false},
		{"sub of 300 characters", craft(t, hdr(nil), claims(func(c map[string]any) { c["sub"] = strings.Repeat("s", 300) }), "eks/RS256"), "claim", false},
		{"over 20000 characters", craft(t, hdr(nil), claims(func(c map[string]any) { c["pad"] = strings.Repeat("p", 15000) }), "eks/RS256"), "size", false},
		{"PSS with maximum salt", func() string {
			input := b64.EncodeToString(hdr(map[string]any{"alg": "PS256", "kid": kidFor("eks/PS256")})) + "." + b64.EncodeToString(claims(nil))
			sig, err := signJOSE(getWorld(t).bySym["eks/PS256"], []byte(input), true)
			if err != nil {
				t.Fatal(err)
			}
			return input + "." + b64.EncodeToString(sig)
		}(), "pss", false},
		{"no kid", craft(t, hdr(map[string]any{"kid": nil}), claims(nil), "eks/RS256"), "nokid", true},
		{"numeric jti", craft(t, hdr(nil), claims(func(c map[string]any) { c["jti"] = 7 }), "eks/RS256"), "jwxtype", true},
		{"numeric x5t", craft(t, hdr(map[string]any{"x5t": 7}), claims(nil), "eks/RS256"), "jwxtype", true},
		{"fractional exp at the boundary", craft(t, hdr(nil), claims(func(c map[string]any) {
			c["exp"] = json.Number(strconvI(now.Add(-leeway).Unix()) + ".5")
		}), "eks/RS256"), "fraction", true},
	}
	if _, err := d.ours.Verify(context.Background(), base); err != nil {
		t.Fatalf("base token refused by webidentity: %v", err)
	}
	if _, err := d.jwxParse(base); err != nil {
		t.Fatalf("base token refused by jwx: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ourErr := d.ours.Verify(context.Background(), tc.token)
			_, jwxErr := d.jwxParse(tc.token)
			if tc.weAccept && (ourErr != nil || jwxErr == nil) {
				t.Fatalf("want webidentity to accept and jwx to refuse; got webidentity %v, jwx %v", ourErr, jwxErr)
			}
			if !tc.weAccept && (ourErr == nil || jwxErr != nil) {
				t.Fatalf("want jwx to accept and webidentity to refuse; got webidentity %v, jwx %v", ourErr, jwxErr)
			}
			if cats := disagreement(tc.token); !slices.Contains(cats, tc.category) {
				t.Fatalf("disagreement() = %q, want %q", cats, tc.category)
			}
			d.compare(t, tc.token) // the fuzz target's own check passes
		})
	}
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }
