package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// declaringContext is a Context that declares some of its keys multivalued.
type declaringContext struct {
	vals  Values
	multi map[string]bool
}

func (c declaringContext) Values(key string) ([]string, bool) { return c.vals.Values(key) }
func (c declaringContext) Multivalued(key string) bool        { return c.multi[key] }

var _ MultivaluedContext = declaringContext{}

func TestMultivaluedKeys(t *testing.T) {
	const amr = "cognito-identity.amazonaws.com:amr"
	declared := func(vals ...string) declaringContext {
		return declaringContext{vals: Values{"k:list": vals}, multi: map[string]bool{"k:list": true}}
	}
	tests := []struct {
		name string
		body string
		ctx  Context
		want bool
	}{
		// Built-in multivalued keys need a set operator; without one the
		// condition fails closed in an Allow, even when a value matches.
		{"StringEquals on aws:TagKeys", `"StringEquals":{"aws:TagKeys":"team"}`, Values{"aws:tagkeys": {"team"}}, false},
		{"StringEquals on aws:TagKeys, key in other case", `"StringEquals":{"AWS:TAGKEYS":"team"}`, Values{"aws:TagKeys": {"team"}}, false},
		{"StringNotEquals on aws:TagKeys", `"StringNotEquals":{"aws:TagKeys":"team"}`, Values{"aws:tagkeys": {"other"}}, false},
		{"StringEqualsIfExists on aws:TagKeys", `"StringEqualsIfExists":{"aws:TagKeys":"team"}`, Values{"aws:tagkeys": {"team"}}, false},
		{"StringLike on sts:TransitiveTagKeys", `"StringLike":{"sts:TransitiveTagKeys":"*"}`, Values{"sts:transitivetagkeys": {"team"}}, false},
		{"StringEquals on a provider's amr", `"StringEquals":{"` + amr + `":"authenticated"}`, Values{amr: {"authenticated"}}, false},
		{"ForAnyValue on aws:TagKeys", `"ForAnyValue:StringEquals":{"aws:TagKeys":"team"}`, Values{"aws:tagkeys": {"team", "x"}}, true},
		{"ForAllValues on aws:TagKeys", `"ForAllValues:StringEquals":{"aws:TagKeys":["team","x"]}`, Values{"aws:tagkeys": {"team", "x"}}, true},
		{"ForAnyValue on a provider's amr", `"ForAnyValue:StringLike":{"` + amr + `":"auth*"}`, Values{amr: {"authenticated", "x"}}, true},
		{"Null on aws:TagKeys", `"Null":{"aws:TagKeys":"false"}`, Values{"aws:tagkeys": {"team"}}, true},
		// A missing multivalued key follows the rules for missing keys.
		{"StringEquals on missing aws:TagKeys", `"StringEquals":{"aws:TagKeys":"team"}`, Values{}, false},
		{"StringNotEquals on missing aws:TagKeys", `"StringNotEquals":{"aws:TagKeys":"team"}`, Values{}, true},

		// Keys the Context declares.
		{"declared: StringEquals", `"StringEquals":{"k:list":"a"}`, declared("a"), false},
		{"declared: ForAnyValue", `"ForAnyValue:StringEquals":{"k:list":"a"}`, declared("a", "b"), true},
		{"declared key in other case in the policy", `"StringEquals":{"K:List":"a"}`, declared("a"), false},
		{"not declared: StringEquals", `"StringEquals":{"k:one":"a"}`, declaringContext{vals: Values{"k:one": {"a"}}, multi: map[string]bool{"k:list": true}}, true},

		// Policy variables never resolve to a multivalued key.
		{"variable on aws:TagKeys", `"StringEquals":{"k:x":"${aws:TagKeys}"}`, Values{"k:x": {"team"}, "aws:tagkeys": {"team"}}, false},
		{"variable on aws:TagKeys with default, key missing", `"StringEquals":{"k:x":"${aws:TagKeys, 'team'}"}`, Values{"k:x": {"team"}}, false},
		{"variable on amr", `"StringLike":{"k:x":"${` + amr + `}*"}`, Values{"k:x": {"authenticated"}, amr: {"authenticated"}}, false},
		{"negated operator with variable on aws:TagKeys", `"StringNotEquals":{"k:x":"${aws:TagKeys}"}`, Values{"k:x": {"other"}, "aws:tagkeys": {"team"}}, false},
		{"variable on a declared key", `"StringEquals":{"k:x":"${k:list}"}`, declaringContext{vals: Values{"k:x": {"a"}, "k:list": {"a"}}, multi: map[string]bool{"k:list": true}}, false},
		{"variable on an undeclared key", `"StringEquals":{"k:x":"${k:list}"}`, declaringContext{vals: Values{"k:x": {"a"}, "k:list": {"a"}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, condHolds(t, tt.body, tt.ctx))
		})
	}
}

// In a Deny, a single-valued operator on a multivalued key fails closed the
// other way: the Deny applies.
func TestMultivaluedKeyInDeny(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[{` + base + `},
		{"Effect":"Deny","Principal":"*","Action":"sts:*","Condition":{"StringEquals":{"aws:TagKeys":"forbidden"}}}]}`
	p, err := Parse([]byte(doc))
	require.NoError(t, err)
	tests := []struct {
		name string
		ctx  Context
		want Effect
		stmt int
	}{
		{"tag keys present", Values{"aws:tagkeys": {"allowed"}}, ExplicitDeny, 1},
		{"tag keys missing", Values{}, Allow, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := googleRequest
			req.Context = tt.ctx
			d := p.Evaluate(&req)
			assert.Equal(t, tt.want, d.Effect)
			assert.Equal(t, tt.stmt, d.Statement)
		})
	}
}

// Evaluate finds keys in a Values map whatever their spelling, including a
// map that mixes the policy's spelling, lower case and other spellings.
func TestEvaluateValuesSpelling(t *testing.T) {
	body := `"StringEquals":{"K:One":"1","K:Two":"2","K:Three":"3","K:Four":"4"}`
	tests := []struct {
		name string
		ctx  Values
		want bool
	}{
		{"lower-cased", Values{"k:one": {"1"}, "k:two": {"2"}, "k:three": {"3"}, "k:four": {"4"}}, true},
		{"as the policy spells them", Values{"K:One": {"1"}, "K:Two": {"2"}, "K:Three": {"3"}, "K:Four": {"4"}}, true},
		{"mixed", Values{"K:One": {"1"}, "k:two": {"2"}, "K:Three": {"3"}, "K:FOUR": {"4"}}, true},
		{"mixed, lower first", Values{"k:one": {"1"}, "K:Two": {"2"}, "k:three": {"3"}, "k:FoUr": {"4"}}, true},
		{"one wrong value", Values{"K:One": {"1"}, "k:two": {"2"}, "K:Three": {"x"}, "K:Four": {"4"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, condHolds(t, body, tt.ctx))
		})
	}
}

// A Values map keyed as an IRSA policy spells its keys is decided without
// allocating.
func TestEvaluatePolicySpelledValuesAllocs(t *testing.T) {
	p := irsaPolicy(t, 1)
	req := irsaRequest("system:serviceaccount:kube-system:efs-csi-controller-sa")
	req.Context = Values{
		benchProvider + ":aud": {"sts.amazonaws.com"},
		benchProvider + ":sub": {"system:serviceaccount:kube-system:efs-csi-controller-sa"},
	}
	require.Equal(t, Allow, p.Evaluate(req).Effect)
	assert.Zero(t, testing.AllocsPerRun(100, func() { p.Evaluate(req) }))
}
