package fuzz

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteCorpus regenerates the seed corpora of the token targets in testdata/fuzz when
// WEBIDENTITY_WRITE_CORPUS=1:
//
//	WEBIDENTITY_WRITE_CORPUS=1 go test ./fuzz -run TestWriteCorpus
//
// Seeds are written with symbolic key choices (mode) rather than signatures, so they mean the
// same thing in every process: see doc.go. Files of findings are never touched.
func TestWriteCorpus(t *testing.T) {
	if os.Getenv("WEBIDENTITY_WRITE_CORPUS") != "1" {
		t.Skip("set WEBIDENTITY_WRITE_CORPUS=1 to regenerate the token seed corpora")
	}
	for name, s := range tokenSeeds(t) {
		for _, target := range []string{"FuzzToken", "FuzzDifferential"} {
			writeSeed(t, target, name, []byte(s.header), []byte(s.payload), s.sig, s.mode)
		}
	}
	for name, s := range compactSeeds(t) {
		writeSeed(t, "FuzzTokenCompact", name, s.token, s.mode)
	}
	for target, seeds := range staticSeeds(t) {
		for name, vals := range seeds {
			writeSeed(t, target, name, vals...)
		}
	}
}

// writeSeed writes one corpus file in the go test fuzz v1 format.
func writeSeed(t *testing.T, target, name string, vals ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch x := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", x)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", x)
		case uint8:
			fmt.Fprintf(&b, "byte(%q)\n", x)
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", x)
		default:
			t.Fatalf("seed value of type %T", v)
		}
	}
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type tokenSeed struct {
	header, payload string
	sig             []byte
	mode            uint8
}

// Real shapes: an EKS projected service-account token (header alg+kid, members sorted, as
// the API server writes them) and a GitHub Actions token (typ, alg, x5t, kid; GitHub's member
// order).
func eksHeader(alg, sym string) string {
	return `{"alg":"` + alg + `","kid":"` + kidFor(sym) + `"}`
}

func eksPayload(t *testing.T, edit func(map[string]any)) string {
	c := eksClaims()
	if edit != nil {
		edit(c)
	}
	return string(mustJSON(t, c))
}

var githubPayload = fmt.Sprintf(`{"jti":"f1a2b3c4-d5e6-4f7a-8b9c-0d1e2f3a4b5c","sub":"repo:octo-org/octo-repo:environment:prod",`+
	`"environment":"prod","aud":"sts.amazonaws.com","ref":"refs/heads/main","sha":"d6e1c0ffee1e5c0ffee1e5c0ffee1e5c0ffee1e5",`+
	`"repository":"octo-org/octo-repo","repository_owner":"octo-org","actor_id":"12","repository_visibility":"private",`+
	`"repository_id":"74","repository_owner_id":"65","run_id":"9876543210","run_number":"10","run_attempt":"2",`+
	`"runner_environment":"github-hosted","actor":"octocat","workflow":"deploy","head_ref":"","base_ref":"",`+
	`"event_name":"workflow_dispatch","ref_type":"branch",`+
	`"job_workflow_ref":"octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",`+
	`"iss":"https://token.actions.githubusercontent.com","nbf":%d,"exp":%d,"iat":%d}`,
	now.Unix()-660, now.Unix()+240, now.Unix()-60)

func githubHeader(sym string) string {
	return `{"typ":"JWT","alg":"RS256","x5t":"Xf3rOvbcEmsAJmf4VYFeR0G-K3c","kid":"` + kidFor(sym) + `"}`
}

func tokenSeeds(t *testing.T) map[string]tokenSeed {
	w := getWorld(t)
	seeds := map[string]tokenSeed{}
	sign := func(name, h, p, sym string) {
		seeds[name] = tokenSeed{h, p, nil, modeFor(sigSign, sym)}
	}
	eks := eksPayload(t, nil)
	for _, s := range keySpecs {
		if s.issuer == eksURL && s.published {
			sign("eks_"+s.alg, eksHeader(s.alg, s.sym), eks, s.sym)
		}
	}
	sign("github_current", githubHeader("github/RS256-current"), githubPayload, "github/RS256-current")
	sign("github_next", githubHeader("github/RS256-next"), githubPayload, "github/RS256-next")
	sign("github_other_repo", githubHeader("github/RS256-current"),
		strings.Replace(githubPayload, "repo:octo-org/octo-repo:", "repo:evil-org/octo-repo:", 1), "github/RS256-current")
	sign("eks_no_kid", `{"alg":"ES256"}`, eks, "eks/ES256")
	sign("eks_typ_jwt", `{"alg":"ES384","kid":"`+kidFor("eks/ES384")+`","typ":"JWT"}`, eks, "eks/ES384")
	seeds["eks_ES256_high_s"] = tokenSeed{eksHeader("ES256", "eks/ES256"), eks, nil, modeFor(sigVariant, "eks/ES256")}
	seeds["eks_PS256_max_salt"] = tokenSeed{eksHeader("PS256", "eks/PS256"), eks, nil, modeFor(sigVariant, "eks/PS256")}
	seeds["eks_RS256_flipped"] = tokenSeed{eksHeader("RS256", "eks/RS256"), eks, []byte{0, 0, 0, 1}, modeFor(sigFlip, "eks/RS256")}

	// Forgeries and confusions.
	sign("retired_key", eksHeader("ES256", "eks/retired-ES256"), eks, "eks/retired-ES256")
	sign("unpublished_key", eksHeader("EdDSA", "eks/unpublished-EdDSA"), eks, "eks/unpublished-EdDSA")
	sign("stranger_signs_eks_kid", eksHeader("RS256", "eks/RS256"), eks, "stranger/RS256")
	sign("stranger_own_issuer", eksHeader("EdDSA", "stranger/EdDSA"),
		eksPayload(t, func(c map[string]any) { c["iss"] = strangerURL }), "stranger/EdDSA")
	sign("github_key_eks_iss", githubHeader("github/RS256-current"), eks, "github/RS256-current")
	sign("eks_key_github_iss", eksHeader("RS256", "eks/RS256"), githubPayload, "eks/RS256")
	sign("alg_lie_RS384", eksHeader("RS384", "eks/RS256"), eks, "eks/RS256")
	sign("alg_ES256_on_EdDSA_kid", eksHeader("ES256", "eks/EdDSA"), eks, "eks/ES256")
	sign("embedded_jwk", `{"alg":"EdDSA","kid":"`+kidFor("eks/EdDSA")+`","jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}`, eks, "stranger/EdDSA")
	sign("jku", `{"alg":"RS256","kid":"`+kidFor("eks/RS256")+`","jku":"https://attacker.example/jwks.json"}`, eks, "stranger/RS256")
	sign("x5u", `{"alg":"RS256","kid":"`+kidFor("eks/RS256")+`","x5u":"https://attacker.example/cert.pem"}`, eks, "eks/RS256")
	sign("crit", `{"alg":"RS256","kid":"`+kidFor("eks/RS256")+`","crit":["exp"],"exp":1}`, eks, "eks/RS256")
	sign("b64_false", `{"alg":"RS256","kid":"`+kidFor("eks/RS256")+`","b64":false,"crit":["b64"]}`, eks, "eks/RS256")
	sign("typ_at_jwt", `{"alg":"RS256","kid":"`+kidFor("eks/RS256")+`","typ":"at+jwt"}`, eks, "eks/RS256")
	sign("kid_number", `{"alg":"RS256","kid":7}`, eks, "eks/RS256")
	sign("header_duplicate_alg", `{"alg":"none","alg":"RS256","kid":"`+kidFor("eks/RS256")+`"}`, eks, "eks/RS256")
	seeds["alg_none"] = tokenSeed{`{"alg":"none","kid":"` + kidFor("eks/RS256") + `"}`, eks, nil, sigAsGiven}
	// HS256 keyed with the issuer's public key, the classic confusion. The key changes per
	// process, so the signature is only right in the process that wrote it.
	pubDER, err := x509.MarshalPKIXPublicKey(w.bySym["eks/RS256"].signer.Public())
	if err != nil {
		t.Fatal(err)
	}
	hsHeader := `{"alg":"HS256","kid":"` + kidFor("eks/RS256") + `"}`
	mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	mac.Write([]byte(b64.EncodeToString([]byte(hsHeader)) + "." + b64.EncodeToString([]byte(eks))))
	seeds["hs256_public_key"] = tokenSeed{hsHeader, eks, mac.Sum(nil), sigAsGiven}

	// Claims at the edges.
	rs := func(name, payload string) { sign(name, eksHeader("RS256", "eks/RS256"), payload, "eks/RS256") }
	rs("expired", eksPayload(t, func(c map[string]any) { c["exp"] = now.Unix() - 301 }))
	rs("exp_within_leeway", eksPayload(t, func(c map[string]any) { c["exp"] = now.Unix() - 299 }))
	rs("exp_fraction", eksPayload(t, func(c map[string]any) { c["exp"] = float64(now.Unix()-300) + 0.25 }))
	rs("exp_string", eksPayload(t, func(c map[string]any) { c["exp"] = fmt.Sprint(now.Unix() + 3600) }))
	rs("nbf_future", eksPayload(t, func(c map[string]any) { c["nbf"] = now.Unix() + 301 }))
	rs("iat_future", eksPayload(t, func(c map[string]any) { c["iat"] = now.Unix() + 301 }))
	rs("no_sub", eksPayload(t, func(c map[string]any) { delete(c, "sub") }))
	rs("no_exp", eksPayload(t, func(c map[string]any) { delete(c, "exp") }))
	rs("aud_other", eksPayload(t, func(c map[string]any) { c["aud"] = []string{"https://kubernetes.default.svc"} }))
	rs("aud_many", eksPayload(t, func(c map[string]any) { c["aud"] = []string{"https://kubernetes.default.svc", clientID} }))
	rs("iss_trailing_slash", eksPayload(t, func(c map[string]any) { c["iss"] = eksURL + "/" }))
	rs("iss_upper_case", eksPayload(t, func(c map[string]any) { c["iss"] = strings.ToUpper(eksURL) }))
	rs("sub_escaped", strings.Replace(eks, `"sub":"system:`, `"sub":"\u0073ystem:`, 1))
	rs("member_name_escaped", strings.Replace(eks, `"iss":`, `"\u0069ss":`, 1))
	rs("duplicate_sub", strings.Replace(eks, `"sub":`, `"sub":"system:serviceaccount:kube-system:admin","sub":`, 1))
	rs("lone_surrogate", strings.Replace(eks, `"jti":"`, `"jti":"\ud800`, 1))
	rs("session_tags", eksPayload(t, func(c map[string]any) {
		c["https://aws.amazon.com/tags"] = map[string]any{
			"principal_tags":      map[string]any{"Project": []string{"Automation"}, "CostCenter": []string{"987654"}},
			"transitive_tag_keys": []string{"Project"},
		}
	}))
	return seeds
}

type compactSeed struct {
	token string
	mode  uint8
}

func compactSeeds(t *testing.T) map[string]compactSeed {
	eks := eksPayload(t, nil)
	h64 := b64.EncodeToString([]byte(eksHeader("RS256", "eks/RS256")))
	p64 := b64.EncodeToString([]byte(eks))
	in := h64 + "." + p64
	sign := modeFor(sigSign, "eks/RS256")
	std := strings.NewReplacer("-", "+", "_", "/")
	return map[string]compactSeed{
		"eks_RS256":          {in + ".", sign},
		"github":             {b64.EncodeToString([]byte(githubHeader("github/RS256-current"))) + "." + b64.EncodeToString([]byte(githubPayload)) + ".", modeFor(sigSign, "github/RS256-current")},
		"padded_payload":     {h64 + "." + p64 + strings.Repeat("=", (4-len(p64)%4)%4) + ".", sign},
		"std_alphabet":       {std.Replace(in) + ".", sign},
		"trailing_bits":      {h64 + "." + p64[:len(p64)-1] + string(rune(p64[len(p64)-1]|1)) + ".", sign},
		"trailing_newline":   {in + ".\n", sigAsGiven},
		"leading_space":      {" " + in + ".", sign},
		"four_segments":      {in + ".." + "sig", sigAsGiven},
		"jwe_shaped":         {b64.EncodeToString([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".a.b.c.d", sigAsGiven},
		"json_serialization": {`{"payload":"` + p64 + `","protected":"` + h64 + `","signature":"AAAA"}`, sigAsGiven},
		"empty_signature":    {in + ".", sigAsGiven},
		"dots_only":          {"..", sigAsGiven},
		"unsigned_none":      {b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + p64 + ".", sigAsGiven},
	}
}

// staticSeeds are the seeds of the targets whose inputs need no signature: trust policies in
// the shapes of AWS's documentation, JWKS and discovery documents in the shapes EKS, GitHub
// and Google serve, and session tags claims.
func staticSeeds(t *testing.T) map[string]map[string][]any {
	w := getWorld(t)
	pol := func(doc string) []any {
		return []any{[]byte(doc), eksSubject, clientID, eksARN, uint64(0x0f0f)}
	}
	gh := func(doc string) []any {
		return []any{[]byte(doc), githubSubPfx + "ref:refs/heads/main", clientID, githubARN, uint64(0xf0f0)}
	}
	const ghP = `"Principal":{"Federated":"` + githubARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"`
	const eksP = `"Principal":{"Federated":"` + eksARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"`
	rsaJWK := func(sym string) map[string]any {
		var m map[string]any
		for _, k := range mustKeys(t, w.jwksDoc[eksURL]) {
			if k["kid"] == kidFor(sym) {
				m = k
			}
		}
		return m
	}
	rs := rsaJWK("eks/RS256")
	ec := rsaJWK("eks/ES256")
	doc := func(keys ...map[string]any) []any { return []any{mustJSON(t, map[string]any{"keys": keys})} }
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(out, kv[i].(string))
			} else {
				out[kv[i].(string)] = kv[i+1]
			}
		}
		return out
	}
	disc := func(d string, iss string) []any { return []any{[]byte(d), iss} }
	return map[string]map[string][]any{
		"FuzzPolicy": {
			"irsa":            pol(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + eksP + `,"Condition":{"StringEquals":{"` + eksPrefix + `:sub":"system:serviceaccount:default:app-sa","` + eksPrefix + `:aud":"sts.amazonaws.com"}}}]}`),
			"irsa_stringlike": pol(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + eksP + `,"Condition":{"StringLike":{"` + eksPrefix + `:sub":"system:serviceaccount:kube-system:efs-csi-*","` + eksPrefix + `:aud":"sts.amazonaws.com"}}}]}`),
			"github_repo":     gh(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + ghP + `,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:octo-org/octo-repo:*"}}}]}`),
			"github_envs":     gh(`{"Version":"2012-10-17","Statement":[{"Sid":"Deploy","Effect":"Allow",` + ghP + `,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":["sts.amazonaws.com"],"token.actions.githubusercontent.com:sub":["repo:octo-org/octo-repo:environment:prod","repo:octo-org/octo-repo:ref:refs/heads/main"]}}},{"Sid":"NoForks","Effect":"Deny",` + ghP + `,"Condition":{"StringNotEquals":{"token.actions.githubusercontent.com:repository_owner":"octo-org"}}}]}`),
			"cognito":         pol(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"cognito-identity.amazonaws.com"},"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{"StringEquals":{"cognito-identity.amazonaws.com:aud":"us-east-1:12345678-abcd-abcd-abcd-123456789012"},"ForAnyValue:StringLike":{"cognito-identity.amazonaws.com:amr":"authenticated"}}}]}`),
			"google":          pol(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"accounts.google.com:aud":"123456789012-abcdefg.apps.googleusercontent.com","accounts.google.com:oaud":"123456789012-abcdefg.apps.googleusercontent.com","accounts.google.com:sub":"110204161522387417777"}}}]}`),
			"tags":            pol(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + eksP + `},{"Effect":"Allow","Principal":{"Federated":"` + eksARN + `"},"Action":"sts:TagSession","Condition":{"StringEquals":{"aws:RequestTag/Project":"${` + eksPrefix + `:sub}"},"ForAllValues:StringEquals":{"aws:TagKeys":["Project","CostCenter"]},"Null":{"aws:RequestTag/Project":"false"}}}]}`),
			"variables":       pol(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + eksP + `,"Condition":{"StringLike":{"` + eksPrefix + `:sub":"system:serviceaccount:${` + eksPrefix + `:aud, 'none'}:*${*}${?}${$}"}}}]}`),
			"time_ip":         pol(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` + eksP + `,"Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"},"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]},"StringEqualsIfExists":{"` + eksPrefix + `:azp":"x"},"Bool":{"aws:SecureTransport":"true"}}}]}`),
			"notprincipal":    pol(`{"Version":"2008-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"NotAction":"sts:TagSession","Resource":"*"}}`),
			"arnlike":         pol(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",` + `"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app-*"},"StringEqualsIgnoreCase":{"` + eksPrefix + `:SUB":"SYSTEM:serviceaccount:default:APP-SA"}}}]}`),
		},
		"FuzzPolicyStringLike": {
			"github":  {githubSubPfx + "*", githubSubPfx + "pull_request"},
			"efs":     {"system:serviceaccount:kube-system:efs-csi-*", "system:serviceaccount:kube-system:efs-csi-node-sa"},
			"unicode": {"sub-?-*-é", "sub-ß-x-é"},
			"stars":   {"**?**", "ab"},
		},
		"FuzzJWKS": {
			"eks":          doc(with(rs, "use", "sig"), with(ec, "use", "sig")),
			"github_x5c":   doc(with(rs, "x5c", []string{"MIIDrDCCApSgAwIBAgIQ"}, "x5t", "Xf3rOvbcEmsAJmf4VYFeR0G-K3c")),
			"no_alg":       doc(with(rs, "alg", nil), with(ec, "alg", nil)),
			"oct_and_priv": doc(map[string]any{"kty": "oct", "kid": kidFor("eks/RS256"), "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "alg": "HS256"}, with(ec, "d", "AAAA")),
			"enc_use":      doc(with(rs, "use", "enc"), with(ec, "key_ops", []string{"encrypt"})),
			"alg_mismatch": doc(with(rs, "alg", "ES256"), with(ec, "alg", "RS256")),
			"dup_kid":      doc(rs, with(rs, "alg", "RS512")),
			"same_kid_kty": doc(rs, with(ec, "kid", kidFor("eks/RS256"))),
			"small_rsa":    doc(with(rs, "n", "sXch", "e", "AQAB")),
			"bad_curve":    doc(with(ec, "crv", "P-192"), with(ec, "x", "AAAA")),
			"not_a_set":    {[]byte(`[{"kty":"RSA"}]`)},
		},
		"FuzzDiscovery": {
			"eks":             disc(`{"issuer":"`+eksURL+`","jwks_uri":"`+eksURL+`/keys","authorization_endpoint":"urn:kubernetes:programmatic_authorization","response_types_supported":["id_token"],"subject_types_supported":["public"],"claims_supported":["sub","iss"],"id_token_signing_alg_values_supported":["RS256"]}`, eksURL),
			"github":          disc(`{"issuer":"`+githubURL+`","jwks_uri":"`+githubURL+`/.well-known/jwks","subject_types_supported":["public","pairwise"],"response_types_supported":["id_token"],"claims_supported":["sub","aud","exp","iat","iss","jti","nbf","ref","repository","repository_id","repository_owner","repository_owner_id","run_id","run_number","run_attempt","actor","actor_id","workflow","head_ref","base_ref","event_name","ref_type","environment","job_workflow_ref"],"id_token_signing_alg_values_supported":["RS256"],"scopes_supported":["openid"]}`, githubURL),
			"google":          disc(`{"issuer":"https://accounts.google.com","authorization_endpoint":"https://accounts.google.com/o/oauth2/v2/auth","token_endpoint":"https://oauth2.googleapis.com/token","jwks_uri":"https://www.googleapis.com/oauth2/v3/certs","id_token_signing_alg_values_supported":["RS256"]}`, "https://accounts.google.com"),
			"trailing_slash":  disc(`{"issuer":"`+githubURL+`/","jwks_uri":"`+githubURL+`/.well-known/jwks"}`, githubURL),
			"http_jwks":       disc(`{"issuer":"`+githubURL+`","jwks_uri":"http://token.actions.githubusercontent.com/.well-known/jwks"}`, githubURL),
			"userinfo":        disc(`{"issuer":"`+githubURL+`","jwks_uri":"https://user:pass@evil.example/jwks"}`, githubURL),
			"duplicate_iss":   disc(`{"issuer":"`+githubURL+`","issuer":"https://evil.example","jwks_uri":"https://evil.example/jwks"}`, githubURL),
			"escaped_members": disc(`{"\u0069ssuer":"`+githubURL+`","jwks_uri":"https:\/\/token.actions.githubusercontent.com\/.well-known\/jwks"}`, githubURL),
		},
		"FuzzSessionTags": {
			"aws_docs":       {[]byte(`{"principal_tags":{"Project":["Automation"],"CostCenter":["987654"]},"transitive_tag_keys":["CostCenter"]}`)},
			"many_values":    {[]byte(`{"principal_tags":{"Project":["a","b"]}}`)},
			"case_duplicate": {[]byte(`{"principal_tags":{"Project":["x"],"PROJECT":["y"]}}`)},
			"aws_prefix":     {[]byte(`{"principal_tags":{"AWS:x":["y"]}}`)},
			"unicode":        {[]byte(`{"principal_tags":{"Ünïcode Key":["välue\u00a0with nbsp"]},"transitive_tag_keys":["ünïcode key"]}`)},
			"dup_member":     {[]byte(`{"principal_tags":{"A":["x"]},"principal_tags":{"B":["y"]}}`)},
		},
	}
}

func mustKeys(t *testing.T, doc []byte) []map[string]any {
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	return set.Keys
}
