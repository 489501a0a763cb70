package fuzz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/webidentity/webidentity/verifier"
)

// tagsClaim is where STS reads session tags from a web identity token.
const tagsClaim = "https://aws.amazon.com/tags"

// FuzzSessionTags splices a fuzzed value into an EKS token as its session tags claim, signs it
// (Ed25519, fast enough per input) and asks AssumeRoleWithWebIdentity for a role that allows
// sts:TagSession. See doc.go for the invariants.
func FuzzSessionTags(f *testing.F) {
	w := getWorld(f)
	for _, s := range []string{
		`{"principal_tags":{"Project":["Automation"],"CostCenter":["987654"]},"transitive_tag_keys":["Project"]}`,
		`{"principal_tags":{"team":["payments"],"env":["prod"],"k8s:namespace":["default"]}}`,
		`{"principal_tags":{"Project":["a","b"]}}`,
		`{"principal_tags":{"aws:Project":["x"]}}`,
		`{"principal_tags":{"Project":["x"],"project":["y"]}}`,
		`{"principal_tags":{"Projé ct":["välue 1"]},"transitive_tag_keys":["PROJÉ CT"]}`,
		`{"principal_tags":{"A":["x"]},"transitive_tag_keys":["B"]}`,
		`{"principal_tags":{"A":[""]},"extra":1}`,
		`{"principal_tags":{"A":["<script>"]}}`,
		`"Project=Automation"`,
	} {
		f.Add([]byte(s))
	}
	prefix, suffix := tagsPayloadParts(w)
	f.Fuzz(func(t *testing.T, tags []byte) {
		payload := string(prefix) + string(tags) + string(suffix)
		input := b64.EncodeToString([]byte(eksHeader("EdDSA", "eks/EdDSA"))) + "." + b64.EncodeToString([]byte(payload))
		sig, err := signJOSE(w.bySym["eks/EdDSA"], []byte(input), false)
		if err != nil {
			t.Fatal(err)
		}
		res, err := w.plain.AssumeRoleWithWebIdentity(context.Background(), &verifier.Request{
			RoleARN: eksTagsRoleARN, RoleSessionName: "fuzz-tags", WebIdentityToken: input + "." + b64.EncodeToString(sig),
		})
		want, valid, reason := referenceTags(payload)
		var verr *verifier.Error
		switch {
		case err == nil && !valid:
			t.Fatalf("accepted tags the reference refuses (%s): %s", reason, tags)
		case err == nil:
			got := map[string]string{}
			var order []string
			for _, tg := range res.SessionTags {
				got[tg.Key] = tg.Value
				order = append(order, tg.Key)
			}
			if !slices.Equal(order, want.order) || !mapsEqual(got, want.tags) || !slices.Equal(res.TransitiveTagKeys, want.transitive) {
				t.Fatalf("tags %v / transitive %q, reference %v / %q\ninput: %s", res.SessionTags, res.TransitiveTagKeys, want.tags, want.transitive, tags)
			}
		case !errors.As(err, &verr):
			t.Fatalf("error %T", err)
		case valid:
			t.Fatalf("refused tags the reference accepts (%v): %s", err, tags)
		case verr.Reason != verifier.ReasonSessionTags && verr.Reason != verifier.ReasonClaimsMalformed:
			t.Fatalf("invalid tags refused for %v, not SessionTags or ClaimsMalformed: %s", verr.Reason, tags)
		case verr.Reason == verifier.ReasonSessionTags && verr.Code != verifier.CodeIDPRejectedClaim:
			t.Fatalf("session tags refused with code %s", verr.Code)
		}
	})
}

// tagsPayloadParts returns the EKS payload cut where the tags claim's value goes.
func tagsPayloadParts(w *world) (prefix, suffix []byte) {
	p, _ := json.Marshal(eksClaims())
	p = p[:len(p)-1]
	return append(p, `,"`+tagsClaim+`":`...), []byte("}")
}

type refTags struct {
	tags       map[string]string
	order      []string
	transitive []string
}

// referenceTags judges the tags claim of payload by the rules STS documents for session tags
// passed in a web identity token, read with encoding/json:
//
//	{"principal_tags": {"Key": ["value"], ...}, "transitive_tag_keys": ["Key", ...]}
//
// at most 50 tags, each with exactly one value; keys of 1..128 and values of 0..256
// characters from Unicode letters, digits and separators and _.:/=+-@; keys unique ignoring
// case and not starting with "aws:"; transitive keys unique and each naming a tag (ignoring
// case); no other members. The payload as a whole must be strict JSON.
func referenceTags(payload string) (refTags, bool, string) {
	var r refTags
	if !strictJSON([]byte(payload)) {
		return r, false, "payload not strict JSON"
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal([]byte(payload), &claims); err != nil {
		return r, false, "payload not an object"
	}
	raw := claims[tagsClaim]
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return r, false, "claim not an object"
	}
	r.tags = map[string]string{}
	var transitive json.RawMessage
	hasTransitive := false
	for dec.More() {
		name, _ := dec.Token()
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return r, false, "bad member"
		}
		switch name {
		case "principal_tags":
			if why := r.readPrincipalTags(v); why != "" {
				return r, false, why
			}
		case "transitive_tag_keys":
			transitive, hasTransitive = v, true
		default:
			return r, false, "unknown member"
		}
	}
	if hasTransitive {
		var keys []string
		if json.Unmarshal(transitive, &keys) != nil || transitive[0] != '[' {
			return r, false, "transitive keys not an array of strings"
		}
		for _, k := range keys {
			known := false
			for _, tk := range r.order {
				known = known || strings.EqualFold(tk, k)
			}
			for _, prev := range r.transitive {
				if strings.EqualFold(prev, k) {
					return r, false, "duplicate transitive key"
				}
			}
			if !known {
				return r, false, "transitive key names no tag"
			}
			r.transitive = append(r.transitive, k)
		}
	}
	return r, true, ""
}

func (r *refTags) readPrincipalTags(v json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(v))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "principal_tags not an object"
	}
	for dec.More() {
		t, _ := dec.Token()
		key := t.(string)
		var vals []string
		var rawVal json.RawMessage
		if dec.Decode(&rawVal) != nil || rawVal[0] != '[' || json.Unmarshal(rawVal, &vals) != nil || len(vals) != 1 {
			return "tag value not an array of one string"
		}
		if len(r.order) == 50 {
			return "more than 50 tags"
		}
		if !tagText(key, 1, 128) || (len(key) >= 4 && strings.EqualFold(key[:4], "aws:")) {
			return "bad tag key"
		}
		if !tagText(vals[0], 0, 256) {
			return "bad tag value"
		}
		for _, k := range r.order {
			if strings.EqualFold(k, key) {
				return "duplicate tag key"
			}
		}
		r.order = append(r.order, key)
		r.tags[key] = vals[0]
	}
	return ""
}

// tagText is STS's tag pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]* with a length in characters.
func tagText(s string, minLen, maxLen int) bool {
	if n := utf8.RuneCountInString(s); n < minLen || n > maxLen {
		return false
	}
	for _, c := range s {
		if !unicode.In(c, unicode.L, unicode.Z, unicode.N) && !strings.ContainsRune("_.:/=+-@", c) {
			return false
		}
	}
	return true
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
