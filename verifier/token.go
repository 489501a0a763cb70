package verifier

import (
	"strings"
	"sync"
	"time"
)

// STS's limits on WebIdentityToken.
const (
	minTokenLen = 4
	maxTokenLen = 20000
)

// Token is a verified web identity token: its signature held under a key of a registered
// provider and its registered claims passed every check. Callers may construct one (for tests
// of their own code); Verify fills every field. Each call returns a Token of the caller's own,
// Audience included: editing it changes nothing for other callers or later decisions.
type Token struct {
	// Issuer is the iss claim, identical to the provider's URL.
	Issuer string
	// Subject is the sub claim (1..255 characters).
	Subject string
	// Audience holds the aud claim's values (one for a string aud).
	Audience []string
	// AuthorizedParty is the azp claim, or "".
	AuthorizedParty string
	// ExpiresAt, NotBefore and IssuedAt are exp, nbf and iat; NotBefore and IssuedAt are zero
	// when the token lacks them.
	ExpiresAt, NotBefore, IssuedAt time.Time
	// Algorithm is the JOSE alg the signature was verified with; KeyID is the kid header ("" if
	// the token has none).
	Algorithm, KeyID string
	// Claims is the verified JSON payload, for claims this type does not name (see Claim).
	Claims string
}

// Claim returns the raw JSON text of the top-level claim name (e.g. `"repo:o/r:ref:x"` with its
// quotes, or `["a","b"]`) and whether the token has it. It reads Claims, which Verify has
// already checked to be a strict JSON object.
func (t *Token) Claim(name string) (raw string, ok bool) {
	rs := tagReaders.Get().(*[2]objectReader)
	defer putTagReaders(rs)
	s := &rs[0]
	s.reset(readOnly(t.Claims))
	if err := s.beginObject(); err != nil {
		return "", false
	}
	for {
		mem, more, err := s.nextMember()
		if err != nil || !more {
			return "", false
		}
		if s.nameEquals(mem, name) {
			if mem.kind == kindString { // the span excludes the quotes
				return t.Claims[mem.start-1 : mem.end+1], true
			}
			return t.Claims[mem.start:mem.end], true
		}
	}
}

// compact locates the parts of a compact JWS inside the token string.
type compact struct {
	token      string
	dot1, dot2 int
}

func (c *compact) header() string    { return c.token[:c.dot1] }
func (c *compact) payload() string   { return c.token[c.dot1+1 : c.dot2] }
func (c *compact) signature() string { return c.token[c.dot2+1:] }

// splitCompact checks size and shape without allocating: 4..20000 bytes, exactly three
// non-empty segments, each of a length unpadded base64url can have. The decoder, which runs
// next on pooled memory, refuses every byte outside the base64url alphabet, CR and LF
// included, with the reason this split gave CR and LF before the decoder ran (see
// segmentError), so together they accept exactly three canonical base64url segments joined by
// two dots. The token is not scanned for CR and LF where its verdict cannot depend on it: the
// decoder finds them in the segment that has one unless it first refuses an earlier segment
// with a reason of its own, which only a final quantum with nonzero trailing bits gives; and a
// shape error of this split is preceded by the scan (see crlfFirst). This split uses the
// vectorized strings.IndexByte rather than a byte loop: it runs on every token, forged or not.
func splitCompact(token string) (compact, *Error) {
	c := compact{token: token, dot1: -1, dot2: -1}
	if len(token) < minTokenLen || len(token) > maxTokenLen {
		return c, newError(ReasonTokenSize, nil)
	}
	if token[0] == '{' {
		return c, errorf(ReasonTokenFormat, "token is a JWS JSON serialization")
	}
	c.dot1 = strings.IndexByte(token, '.')
	if c.dot1 < 0 {
		return c, errorf(ReasonTokenFormat, "token has fewer than two dots")
	}
	c.dot2 = strings.IndexByte(token[c.dot1+1:], '.')
	if c.dot2 < 0 {
		return c, errorf(ReasonTokenFormat, "token has fewer than two dots")
	}
	c.dot2 += c.dot1 + 1
	if strings.IndexByte(token[c.dot2+1:], '.') >= 0 {
		return c, errorf(ReasonTokenFormat, "token has more than two dots")
	}
	for _, seg := range [...]string{c.header(), c.payload(), c.signature()} {
		if len(seg) == 0 {
			return c, crlfFirst(token, errorf(ReasonTokenFormat, "token has an empty segment"))
		}
		if len(seg)%4 == 1 {
			return c, crlfFirst(token, errorf(ReasonTokenEncoding, "segment length impossible for base64url"))
		}
	}
	if !canonicalEnd(c.header()) || !canonicalEnd(c.payload()) {
		return c, crlfFirst(token, nil)
	}
	return c, nil
}

// errAlphabet is the error for a segment with a byte outside the base64url alphabet, the one
// splitCompact gives a token with CR or LF.
func errAlphabet() *Error {
	return errorf(ReasonTokenFormat, "token has a byte outside the base64url alphabet")
}

// crlfFirst returns errAlphabet if token has CR or LF, and e (possibly nil) otherwise: a token
// with CR or LF is refused for them before any check of its segments but the dots.
func crlfFirst(token string, e *Error) *Error {
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return errAlphabet()
	}
	return e
}

// canonicalEnd reports whether decoding seg, a non-empty segment whose length is not 1 mod 4,
// can fail only for a byte outside the alphabet: its last quantum is complete, or its last
// character is in the alphabet and leaves no nonzero trailing bits.
func canonicalEnd(seg string) bool {
	v := b64Value[seg[len(seg)-1]] // b64Invalid has every low bit set
	switch len(seg) % 4 {
	case 2:
		return v&0x0F == 0
	case 3:
		return v&0x03 == 0
	}
	return true
}

// segmentError classifies a decoding failure of seg: a byte outside the base64url alphabet
// (padding, the standard alphabet's + and /, whitespace, JSON) is a format error; otherwise the
// encoding is not canonical (nonzero trailing bits).
func segmentError(seg []byte, err error) *Error {
	for _, b := range seg {
		if b64Value[b] == b64Invalid {
			return errAlphabet()
		}
	}
	return newError(ReasonTokenEncoding, err)
}

// scratch is per-call working memory: a copy of the signing input (the hash functions take
// bytes), and the decoded header and signature. Pooled so that the hot path does not allocate
// memory in proportion to the token.
type scratch struct {
	buf    []byte
	reader objectReader
	sig    sigScratch
}

var scratchPool = sync.Pool{New: func() any { return &scratch{buf: make([]byte, 0, 4096)} }}

// decodedLen is the number of bytes n base64url characters decode to.
func decodedLen(n int) int { return n * 6 / 8 }

// decodeInto appends the decoding of seg (unpadded base64url, see b64Decode) to dst, returning
// the extended slice and the decoded part.
func decodeInto(dst []byte, seg []byte) ([]byte, []byte, error) {
	start := len(dst)
	n := decodedLen(len(seg))
	dst = grow(dst, n)
	m, err := b64Decode(dst[start:start+n], seg)
	if err != nil {
		return dst[:start], nil, err
	}
	return dst[:start+m], dst[start : start+m], nil
}

// grow extends len(b) by n, reallocating only when the capacity does not suffice.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}
