package policy

import (
	"encoding/base64"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// opKind is the comparison a condition operator performs; negation is kept
// separately.
type opKind uint8

const (
	opStringEquals opKind = iota + 1
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opBinaryEquals
	opIPAddress
	opArnLike
	opNull
)

type opInfo struct {
	kind    opKind
	negated bool
}

// baseOperators lists each base operator name (without ForAnyValue:/ForAllValues:
// and without IfExists) with what it does. Names are case-sensitive, as IAM
// writes them. A compiled condition refers to its operator by index here.
var baseOperators = [...]struct {
	name string
	info opInfo
}{
	{"StringEquals", opInfo{opStringEquals, false}},
	{"StringNotEquals", opInfo{opStringEquals, true}},
	{"StringEqualsIgnoreCase", opInfo{opStringEqualsIgnoreCase, false}},
	{"StringNotEqualsIgnoreCase", opInfo{opStringEqualsIgnoreCase, true}},
	{"StringLike", opInfo{opStringLike, false}},
	{"StringNotLike", opInfo{opStringLike, true}},
	{"NumericEquals", opInfo{opNumericEquals, false}},
	{"NumericNotEquals", opInfo{opNumericEquals, true}},
	{"NumericLessThan", opInfo{opNumericLessThan, false}},
	{"NumericLessThanEquals", opInfo{opNumericLessThanEquals, false}},
	{"NumericGreaterThan", opInfo{opNumericGreaterThan, false}},
	{"NumericGreaterThanEquals", opInfo{opNumericGreaterThanEquals, false}},
	{"DateEquals", opInfo{opDateEquals, false}},
	{"DateNotEquals", opInfo{opDateEquals, true}},
	{"DateLessThan", opInfo{opDateLessThan, false}},
	{"DateLessThanEquals", opInfo{opDateLessThanEquals, false}},
	{"DateGreaterThan", opInfo{opDateGreaterThan, false}},
	{"DateGreaterThanEquals", opInfo{opDateGreaterThanEquals, false}},
	{"Bool", opInfo{opBool, false}},
	{"BinaryEquals", opInfo{opBinaryEquals, false}},
	{"IpAddress", opInfo{opIPAddress, false}},
	{"NotIpAddress", opInfo{opIPAddress, true}},
	{"ArnEquals", opInfo{opArnLike, false}},
	{"ArnLike", opInfo{opArnLike, false}},
	{"ArnNotEquals", opInfo{opArnLike, true}},
	{"ArnNotLike", opInfo{opArnLike, true}},
	{"Null", opInfo{opNull, false}},
}

// operators maps each base operator name to its index in baseOperators.
var operators = func() map[string]uint8 {
	m := make(map[string]uint8, len(baseOperators))
	for i, o := range baseOperators {
		m[o.name] = uint8(i)
	}
	return m
}()

// operatorNames holds every operator name Parse accepts, by base operator,
// set operator and IfExists, so that a compiled condition keeps its
// operator's name as three small numbers.
var operatorNames = func() (t [len(baseOperators)][3][2]string) {
	for i, o := range baseOperators {
		for set, prefix := range [...]string{"", "ForAnyValue:", "ForAllValues:"} {
			t[i][set][0] = prefix + o.name
			t[i][set][1] = prefix + o.name + "IfExists"
		}
	}
	return t
}()

// setOp is the set operator prefix of a condition operator.
type setOp uint8

const (
	setNone setOp = iota
	setAnyValue
	setAllValues
)

// parsedOp is a condition operator name taken apart.
type parsedOp struct {
	opInfo
	base     uint8 // index in baseOperators
	set      setOp
	ifExists bool
}

// name returns the operator as written, e.g. "ForAnyValue:StringLikeIfExists".
func (op parsedOp) name() string {
	x := 0
	if op.ifExists {
		x = 1
	}
	return operatorNames[op.base][op.set][x]
}

func parseOperator(name, path string) (parsedOp, *ParseError) {
	var op parsedOp
	rest := name
	if p, r, ok := strings.Cut(name, ":"); ok {
		switch p {
		case "ForAnyValue":
			op.set = setAnyValue
		case "ForAllValues":
			op.set = setAllValues
		default:
			return op, perr(path, ReasonOperator, "unknown set operator "+strconv.Quote(p+":")+": want ForAnyValue: or ForAllValues:")
		}
		rest = r
	}
	if b, ok := strings.CutSuffix(rest, "IfExists"); ok {
		op.ifExists = true
		rest = b
	}
	base, ok := operators[rest]
	if !ok {
		return op, perr(path, ReasonUnknown, "unknown condition operator "+strconv.Quote(name))
	}
	op.opInfo, op.base = baseOperators[base].info, base
	if op.kind == opNull {
		if op.ifExists {
			return op, perr(path, ReasonOperator, "Null does not take IfExists")
		}
		if op.set != setNone {
			return op, perr(path, ReasonOperator, "Null does not take a set operator")
		}
	}
	return op, nil
}

// strictNumber reports whether s is a decimal number in JSON syntax: an
// optional '-', digits without superfluous leading zeros, an optional
// fraction and an optional exponent. No hex, no underscores, no Inf or NaN.
func strictNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

// parseNumber parses a Numeric* operand: a decimal number in JSON syntax,
// finite as a float64. Integers beyond 2^53 lose precision, as floats do.
func parseNumber(s string) (float64, bool) {
	if !strictNumber(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// instant is a point in time as seconds and nanoseconds since the Unix epoch,
// comparable without a time.Location.
type instant struct {
	sec  int64
	nsec int32
}

func (a instant) cmp(b instant) int {
	switch {
	case a.sec < b.sec:
		return -1
	case a.sec > b.sec:
		return 1
	case a.nsec < b.nsec:
		return -1
	case a.nsec > b.nsec:
		return 1
	}
	return 0
}

// parseDate parses a Date* operand: epoch seconds (digits with an optional
// '-' and an optional fraction) or an ISO 8601 date or date-time in the W3C
// profile:
//
//	2024-01-31
//	2024-01-31T12:30Z
//	2024-01-31T12:30:45Z
//	2024-01-31T12:30:45.123456789+02:00
//
// A date-time without a zone is UTC. It does not allocate.
func parseDate(s string) (instant, bool) {
	if s == "" {
		return instant{}, false
	}
	if len(s) < 10 || s[4] != '-' {
		return parseEpoch(s)
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	if !ok1 || !ok2 || !ok3 || s[7] != '-' || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return instant{}, false
	}
	var hour, minute, second, nsec, offset int
	rest := s[10:]
	if rest != "" {
		if rest[0] != 'T' && rest[0] != 't' || len(rest) < 6 || rest[3] != ':' {
			return instant{}, false
		}
		var ok1, ok2 bool
		hour, ok1 = digits(rest, 1, 2)
		minute, ok2 = digits(rest, 4, 2)
		if !ok1 || !ok2 || hour > 23 || minute > 59 {
			return instant{}, false
		}
		rest = rest[6:]
		if len(rest) >= 3 && rest[0] == ':' {
			var ok bool
			second, ok = digits(rest, 1, 2)
			if !ok || second > 59 {
				return instant{}, false
			}
			rest = rest[3:]
			if len(rest) >= 2 && rest[0] == '.' {
				n := 1
				for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
					if n <= 9 {
						nsec = nsec*10 + int(rest[n]-'0')
					}
					n++
				}
				if n == 1 {
					return instant{}, false
				}
				for k := n; k <= 9; k++ {
					nsec *= 10
				}
				rest = rest[n:]
			}
		}
		switch {
		case rest == "" || rest == "Z" || rest == "z":
		case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
			oh, ok1 := digits(rest, 1, 2)
			om, ok2 := digits(rest, 4, 2)
			if !ok1 || !ok2 || oh > 23 || om > 59 {
				return instant{}, false
			}
			offset = oh*3600 + om*60
			if rest[0] == '-' {
				offset = -offset
			}
		default:
			return instant{}, false
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	return instant{sec: t.Unix() - int64(offset), nsec: int32(nsec)}, true
}

func parseEpoch(s string) (instant, bool) {
	i := 0
	neg := false
	if s[0] == '-' {
		neg, i = true, 1
	}
	start := i
	var sec int64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if sec > (math.MaxInt64-9)/10 {
			return instant{}, false
		}
		sec = sec*10 + int64(s[i]-'0')
		i++
	}
	if i == start {
		return instant{}, false
	}
	var nsec int32
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-fs < 9 {
				nsec = nsec*10 + int32(s[i]-'0')
			}
			i++
		}
		if i == fs {
			return instant{}, false
		}
		for k := i - fs; k < 9; k++ {
			nsec *= 10
		}
	}
	if i != len(s) {
		return instant{}, false
	}
	if neg {
		sec = -sec
		if nsec > 0 {
			sec--
			nsec = 1e9 - nsec
		}
	}
	return instant{sec: sec, nsec: nsec}, true
}

func digits(s string, at, n int) (int, bool) {
	if at+n > len(s) {
		return 0, false
	}
	v := 0
	for i := at; i < at+n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseBool parses a Bool or Null operand in the policy: "true" or "false"
// (JSON true and false arrive as that text).
func parseBool(s string) (bool, bool) {
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// requestBool reads a request value for Bool: "true" or "false" in any case.
func requestBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parseCIDR parses an IpAddress operand: an IPv4 or IPv6 CIDR block, or a
// bare address meaning that single host. Host bits after the prefix are
// ignored (203.0.113.7/24 is 203.0.113.0/24). Zones are rejected.
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.ContainsRune(s, '/') {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4In6() {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// parseBinary decodes a BinaryEquals operand: standard base64 with padding.
func parseBinary(s string) (string, bool) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) == 0 {
		return "", false
	}
	return string(b), true
}
