package policy

import (
	"strconv"
	"strings"
)

// Severity ranks a lint Finding.
type Severity int

const (
	// Info: a style or clarity issue with no effect on who gets in.
	Info Severity = iota + 1
	// Low: a weakness worth fixing that does not by itself let strangers in.
	Low
	// Medium: the policy does not do what its author likely meant (a
	// condition that can never hold, a role wider than one workload of a
	// dedicated issuer), or trusts more than it should within a boundary such
	// as one cluster or one provider's registered clients.
	Medium
	// High: the policy lets strangers in, or a Deny silently never applies.
	High
)

// String returns "info", "low", "medium" or "high".
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	}
	return "Severity(" + itoa(int(s)) + ")"
}

// Lint rule names, the stable identifiers of Finding.Rule.
const (
	RuleMissingAud        = "missing-aud"
	RuleMissingSub        = "missing-sub"
	RuleBroadSub          = "broad-sub"
	RuleOrgWideSub        = "org-wide-sub"
	RuleRepoWideSub       = "repo-wide-sub"
	RuleForAllValuesAllow = "forallvalues-in-allow"
	RuleLikeWithoutWild   = "stringlike-without-wildcard"
	RulePrincipalAnyone   = "principal-anyone"
	RuleNotActionAllow    = "notaction-in-allow"
	RuleUnknownKey        = "unknown-provider-key"
	RuleForeignKey        = "foreign-provider-key"
	RuleUnprefixedKey     = "unprefixed-key"
	RuleWildcardAccount   = "wildcard-account"
	RuleEmptyCondition    = "empty-condition"
	RuleMultivaluedNoSet  = "multivalued-key-without-set-operator"
	RuleMultivaluedVar    = "multivalued-variable"
)

// Finding is one problem Lint found.
type Finding struct {
	Severity Severity
	// Path locates the element in the document, as in ParseError.
	Path string
	// Rule is the stable identifier of the check (one of the Rule constants).
	Rule string
	// Message explains the problem and how to fix it.
	Message string
}

// String returns "<severity> <path>: <message> [<rule>]".
func (f Finding) String() string {
	return f.Severity.String() + " " + f.Path + ": " + f.Message + " [" + f.Rule + "]"
}

// builtinProviders are the web identity providers STS knows without an IAM
// OIDC provider resource, hence without a registered client ID list: for
// them the audience condition is the only thing that pins the application.
var builtinProviders = map[string]bool{
	"accounts.google.com":            true,
	"cognito-identity.amazonaws.com": true,
	"graph.facebook.com":             true,
	"www.amazon.com":                 true,
}

// providerKeys lists, per provider, the claim keys STS sets in the request
// context (key = "<provider>:<claim>"), beyond oidcKeys which every OIDC
// provider gets. Facebook and Amazon have their own keys only.
var providerKeys = map[string][]string{
	"accounts.google.com": {"oaud"},
	"token.actions.githubusercontent.com": {
		"actor", "actor_id", "job_workflow_ref", "repository", "repository_id",
		"repository_owner_id", "workflow", "ref", "environment", "enterprise_id",
		"runner_environment",
	},
	"graph.facebook.com": {"app_id", "id"},
	"www.amazon.com":     {"app_id", "user_id"},
}

// ghIssuer is the key prefix of GitHub Actions; an enterprise's issuer
// is ghIssuer + "/" + ENTERPRISE.
const ghIssuer = "token.actions.githubusercontent.com"

// isGitHub reports whether the provider prefix is GitHub Actions, including
// an enterprise's issuer path.
func isGitHub(prov string) bool {
	p := canonKey(prov)
	return p == ghIssuer || strings.HasPrefix(p, ghIssuer+"/")
}

// nonClusterIssuer reports whether the provider prefix is one whose subjects
// are never Kubernetes service accounts, whatever values a policy compares
// them with: GitHub Actions and the built-in providers.
func nonClusterIssuer(prov string) bool {
	return isGitHub(prov) || builtinProviders[canonKey(prov)]
}

// oidcKeys are the claim keys of every OIDC provider.
var oidcKeys = []string{"aud", "sub", "azp", "amr"}

// ownKeysOnly are the providers whose keys are only their providerKeys.
var ownKeysOnly = map[string]bool{"graph.facebook.com": true, "www.amazon.com": true}

// knownKey reports whether the provider sends the claim key.
func knownKey(prov, claim string) bool {
	if !ownKeysOnly[prov] && containsKey(oidcKeys, claim) {
		return true
	}
	if isGitHub(prov) {
		prov = ghIssuer
	}
	return containsKey(providerKeys[prov], claim)
}

// Lint checks a trust policy for the mistakes that let strangers in or that
// make it do something other than what its author meant. It only reads the
// policy. Findings come in document order.
//
// High findings (the policy lets strangers in, or a Deny never applies):
//   - principal-anyone: Principal "*" (or {"AWS": "*"}, {"Federated": "*"})
//     in an Allow.
//   - missing-aud: an Allow for sts:AssumeRoleWithWebIdentity from a built-in
//     provider (Google, Cognito, Facebook, Amazon), which has no registered
//     client list, without a condition pinning "<provider>:aud" (":app_id"
//     for Facebook and Amazon; Google's ":oaud" also pins). For other OIDC
//     providers STS still checks the registered client IDs, so this is
//     Medium.
//   - missing-sub / broad-sub: an Allow for a shared issuer (GitHub Actions,
//     Google, Facebook, Amazon, and every provider that is not a Kubernetes
//     cluster's) without a condition pinning "<provider>:sub", or whose :sub
//     patterns match every subject ("*", "repo:*", "repo:org*" without the
//     owner's "/") or leave the namespace open ("system:serviceaccount:*",
//     and "system:serviceaccount:*:NAME", which admits service account NAME
//     in every namespace). On a cluster issuer the same is Medium: only
//     service accounts of that cluster get in. Cluster issuers are EKS's
//     (oidc.eks.<region>.amazonaws.com/id/<id>) and any provider with a :sub
//     condition somewhere in the policy on a value shaped like
//     system:serviceaccount:NAMESPACE:NAME (a self-hosted cluster), except
//     GitHub Actions (with its enterprise issuer paths) and the built-in
//     providers, which are never cluster issuers. For Cognito, whose :aud
//     names the identity pool, it is Medium when :aud is pinned. A policy
//     variable naming a key of the same provider (${<provider>:sub},
//     "repo:${<provider>:repository}:...", ${<provider>:aud}) counts as a
//     wildcard for these checks and for missing-aud: the token supplies it.
//   - forallvalues-in-allow: ForAllValues: in an Allow holds when the key is
//     missing, unless the statement also requires the key with Null "false".
//   - unknown-provider-key, foreign-provider-key, unprefixed-key: a condition
//     on a key the provider never sends (a typo such as ":aude", another
//     provider's prefix, or no prefix at all), when the condition holds on a
//     missing key (negated, IfExists, ForAllValues:, Null "true") in an Allow,
//     or does not hold on a missing key in a Deny. In the other two cases the
//     finding is Medium: the statement can never apply.
//
// The keys a provider sends are ":aud", ":sub", ":azp" and ":amr" for every
// OIDC provider, plus ":oaud" for Google and the GitHub Actions claims (actor,
// actor_id, job_workflow_ref, repository, repository_id, repository_owner_id,
// workflow, ref, environment, enterprise_id, runner_environment); Facebook and
// Amazon send ":app_id" and ":id" or ":user_id". This matches the context the
// verifier package builds.
//
// GitHub subjects that pin the owner but not the repository are
// org-wide-sub, Medium: "repo:ORG/*", "repo:ORG/*:*" and "repo:ORG/app-*:..."
// admit every (or every such) repository of the owner, with every branch,
// pull request and environment, so whoever can create or push to one can
// assume the role. A subject that pins the repository but nothing after it,
// "repo:ORG/REPO:*", is repo-wide-sub, Low: every branch, tag, pull request
// and environment of that repository.
//
// Messages print condition keys as the policy writes them.
//
// Medium findings also include notaction-in-allow (NotAction allows every
// other action, such as sts:TagSession) and wildcard-account (a wildcard in
// the account component of an ARN in an Arn* condition of an Allow), multivalued-key-without-set-operator (a condition without
// ForAnyValue: or ForAllValues: on aws:TagKeys, sts:TransitiveTagKeys,
// aws:CalledVia, aws:PrincipalServiceNamesList or a provider's :amr, which
// fails closed) and multivalued-variable (a policy variable naming one of
// those keys, which never resolves). Info: stringlike-without-wildcard (use
// StringEquals) and empty-condition ("Condition": {}, which is no condition).
func Lint(p *Policy) []Finding {
	if p == nil {
		return nil
	}
	var out []Finding
	clusters := p.clusterProviders()
	for i := range p.stmts {
		out = append(out, p.stmts[i].lint(clusters)...)
	}
	return out
}

func (s *statement) lint(clusters map[string]bool) []Finding {
	var out []Finding
	add := func(sev Severity, path, rule, msg string) {
		out = append(out, Finding{Severity: sev, Path: path, Rule: rule, Message: msg})
	}
	if !s.deny {
		if s.principal.everyone || s.principal.anyOf != 0 {
			add(High, s.path()+".Principal", RulePrincipalAnyone, "a wildcard Principal in an Allow trusts anyone; name the identity provider")
		}
		if s.notAction {
			add(Medium, s.path()+".NotAction", RuleNotActionAllow, "NotAction in an Allow allows every other action; list the actions in Action")
		}
	}

	if s.emptyCondition {
		add(Info, s.path()+".Condition", RuleEmptyCondition, "an empty Condition is no condition; remove it or add the conditions it was meant to hold")
	}
	for i := range s.conds {
		c := &s.conds[i]
		s.lintMultivalued(c, add)
		if c.op.set == setAllValues && !s.deny && !s.requiresKey(c.key) {
			add(High, s.condPath(c), RuleForAllValuesAllow, c.op.name()+" holds when "+strconv.Quote(c.rawKey())+" is missing from the request; add a Null condition with \"false\" for the key or use ForAnyValue:")
		}
		if c.op.kind == opStringLike && !c.anyWildcard() {
			add(Info, s.condPath(c), RuleLikeWithoutWild, c.op.name()+" with no wildcard in its values; use "+strings.Replace(c.op.name(), "Like", "Equals", 1))
		}
		if c.op.kind == opArnLike && !c.op.negated && !s.deny {
			for _, v := range c.raw() {
				if hasWildcard(arnAccount(v)) {
					add(Medium, s.condPath(c), RuleWildcardAccount, "wildcard in the account of ARN "+strconv.Quote(v))
					break
				}
			}
		}
	}

	providers := s.providers()
	if len(providers) == 0 {
		return out
	}
	for i := range s.conds {
		c := &s.conds[i]
		if f, ok := s.lintKey(c, providers); ok {
			out = append(out, f)
		}
	}
	if s.deny || s.matchAction("sts:AssumeRoleWithWebIdentity") == s.notAction {
		return out
	}
	for _, prov := range providers {
		out = append(out, s.lintProvider(prov, clusters)...)
	}
	return out
}

// lintMultivalued flags a single-valued operator on a multivalued key and a
// policy variable naming one: both make the condition fail closed (see
// Evaluate), which is not what the author meant.
func (s *statement) lintMultivalued(c *condition, add func(Severity, string, string, string)) {
	effect := "never holds, so the statement cannot apply"
	if s.deny {
		effect = "always holds, so the Deny applies"
	}
	if c.multivalued() && c.op.set == setNone && c.op.kind != opNull {
		add(Medium, s.condPath(c), RuleMultivaluedNoSet, strconv.Quote(c.rawKey())+" is a multivalued key and needs ForAnyValue: or ForAllValues:; when the key is present this "+c.op.name()+" condition "+effect)
	}
	for _, v := range c.vars() {
		if v.multivalued {
			add(Medium, s.condPath(c), RuleMultivaluedVar, "${"+v.raw+"} names a multivalued key, which cannot be a policy variable; it never resolves, so this condition "+effect)
			break
		}
	}
}

// providers returns the key prefixes of the OIDC and built-in web identity
// providers the statement's Principal names.
func (s *statement) providers() []string {
	var out []string
	for _, id := range s.principal.ids {
		if id.Type != PrincipalFederated {
			continue
		}
		if prefix, ok := providerPrefix(id.ID); ok {
			out = append(out, prefix)
		}
	}
	return out
}

// providerPrefix returns the condition key prefix of a Federated principal:
// the provider URL without https:// for an IAM OIDC provider ARN
// (arn:aws:iam::<account>:oidc-provider/<prefix>), or the domain itself for a
// built-in provider. SAML providers and "*" have none.
func providerPrefix(id string) (string, bool) {
	if strings.HasPrefix(id, "arn:") {
		parts, ok := splitArnText(id, false)
		if !ok || parts[2] != "iam" {
			return "", false
		}
		prefix, ok := strings.CutPrefix(parts[5], "oidc-provider/")
		return prefix, ok && prefix != ""
	}
	if id == "*" || id == "" {
		return "", false
	}
	return id, true
}

// clusterIssuer reports whether the provider prefix is a single EKS
// cluster's issuer, such as oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE.
func clusterIssuer(prefix string) bool {
	host, path, ok := strings.Cut(prefix, "/")
	if !ok || !strings.HasPrefix(host, "oidc.eks.") || !(strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")) {
		return false
	}
	id, ok := strings.CutPrefix(path, "id/")
	return ok && id != "" && !strings.Contains(id, "/")
}

// lintKey flags a condition key that none of the statement's providers sends.
func (s *statement) lintKey(c *condition, providers []string) (Finding, bool) {
	rule := ""
	for _, prov := range providers {
		claim, ok := strings.CutPrefix(c.key, canonKey(prov)+":")
		if !ok {
			continue
		}
		if knownKey(prov, claim) {
			return Finding{}, false
		}
		rule = RuleUnknownKey
		break
	}
	if rule == "" {
		prefix, _, hasColon := strings.Cut(c.rawKey(), ":")
		switch {
		case !hasColon:
			rule = RuleUnprefixedKey
		case strings.ContainsAny(prefix, "./"):
			rule = RuleForeignKey
		default:
			return Finding{}, false // a global or service key such as aws:SourceIp
		}
	}
	// A key that is never present: does the condition then hold?
	sev := Medium
	effect := "can never hold, so the statement never applies"
	if c.missing() {
		effect = "always holds, because the key is never present"
	}
	if c.missing() != s.deny {
		sev = High
	}
	var msg string
	switch rule {
	case RuleUnknownKey:
		msg = "the provider never sends " + strconv.Quote(c.rawKey()) + "; this " + c.op.name() + " condition " + effect
	case RuleForeignKey:
		msg = strconv.Quote(c.rawKey()) + " belongs to another provider than the statement's principal; this " + c.op.name() + " condition " + effect
	default:
		msg = strconv.Quote(c.rawKey()) + " has no provider prefix (want \"" + providers[0] + ":<claim>\"); this " + c.op.name() + " condition " + effect
	}
	return Finding{Severity: sev, Path: s.condPath(c), Rule: rule, Message: msg}, true
}

func (s *statement) lintProvider(prov string, clusters map[string]bool) []Finding {
	var out []Finding
	audKey := canonKey(prov + ":aud")
	audName := prov + ":aud"
	if ownKeysOnly[prov] {
		// Facebook and Amazon name the application app_id.
		audKey, audName = canonKey(prov+":app_id"), prov+":app_id"
	}
	subKey := canonKey(prov + ":sub")
	audPinned := s.pins(audKey, prov) == nil || (prov == "accounts.google.com" && s.pins(canonKey(prov+":oaud"), prov) == nil)
	if !audPinned {
		sev := Medium
		if builtinProviders[prov] {
			sev = High
		}
		out = append(out, Finding{Severity: sev, Path: s.path() + ".Condition", Rule: RuleMissingAud,
			Message: "no condition pins " + strconv.Quote(s.spelling(audKey, audName)) + ": any application of the provider can assume the role"})
	}
	if ownKeysOnly[prov] {
		return out // Facebook and Amazon have no sub key
	}
	cluster := !nonClusterIssuer(prov) && (clusterIssuer(prov) || clusters[canonKey(prov)])
	sev := High
	who := "any subject of this shared issuer"
	switch {
	case cluster:
		sev, who = Medium, "any service account of the cluster"
	case prov == "cognito-identity.amazonaws.com" && audPinned:
		sev, who = Medium, "any identity of the pool"
	}
	w := s.pins(subKey, prov)
	switch {
	case w == nil:
	case w.cond == nil:
		out = append(out, Finding{Severity: sev, Path: s.path() + ".Condition", Rule: RuleMissingSub,
			Message: "no condition pins " + strconv.Quote(s.spelling(subKey, prov+":sub")) + ": " + who + " can assume the role"})
	default:
		f := Finding{Path: s.condPath(w.cond), Rule: w.rule}
		switch w.rule {
		case RuleBroadSub:
			f.Severity = sev
			what := w.what
			if what == "" {
				what = who
			}
			f.Message = "the " + w.cond.op.name() + " pattern " + strconv.Quote(w.value) + " on " + strconv.Quote(w.cond.rawKey()) + " matches " + what + "; pin the subject"
		case RuleOrgWideSub:
			f.Severity = Medium
			f.Message = "the " + w.cond.op.name() + " pattern " + strconv.Quote(w.value) + " on " + strconv.Quote(w.cond.rawKey()) + " matches " + w.what + ": whoever can create or push to such a repository can assume the role; name the repository"
		default: // RuleRepoWideSub
			f.Severity = Low
			f.Message = "the " + w.cond.op.name() + " pattern " + strconv.Quote(w.value) + " on " + strconv.Quote(w.cond.rawKey()) + " matches " + w.what + "; pin a branch, tag or environment"
		}
		out = append(out, f)
	}
	return out
}

// spelling returns key (canonical) as the statement's first condition on
// it writes it, or else fallback.
func (s *statement) spelling(key, fallback string) string {
	for i := range s.conds {
		c := &s.conds[i]
		if c.key == key {
			return c.rawKey()
		}
	}
	return fallback
}

// Breadths of a subject pattern, from pinned to matching a whole issuer.
const (
	breadthPinned  = iota
	breadthRepo    // every ref, pull request and environment of one GitHub repository
	breadthOrg     // several or all repositories of one GitHub owner
	breadthIssuer  // every subject, or every subject of a whole cluster
	breadthMissing // no condition pins the key
)

// widest describes the condition that decides how far a key is pinned.
type widest struct {
	breadth int
	cond    *condition // nil when no condition pins the key
	value   string     // the broadest value of cond
	rule    string     // RuleBroadSub, RuleOrgWideSub or RuleRepoWideSub
	what    string     // what the value matches, or "" for the whole issuer
}

// pins reports whether the statement has a condition that requires key to be
// present and to match specific values: a positive string operator without
// IfExists or ForAllValues:, none of whose values matches too much. It
// returns nil if so.
// A policy variable naming a key of the provider prov itself (such as
// ${prov:sub} or ${prov:repository}) counts as a wildcard: the token
// supplies it, so it pins nothing. Otherwise it describes the narrowest of the conditions
// that are too broad (conditions are ANDed; within one, its broadest value
// counts, values being ORed), or returns a widest with a nil cond if there is
// none.
func (s *statement) pins(key, prov string) *widest {
	var best *widest
	for i := range s.conds {
		c := &s.conds[i]
		if c.key != key || c.op.negated || c.op.ifExists || c.op.set == setAllValues {
			continue
		}
		switch c.op.kind {
		case opStringEquals, opStringEqualsIgnoreCase, opStringLike:
		default:
			continue
		}
		w := widest{breadth: breadthPinned, cond: c}
		for _, v := range c.raw() {
			b, rule, what := subjectBreadth(lintPattern(v, c.op.kind == opStringLike, s.vars, prov))
			if b > w.breadth {
				w.breadth, w.value, w.rule, w.what = b, v, rule, what
			}
		}
		if w.breadth == breadthPinned {
			return nil
		}
		if best == nil || w.breadth < best.breadth {
			best = &w
		}
	}
	if best == nil {
		return &widest{breadth: breadthMissing}
	}
	return best
}

// subjectBreadth classifies a StringLike pattern on a subject: whether it
// matches every subject of an issuer (only wildcards; a GitHub "repo:"
// pattern that does not pin the owner, including a wildcard inside "repo:"
// itself as in "repo*"; a Kubernetes "system:serviceaccount:" pattern that
// does not pin the namespace), every or several repositories of one GitHub
// owner (a wildcard in the repository name: "repo:ORG/*", "repo:ORG/*:*",
// "repo:ORG/app-*:ref:refs/heads/main"), or every ref, pull request and
// environment of one repository ("repo:ORG/REPO:" followed by wildcards and
// colons only: "repo:ORG/REPO:*", "repo:ORG/REPO:?*", "repo:ORG/REPO:*:*").
// It returns the breadth,
// the lint rule and what the pattern matches ("" for a whole issuer).
func subjectBreadth(v string) (breadth int, rule, what string) {
	w := strings.IndexAny(v, "*?")
	if w < 0 {
		return breadthPinned, "", ""
	}
	lit := v[:w]
	const sa = "system:serviceaccount:"
	switch {
	case lit == "":
		return breadthIssuer, RuleBroadSub, ""
	case strings.HasPrefix(lit, "repo:"):
		owner, name, ok := strings.Cut(lit[len("repo:"):], "/")
		switch {
		case !ok:
			return breadthIssuer, RuleBroadSub, "every repository of every GitHub owner"
		case !strings.Contains(name, ":"):
			what = "every repository of " + strconv.Quote(owner)
			if name != "" {
				what = "every repository of " + strconv.Quote(owner) + " whose name starts with " + strconv.Quote(name)
			}
			return breadthOrg, RuleOrgWideSub, what
		case strings.IndexByte(name, ':') == len(name)-1 && strings.Trim(v[w:], "*?:") == "":
			return breadthRepo, RuleRepoWideSub, "every branch, tag, pull request and environment of " + strconv.Quote(owner+"/"+strings.TrimSuffix(name, ":"))
		}
		return breadthPinned, "", ""
	case strings.HasPrefix(lit, sa):
		ns := lit[len(sa):]
		if strings.Contains(ns, ":") {
			return breadthPinned, "", ""
		}
		where := "every namespace"
		if ns != "" {
			where = "every namespace whose name starts with " + strconv.Quote(ns)
		}
		if _, name, ok := strings.Cut(v[w:], ":"); ok && name != "" && !strings.ContainsAny(name, "*?") {
			return breadthIssuer, RuleBroadSub, "service account " + strconv.Quote(name) + " in " + where
		}
		if ns == "" {
			return breadthIssuer, RuleBroadSub, ""
		}
		return breadthIssuer, RuleBroadSub, "any service account in " + where
	case strings.HasPrefix("repo:", lit):
		return breadthIssuer, RuleBroadSub, "every GitHub subject" // "r*", "repo*", "repo?*"
	case strings.HasPrefix(sa, lit):
		return breadthIssuer, RuleBroadSub, "" // "system:*", "system:service*"
	}
	return breadthPinned, "", ""
}

// callerChosen are the condition keys whose values the caller of AssumeRoleWithWebIdentity picks
// in the request itself: a condition that ties a claim to one of them pins nothing.
var callerChosen = map[string]bool{
	"sts:rolesessionname": true,
}

// lintPattern returns a condition value as subjectBreadth reads it: '*' and
// '?' are wildcards only where they are (wild: StringLike), a policy variable
// (when vars are enabled) naming a key of the provider prov becomes '*', since
// the token supplies it and it pins nothing, and any other variable (and
// ${*}, ${?}, ${$}) one byte that is neither a wildcard nor a ':', since the
// text it stands for is literal. A variable naming a key the caller picks
// (callerChosen) becomes '*' too.
func lintPattern(v string, wild, vars bool, prov string) string {
	if wild && (!vars || !strings.Contains(v, "${")) {
		return v
	}
	self := canonKey(prov) + ":"
	var b strings.Builder
	lit := func(t string) {
		if wild {
			b.WriteString(t)
			return
		}
		for _, c := range []byte(t) {
			if c == '*' || c == '?' {
				c = '$'
			}
			b.WriteByte(c)
		}
	}
	for vars {
		i := strings.Index(v, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			break
		}
		lit(v[:i])
		key, _, _ := strings.Cut(v[i+2:i+j], ",")
		if ck := canonKey(strings.TrimSpace(key)); strings.HasPrefix(ck, self) || callerChosen[ck] {
			b.WriteByte('*')
		} else {
			b.WriteByte('$')
		}
		v = v[i+j+1:]
	}
	lit(v)
	return b.String()
}

// kubernetesSubject reports whether v is shaped like a Kubernetes service
// account subject, system:serviceaccount:NAMESPACE:NAME (wildcards allowed).
func kubernetesSubject(v string) bool {
	return strings.HasPrefix(v, "system:serviceaccount:")
}

// clusterProviders returns the canonical key prefixes of the providers
// that the policy treats as Kubernetes cluster issuers: those with a :sub
// condition anywhere in the policy whose value is shaped like a service
// account subject. They are linted like EKS cluster issuers.
func (p *Policy) clusterProviders() map[string]bool {
	var out map[string]bool
	for i := range p.stmts {
		for j := range p.stmts[i].conds {
			c := &p.stmts[i].conds[j]
			prefix, ok := strings.CutSuffix(c.key, ":sub")
			if !ok || nonClusterIssuer(prefix) {
				continue
			}
			for _, v := range c.raw() {
				if kubernetesSubject(v) {
					if out == nil {
						out = map[string]bool{}
					}
					out[prefix] = true
					break
				}
			}
		}
	}
	return out
}

// requiresKey reports whether the statement has Null {key: "false"}.
func (s *statement) requiresKey(key string) bool {
	for i := range s.conds {
		c := &s.conds[i]
		if c.op.kind == opNull && c.key == key && c.nullNo() && !c.nullYes() {
			return true
		}
	}
	return false
}

// anyWildcard reports whether any value of a StringLike condition has a
// wildcard (literal ${*} and ${?} do not count).
func (c *condition) anyWildcard() bool {
	for i := range c.strs {
		p := &c.strs[i]
		switch p.kind {
		case patEqual:
			continue
		case patPrefix:
			return true
		}
		if len(p.x.segs) > 1 {
			return true
		}
		for _, it := range p.x.segs[0].items {
			if it.kind == itemOne {
				return true
			}
		}
	}
	return false
}

// arnAccount returns the account component of an ARN, or "".
func arnAccount(arn string) string {
	parts, ok := splitArnText(arn, false)
	if !ok {
		return ""
	}
	return parts[4]
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

// containsKey reports whether list names the key s (see canonKey).
func containsKey(list []string, s string) bool {
	for _, x := range list {
		if sameKey(x, s) {
			return true
		}
	}
	return false
}
