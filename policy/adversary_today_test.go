package policy

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Adversary of the packed and fast forms (pack.go, fast.go): hand-picked
// condition shapes, values and request contexts that a generator may not
// reach, each document decided by its packed form (Parse) and by its
// general form (compileDocument without packing) for every request.

// advConds are single conditions, as JSON members of a Condition block.
var advConds = []string{
	// The fast shapes, with values that are special elsewhere.
	`"StringEquals":{"` + packHost + `:sub":"*"}`,
	`"StringEquals":{"` + packHost + `:sub":"a?c"}`,
	`"StringEquals":{"` + packHost + `:sub":""}`,
	`"StringLike":{"` + packHost + `:sub":""}`,
	`"StringLike":{"` + packHost + `:sub":"*"}`,
	`"StringLike":{"` + packHost + `:sub":"system:*"}`,
	`"StringLike":{"` + packHost + `:sub":"a?c"}`,
	`"StringLike":{"` + packHost + `:sub":"*app"}`,
	`"StringEqualsIgnoreCase":{"` + packHost + `:sub":"KELVIN-K"}`,
	`"StringEqualsIgnoreCase":{"` + packHost + `:sub":"ſtring"}`,
	`"StringEqualsIgnoreCase":{"` + packHost + `:sub":"ǅ"}`,
	`"StringLike":{"` + packHost + `:sub":"SYSTEM:*"}`,
	// IfExists on the fast shapes.
	`"StringEqualsIfExists":{"` + packHost + `:sub":"system:serviceaccount:ns:app"}`,
	`"StringLikeIfExists":{"` + packHost + `:sub":"system:*"}`,
	`"StringEqualsIgnoreCaseIfExists":{"` + packHost + `:AUD":"STS.amazonaws.com"}`,
	// Shapes outside the fast form on the same keys.
	`"Null":{"` + packHost + `:sub":"false"}`,
	`"Null":{"` + packHost + `:sub":"true"}`,
	`"ForAnyValue:StringEquals":{"` + packHost + `:sub":"system:serviceaccount:ns:app"}`,
	`"ForAllValues:StringLike":{"` + packHost + `:amr":"a*"}`,
	`"ForAnyValue:StringLikeIfExists":{"` + packHost + `:amr":"b"}`,
	`"StringNotEquals":{"` + packHost + `:sub":"system:serviceaccount:ns:app"}`,
	`"StringNotLikeIfExists":{"` + packHost + `:sub":"x*"}`,
	`"StringEquals":{"` + packHost + `:sub":["system:serviceaccount:ns:app","system:serviceaccount:ns:app"]}`,
	`"StringEquals":{"` + packHost + `:aud":["sts.amazonaws.com",""]}`,
	`"StringLike":{"` + packHost + `:sub":["", "*"]}`,
	// Keys that differ only in case, and a key that is only a Unicode fold
	// of another (canonKey folds ASCII only).
	`"StringEquals":{"` + strings.ToUpper(packHost) + `:SUB":"system:serviceaccount:ns:app"}`,
	`"StringEquals":{"` + packHost + `:ſub":"system:serviceaccount:ns:app"}`,
	`"StringEquals":{"` + packHost + `:aud":"sts.amazonaws.com","` + packHost + `:AUD":"other"}`,
	`"StringEquals":{"sts:RoleSessionName":"abc"}`,
	`"StringEquals":{"aws:PrincipalTag/Team":"x"}`,
}

var advPrincipals = []string{
	`{"Federated":"` + packARN + `"}`,
	`{"Federated":["` + packARN + `","` + packOther + `"]}`,
	`{"Federated":["` + packARN + `","` + packARN + `"]}`,
	`{"Federated":"` + packARN + `","AWS":"111122223333"}`,
	`{"AWS":"111122223333"}`,
	`{"Federated":"*"}`,
}

var advActions = []string{
	`"sts:AssumeRoleWithWebIdentity"`,
	`["sts:AssumeRoleWithWebIdentity","sts:TagSession"]`,
	`"sts:AssumeRoleWith*"`,
	`"STS:assumerolewithwebidentity"`,
}

func advRequests() []*Request {
	fed := Principal{Type: "Federated", ID: packARN}
	host, lhost := packHost, strings.ToLower(packHost)
	ctxs := []Context{
		nil,
		Values{},
		Values{lhost + ":sub": {"system:serviceaccount:ns:app"}, lhost + ":aud": {"sts.amazonaws.com"}},
		Values{host + ":sub": {"system:serviceaccount:ns:app"}},
		Values{strings.ToUpper(host) + ":SUB": {"system:serviceaccount:ns:app"}},
		Values{lhost + ":sub": {}},
		Values{lhost + ":sub": {""}},
		Values{lhost + ":sub": {"*"}},
		Values{lhost + ":sub": {"a?c"}},
		Values{lhost + ":sub": {"abc"}},
		Values{lhost + ":sub": {"kelvin-\u212a"}},
		Values{lhost + ":sub": {"\u017ftring"}, lhost + ":aud": {"STS.AMAZONAWS.COM"}},
		Values{lhost + ":sub": {"STRING"}},
		Values{lhost + ":sub": {"ǆ"}},
		Values{lhost + ":sub": {"system:"}},
		Values{lhost + ":sub": {"SYSTEM:x"}},
		Values{lhost + ":sub": {"xapp", "system:serviceaccount:ns:app"}},
		Values{lhost + ":sub": {"other", "other"}},
		Values{lhost + ":ſub": {"system:serviceaccount:ns:app"}},
		Values{lhost + ":amr": {"a", "b"}, lhost + ":sub": {"system:serviceaccount:ns:app"}},
		Values{lhost + ":amr": {}},
		Values{"sts:rolesessionname": {"abc"}, lhost + ":sub": {"system:serviceaccount:ns:app"}, lhost + ":aud": {"other"}},
		multiContext{Values{lhost + ":sub": {"system:serviceaccount:ns:app"}}, lhost + ":sub"},
		multiContext{Values{lhost + ":sub": {"system:serviceaccount:ns:app"}}, lhost + ":aud"},
		plainContext{Values{lhost + ":sub": {"system:serviceaccount:ns:app"}, lhost + ":aud": {"sts.amazonaws.com"}}},
	}
	var reqs []*Request
	for _, c := range ctxs {
		for _, pr := range []Principal{fed, {Type: "Federated", ID: packOther}, {Type: "AWS", ID: "arn:aws:iam::111122223333:root"}, {Type: "federated", ID: packARN}, {Type: "Federated", ID: strings.ToUpper(packARN)}} {
			for _, a := range []string{"sts:AssumeRoleWithWebIdentity", "sts:assumerolewithwebidentity", "sts:TagSession", "sts:AssumeRole"} {
				reqs = append(reqs, &Request{Action: a, Principal: pr, Context: c})
			}
		}
	}
	return reqs
}

// HOLDS: the packed and fast forms decide as the general form for every
// document of one to three of advConds (plus an aud condition), every
// principal and action shape, and every request of advRequests: IfExists,
// Null, set operators and negated operators on the fast keys, keys differing
// in case or by a Unicode fold, values with * and ?, empty and duplicated
// values, multivalued and plain contexts, principal lists.
func TestAdversaryTodayPackedAgrees(t *testing.T) {
	reqs := advRequests()
	var docs []string
	mk := func(pr, act, cond string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + pr +
			`,"Action":` + act + `,"Condition":{` + cond + `}}]}`
	}
	aud := `"StringEquals":{"` + packHost + `:aud":"sts.amazonaws.com"}`
	for i, c := range advConds {
		for _, pr := range advPrincipals {
			for _, act := range advActions {
				docs = append(docs, mk(pr, act, c))
			}
		}
		// Pairs and triples with the usual aud condition and another; a
		// Condition block's operators must differ, so combine unlike ones.
		for j, d := range advConds {
			if i == j || opOf(c) == opOf(d) {
				continue
			}
			docs = append(docs, mk(advPrincipals[0], advActions[0], c+","+d))
			if opOf(c) != opOf(aud) && opOf(d) != opOf(aud) {
				docs = append(docs, mk(advPrincipals[0], advActions[1], c+","+d+","+aud))
			}
		}
	}
	var fast, packed, allowFast, denyFast int
	for _, doc := range docs {
		p, perr := parseText(doc)
		u, uerr := compileDocument(doc, false)
		if perr != nil || uerr != nil {
			require.Equal(t, perr == nil, uerr == nil, doc)
			continue
		}
		if isPacked(p) {
			packed++
		}
		if p.fast != nil {
			fast++
		}
		for _, req := range reqs {
			want, got := u.Evaluate(req), p.Evaluate(req)
			if !assert.Equal(t, want, got, "document %s\nrequest %+v", doc, req) {
				return
			}
			if p.fast != nil {
				if got.Effect == Allow {
					allowFast++
				} else {
					denyFast++
				}
			}
		}
	}
	t.Logf("%d documents, %d packed, %d fast; fast allows %d, denies %d", len(docs), packed, fast, allowFast, denyFast)
	assert.Greater(t, fast, 100, "the documents reach the fast form")
	assert.Greater(t, allowFast, 100, "the fast form allows some requests")
}

func opOf(cond string) string { return cond[:strings.IndexByte(cond, ':')] }
