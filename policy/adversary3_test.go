package policy

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// Finding: a policy variable naming sts:RoleSessionName, which the caller of
// AssumeRoleWithWebIdentity chooses freely, pins nothing, yet Lint reads it as
// literal text and reports the subject as pinned. Any Google account whose
// numeric sub is a valid session name can assume the role.
func TestAdv3LintCallerChosenVariablePinsNothing(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow",
		"Principal":{"Federated":"accounts.google.com"},
		"Action":"sts:AssumeRoleWithWebIdentity",
		"Condition":{"StringEquals":{
			"accounts.google.com:aud":"app.apps.googleusercontent.com",
			"accounts.google.com:sub":"${sts:RoleSessionName}"}}}}`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	// Impact: a stranger's token is accepted when the session name echoes it.
	req := &Request{
		Action:    "sts:AssumeRoleWithWebIdentity",
		Principal: Principal{Type: PrincipalFederated, ID: "accounts.google.com"},
		Context: Values{
			"accounts.google.com:aud": {"app.apps.googleusercontent.com"},
			"accounts.google.com:sub": {"109876543210987654321"},
			"sts:rolesessionname":     {"109876543210987654321"},
		},
	}
	if d := p.Evaluate(req); d.Effect != Allow {
		t.Fatalf("Evaluate = %v, want Allow (the IAM semantics)", d.Effect)
	}
	var found bool
	for _, f := range Lint(p) {
		if (f.Rule == RuleBroadSub || f.Rule == RuleMissingSub) && f.Severity == High {
			found = true
		}
	}
	if !found {
		t.Errorf("Lint reports no High broad-sub/missing-sub for a :sub pinned only to the caller-chosen ${sts:RoleSessionName}; findings: %+v", Lint(p))
	}
}

// Holds: the StringLike matcher agrees with the regexp oracle on patterns
// mixing multi-byte runes, case-fold specials (ſ, K, İ, ı, ß, ς), '?' next to
// '*', empty segments and '?'-only patterns, with and without folding.
func TestAdv3GlobAgreesWithRegexp(t *testing.T) {
	alpha := []string{"a", "A", "s", "S", "ſ", "k", "K", "K", "€", "ß", "ẞ", "İ", "i", "ı", "𝄞", "σ", "ς", "Σ", "\n", ":", "?", "?", "*", "*"}
	vals := alpha[:len(alpha)-4]
	r := rand.New(rand.NewSource(3))
	gen := func(n int, a []string) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(a[r.Intn(len(a))])
		}
		return b.String()
	}
	for it := 0; it < 4000; it++ {
		pat := gen(r.Intn(9), alpha)
		var b strings.Builder
		for _, c := range pat {
			switch c {
			case '*':
				b.WriteString(gen(r.Intn(3), vals))
			case '?':
				b.WriteString(vals[r.Intn(len(vals))])
			default:
				b.WriteRune(c)
			}
		}
		for _, val := range []string{b.String(), gen(r.Intn(10), vals)} {
			for _, fold := range []bool{false, true} {
				p := compileGlob(pat, fold)
				if got, want := p.match(val, nil), globRegexp(pat, fold).MatchString(val); got != want {
					t.Fatalf("pattern %q value %q fold %v: matcher %v, regexp %v", pat, val, fold, got, want)
				}
			}
		}
	}
}

// Holds: middle segments of 62 to 67 code points with '?' (the Shift-And
// limit is 64) and multi-byte runes.
func TestAdv3LongSegmentsAgreeWithRegexp(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	alpha := []string{"a", "b", "€", "?"}
	gen := func(n int, a []string) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(a[r.Intn(len(a))])
		}
		return b.String()
	}
	for it := 0; it < 600; it++ {
		seg := gen(62+r.Intn(6), alpha)
		pat := "*" + seg + "*" + gen(2, alpha)
		var b strings.Builder
		b.WriteString(gen(r.Intn(4), alpha[:3]))
		for _, c := range seg {
			switch {
			case c == '?':
				b.WriteString(alpha[r.Intn(3)])
			case r.Intn(40) == 0:
				b.WriteString("b")
			default:
				b.WriteRune(c)
			}
		}
		b.WriteString(gen(r.Intn(4), alpha[:3]))
		val := b.String()
		for _, fold := range []bool{false, true} {
			p := compileGlob(pat, fold)
			if got, want := p.match(val, nil), globRegexp(pat, fold).MatchString(val); got != want {
				t.Fatalf("pattern %q value %q fold %v: matcher %v, regexp %v", pat, val, fold, got, want)
			}
		}
	}
}

// adv3TextRegexp is the oracle for a StringLike value with policy variables
// and the ${*}, ${?}, ${$} escapes, variables resolved literally.
func adv3TextRegexp(text string, vars map[string]string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(text); {
		if strings.HasPrefix(text[i:], "${") {
			end := strings.IndexByte(text[i:], '}')
			body := text[i+2 : i+end]
			i += end + 1
			switch body {
			case "*", "?", "$":
				b.WriteString(regexp.QuoteMeta(body))
			default:
				b.WriteString(regexp.QuoteMeta(vars[canonKey(body)]))
			}
			continue
		}
		switch text[i] {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(text[i : i+1]))
		}
		i++
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

// Holds: variables and escapes inside segments (first, middle, last, alone).
func TestAdv3VariablesAgreeWithRegexp(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	alpha := []string{"a", "b", "€", "?", "*", "${*}", "${?}", "${$}", "${aws:username}", "${K:X}", "$", "{", "}"}
	valAlpha := []string{"a", "b", "€", "?", "*", "$", "{", "}", "a*", "?€"}
	gen := func(n int, a []string) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(a[r.Intn(len(a))])
		}
		return b.String()
	}
	for it := 0; it < 4000; it++ {
		pat := gen(r.Intn(8), alpha)
		vals := map[string]string{"aws:username": gen(r.Intn(3), valAlpha), "k:x": gen(r.Intn(3), valAlpha)}
		vs := &varSet{}
		p, err := compileText(pat, textOptions{wild: true, vars: vs}, "")
		if err != nil {
			continue
		}
		resolved := make([]string, maxVars)
		for i, ref := range vs.refs {
			resolved[i] = vals[ref.key]
		}
		rep := strings.NewReplacer("${*}", "*", "${?}", "?", "${$}", "$", "${aws:username}", vals["aws:username"],
			"${K:X}", vals["k:x"], "*", gen(r.Intn(3), valAlpha), "?", "€")
		for _, val := range []string{rep.Replace(pat), gen(r.Intn(10), valAlpha)} {
			if got, want := p.match(val, resolved), adv3TextRegexp(pat, vals).MatchString(val); got != want {
				t.Fatalf("pattern %q vars %q value %q: matcher %v, regexp %v", pat, vals, val, got, want)
			}
		}
	}
}

// Holds: canonRune is idempotent, stays in its rune's folding orbit, and
// isCanon/sameKey agree with it, for every rune.
func TestAdv3CanonKeyEveryRune(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r < 0xE000 {
			continue
		}
		c := canonRune(r)
		s := string(r)
		if canonRune(c) != c || !strings.EqualFold(s, string(c)) || isCanon(s) != (c == r) || !sameKey(s, string(c)) {
			t.Fatalf("rune %U: canon %U", r, c)
		}
	}
}
