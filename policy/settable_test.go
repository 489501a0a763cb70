package policy

import (
	"testing"
)

// operatorFamily is one condition operator with a policy value, a request
// value that matches it and one that does not.
type operatorFamily struct {
	op, policyValue, match, noMatch string
	negated                         bool
}

var operatorFamilies = []operatorFamily{
	{"StringEquals", "a", "a", "b", false},
	{"StringNotEquals", "a", "a", "b", true},
	{"StringEqualsIgnoreCase", "A", "a", "b", false},
	{"StringNotEqualsIgnoreCase", "A", "a", "b", true},
	{"StringLike", "a*", "ab", "b", false},
	{"StringNotLike", "a*", "ab", "b", true},
	{"NumericEquals", "1", "1.0", "2", false},
	{"NumericNotEquals", "1", "1.0", "2", true},
	{"NumericLessThan", "5", "1", "9", false},
	{"NumericLessThanEquals", "5", "5", "9", false},
	{"NumericGreaterThan", "5", "9", "1", false},
	{"NumericGreaterThanEquals", "5", "5", "1", false},
	{"DateEquals", "2024-01-01T00:00:00Z", "1704067200", "1704067201", false},
	{"DateNotEquals", "2024-01-01T00:00:00Z", "1704067200", "1704067201", true},
	{"DateLessThan", "2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z", false},
	{"DateLessThanEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-02", false},
	{"DateGreaterThan", "2024-01-01T00:00:00Z", "2024-01-02", "2023-12-31", false},
	{"DateGreaterThanEquals", "2024-01-01T00:00:00Z", "2024-01-01", "2023-12-31", false},
	{"Bool", "true", "TRUE", "false", false},
	{"BinaryEquals", "QUJD", "ABC", "abd", false},
	{"IpAddress", "10.0.0.0/8", "10.1.2.3", "192.0.2.1", false},
	{"NotIpAddress", "10.0.0.0/8", "10.1.2.3", "192.0.2.1", true},
	{"ArnEquals", "arn:aws:iam::1:role/a*", "arn:aws:iam::1:role/ab", "arn:aws:iam::1:role/b", false},
	{"ArnLike", "arn:aws:iam::1:role/a*", "arn:aws:iam::1:role/ab", "arn:aws:iam::1:role/b", false},
	{"ArnNotEquals", "arn:aws:iam::1:role/a*", "arn:aws:iam::1:role/ab", "arn:aws:iam::1:role/b", true},
	{"ArnNotLike", "arn:aws:iam::1:role/a*", "arn:aws:iam::1:role/ab", "arn:aws:iam::1:role/b", true},
}

// TestSetOperatorTruthTable checks every set operator (none, ForAnyValue:,
// ForAllValues:) with every operator, with and without IfExists, on a
// missing key, a key with an empty list, and keys with a matching value, a
// non-matching value and both. The expected results are the rules of
// Evaluate's doc, written out as a table.
func TestSetOperatorTruthTable(t *testing.T) {
	type row struct {
		missing, empty           bool
		match, noMatch, mixedSet bool
	}
	// want[set][negated][ifExists]
	want := map[string]map[bool]map[bool]row{
		"": {
			false: {false: {false, false, true, false, true}, true: {true, true, true, false, true}},
			true:  {false: {true, true, false, true, false}, true: {true, true, false, true, false}},
		},
		"ForAnyValue:": {
			false: {false: {false, false, true, false, true}, true: {false, false, true, false, true}},
			true:  {false: {false, false, false, true, true}, true: {false, false, false, true, true}},
		},
		"ForAllValues:": {
			false: {false: {true, true, true, false, false}, true: {true, true, true, false, false}},
			true:  {false: {true, true, false, true, false}, true: {true, true, false, true, false}},
		},
	}
	for _, set := range []string{"", "ForAnyValue:", "ForAllValues:"} {
		for _, f := range operatorFamilies {
			for _, ifExists := range []bool{false, true} {
				op := set + f.op
				if ifExists {
					op += "IfExists"
				}
				w := want[set][f.negated][ifExists]
				body := `"` + op + `":{"k:x":"` + f.policyValue + `"}`
				runCondCases(t, []condCase{
					{op + " missing", body, missing, w.missing},
					{op + " empty list", body, Values{"k:x": {}}, w.empty},
					{op + " matching value", body, v(f.match), w.match},
					{op + " non-matching value", body, v(f.noMatch), w.noMatch},
					{op + " both", body, v(f.match, f.noMatch), w.mixedSet},
				})
			}
		}
	}
}
