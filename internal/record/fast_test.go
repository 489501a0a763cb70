package record

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
)

// sampleRecords are records as putRole and putProvider write them, with
// the characters that json.Marshal escapes.
func sampleRecords() (roles []Role, provs []Provider) {
	docs := []string{
		trustDoc(acctA, eksURL, "system:serviceaccount:ns:sa"),
		`{"Statement":[{"Condition":{"StringLike":{"k":"<a&b>\\\"q\"\u2028\u2029"}}}]}` + "\r\n\t\x7f",
		"caf\u00e9 \u00ff \u00a1 \U0001F600 \ufffd",
		"",
	}
	for i, doc := range docs {
		roles = append(roles, Role{
			V: Version, Revision: uint64(1 + i*1000), ARN: roleARN(acctA, "app"), RoleID: "AROAEXAMPLEID00000001",
			TrustPolicyDocument: doc, MaxSessionDurationSeconds: 3600 * int64(1+i),
			CreateDate: testTime.Add(time.Duration(i) * time.Hour),
		})
	}
	roles[1].Description = "deploys ¡café! \t <b>"
	roles[1].Tags = []Tag{{Key: "team", Value: "a/b=c+d@e"}, {Key: "empty", Value: ""}}
	roles[2].CreateDate = time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))
	roles[3].Revision = 1<<63 - 1
	provs = []Provider{
		{V: Version, Revision: 7, ARN: "arn:aws:iam::" + acctA + ":oidc-provider/" + eksURL[len("https://"):], URL: eksURL,
			ClientIDs: []string{"sts.amazonaws.com", "a\"b"}, Thumbprints: []string{thumb}, CreateDate: testTime,
			Tags: []Tag{{Key: "k", Value: "v"}}},
		{V: Version, Revision: 8, ARN: "arn:aws:iam::" + acctB + ":oidc-provider/x", URL: "https://x", CreateDate: testTime},
		{V: Version, Revision: 9, ARN: "arn", URL: "https://y", ClientIDs: []string{}, Thumbprints: []string{}, CreateDate: testTime},
	}
	return roles, provs
}

// TestFastRecordDecodesWhatMarshalWrites: every record json.Marshal writes
// takes the fast path, and decodes to what json.Unmarshal gives.
func TestFastRecordDecodesWhatMarshalWrites(t *testing.T) {
	roles, provs := sampleRecords()
	for i, rec := range roles {
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		got, ok := fastRole(b)
		require.True(t, ok, "role %d takes the fast path: %s", i, b)
		var want Role
		require.NoError(t, json.Unmarshal(b, &want))
		assert.Equal(t, want, got, "role %d", i)
	}
	for i, rec := range provs {
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		got, ok := fastProvider(b)
		require.True(t, ok, "provider %d takes the fast path: %s", i, b)
		var want Provider
		require.NoError(t, json.Unmarshal(b, &want))
		assert.Equal(t, want, got, "provider %d", i)
	}
}

// TestFastRecordLeavesTheRestToJSON: inputs outside the canonical shape are
// not decoded by the fast path (json.Unmarshal decodes or refuses them).
func TestFastRecordLeavesTheRestToJSON(t *testing.T) {
	for _, in := range []string{
		``, `{`, `{"v":1`, `{"v":1}x`, ` {"v":1}`, `{"v": 1}`, `{"V":1}`, `{"v":01}`, `{"v":-1}`, `{"v":1.5}`,
		`{"v":1,"v":1}`, `{"v":null}`, `{"arn":"a` + "\x01" + `"}`, `{"arn":"\x"}`, `{"arn":"\ud800"}`,
		`{"arn":"\u12"}`, `{"arn":"` + "\xff" + `"}`, `{"tags":null}`, `{"tags":[{"key":"a","key":"b"}]}`,
		`{"createDate":"2020-01-02"}`, `{"createDate":"\u0032020-01-02T03:04:05Z"}`, `{"unknown":1}`,
		`{"revision":99999999999999999999}`, `{"maxSessionDurationSeconds":9999999999}`, `{"arn":"a\`,
	} {
		_, ok := fastRole([]byte(in))
		assert.False(t, ok, "%q", in)
	}
	_, ok := fastProvider([]byte(`{"clientIDs":[1]}`))
	assert.False(t, ok)
}

// FuzzFastRecord: whatever the fast path decodes, json.Unmarshal decodes to
// the same record.
func FuzzFastRecord(f *testing.F) {
	roles, provs := sampleRecords()
	for _, r := range roles {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	for _, p := range provs {
		b, _ := json.Marshal(p)
		f.Add(b)
	}
	f.Add([]byte(`{"tags":[{"key":"a"},{"value":"b"}],"arn":"\u00e9\n"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, ok := fastRole(b); ok {
			var want Role
			require.NoError(t, json.Unmarshal(b, &want), "json refuses what the fast path took: %q", b)
			assert.Equal(t, want, got, "%q", b)
		}
		if got, ok := fastProvider(b); ok {
			var want Provider
			require.NoError(t, json.Unmarshal(b, &want), "json refuses what the fast path took: %q", b)
			assert.Equal(t, want, got, "%q", b)
		}
	})
}

const (
	acctA  = "111122223333"
	acctB  = "444455556666"
	eksURL = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
	thumb  = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
)

var testTime = time.Date(2026, 12, 1, 8, 0, 0, 123456789, time.UTC)

// trustDoc is an IRSA trust policy laid out with white space as a person writes it.
func trustDoc(account, url, sub string) string {
	host := strings.TrimPrefix(url, "https://")
	return "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\",\n" +
		"\t\"Principal\": {\"Federated\": \"arn:aws:iam::" + account + ":oidc-provider/" + host + "\"},\n" +
		"\t\"Action\": \"sts:AssumeRoleWithWebIdentity\",\n  \"Condition\": {\"StringEquals\": {" +
		"\"" + host + ":aud\": \"sts.amazonaws.com\", \"" + host + ":sub\": \"" + sub + "\"}}}]}\n"
}

func roleARN(account, name string) string { return iam.RoleARN("aws", account, "/", name) }

// The encoders write what the stores wrote before the format was shared: the embedded store's
// records with their revision, the PostgreSQL store's without, and decoding gives the entity
// back.
func TestEncodeDecode(t *testing.T) {
	ro := &iam.Role{ARN: roleARN(acctA, "app"), RoleID: "AROAEXAMPLEID00000001", TrustPolicyDocument: trustDoc(acctA, eksURL, "s"),
		MaxSessionDuration: 2 * time.Hour, Description: "d", Tags: []iam.Tag{{Key: "k", Value: "v"}}, CreateDate: testTime}
	b, err := EncodeRole(ro, 7)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"v":1,"revision":7,"arn":`)
	rec, err := DecodeRole(b)
	require.NoError(t, err)
	assert.Equal(t, uint64(7), rec.Revision)
	assert.Equal(t, ro, rec.Entity())
	b, err = EncodeRole(ro, 0)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "revision")

	p := &iam.OIDCProvider{ARN: "arn:aws:iam::" + acctA + ":oidc-provider/x.example.com", URL: "https://x.example.com",
		ClientIDs: []string{"a"}, Thumbprints: []string{thumb}, CreateDate: testTime}
	b, err = EncodeProvider(p, 0)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), `{"v":1,"arn":`), string(b))
	prec, err := DecodeProvider(b)
	require.NoError(t, err)
	assert.Equal(t, p, prec.Entity())
	_, err = DecodeProvider([]byte(`{"v":`))
	assert.Error(t, err)
}
