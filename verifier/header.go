package verifier

// header is what the verifier takes from a JOSE header.
type header struct {
	alg    int  // index into algorithms
	kid    span // kind == kindNone when absent
	typ    span // kind == kindNone when absent
	hasAlg bool
}

// parseHeader reads the decoded JOSE header strictly. It refuses members whose semantics this
// verifier does not implement instead of ignoring them: crit (RFC 7515 says an unknown critical
// extension must fail), b64 (unencoded payloads), zip, enc and the other JWE members, cty
// (nested tokens), and jku, x5u, x5c and jwk, which would let the token name its own key.
// The alg allow-list and typ are checked later, against the provider.
func parseHeader(r *objectReader, data []byte) (header, *Error) {
	h := header{alg: -1}
	r.reset(data)
	if err := r.beginObject(); err != nil {
		return h, newError(ReasonHeaderMalformed, err)
	}
	var nb [16]byte // an escaped name, unescaped: each is used up before the next
	for {
		m, more, err := r.nextMember()
		if err != nil {
			return h, newError(ReasonHeaderMalformed, err)
		}
		if !more {
			break
		}
		name := data[m.name.start:m.name.end] // memberName, by hand: it is not inlined
		if m.name.esc {
			name = unescape(nb[:0], name)
		}
		switch string(name) {
		case "alg":
			if m.kind != kindString {
				return h, errorf(ReasonHeaderMalformed, "alg is not a string")
			}
			var vb [16]byte
			var name []byte
			if m.esc {
				name = unescape(vb[:0], data[m.start:m.end])
			} else {
				name = data[m.start:m.end]
			}
			h.hasAlg = true
			h.alg = headerAlg(name)
		case "kid":
			if m.kind != kindString {
				return h, errorf(ReasonHeaderMalformed, "kid is not a string")
			}
			h.kid = m.span
		case "typ":
			if m.kind != kindString {
				return h, errorf(ReasonHeaderMalformed, "typ is not a string")
			}
			h.typ = m.span
		case "crit", "b64", "zip", "enc", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c",
			"cty", "jku", "x5u", "x5c", "jwk":
			return h, errorf(ReasonHeaderForbidden, "header member not allowed")
		}
	}
	if !h.hasAlg {
		return h, errorf(ReasonAlgorithm, "alg is missing")
	}
	if h.alg < 0 {
		return h, errorf(ReasonAlgorithm, "alg is not supported")
	}
	return h, nil
}

// memberName returns the member's unescaped name, using buf for escaped names.
func memberName(buf []byte, data []byte, m member) []byte {
	raw := data[m.name.start:m.name.end]
	if m.name.esc {
		raw = unescape(buf, raw)
	}
	return raw
}

// algKeys holds the nameKey of each algorithm's name, in the order of algorithms.
var algKeys = func() []nameKey {
	keys := make([]nameKey, len(algorithms))
	for i, a := range algorithms {
		keys[i] = keyOf([]byte(a.name))
	}
	return keys
}()

// headerAlg is algorithmIndex by nameKey: the names have at most 8 bytes, so comparing keys
// compares names, without reading the algorithms.
func headerAlg(name []byte) int {
	if len(name) > 8 {
		return -1
	}
	k := keyOf(name)
	for i, ak := range algKeys {
		if ak == k {
			return i
		}
	}
	return -1
}
