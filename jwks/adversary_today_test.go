package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// Adversary of the snapshot's inline kid entries (ac3b14d) and Cache.CachedKey (5b6a28e),
// through a real TLS issuer serving JWKS documents of the test's making: CachedKey must
// answer exactly as Key's cached answer, which is the first usable key in document order
// with that kid, for kids that are prefixes of each other, of equal lengths, escaped in the
// document, shared across key types, at the 4/5-key and 176/177-byte boundaries; and it
// must never answer past MaxStale, for an unregistered issuer, or with another issuer's key.

// advKey is one JWK of a test document: its JSON and its public key.
type advKey struct {
	json string
	pub  any
}

func advB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// advOKP is an Ed25519 JWK with the kid member written as kidJSON (a JSON string literal,
// escapes allowed) and extra members.
func advOKP(t *testing.T, kidJSON, extra string) advKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return advKey{`{"kty":"OKP","crv":"Ed25519","x":"` + advB64(pub) + `","kid":` + kidJSON + extra + `}`, pub}
}

// advEC is a P-256 JWK, as advOKP.
func advEC(t *testing.T, kidJSON, extra string) advKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	b, err := k.PublicKey.Bytes() // 0x04 || X || Y
	require.NoError(t, err)
	x, y := b[1:33], b[33:]
	return advKey{`{"kty":"EC","crv":"P-256","x":"` + advB64(x) + `","y":"` + advB64(y) + `","kid":` + kidJSON + extra + `}`, &k.PublicKey}
}

func advSet(keys ...advKey) []byte {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.json
	}
	return []byte(`{"keys":[` + strings.Join(parts, ",") + `]}`)
}

func q(s string) string { b, _ := json.Marshal(s); return string(b) }

// advCase is a JWKS document and, per kid, the public key Key must serve.
type advCase struct {
	name string
	keys []advKey
	want map[string]any // kid → public key; absent kids in probes miss
}

func advCases(t *testing.T) []advCase {
	var cs []advCase
	add := func(name string, keys []advKey, kids []string) {
		want := map[string]any{}
		for i, kid := range kids {
			if kid == "-" { // not a key Key serves (use enc, or a later duplicate)
				continue
			}
			if _, dup := want[kid]; !dup {
				want[kid] = keys[i].pub
			}
		}
		cs = append(cs, advCase{name, keys, want})
	}
	okps := func(kids ...string) []advKey {
		ks := make([]advKey, len(kids))
		for i, k := range kids {
			ks[i] = advOKP(t, q(k), "")
		}
		return ks
	}
	pre := []string{"a", "ab", "abc", "abcd"}
	add("prefixes, four (inline)", okps(pre...), pre)
	add("prefixes, reversed", okps("abcd", "abc", "ab", "a"), []string{"abcd", "abc", "ab", "a"})
	five := append(append([]string{}, pre...), "abcde")
	add("prefixes, five (map)", okps(five...), five)
	eq := []string{"k1", "k2", "1k", "K1"}
	add("equal lengths, case", okps(eq...), eq)
	// 4 kids of 44 bytes are 176: the inline bytes exactly; one more byte spills.
	b44 := func(c byte) string { return strings.Repeat(string(c), 44) }
	at := []string{b44('p'), b44('q'), b44('r'), b44('s')}
	add("176 bytes", okps(at...), at)
	over := []string{b44('p'), b44('q'), b44('r'), b44('s') + "t"}
	add("177 bytes", okps(over...), over)
	// The kid of the 4th key overlaps the inline bytes' end: its prefix is 44 bytes.
	add("177 bytes, prefix probed", okps(over...), over)
	// Escapes in the document: the kid is the unescaped text.
	esc := []advKey{advOKP(t, `"a\u0062"`, ""), advOKP(t, `"\u00e9t\u00e9"`, ""), advOKP(t, `"x\/y"`, ""), advOKP(t, `"q\"r"`, "")}
	add("escaped kids", esc, []string{"ab", "été", "x/y", `q"r`})
	// A kid shared across key types: Key serves the first; a key of use enc serves nothing.
	shared := []advKey{advEC(t, q("s"), ""), advOKP(t, q("s"), ""), advOKP(t, q("e"), `,"use":"enc"`), advOKP(t, q("e"), `,"use":"sig"`)}
	add("shared kid across kty, enc before sig", shared, []string{"s", "-", "-", "e"})
	// One kid on four keys of one kty is ambiguous: parse drops them all (SkipDuplicateKid),
	// so the inline set is just "z" and "d" names nothing.
	dup := okps("d", "d", "d", "d", "z")
	add("one kid four times (ambiguous) then another", dup, []string{"-", "-", "-", "-", "z"})
	// A kid-less key among them: not found by any kid, "" included.
	nokid := []advKey{{`{"kty":"OKP","crv":"Ed25519","x":"` + advB64(mustEd(t)) + `"}`, nil}, advOKP(t, q("n"), "")}
	add("kid-less key", nokid, []string{"-", "n"})
	return cs
}

func mustEd(t *testing.T) ed25519.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return pub
}

// probes are the kids asked of a case: its own, every prefix and one-byte extension of them,
// case variants, the escaped spellings (CachedKey takes raw bytes: they name no key), "".
func probes(c advCase) []string {
	set := map[string]bool{"": true, "a\\u0062": true, "x\\/y": true}
	for kid := range c.want {
		set[kid] = true
		for i := range kid {
			set[kid[:i]] = true
		}
		set[kid+"x"] = true
		set[kid+"\x00"] = true
		set[strings.ToUpper(kid)] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return out
}

// HOLDS: for every document, Key and CachedKey serve, for each probed kid, the key the
// document order says (first usable key with exactly that kid) or nothing.
func TestAdversaryTodayCachedKeyExact(t *testing.T) {
	for _, c := range advCases(t) {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, testissuer.Options{Algorithms: []string{"EdDSA"}}, nil)
			e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Body: advSet(c.keys...)})
			iss := e.iss.URL()
			ctx := context.Background()
			ks, err := e.cache.Keys(ctx, iss)
			require.NoError(t, err)
			require.NotEmpty(t, ks)
			// The boundary cases reach the side of the inline/map switch they name.
			if inline, named := map[string]bool{"prefixes, four (inline)": true, "prefixes, five (map)": false, "176 bytes": true, "177 bytes": false, "escaped kids": true}[c.name]; named {
				snap := (*e.cache.hot.Load())[iss].snap.Load()
				require.Equal(t, inline, snap.nKids >= 0, "inline entries used")
			}
			for _, kid := range probes(c) {
				want, has := c.want[kid]
				got, ok := e.cache.CachedKey(iss, []byte(kid))
				if has {
					if assert.True(t, ok, "CachedKey(%q)", kid) {
						assert.Equal(t, kid, got.KeyID())
						assert.Equal(t, want, got.Public(), "CachedKey(%q) is the first key with that kid", kid)
					}
					k, err := e.cache.Key(ctx, iss, kid)
					if assert.NoError(t, err, "Key(%q)", kid) {
						assert.Same(t, got, k, "Key and CachedKey serve one key for %q", kid)
					}
					continue
				}
				// FINDING if it fails: a kid that no key has is served a key.
				assert.False(t, ok, "CachedKey(%q) served %v", kid, got)
				assert.Nil(t, got)
				if kid != "" {
					_, err := e.cache.Key(ctx, iss, kid)
					assert.True(t, errors.Is(err, ErrUnknownKey), "Key(%q): %v", kid, err)
				}
			}
		})
	}
}

// HOLDS: a rotation that changes the inline set (4 inline kids → 5 in the map → 4 inline
// again, with kid "a" naming a new key each time) never lets CachedKey serve a key of an
// earlier set, and a kid dropped from the set is not served after the refresh.
func TestAdversaryTodayCachedKeyRotation(t *testing.T) {
	e := newEnv(t, testissuer.Options{Algorithms: []string{"EdDSA"}}, func(o *Options) {
		o.MinRefreshInterval = time.Second
	})
	iss := e.iss.URL()
	ctx := context.Background()
	sets := [][]string{{"a", "b", "c", "d"}, {"a", "b", "c", "d", "e"}, {"e", "a", "f", "g"}, {"a"}}
	var prev map[string]any
	for round, kids := range sets {
		keys := make([]advKey, len(kids))
		want := map[string]any{}
		for i, k := range kids {
			keys[i] = advOKP(t, q(k), "")
			want[k] = keys[i].pub
		}
		e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Body: advSet(keys...), Header: http.Header{"Cache-Control": {"max-age=60"}}})
		if round > 0 {
			e.clock.Advance(10 * time.Minute) // past the freshness lifetime, within MaxStale
			_, _ = e.cache.Key(ctx, iss, kids[0])
			waitFetch(t, e.cache, iss)
			// The refresh ahead has landed: a second Key finds the new set.
			_, err := e.cache.Keys(ctx, iss)
			require.NoError(t, err)
		} else {
			_, err := e.cache.Keys(ctx, iss)
			require.NoError(t, err)
		}
		for kid, pub := range want {
			got, ok := e.cache.CachedKey(iss, []byte(kid))
			if assert.True(t, ok, "round %d kid %q", round, kid) {
				assert.Equal(t, pub, got.Public(), "round %d kid %q is the new set's key", round, kid)
			}
		}
		for kid := range prev {
			if _, still := want[kid]; still {
				continue
			}
			got, ok := e.cache.CachedKey(iss, []byte(kid))
			assert.False(t, ok, "round %d: dropped kid %q still served (%v)", round, kid, got)
		}
		prev = want
	}
}

// HOLDS: CachedKey answers nothing for an unregistered issuer, for another registered
// issuer's kid, or once the keys are past MaxStale with the issuer down; Key then fails.
func TestAdversaryTodayCachedKeyScope(t *testing.T) {
	other := testissuer.Start(t, testissuer.Options{Path: "/other", Algorithms: []string{"EdDSA"}})
	e := newEnv(t, testissuer.Options{Algorithms: []string{"EdDSA"}}, func(o *Options) {
		o.MaxStale = time.Hour
		o.Issuers = append(o.Issuers, IssuerConfig{Issuer: other.URL()} /* httptest's certificate is shared */)
	})
	ctx := context.Background()
	iss := e.iss.URL()
	mine := advOKP(t, q("mine"), "")
	theirs := advOKP(t, q("theirs"), "")
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Body: advSet(mine), Header: http.Header{"Cache-Control": {"max-age=60"}}})
	other.SetFault(testissuer.JWKS, testissuer.Fault{Body: advSet(theirs)})
	_, err := e.cache.Keys(ctx, iss)
	require.NoError(t, err)
	_, err = e.cache.Keys(ctx, other.URL())
	require.NoError(t, err)

	_, ok := e.cache.CachedKey(iss, []byte("mine"))
	require.True(t, ok)
	_, ok = e.cache.CachedKey(other.URL(), []byte("theirs"))
	require.True(t, ok)
	k, ok := e.cache.CachedKey(iss, []byte("theirs"))
	assert.False(t, ok, "another issuer's kid served: %v", k)
	k, ok = e.cache.CachedKey(other.URL(), []byte("mine"))
	assert.False(t, ok, "another issuer's kid served: %v", k)
	for _, u := range []string{"https://unregistered.example.com", iss + "/", strings.ToUpper(iss), iss[:len(iss)-1], ""} {
		k, ok = e.cache.CachedKey(u, []byte("mine"))
		assert.False(t, ok, "issuer %q served %v", u, k)
	}
	k, ok = e.cache.CachedKey(iss, nil)
	assert.False(t, ok)
	assert.Nil(t, k)

	// The issuer goes down; past expiry + MaxStale nothing is served.
	e.iss.SetFault(testissuer.JWKS, testissuer.Fault{Status: http.StatusInternalServerError})
	e.clock.Advance(30 * time.Minute)
	_, ok = e.cache.CachedKey(iss, []byte("mine"))
	assert.True(t, ok, "stale keys are served within MaxStale")
	waitFetch(t, e.cache, iss)
	e.clock.Advance(2 * time.Hour)
	k, ok = e.cache.CachedKey(iss, []byte("mine"))
	assert.False(t, ok, "served past MaxStale: %v", k)
	_, err = e.cache.Key(ctx, iss, "mine")
	assert.Error(t, err)

	// Unregistered: nothing, even for a kid it had.
	require.Equal(t, 1, e.cache.Unregister(other.URL()))
	k, ok = e.cache.CachedKey(other.URL(), []byte("theirs"))
	assert.False(t, ok, "an unregistered issuer's key served: %v", k)
}
