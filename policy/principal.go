package policy

import (
	"math/bits"
	"slices"
	"strings"
)

// Principal types a Principal element may name.
const (
	PrincipalAWS           = "AWS"
	PrincipalFederated     = "Federated"
	PrincipalService       = "Service"
	PrincipalCanonicalUser = "CanonicalUser"
)

// principalSet is a compiled Principal element.
type principalSet struct {
	ids      []Principal // exact principals, in document order
	everyone bool        // "*" or {"AWS": "*"}
	anyOf    uint8       // {"Federated": "*"} and the like: bit principalBit(type) for every principal of that type
}

// principalTypes are the principal types, in the order of their bits in
// principalSet.anyOf.
var principalTypes = [...]string{PrincipalAWS, PrincipalFederated, PrincipalService, PrincipalCanonicalUser}

// principalBit returns the anyOf bit of a principal type, or 0.
func principalBit(typ string) uint8 {
	for i, t := range principalTypes {
		if t == typ {
			return 1 << i
		}
	}
	return 0
}

func (ps *principalSet) match(p Principal) bool {
	if ps.everyone || ps.anyOf != 0 && ps.anyOf&principalBit(p.Type) != 0 {
		return true
	}
	for i := range ps.ids {
		if ps.ids[i] == p {
			return true
		}
	}
	return false
}

// parsePrincipal reads "*" or a map from principal type to a string or a
// non-empty list of strings. Principal values admit no wildcards other than a
// lone "*": IAM matches principals exactly. {"AWS": "*"} means everyone, as
// in IAM; {"Federated": "*"} means every federated principal. A 12-digit
// AWS account ID is read as arn:aws:iam::<id>:root.
func parsePrincipal(n *jnode, path string, in *interner) (principalSet, *ParseError) {
	var ps principalSet
	switch n.kind {
	case jString:
		if n.text != "*" {
			return ps, perr(path, ReasonValue, "a principal string must be \"*\"; name principals in a map such as {\"Federated\": ...}")
		}
		ps.everyone = true
		return ps, nil
	case jObject:
	default:
		return ps, perr(path, ReasonType, "principal must be \"*\" or an object, not "+n.kind.String())
	}
	if len(n.names) == 0 {
		return ps, perr(path, ReasonValue, "empty principal")
	}
	for i, name := range n.names {
		tpath := joinName(path, name)
		bit := principalBit(name)
		if bit == 0 {
			return ps, perr(tpath, ReasonUnknown, "unknown principal type \""+name+"\": want AWS, Federated, Service or CanonicalUser")
		}
		typ := principalTypes[bits.TrailingZeros8(bit)] // the constant, not the document's copy
		vals, err := stringList(n.members[i], tpath)
		if err != nil {
			return ps, err
		}
		for j, v := range vals {
			switch {
			case v == "*":
				if typ == PrincipalAWS {
					ps.everyone = true
				} else {
					ps.anyOf |= bit
				}
				continue
			case v == "":
				return ps, perr(elemPath(n.members[i], tpath, j), ReasonValue, "empty principal")
			case strings.ContainsAny(v, "*?"):
				return ps, perr(elemPath(n.members[i], tpath, j), ReasonValue, "wildcards are not allowed in a principal, only a lone \"*\"")
			}
			if typ == PrincipalAWS && isAccountID(v) {
				v = "arn:aws:iam::" + v + ":root"
			}
			// A provider ARN is the principal of every role of the account
			// that trusts the provider.
			ps.ids = append(ps.ids, Principal{Type: typ, ID: in.str(v)})
		}
	}
	ps.ids = slices.Clip(ps.ids)
	return ps, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
