package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleRecords are records as putRole and putProvider write them, with
// the characters that json.Marshal escapes.
func sampleRecords() (roles []roleRecord, provs []providerRecord) {
	docs := []string{
		trustDoc(acctA, eksURL, "system:serviceaccount:ns:sa"),
		`{"Statement":[{"Condition":{"StringLike":{"k":"<a&b>\\\"q\"\u2028\u2029"}}}]}` + "\r\n\t\x7f",
		"caf\u00e9 \u00ff \u00a1 \U0001F600 \ufffd",
		"",
	}
	for i, doc := range docs {
		roles = append(roles, roleRecord{
			V: recordVersion, Revision: uint64(1 + i*1000), ARN: roleARN(acctA, "app"), RoleID: "AROAEXAMPLEID00000001",
			TrustPolicyDocument: doc, MaxSessionDurationSeconds: 3600 * int64(1+i),
			CreateDate: testTime.Add(time.Duration(i) * time.Hour),
		})
	}
	roles[1].Description = "deploys ¡café! \t <b>"
	roles[1].Tags = []tagRecord{{Key: "team", Value: "a/b=c+d@e"}, {Key: "empty", Value: ""}}
	roles[2].CreateDate = time.Date(2020, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))
	roles[3].Revision = 1<<63 - 1
	provs = []providerRecord{
		{V: recordVersion, Revision: 7, ARN: "arn:aws:iam::" + acctA + ":oidc-provider/" + eksURL[len("https://"):], URL: eksURL,
			ClientIDs: []string{"sts.amazonaws.com", "a\"b"}, Thumbprints: []string{thumb}, CreateDate: testTime,
			Tags: []tagRecord{{Key: "k", Value: "v"}}},
		{V: recordVersion, Revision: 8, ARN: "arn:aws:iam::" + acctB + ":oidc-provider/x", URL: "https://x", CreateDate: testTime},
		{V: recordVersion, Revision: 9, ARN: "arn", URL: "https://y", ClientIDs: []string{}, Thumbprints: []string{}, CreateDate: testTime},
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
		var want roleRecord
		require.NoError(t, json.Unmarshal(b, &want))
		assert.Equal(t, want, got, "role %d", i)
	}
	for i, rec := range provs {
		b, err := json.Marshal(rec)
		require.NoError(t, err)
		got, ok := fastProvider(b)
		require.True(t, ok, "provider %d takes the fast path: %s", i, b)
		var want providerRecord
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
			var want roleRecord
			require.NoError(t, json.Unmarshal(b, &want), "json refuses what the fast path took: %q", b)
			assert.Equal(t, want, got, "%q", b)
		}
		if got, ok := fastProvider(b); ok {
			var want providerRecord
			require.NoError(t, json.Unmarshal(b, &want), "json refuses what the fast path took: %q", b)
			assert.Equal(t, want, got, "%q", b)
		}
	})
}
