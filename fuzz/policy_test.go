package fuzz

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/webidentity/webidentity/policy"
)

// FuzzPolicy parses trust policies and evaluates them against requests built from the fuzzed
// strings. See doc.go for the invariants.
func FuzzPolicy(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"`+eksARN+`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"`+eksPrefix+`:sub":"`+eksSubject+`","`+eksPrefix+`:aud":"sts.amazonaws.com"}}}]}`),
		eksSubject, clientID, eksARN, uint64(0x5555))
	f.Fuzz(func(t *testing.T, doc []byte, sub, aud, principal string, mask uint64) {
		p, err := policy.Parse(doc)
		if err != nil {
			pe, ok := err.(*policy.ParseError)
			if !ok {
				t.Fatalf("Parse failed with %T, not *policy.ParseError: %v", err, err)
			}
			if pe.Reason < policy.ReasonSyntax || pe.Reason > policy.ReasonNotAllowed || !strings.HasPrefix(pe.Error(), "policy: ") {
				t.Fatalf("ParseError without a reason or prefix: %#v", pe)
			}
			return
		}
		keys := p.Keys()
		values := map[string][]string{}
		for i, k := range keys {
			if k != policy.FoldKey(k) {
				t.Fatalf("Keys() returned %q, not in its folded form", k)
			}
			switch {
			case strings.HasSuffix(k, ":sub"):
				values[k] = []string{sub}
			case strings.HasSuffix(k, ":aud"):
				values[k] = []string{aud}
			case i%3 == 0:
				values[k] = []string{sub, aud}
			case i%3 == 1:
				values[k] = []string{aud}
			}
		}
		req := func(ctx policy.Context) *policy.Request {
			return &policy.Request{
				Action:    "sts:AssumeRoleWithWebIdentity",
				Principal: policy.Principal{Type: policy.PrincipalFederated, ID: principal},
				Resource:  "arn:aws:iam::111122223333:role/app",
				Context:   ctx,
			}
		}
		want := p.Evaluate(req(policy.Values(values)))
		if want.Effect != policy.Allow && want.Effect != policy.ImplicitDeny && want.Effect != policy.ExplicitDeny {
			t.Fatalf("Effect %d", want.Effect)
		}
		contexts := map[string]policy.Context{
			"again":  policy.Values(values),
			"upper":  recase(values, ^uint64(0)),
			"mixed":  recase(values, mask),
			"strict": &strictContext{t: t, keys: keys, values: values},
		}
		for name, ctx := range contexts {
			if got := p.Evaluate(req(ctx)); got != want {
				t.Fatalf("%s context: %+v, first %+v", name, got, want)
			}
		}

		// The document's own condition keys are case-insensitive too.
		if doc2, ok := recaseDocument(doc, mask); ok {
			p2, err := policy.Parse(doc2)
			var pe *policy.ParseError
			switch {
			case errors.As(err, &pe) && pe.Reason == policy.ReasonTooLarge:
			case err != nil:
				t.Fatalf("the same policy with condition keys in other case fails: %v\n%s", err, doc2)
			default:
				if got := p2.Evaluate(req(policy.Values(values))); got.Effect != want.Effect {
					t.Fatalf("condition keys in other case: %v, original %v\n%s", got.Effect, want.Effect, doc2)
				}
			}
		}
	})
}

// recase returns values with each key's ASCII letters upper-cased where mask's bit (by
// position, cycling) is set.
func recase(values map[string][]string, mask uint64) policy.Values {
	out := policy.Values{}
	for k, v := range values {
		out[asciiCase(k, mask)] = v
	}
	return out
}

func asciiCase(s string, mask uint64) string {
	b := []byte(s)
	for i, c := range b {
		if mask>>(uint(i)%64)&1 == 1 && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		} else if mask>>(uint(i)%64)&1 == 0 && c >= 'A' && c <= 'Z' {
			b[i] = c - 'A' + 'a'
		}
	}
	return string(b)
}

// strictContext answers only lower-cased keys that Keys() listed, as the Context contract
// promises callers may rely on.
type strictContext struct {
	t      *testing.T
	keys   []string
	values map[string][]string
}

func (c *strictContext) Values(key string) ([]string, bool) {
	if !slices.Contains(c.keys, key) {
		c.t.Fatalf("Evaluate asked for %q, which Keys() does not list", key)
	}
	v, ok := c.values[key]
	return v, ok
}

// recaseDocument rewrites the ASCII case of every condition key in a policy document. It
// reports false for documents it cannot rewrite faithfully.
func recaseDocument(doc []byte, mask uint64) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root map[string]any
	if dec.Decode(&root) != nil {
		return nil, false
	}
	stmts, ok := root["Statement"].([]any)
	if !ok {
		stmts = []any{root["Statement"]}
	}
	for _, s := range stmts {
		st, _ := s.(map[string]any)
		cond, _ := st["Condition"].(map[string]any)
		for op, block := range cond {
			m, ok := block.(map[string]any)
			if !ok {
				return nil, false
			}
			out := map[string]any{}
			for k, v := range m {
				out[asciiCase(k, mask)] = v
			}
			if len(out) != len(m) {
				return nil, false
			}
			cond[op] = out
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(root) != nil {
		return nil, false
	}
	return b.Bytes(), true
}

// FuzzPolicyStringLike checks StringLike end to end (JSON document, Parse, Evaluate) against
// a reference: the pattern translated to an anchored regexp, '*' as ".*" and '?' as ".",
// everything else literal.
func FuzzPolicyStringLike(f *testing.F) {
	for _, s := range [][2]string{
		{githubSubPfx + "*", githubSubPfx + "ref:refs/heads/main"},
		{"repo:octo-org/*:environment:prod", "repo:octo-org/octo-repo:environment:prod"},
		{"system:serviceaccount:kube-system:efs-csi-*", "system:serviceaccount:kube-system:efs-csi-controller-sa"},
		{"repo:o/r:ref:refs/heads/rel-??", "repo:o/r:ref:refs/heads/rel-1é"},
		{"*a*a*a*a*a*b", strings.Repeat("a", 200)},
		{"*\n*", "x\ny"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, value string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(value) || pattern == "" {
			return
		}
		doc, _ := json.Marshal(map[string]any{
			"Version": "2008-10-17", // no policy variables: the pattern is literal
			"Statement": []any{map[string]any{
				"Effect":    "Allow",
				"Principal": map[string]any{"Federated": eksARN},
				"Action":    "sts:AssumeRoleWithWebIdentity",
				"Condition": map[string]any{"StringLike": map[string]any{eksPrefix + ":sub": pattern}},
			}},
		})
		p, err := policy.Parse(doc)
		if err != nil {
			var pe *policy.ParseError
			if errors.As(err, &pe) && pe.Reason == policy.ReasonTooLarge {
				return
			}
			t.Fatalf("a StringLike pattern failed to parse: %v", err)
		}
		var re strings.Builder
		re.WriteString(`^(?s:`)
		for _, r := range pattern {
			switch r {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString(`)$`)
		want := regexp.MustCompile(re.String()).MatchString(value)
		d := p.Evaluate(&policy.Request{
			Action:    "sts:AssumeRoleWithWebIdentity",
			Principal: policy.Principal{Type: policy.PrincipalFederated, ID: eksARN},
			Context:   policy.Values{eksPrefix + ":sub": {value}},
		})
		if got := d.Effect == policy.Allow; got != want {
			t.Fatalf("StringLike %q on %q: policy %v, reference %v (%s)", pattern, value, d.Effect, want, d.Reason)
		}
	})
}
