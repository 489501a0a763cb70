package jwks

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Public ROCA test moduli from the ROCA authors' detector test data
// (github.com/crocs-muni/roca, roca/tests/data/mod03.txt, a 2048-bit positive
// sample, and fingerprint/tests/data/mod01.txt, a 512-bit one), and two of its
// "fake" moduli (roca/tests/test_fingerprint.py test_fake_mods): they pass the
// per-prime residue test but are not powers of 65537 modulo the primorial.
const (
	rocaMod03 = "9dcd7420e420c270a68060eb8b5aa7457a9f6648f86fafed2775cc1f79ae962f1e63f1b9e51c55f9ea6fdc7332e9b0058c9ff2eb1fc89855029cf6aafe21e689feb38ac9ffb12f1ce371bb5d0e9aae64161abce74b4244bf68f1edb4411f756a097c8929c14740245ea355f8332d1aa36bb50c7dcb4505da8de02e4e53d38f8df06097da7524df0df93db48eac8cc4af2d3a16257eb2b2adca6ba464e5974fa92550d31b1babf161e7692d00b86e3dd886ecab4abfbe1a8f8cc263ff4af55cdb45f4249a5193925f5e983d762f0b6800943eb0267b08f42ed311ce1f5c86eacbc8ce4d3cb7a2fee1ef5641423a1cf4114e5ecf50034a60a412523af9e6f4aa11"
	rocaMod01 = "944e13208a280c37efc31c3114485e590192adbb8e11c87cad60cdef0037ce99278330d3f471a2538fa667802ed2a3c44a8b7dea826e888d0aa341fd664f7fa7"
	rocaFake0 = "72414128973967872688332736535017614208620368242015797102796086827882754006260204061799547004983731426777596445658889886861027045033760014948048067467947960318205453778973975867532910489227970143091184725760290172935872752222320334100097730483600892686353719855397381316384244147860260153198611313067061116317"
	rocaFake1 = "138345973265163614694352477004469191286459111070564516299381495188624946671065451924677704628892476011773201612117597303315530745738015579159106259811204610647347662150159814774894784524366138220226431598991937057442020694466365850170057813627445465881816985939192840583168136876337135351417253708364245923133"
)

func bigInt(t testing.TB, s string, base int) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, base)
	require.True(t, ok, "bad test number")
	return n
}

// rocaM is the product of the primes up to 167 (2 included): the part of
// Infineon's primorial that the fingerprint looks at.
func rocaM() *big.Int {
	m := big.NewInt(1)
	for p := int64(2); p <= 167; p++ {
		if smallPrime(uint64(p)) {
			m.Mul(m, big.NewInt(p))
		}
	}
	return m
}

// rocaPrimeOf builds a prime of Infineon's form k*M + (65537^a mod M) with
// the given bit length (the construction the paper describes).
func rocaPrimeOf(t testing.TB, bits int) *big.Int {
	t.Helper()
	m := rocaM()
	g := big.NewInt(rocaGenerator)
	for range 100000 {
		a, err := rand.Int(rand.Reader, m)
		require.NoError(t, err)
		k, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), uint(bits-m.BitLen())))
		require.NoError(t, err)
		k.SetBit(k, bits-m.BitLen()-1, 1)
		p := new(big.Int).Mul(k, m)
		p.Add(p, new(big.Int).Exp(g, a, m))
		if p.BitLen() == bits && p.ProbablyPrime(20) {
			return p
		}
	}
	t.Fatal("no prime found")
	return nil
}

// residuesOnly is the paper's quick test alone (step 1 of rocaFingerprint).
func residuesOnly(n *big.Int) bool {
	for _, rp := range rocaPrimes {
		r := new(big.Int).Mod(n, new(big.Int).SetUint64(rp.p)).Uint64()
		if rp.dlog[r] < 0 {
			return false
		}
	}
	return true
}

func TestROCAFingerprint(t *testing.T) {
	m := rocaM()
	powerOf65537 := func(c, k int64) *big.Int { // 65537^c mod M + k*M
		n := new(big.Int).Exp(big.NewInt(rocaGenerator), big.NewInt(c), m)
		return n.Add(n, new(big.Int).Mul(big.NewInt(k), m))
	}
	p, q := rocaPrimeOf(t, 1024), rocaPrimeOf(t, 1024)
	tests := []struct {
		name      string
		n         *big.Int
		want      bool
		residueOK bool // passes the per-prime residue test
	}{
		{"roca mod03 (2048-bit, public sample)", bigInt(t, rocaMod03, 16), true, true},
		{"roca mod01 (512-bit, public sample)", bigInt(t, rocaMod01, 16), true, true},
		{"constructed p*q of Infineon-form primes", new(big.Int).Mul(p, q), true, true},
		{"65537^12345 mod M + 7M", powerOf65537(12345, 7), true, true},
		{"65537^0 + M", powerOf65537(0, 1), true, true},
		{"fake 0: residues pass, no common logarithm", bigInt(t, rocaFake0, 10), false, true},
		{"fake 1: residues pass, no common logarithm", bigInt(t, rocaFake1, 10), false, true},
		{"65537^5 mod M + 2 (one residue off)", new(big.Int).Add(powerOf65537(5, 3), big.NewInt(2)), false, false},
		{"sound RSA modulus", new(big.Int).Mul(bigInt(t, "170141183460469231731687303715884105727", 10), bigInt(t, "162259276829213363391578010288127", 10)), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, rocaFingerprint(tt.n.Bytes()))
			assert.Equal(t, tt.residueOK, residuesOnly(tt.n))
			// Leading zero bytes (a non-minimal JWK "n") change nothing.
			assert.Equal(t, tt.want, rocaFingerprint(append([]byte{0, 0}, tt.n.Bytes()...)))
		})
	}
}

// Random odd moduli essentially never carry the fingerprint (about 2^-154).
func TestROCANoFalsePositives(t *testing.T) {
	buf := make([]byte, 256)
	for range 5000 {
		_, err := rand.Read(buf)
		require.NoError(t, err)
		buf[0] |= 0x80
		buf[255] |= 1
		require.False(t, rocaFingerprint(buf))
	}
	n, err := base64.RawURLEncoding.DecodeString(keyMaps(t).rsa["n"].(string))
	require.NoError(t, err)
	assert.False(t, rocaFingerprint(n), "a crypto/rsa key")
}

// A ROCA key in a JWKS is skipped with its own reason; the sound key beside
// it is kept.
func TestParseJWKSSkipsROCAKeys(t *testing.T) {
	km := keyMaps(t)
	n := bigInt(t, rocaMod03, 16)
	roca := map[string]any{"kty": "RSA", "kid": "infineon", "alg": "RS256", "use": "sig", "n": b64(n.Bytes()), "e": "AQAB"}
	sound := with(km.rsa, "kid", "sound")
	doc, err := json.Marshal(map[string]any{"keys": []any{roca, sound}})
	require.NoError(t, err)
	keys, skipped, err := ParseJWKS(doc)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	assert.Equal(t, "sound", keys[0].KeyID())
	require.Len(t, skipped, 1)
	assert.Equal(t, SkipROCA, skipped[0].Reason)
	assert.Equal(t, "infineon", skipped[0].Kid)
	assert.Equal(t, 0, skipped[0].Index)
	assert.Equal(t, "ROCA-vulnerable RSA key (CVE-2017-15361)", SkipROCA.String())
}

// The fingerprint runs once per RSA key at parse time (never per token).
func BenchmarkROCA(b *testing.B) {
	n := make([]byte, 256)
	_, err := rand.Read(n)
	require.NoError(b, err)
	n[0] |= 0x80
	n[255] |= 1
	roca := bigInt(b, rocaMod03, 16).Bytes()
	b.Run("sound 2048", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rocaFingerprint(n)
		}
	})
	b.Run("roca 2048", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rocaFingerprint(roca)
		}
	})
}

// The whole parse of a one-key RSA JWKS, to set BenchmarkROCA against.
func BenchmarkParseJWKSRSA(b *testing.B) {
	doc, err := json.Marshal(map[string]any{"keys": []any{keyMaps(b).rsa}})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		keys, _, err := ParseJWKS(doc)
		if err != nil || len(keys) != 1 {
			b.Fatal("parse failed")
		}
	}
}
