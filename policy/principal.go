package policy

import "strings"

// Principal types a Principal element may name.
const (
	PrincipalAWS           = "AWS"
	PrincipalFederated     = "Federated"
	PrincipalService       = "Service"
	PrincipalCanonicalUser = "CanonicalUser"
)

// principalSet is a compiled Principal element.
type principalSet struct {
	everyone bool                // "*" or {"AWS": "*"}
	anyOf    map[string]bool     // {"Federated": "*"}: every principal of that type
	ids      []Principal         // exact principals
	raw      map[string][]string // type -> values as written, for Lint
}

func (ps *principalSet) match(p Principal) bool {
	if ps.everyone || ps.anyOf[p.Type] {
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
func parsePrincipal(n *jnode, path string) (principalSet, *ParseError) {
	var ps principalSet
	switch n.kind {
	case jString:
		if n.text != "*" {
			return ps, perr(path, ReasonValue, "a principal string must be \"*\"; name principals in a map such as {\"Federated\": ...}")
		}
		ps.everyone = true
		ps.raw = map[string][]string{"*": {"*"}}
		return ps, nil
	case jObject:
	default:
		return ps, perr(path, ReasonType, "principal must be \"*\" or an object, not "+n.kind.String())
	}
	if len(n.names) == 0 {
		return ps, perr(path, ReasonValue, "empty principal")
	}
	ps.raw = map[string][]string{}
	for i, typ := range n.names {
		tpath := joinName(path, typ)
		switch typ {
		case PrincipalAWS, PrincipalFederated, PrincipalService, PrincipalCanonicalUser:
		default:
			return ps, perr(tpath, ReasonUnknown, "unknown principal type \""+typ+"\": want AWS, Federated, Service or CanonicalUser")
		}
		vals, paths, err := stringList(n.members[i], tpath)
		if err != nil {
			return ps, err
		}
		ps.raw[typ] = vals
		for j, v := range vals {
			switch {
			case v == "*":
				if typ == PrincipalAWS {
					ps.everyone = true
				} else {
					if ps.anyOf == nil {
						ps.anyOf = map[string]bool{}
					}
					ps.anyOf[typ] = true
				}
				continue
			case v == "":
				return ps, perr(paths[j], ReasonValue, "empty principal")
			case strings.ContainsAny(v, "*?"):
				return ps, perr(paths[j], ReasonValue, "wildcards are not allowed in a principal, only a lone \"*\"")
			}
			if typ == PrincipalAWS && isAccountID(v) {
				v = "arn:aws:iam::" + v + ":root"
			}
			ps.ids = append(ps.ids, Principal{Type: typ, ID: v})
		}
	}
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
