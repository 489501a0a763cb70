package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// accountsCSV is benchstat -format csv output of a BenchmarkAccounts run, cut down.
const accountsCSV = `goos: linux
pkg: github.com/webidentity/webidentity/bench
,accounts.txt,
,sec/op,CI
Accounts/lookup/quiet-2,1.2e-07,2%
Accounts/lookup/writes-2,1.3e-07,3%
Accounts/RS256/floor-2,2.4e-05,1%
Accounts/RS256/assume-2,2.7e-05,1%
Accounts/EdDSA/assume-2,3.8e-05,1%
Accounts/tokencache/hit-2,9e-07,4%
Accounts/memory-2,1e-09,∞
geomean,1e-06,

,accounts.txt,
,cpu-sec/op,CI
Accounts/lookup/quiet-2,1.4e-07,2%
Accounts/lookup/writes-2,1.5e-07,3%
Accounts/RS256/floor-2,2.4e-05,1%
Accounts/RS256/assume-2,2.7e-05,1%
Accounts/EdDSA/assume-2,3.8e-05,1%
Accounts/tokencache/hit-2,1.1e-06,4%

,accounts.txt,
,allocs/op,CI
Accounts/lookup/quiet-2,0,∞
Accounts/lookup/writes-2,0,∞

,accounts.txt,
,faults/op,CI
Accounts/tokencache/hit-2,0.00226,40%

,accounts.txt,
,x-floor,CI
Accounts/RS256/assume-2,1.125,1%
Accounts/EdDSA/assume-2,1.04,1%
Accounts/RS256/paired-2,1.125,1%
Accounts/EdDSA/paired-2,1.04,1%

,accounts.txt,
,x-floor-cpu,CI
Accounts/RS256/assume-2,1.09,1%
Accounts/EdDSA/assume-2,1.06,1%
Accounts/RS256/paired-2,1.09,1%
Accounts/EdDSA/paired-2,1.06,1%

,accounts.txt,
,assume-sec/op,CI
Accounts/RS256/paired-2,2.7e-05,1%

,accounts.txt,
,assume-cpu-sec/op,CI
Accounts/RS256/paired-2,2.8e-05,1%

,accounts.txt,
,floor-sec/op,CI
Accounts/RS256/paired-2,2.4e-05,1%

,accounts.txt,
,floor-cpu-sec/op,CI
Accounts/RS256/paired-2,2.5e-05,1%

,accounts.txt,
,x-quiet-cpu,CI
Accounts/lookup/writes-2,1.07,2%

,accounts.txt,
,writes/s,CI
Accounts/lookup/writes-2,999.6,0%

,accounts.txt,
,B/provider,CI
Accounts/memory-2,600,∞

,accounts.txt,
,B/role,CI
Accounts/memory-2,2500,∞
`

func readString(t *testing.T, csv string) *table {
	t.Helper()
	p := filepath.Join(t.TempDir(), "accounts.csv")
	require.NoError(t, os.WriteFile(p, []byte(csv), 0o644))
	tb, err := readCSV(p)
	require.NoError(t, err)
	return tb
}

// row returns the markdown line of the named row, or "".
func row(md, name string) string {
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| "+name+" |") {
			return l
		}
	}
	return ""
}

// Each row is judged on its CPU figure when it has one, and the memory goals on their own.
func TestAccountsMarkdownJudgesGoals(t *testing.T) {
	md := accountsMarkdown(readString(t, accountsCSV))
	for _, c := range []struct{ row, want string }{
		{"lookup/quiet", "≤ 150 ns, 0 allocs: met"},
		{"lookup/writes", "≤ 1.2× quiet: met"},
		{"RS256/paired", "≤ 1.10× floor: met"},        // 1.09 on CPU, though 1.125 on wall time
		{"EdDSA/paired", "≤ 1.05× floor: **missed**"}, // 1.06 on CPU, though 1.04 on wall time
		{"tokencache/hit", "≤ 1 µs: **missed**"},      // 1.1 µs of CPU
		{"registry heap per provider", "≤ 1 KiB beyond shared keys: met"},
		{"registry heap per role (document and compiled trust policy included)", "≤ 2 KiB: **missed**"},
	} {
		line := row(md, c.row)
		if assert.NotEmpty(t, line, "row %s in\n%s", c.row, md) {
			assert.Contains(t, line, c.want, c.row)
		}
	}
	assert.Contains(t, row(md, "RS256/assume"), "1.12 / 1.09", "wall and CPU ratios side by side")
	assert.NotContains(t, row(md, "RS256/assume"), "floor:", "the ratio goals are judged on the paired rows")
	assert.Contains(t, row(md, "RS256/paired"), "| 27.0 µs (floor 24.0 µs) | 28.0 µs (floor 25.0 µs) |",
		"a paired row shows assume's and floor's figures, not their mix")
	assert.Contains(t, row(md, "lookup/writes"), "| 1000 |", "writes/s")
	assert.Contains(t, row(md, "tokencache/hit"), "| 0 | 0 | 0.0023 |", "B/op and allocs/op (none in the CSV), then page faults/op")
	assert.Empty(t, row(md, "memory"), "the memory row is a table of its own")
}

// A row without any unit its goal is judged on says so instead of passing.
func TestVerdictNotMeasured(t *testing.T) {
	g, ok := goalOf("Accounts/tokencache/hit")
	require.True(t, ok)
	assert.Equal(t, "≤ 1 µs: not measured", verdict(g, map[string]stat{"B/op": {value: 0}}))
	g, ok = goalOf("Accounts/ES256/assume-writes")
	require.True(t, ok)
	assert.Equal(t, writesGoal.text+": **missed**", verdict(g, map[string]stat{"x-quiet": {value: 1.3}}))
}

// The section between the markers is replaced and the rest kept; missing markers are an error.
func TestReplaceSection(t *testing.T) {
	got, err := replaceSection("a\n<!-- b -->\nold\n<!-- e -->\nz\n", "<!-- b -->", "<!-- e -->", "new\n")
	require.NoError(t, err)
	assert.Equal(t, "a\n<!-- b -->\nnew\n<!-- e -->\nz\n", got)
	_, err = replaceSection("no markers", "<!-- b -->", "<!-- e -->", "new\n")
	assert.Error(t, err)
}
