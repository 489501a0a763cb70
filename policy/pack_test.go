package policy

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The packed form (pack) and its fast form (fastForm) must change where a
// policy lives and how fast it is decided, never what it decides. These
// tests compare a packed policy with the same document compiled without
// pack (compileDocument), which Evaluate decides the ordinary way: same
// structure, same decision for every request.

const (
	packHost  = "oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789"
	packARN   = "arn:aws:iam::111122223333:oidc-provider/" + packHost
	packOther = "arn:aws:iam::444455556666:oidc-provider/" + packHost
)

// packGen generates trust policies around the typical shape and beyond it,
// and requests against them.
type packGen struct{ r *rand.Rand }

func (g packGen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g packGen) key() string {
	return g.pick(packHost+":sub", strings.ToLower(packHost)+":sub", packHost+":aud", packHost+":AUD",
		packHost+":amr", "aws:TagKeys", "sts:RoleSessionName", "token.actions.githubusercontent.com:sub")
}

func (g packGen) value() string {
	v := g.pick("system:serviceaccount:ns:app", "sts.amazonaws.com", "STS.amazonaws.com", "system:serviceaccount:ns:*",
		"system:*", "*", "", "a?c", "x*y", "${"+packHost+":aud}", "$", "true", "false")
	if g.r.IntN(6) == 0 {
		return `["` + v + `","` + g.pick("sts.amazonaws.com", "other") + `"]`
	}
	return strconv.Quote(v)
}

func (g packGen) condition() string {
	n := 1 + g.r.IntN(4)
	if g.r.IntN(12) == 0 {
		return `,"Condition":{}`
	}
	var ops []string
	used := map[string]bool{}
	for range n {
		op := g.pick("StringEquals", "StringEquals", "StringLike", "StringEqualsIgnoreCase", "StringNotEquals",
			"StringLikeIfExists", "ForAnyValue:StringEquals", "ForAllValues:StringLike", "StringNotLike", "Null", "Bool")
		if used[op] {
			continue
		}
		used[op] = true
		var keys []string
		seen := map[string]bool{}
		for range 1 + g.r.IntN(2) {
			k := g.key()
			if seen[strings.ToLower(k)] {
				continue
			}
			seen[strings.ToLower(k)] = true
			v := g.value()
			if op == "Null" || op == "Bool" {
				v = strconv.Quote(g.pick("true", "false"))
			}
			keys = append(keys, strconv.Quote(k)+":"+v)
		}
		ops = append(ops, strconv.Quote(op)+":{"+strings.Join(keys, ",")+"}")
	}
	return `,"Condition":{` + strings.Join(ops, ",") + `}`
}

// typical returns a statement of the shape of the fast form, with random
// keys, operators and values.
func (g packGen) typical() string {
	var ops []string
	used := map[string]bool{}
	for range 1 + g.r.IntN(4) {
		op := g.pick("StringEquals", "StringLike", "StringEqualsIgnoreCase", "StringEqualsIfExists", "StringLikeIfExists")
		if used[op] {
			continue
		}
		used[op] = true
		k := g.key()
		v := g.pick("system:serviceaccount:ns:app", "sts.amazonaws.com", "STS.amazonaws.com", "system:serviceaccount:ns:*", "system:*", "*", "", "abc", "ab*", "a?c")
		ops = append(ops, strconv.Quote(op)+":{"+strconv.Quote(k)+":"+strconv.Quote(v)+"}")
	}
	return `{"Effect":"Allow","Principal":{"Federated":"` + g.pick(packARN, packOther) + `"},` +
		g.pick(`"Action":"sts:AssumeRoleWithWebIdentity"`, `"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"]`) +
		`,"Condition":{` + strings.Join(ops, ",") + `}}`
}

func (g packGen) statement() string {
	if g.r.IntN(2) == 0 {
		return g.typical()
	}
	s := `{`
	if g.r.IntN(3) == 0 {
		s += `"Sid":"S` + strconv.Itoa(g.r.IntN(3)) + `",`
	}
	s += `"Effect":"` + g.pick("Allow", "Allow", "Allow", "Deny") + `",`
	s += `"Principal":` + g.pick(`{"Federated":"`+packARN+`"}`, `{"Federated":"`+packARN+`"}`, `{"Federated":["`+packARN+`","`+packOther+`"]}`,
		`"*"`, `{"Federated":"*"}`, `{"AWS":"111122223333"}`, `{"Federated":"accounts.google.com"}`) + `,`
	s += g.pick(`"Action":"sts:AssumeRoleWithWebIdentity"`, `"Action":"sts:AssumeRoleWithWebIdentity"`,
		`"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"]`, `"Action":["sts:TagSession","sts:AssumeRoleWithWebIdentity"]`,
		`"Action":"sts:*"`, `"NotAction":"sts:TagSession"`, `"Action":"STS:AssumeRoleWithWebIdentity"`)
	if g.r.IntN(8) != 0 {
		s += g.condition()
	}
	return s + `}`
}

func (g packGen) document() string {
	doc := `{`
	if g.r.IntN(4) != 0 {
		doc += `"Version":"2012-10-17",`
	}
	if g.r.IntN(5) == 0 {
		doc += `"Id":"policy-` + strconv.Itoa(g.r.IntN(9)) + `",`
	}
	if g.r.IntN(6) == 0 {
		return doc + `"Statement":[` + g.statement() + `,` + g.statement() + `]}`
	}
	if g.r.IntN(3) == 0 {
		return doc + `"Statement":` + g.statement() + `}`
	}
	return doc + `"Statement":[` + g.statement() + `]}`
}

// multiContext is a Context that is not a Values map and declares keys
// multivalued.
type multiContext struct {
	v     Values
	multi string
}

func (m multiContext) Values(key string) ([]string, bool) { return m.v.Values(key) }
func (m multiContext) Multivalued(key string) bool        { return key == m.multi }

// plainContext is a Context that is neither a Values map nor multivalued.
type plainContext struct{ v Values }

func (c plainContext) Values(key string) ([]string, bool) { return c.v.Values(key) }

func (g packGen) request() *Request {
	req := &Request{
		Action:    g.pick("sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithWebIdentity", "sts:TagSession", "sts:assumerolewithwebidentity", "iam:PassRole"),
		Principal: Principal{Type: g.pick("Federated", "Federated", "Federated", "AWS"), ID: g.pick(packARN, packARN, packOther, packARN[:len(packARN)-1], "accounts.google.com", "arn:aws:iam::111122223333:root")},
	}
	vals := Values{}
	for range g.r.IntN(5) {
		var vs []string
		for range g.r.IntN(3) {
			vs = append(vs, g.pick("system:serviceaccount:ns:app", "sts.amazonaws.com", "STS.AMAZONAWS.COM", "system:serviceaccount:ns:other", "abc", "xzzy", "true", "", "$"))
		}
		k := g.key()
		switch g.r.IntN(3) {
		case 0:
			k = canonKey(k)
		case 1:
			k = strings.ToUpper(k)
		}
		vals[k] = vs
	}
	switch g.r.IntN(6) {
	case 0:
		req.Context = nil
	case 1:
		req.Context = multiContext{vals, canonKey(g.key())}
	case 2:
		req.Context = plainContext{vals}
	default:
		req.Context = vals
	}
	return req
}

// typicalRequest is a request the typical policies of packGen allow.
func typicalRequest(ctx func(Values) Context) *Request {
	return &Request{
		Action:    "sts:AssumeRoleWithWebIdentity",
		Principal: Principal{Type: "Federated", ID: packARN},
		Context: ctx(Values{packHost + ":sub": {"system:serviceaccount:ns:app"}, strings.ToLower(packHost) + ":aud": {"sts.amazonaws.com"},
			strings.ToLower(packHost) + ":amr": {"a", "b"}, "sts:rolesessionname": {"abc"}}),
	}
}

// unpackedForm returns q with what only a packed policy has cleared, for
// comparison with the unpacked form.
func unpackedForm(q *Policy) Policy {
	c := *q
	c.fast = nil
	if c.x != nil {
		x := *c.x
		x.keep = nil
		c.x = &x
		if x.id == "" {
			c.x = nil
		}
	}
	return c
}

// isPacked reports whether p's statements lie in p's block.
func isPacked(p *Policy) bool {
	if len(p.stmts) == 0 {
		return false
	}
	d := uintptr(unsafe.Pointer(&p.stmts[0])) - uintptr(unsafe.Pointer(p))
	return d > 0 && d < 2048
}

// inBlock reports whether the bytes of s lie inside the size bytes at base.
func inBlock(s string, base unsafe.Pointer, size uintptr) bool {
	if s == "" {
		return true
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return p >= uintptr(base) && p+uintptr(len(s)) <= uintptr(base)+size
}

func TestPackedAgreesWithUnpacked(t *testing.T) {
	g := packGen{rand.New(rand.NewPCG(7, 7))}
	var packed, fast, allowedFast, allowed, deniedFast, missingFast int
	for i := range 4000 {
		doc := strings.Clone(g.document())
		p, perr := parseText(doc)
		u, uerr := compileDocument(doc, false)
		if perr != nil {
			require.NotNil(t, uerr, doc)
			continue
		}
		require.Nil(t, uerr, doc)
		require.Nil(t, u.fast)
		// Packed or not, and interned late, the policy keeps nothing of the
		// document (see TestPolicyKeepsNothingOfTheDocument).
		lo := uintptr(unsafe.Pointer(unsafe.StringData(doc)))
		walkStrings(reflect.ValueOf(p), "Policy", map[uintptr]bool{}, func(path, s string) {
			if at := uintptr(unsafe.Pointer(unsafe.StringData(s))); s != "" && at >= lo && at < lo+uintptr(len(doc)) {
				t.Fatalf("%s = %q is in the document %s", path, s, doc)
			}
		})
		if isPacked(p) {
			packed++
			// Same compiled form, in another place.
			pu := unpackedForm(p)
			uu := unpackedForm(u)
			require.True(t, reflect.DeepEqual(pu, uu), "document %d %s", i, doc)
			assert.Equal(t, Lint(u), Lint(p), doc)
			assert.Equal(t, u.Keys(), p.Keys(), doc)
			assert.Equal(t, u.ID(), p.ID(), doc)
		}
		if p.fast != nil {
			fast++
		}
		reqs := []*Request{
			typicalRequest(func(v Values) Context { return v }),
			typicalRequest(func(v Values) Context { return plainContext{v} }),
			typicalRequest(func(v Values) Context { return multiContext{v, canonKey(packHost + ":sub")} }),
		}
		for range 12 {
			reqs = append(reqs, g.request())
		}
		for _, req := range reqs {
			want := u.Evaluate(req)
			got := p.Evaluate(req)
			require.Equal(t, want, got, "document %s\nrequest %+v", doc, req)
			switch {
			case got.Effect == Allow:
				allowed++
				if p.fast != nil {
					allowedFast++
				}
			case p.fast != nil:
				deniedFast++
				if strings.HasSuffix(got.Reason, missingSuffix) {
					missingFast++
				}
			}
		}
	}
	// The generator reaches the packed and fast forms, and fast allows.
	t.Logf("packed %d, fast %d, allowed %d, by a fast form %d, denied by a fast form %d (key missing %d)", packed, fast, allowed, allowedFast, deniedFast, missingFast)
	assert.Greater(t, packed, 1000)
	assert.Greater(t, fast, 500)
	assert.Greater(t, allowedFast, 300)
	assert.Greater(t, deniedFast, 3000)
	assert.Greater(t, missingFast, 500)
}

func TestPackedTypicalPolicy(t *testing.T) {
	doc := sizeIRSA(3)
	p, err := Parse([]byte(doc))
	require.NoError(t, err)
	require.NotNil(t, p.fast, "the typical IRSA policy has the fast form")
	require.True(t, isPacked(p))
	// One allocation: the statement, principal, conditions, patterns and
	// every string Evaluate compares lie inside the block that starts with
	// the Policy.
	base, size := unsafe.Pointer(p), uintptr(1024)
	s := &p.stmts[0]
	assert.True(t, uintptr(unsafe.Pointer(s)) > uintptr(base) && uintptr(unsafe.Pointer(s)) < uintptr(base)+size, "statement")
	assert.True(t, inBlock(s.principal.ids[0].ID, base, size), "principal")
	for i := range s.conds {
		c := &s.conds[i]
		assert.True(t, inBlock(c.key, base, size), "key")
		assert.True(t, inBlock(c.spell, base, size), "spelling")
		assert.True(t, inBlock(c.strs[0].lit, base, size), "value")
	}
	assert.Nil(t, p.x, "nothing shared to keep")

	u, perr := compileDocument(doc, false)
	require.Nil(t, perr)
	assert.True(t, reflect.DeepEqual(unpackedForm(p), unpackedForm(u)))

	// A copy of the Policy value decides as the policy does.
	req := &Request{Action: "sts:AssumeRoleWithWebIdentity", Principal: s.principal.ids[0],
		Context: Values{s.conds[0].key: {s.conds[0].strs[0].lit}, s.conds[1].key: {s.conds[1].strs[0].lit}}}
	cp := *p
	d := p.Evaluate(req)
	require.Equal(t, Allow, d.Effect, d.Reason)
	assert.Equal(t, d, cp.Evaluate(req))
	req.Context = Values{s.conds[0].key: {"other"}, s.conds[1].key: {s.conds[1].strs[0].lit}}
	assert.Equal(t, p.Evaluate(req), cp.Evaluate(req))
	assert.Equal(t, ImplicitDeny, cp.Evaluate(req).Effect)
}

func TestStringPool(t *testing.T) {
	var pool []byte
	var ents []poolEntry
	add := func(s string) int {
		var off int
		pool, off = poolAdd(pool, ents, s)
		ents = append(ents, poolEntry{s, off})
		return off
	}
	a := add("arn:aws:iam::1:oidc-provider/HOST")
	b := add("HOST:sub") // overlaps the end of the ARN
	c := add("")
	d := add("HOST:sub")  // added before
	e := add("HOST:subx") // overlaps "HOST:sub"
	f := add("iam::1")    // inside, but not one of the strings: added
	assert.Equal(t, "arn:aws:iam::1:oidc-provider/HOST:subxiam::1", string(pool))
	assert.Equal(t, 0, a)
	assert.Equal(t, len("arn:aws:iam::1:oidc-provider/"), b)
	assert.Equal(t, 0, c)
	assert.Equal(t, b, d)
	assert.Equal(t, b, e)
	assert.Equal(t, len("arn:aws:iam::1:oidc-provider/HOST:subx"), f)
	for _, x := range ents {
		assert.Equal(t, x.s, string(pool[x.off:x.off+len(x.s)]))
	}
}

// FuzzPackedAgreesWithUnpacked runs random documents through both forms
// with requests built from their keys.
func FuzzPackedAgreesWithUnpacked(f *testing.F) {
	f.Add(sizeIRSA(1), "system:serviceaccount:ns1:app", "sts.amazonaws.com", uint8(0))
	f.Add(sizeGitHub(2), "repo:octo-org/repo-2:ref", "sts.amazonaws.com", uint8(1))
	f.Add(cond(`"StringEqualsIgnoreCase":{"k:X":"Ab"}`), "aB", "", uint8(2))
	f.Fuzz(func(t *testing.T, doc, v1, v2 string, mode uint8) {
		p, err := Parse([]byte(doc))
		if err != nil {
			return
		}
		u, uerr := compileDocument(doc, false)
		require.Nil(t, uerr)
		require.True(t, reflect.DeepEqual(unpackedForm(p), unpackedForm(u)))
		vals := Values{}
		for i, k := range p.Keys() {
			if mode&(1<<(i%8)) != 0 {
				k = strings.ToUpper(k)
			}
			vals[k] = []string{v1, v2}[:1+i%2]
		}
		ids := []string{"accounts.google.com"}
		for _, s := range u.stmts {
			for _, id := range s.principal.ids {
				ids = append(ids, id.ID)
			}
		}
		for _, id := range ids {
			for _, action := range []string{"sts:AssumeRoleWithWebIdentity", "sts:TagSession"} {
				for _, ctx := range []Context{vals, plainContext{vals}, nil} {
					req := &Request{Action: action, Principal: Principal{Type: "Federated", ID: id}, Context: ctx}
					require.Equal(t, u.Evaluate(req), p.Evaluate(req))
				}
			}
		}
	})
}

// TestBlockLayouts checks the invariants pack and fastForm.str rely on: the
// bytes follow the fast form, every layout fills an allocation size class,
// and the layouts are sorted by size.
func TestBlockLayouts(t *testing.T) {
	assert.Equal(t, fastOffset+unsafe.Sizeof(fastForm{}), bufOffset, "the bytes follow the fast form")
	assert.Equal(t, unsafe.Sizeof(Policy{}), fastOffset, "the fast form follows the Policy")
	require.NotEmpty(t, blockLayouts)
	for i, l := range blockLayouts {
		assert.Zero(t, l.size%16, "layout %d: size %d", i, l.size)
		assert.Positive(t, l.buf)
		if i > 0 {
			assert.LessOrEqual(t, blockLayouts[i-1].size, l.size)
		}
		bp := l.alloc()
		assert.Len(t, bp.conds, l.conds)
		assert.Len(t, bp.pats, l.pats)
		assert.Len(t, bp.buf, l.buf)
		assert.Equal(t, uintptr(unsafe.Pointer(bp.pol))+bufOffset, uintptr(unsafe.Pointer(&bp.buf[0])))
	}
}
