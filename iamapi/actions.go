package iamapi

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/webidentity/webidentity/iam"
)

// actionSpec is one IAM action: the parameters it takes (besides Action and Version), the
// ones IAM defines that this server refuses rather than ignore, and what it does.
type actionSpec struct {
	params      []param
	unsupported map[string]bool
	run         func(c *call) (result any, e *apiError)
}

func (s *actionSpec) param(name string) (param, bool) {
	for _, p := range s.params {
		if p.name == name {
			return p, true
		}
	}
	return param{}, false
}

// Parameters shared by several actions.
var (
	pProviderARN = param{name: "OpenIDConnectProviderArn", kind: kString, required: true}
	pRoleName    = param{name: "RoleName", kind: kString, required: true}
	pMarker      = param{name: "Marker", kind: kString}
	pMaxItems    = param{name: "MaxItems", kind: kInt}
	pTags        = param{name: "Tags", kind: kTags, required: true}
	pTagKeys     = param{name: "TagKeys", kind: kList, required: true}
)

// actions are the IAM actions the Handler implements, by name.
var actions = map[string]*actionSpec{
	"CreateOpenIDConnectProvider": {params: []param{{name: "Url", kind: kString, required: true},
		{name: "ClientIDList", kind: kList}, {name: "ThumbprintList", kind: kList}, {name: "Tags", kind: kTags}},
		run: (*call).createProvider},
	"GetOpenIDConnectProvider":    {params: []param{pProviderARN}, run: (*call).getProvider},
	"ListOpenIDConnectProviders":  {run: (*call).listProviders},
	"DeleteOpenIDConnectProvider": {params: []param{pProviderARN}, run: (*call).deleteProvider},
	"AddClientIDToOpenIDConnectProvider": {params: []param{pProviderARN, {name: "ClientID", kind: kString, required: true}},
		run: (*call).addClientID},
	"RemoveClientIDFromOpenIDConnectProvider": {params: []param{pProviderARN, {name: "ClientID", kind: kString, required: true}},
		run: (*call).removeClientID},
	"UpdateOpenIDConnectProviderThumbprint": {params: []param{pProviderARN, {name: "ThumbprintList", kind: kList, required: true}},
		run: (*call).updateThumbprint},
	"TagOpenIDConnectProvider":      {params: []param{pProviderARN, pTags}, run: (*call).tagProvider},
	"UntagOpenIDConnectProvider":    {params: []param{pProviderARN, pTagKeys}, run: (*call).untagProvider},
	"ListOpenIDConnectProviderTags": {params: []param{pProviderARN, pMarker, pMaxItems}, run: (*call).listProviderTags},

	"CreateRole": {params: []param{pRoleName, {name: "AssumeRolePolicyDocument", kind: kString, required: true},
		{name: "Path", kind: kString}, {name: "Description", kind: kString}, {name: "MaxSessionDuration", kind: kInt},
		{name: "Tags", kind: kTags}},
		unsupported: map[string]bool{"PermissionsBoundary": true},
		run:         (*call).createRole},
	"GetRole":    {params: []param{pRoleName}, run: (*call).getRole},
	"ListRoles":  {params: []param{{name: "PathPrefix", kind: kString}, pMarker, pMaxItems}, run: (*call).listRoles},
	"DeleteRole": {params: []param{pRoleName}, run: (*call).deleteRole},
	"UpdateAssumeRolePolicy": {params: []param{pRoleName, {name: "PolicyDocument", kind: kString, required: true}},
		run: (*call).updateAssumeRolePolicy},
	"UpdateRole": {params: []param{pRoleName, {name: "Description", kind: kString}, {name: "MaxSessionDuration", kind: kInt}},
		run: (*call).updateRole},
	"UpdateRoleDescription": {params: []param{pRoleName, {name: "Description", kind: kString, required: true}},
		run: (*call).updateRoleDescription},
	"TagRole":      {params: []param{pRoleName, pTags}, run: (*call).tagRole},
	"UntagRole":    {params: []param{pRoleName, pTagKeys}, run: (*call).untagRole},
	"ListRoleTags": {params: []param{pRoleName, pMarker, pMaxItems}, run: (*call).listRoleTags},
}

// call is one authenticated request to an action.
type call struct {
	h      *Handler
	rq     *request
	p      *Principal
	args   *args
	action string
}

func (c *call) reg() *iam.Registry { return c.h.reg }

// Paging limits of IAM's Marker and MaxItems.
const (
	defaultMaxItems = 100
	maxMaxItems     = 1000
	maxMarkerLength = 320
)

// --- OpenID Connect providers ---

func (c *call) createProvider() (any, *apiError) {
	p, err := c.reg().CreateOIDCProvider(&iam.OIDCProvider{
		Partition:   c.p.Partition,
		Account:     c.p.Account,
		URL:         c.args.str("Url"),
		ClientIDs:   c.args.list("ClientIDList"),
		Thumbprints: c.args.list("ThumbprintList"),
		Tags:        c.args.tagList("Tags"),
	})
	if err != nil {
		return nil, c.registryError(err, nil)
	}
	c.rq.entity = p.ARN
	return &createProviderResult{OpenIDConnectProviderArn: p.ARN, Tags: optionalTags(p.Tags)}, nil
}

func (c *call) getProvider() (any, *apiError) {
	p, e := c.provider()
	if e != nil {
		return nil, e
	}
	return &getProviderResult{
		// IAM answers the URL without its scheme ("server.example.com"), as the ARN has it.
		URL:            strings.TrimPrefix(p.URL, "https://"),
		ClientIDList:   p.ClientIDs,
		ThumbprintList: p.Thumbprints,
		CreateDate:     isoTime(p.CreateDate),
		Tags:           optionalTags(p.Tags),
	}, nil
}

func (c *call) listProviders() (any, *apiError) {
	ps := c.reg().ListOIDCProviders(c.p.Partition, c.p.Account)
	out := &listProvidersResult{OpenIDConnectProviderList: make([]providerEntryXML, len(ps))}
	for i, p := range ps {
		out.OpenIDConnectProviderList[i] = providerEntryXML{Arn: p.ARN}
	}
	return out, nil
}

// deleteProvider is idempotent, as the API reference documents DeleteOpenIDConnectProvider:
// deleting a provider that does not exist succeeds.
func (c *call) deleteProvider() (any, *apiError) {
	arn, e := c.providerARN()
	if e != nil {
		return nil, e
	}
	if err := c.reg().DeleteOIDCProvider(arn); err != nil && !errors.Is(err, iam.ErrNoSuchEntity) {
		return nil, c.registryError(err, nil)
	}
	return nil, nil
}

func (c *call) addClientID() (any, *apiError) {
	return c.modifyClientIDs(c.reg().AddClientIDToOIDCProvider)
}

func (c *call) removeClientID() (any, *apiError) {
	return c.modifyClientIDs(c.reg().RemoveClientIDFromOIDCProvider)
}

func (c *call) modifyClientIDs(fn func(arn, clientID string) (*iam.OIDCProvider, error)) (any, *apiError) {
	arn, e := c.providerARN()
	if e != nil {
		return nil, e
	}
	id := c.args.str("ClientID")
	if n := utf8.RuneCountInString(id); n < 1 || n > iam.MaxClientIDLength || !utf8.ValidString(id) {
		return nil, validation("ClientID", "Member must have length between 1 and 255")
	}
	if _, err := fn(arn, id); err != nil {
		return nil, c.registryError(err, func(f string) string {
			if strings.HasPrefix(f, "ClientIDList") {
				return "ClientID"
			}
			return f
		})
	}
	return nil, nil
}

func (c *call) updateThumbprint() (any, *apiError) {
	arn, e := c.providerARN()
	if e != nil {
		return nil, e
	}
	if _, err := c.reg().UpdateOIDCProviderThumbprint(arn, c.args.list("ThumbprintList")); err != nil {
		return nil, c.registryError(err, nil)
	}
	return nil, nil
}

func (c *call) tagProvider() (any, *apiError) {
	arn, e := c.providerARN()
	if e != nil {
		return nil, e
	}
	if _, err := c.reg().TagOIDCProvider(arn, c.args.tagList("Tags")); err != nil {
		return nil, c.registryError(err, nil)
	}
	return nil, nil
}

func (c *call) untagProvider() (any, *apiError) {
	arn, e := c.providerARN()
	if e != nil {
		return nil, e
	}
	keys, e := c.tagKeys()
	if e != nil {
		return nil, e
	}
	if _, err := c.reg().UntagOIDCProvider(arn, keys); err != nil {
		return nil, c.registryError(err, nil)
	}
	return nil, nil
}

func (c *call) listProviderTags() (any, *apiError) {
	p, e := c.provider()
	if e != nil {
		return nil, e
	}
	return c.pageTags(p.Tags)
}

// providerARN returns the OpenIDConnectProviderArn parameter, checked to be a provider ARN
// of the admin's own partition and account.
func (c *call) providerARN() (string, *apiError) {
	const name = "OpenIDConnectProviderArn"
	arn := c.args.str(name)
	if n := len(arn); n < 20 || n > 2048 {
		return "", validation(name, "Member must have length between 20 and 2048")
	}
	part, acct, _, err := iam.ParseOIDCProviderARN(arn)
	if err != nil {
		return "", c.registryError(err, nil)
	}
	c.rq.entity = arn
	if part != c.p.Partition || acct != c.p.Account {
		return "", c.otherAccount(arn)
	}
	return arn, nil
}

func (c *call) provider() (*iam.OIDCProvider, *apiError) {
	arn, e := c.providerARN()
	if e != nil {
		return nil, e
	}
	p, err := c.reg().OIDCProviderByARN(arn)
	if err != nil {
		return nil, c.registryError(err, nil)
	}
	return p, nil
}

// otherAccount refuses an ARN of another account or partition, as IAM refuses a
// cross-account call: AccessDenied, whether or not the entity exists.
func (c *call) otherAccount(arn string) *apiError {
	return &apiError{code: CodeAccessDenied, reason: ReasonOtherAccount, param: "OpenIDConnectProviderArn",
		message: "The admin credential of account " + c.p.Account + " is not authorized to perform: iam:" + c.action +
			" on resource: " + arn}
}

// --- Roles ---

func (c *call) createRole() (any, *apiError) {
	in := &iam.Role{
		Partition:           c.p.Partition,
		Account:             c.p.Account,
		Name:                c.args.str("RoleName"),
		Path:                c.args.str("Path"),
		TrustPolicyDocument: c.args.str("AssumeRolePolicyDocument"),
		Description:         c.args.str("Description"),
		Tags:                c.args.tagList("Tags"),
	}
	if e := checkRoleName(in.Name); e != nil {
		return nil, e
	}
	if c.args.has("Path") && in.Path == "" {
		// The registry reads "" as "/"; IAM refuses an empty Path.
		return nil, validation("Path", "Member must have length greater than or equal to 1")
	}
	d, e := c.sessionDuration()
	if e != nil {
		return nil, e
	}
	in.MaxSessionDuration = d
	ro, err := c.reg().CreateRole(in)
	if err != nil {
		return nil, c.registryError(err, nil)
	}
	c.rq.entity = ro.ARN
	return &roleResult{Role: roleElement(ro, true)}, nil
}

func (c *call) getRole() (any, *apiError) {
	ro, e := c.role()
	if e != nil {
		return nil, e
	}
	return &roleResult{Role: roleElement(ro, true)}, nil
}

var pathPrefixRE = regexp.MustCompile(`^/[\x21-\x7f]*$`)

func (c *call) listRoles() (any, *apiError) {
	prefix := "/"
	if c.args.has("PathPrefix") {
		prefix = c.args.str("PathPrefix")
		if len(prefix) > iam.MaxPathLength || !pathPrefixRE.MatchString(prefix) {
			return nil, validation("PathPrefix", `Member must have length between 1 and 512 and satisfy regular expression pattern: \u002F[\u0021-\u007F]*`)
		}
	}
	marker, maxItems, e := c.paging()
	if e != nil {
		return nil, e
	}
	roles := c.reg().ListRoles(c.p.Partition, c.p.Account, prefix)
	// The registry sorts by name ignoring case, and names are unique ignoring case, so the
	// lower-cased name is a key the marker can resume from.
	start := 0
	if marker != "" {
		for start < len(roles) && strings.ToLower(roles[start].Name) < marker {
			start++
		}
	}
	end := min(start+maxItems, len(roles))
	out := &listRolesResult{Roles: make([]roleXML, 0, end-start)}
	for _, ro := range roles[start:end] {
		out.Roles = append(out.Roles, roleElement(ro, false))
	}
	if end < len(roles) {
		out.IsTruncated, out.Marker = true, encodeMarker(strings.ToLower(roles[end].Name))
	}
	return out, nil
}

func (c *call) deleteRole() (any, *apiError) {
	ro, e := c.role()
	if e != nil {
		return nil, e
	}
	if err := c.reg().DeleteRole(ro.ARN); err != nil {
		return nil, c.registryError(err, nil)
	}
	return nil, nil
}

func (c *call) updateAssumeRolePolicy() (any, *apiError) {
	ro, e := c.role()
	if e != nil {
		return nil, e
	}
	if _, err := c.reg().UpdateAssumeRolePolicy(ro.ARN, c.args.str("PolicyDocument")); err != nil {
		return nil, c.registryError(err, func(f string) string {
			if f == "AssumeRolePolicyDocument" {
				return "PolicyDocument"
			}
			return f
		})
	}
	return nil, nil
}

func (c *call) updateRole() (any, *apiError) {
	ro, e := c.role()
	if e != nil {
		return nil, e
	}
	var u iam.RoleUpdate
	if c.args.has("Description") {
		d := c.args.str("Description")
		u.Description = &d
	}
	if u.MaxSessionDuration, e = c.sessionDuration(); e != nil {
		return nil, e
	}
	if _, err := c.reg().UpdateRole(ro.ARN, u); err != nil {
		return nil, c.registryError(err, nil)
	}
	return &emptyResult{}, nil
}

func (c *call) updateRoleDescription() (any, *apiError) {
	ro, e := c.role()
	if e != nil {
		return nil, e
	}
	d := c.args.str("Description")
	ro, err := c.reg().UpdateRole(ro.ARN, iam.RoleUpdate{Description: &d})
	if err != nil {
		return nil, c.registryError(err, nil)
	}
	return &roleResult{Role: roleElement(ro, true)}, nil
}

func (c *call) tagRole() (any, *apiError) {
	ro, e := c.role()
	if e != nil {
		return nil, e
	}
	if _, err := c.reg().TagRole(ro.ARN, c.args.tagList("Tags")); err != nil {
		return nil, c.registryError(err, nil)
	}
	return nil, nil
}

func (c *call) untagRole() (any, *apiError) {
	ro, e := c.role()
	if e != nil {
		return nil, e
	}
	keys, e := c.tagKeys()
	if e != nil {
		return nil, e
	}
	if _, err := c.reg().UntagRole(ro.ARN, keys); err != nil {
		return nil, c.registryError(err, nil)
	}
	return nil, nil
}

func (c *call) listRoleTags() (any, *apiError) {
	ro, e := c.role()
	if e != nil {
		return nil, e
	}
	return c.pageTags(ro.Tags)
}

var roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

func checkRoleName(name string) *apiError {
	if !roleNameRE.MatchString(name) {
		return validation("RoleName", `Member must have length between 1 and 64 and satisfy regular expression pattern: [\w+=,.@-]+`)
	}
	return nil
}

// role resolves RoleName in the admin's account, ignoring case as IAM does.
func (c *call) role() (*iam.Role, *apiError) {
	name := c.args.str("RoleName")
	if e := checkRoleName(name); e != nil {
		return nil, e
	}
	ro, err := c.reg().RoleByName(c.p.Partition, c.p.Account, name)
	if err != nil {
		return nil, c.registryError(err, nil)
	}
	c.rq.entity = ro.ARN
	return ro, nil
}

// sessionDuration reads MaxSessionDuration (seconds), 0 when absent. An explicit value must
// be in IAM's range: the registry reads 0 as "the default" or "unchanged".
func (c *call) sessionDuration() (time.Duration, *apiError) {
	if !c.args.has("MaxSessionDuration") {
		return 0, nil
	}
	s := c.args.ints["MaxSessionDuration"]
	if s < int(iam.MinSessionDuration/time.Second) || s > int(iam.MaxSessionDuration/time.Second) {
		return 0, validation("MaxSessionDuration", "Member must have value between 3600 and 43200")
	}
	return time.Duration(s) * time.Second, nil
}

// tagKeys reads TagKeys: at most 50 keys of 1 to 128 characters of IAM's tag pattern.
func (c *call) tagKeys() ([]string, *apiError) {
	keys := c.args.list("TagKeys")
	if len(keys) > iam.MaxTags {
		return nil, validation("TagKeys", "Member must have length less than or equal to 50")
	}
	for i, k := range keys {
		if n := utf8.RuneCountInString(k); n < 1 || n > iam.MaxTagKeyLength || !tagText(k) {
			return nil, validation("TagKeys.member."+itoa(i+1),
				`Member must have length between 1 and 128 and satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
	}
	return keys, nil
}

func tagText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.In(r, unicode.Z) && !unicode.IsNumber(r) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

// --- Paging ---

// paging reads Marker (decoded to the key to resume from) and MaxItems (default 100).
func (c *call) paging() (marker string, maxItems int, e *apiError) {
	maxItems = defaultMaxItems
	if c.args.has("MaxItems") {
		maxItems = c.args.ints["MaxItems"]
		if maxItems < 1 || maxItems > maxMaxItems {
			return "", 0, validation("MaxItems", "Member must have value between 1 and 1000")
		}
	}
	if c.args.has("Marker") {
		m := c.args.str("Marker")
		if !markerText(m) {
			return "", 0, validation("Marker", `Member must have length between 1 and 320 and satisfy regular expression pattern: [\u0020-\u00FF]+`)
		}
		key, err := base64.RawURLEncoding.DecodeString(m)
		if err != nil || len(key) == 0 {
			return "", 0, invalidInput(ReasonInvalidParameter, "Marker", "Marker is not one this server returned.")
		}
		marker = string(key)
	}
	return marker, maxItems, nil
}

func markerText(m string) bool {
	n := 0
	for _, r := range m {
		if r < 0x20 || r > 0xff || r == utf8.RuneError {
			return false
		}
		n++
	}
	return n >= 1 && n <= maxMarkerLength && utf8.ValidString(m)
}

// encodeMarker makes the Marker of a truncated listing: the key of the first entry of the
// next page, opaque to clients (base64url). Resuming at the first key at or after it keeps
// paging correct when entries are added or deleted between pages: none is returned twice, and
// none that existed throughout is skipped.
func encodeMarker(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// pageTags answers ListRoleTags and ListOpenIDConnectProviderTags: the tags sorted by key,
// paged by key.
func (c *call) pageTags(tags []iam.Tag) (any, *apiError) {
	marker, maxItems, e := c.paging()
	if e != nil {
		return nil, e
	}
	sorted := sortedTags(tags)
	start := 0
	if marker != "" {
		for start < len(sorted) && sorted[start].Key < marker {
			start++
		}
	}
	end := min(start+maxItems, len(sorted))
	out := &tagsResult{Tags: tagElements(sorted[start:end])}
	if end < len(sorted) {
		out.IsTruncated, out.Marker = true, encodeMarker(sorted[end].Key)
	}
	return out, nil
}

// --- Registry errors ---

const serviceFailureMessage = "The request processing has failed because of an unknown error, exception or failure."

// registryError answers a registry error with its IAM code and a message naming the field
// as the registry names it ("Tags[0].Key", "ClientIDList[2]", "RoleName"); rename maps a
// registry field to this action's parameter where they differ. A MalformedPolicyDocument
// message carries the parse error's path ("Statement[0].Principal: ..."). Anything but an
// *iam.Error, and ServiceFailure, is a 500 whose cause is logged and not shown.
func (c *call) registryError(err error, rename func(string) string) *apiError {
	var ie *iam.Error
	if !errors.As(err, &ie) {
		return &apiError{code: string(iam.CodeServiceFailure), message: serviceFailureMessage, reason: ReasonRegistry, cause: err}
	}
	field := ie.Field
	switch field {
	case "Arn", "Partition", "Account":
		if c.args.has("OpenIDConnectProviderArn") {
			field = "OpenIDConnectProviderArn"
		}
	}
	if rename != nil {
		field = rename(field)
	}
	msg := ie.Message
	switch ie.Code {
	case iam.CodeValidationError:
		if field != "" && strings.HasPrefix(msg, "Member must") {
			msg = "1 validation error detected: Value at '" + field + "' failed to satisfy constraint: " + msg
		} else if field != "" && !strings.HasPrefix(msg, field) {
			msg = field + ": " + msg
		}
	case iam.CodeInvalidInput, iam.CodeLimitExceeded:
		if field != "" {
			msg = field + ": " + msg
		}
	case iam.CodeServiceFailure:
		msg = serviceFailureMessage
		if ie.Err != nil {
			err = ie.Err // the store's error, for the log
		}
	}
	if msg == "" {
		msg = string(ie.Code)
	}
	if c.rq.entity == "" && strings.HasPrefix(ie.Entity, "arn:") {
		c.rq.entity = ie.Entity
	}
	return &apiError{code: string(ie.Code), message: msg, reason: ReasonRegistry, param: paramName(field), cause: err}
}

// IsAction reports whether the Handler implements the IAM action of this
// name (exactly, as IAM's Action parameter is case-sensitive). A server that
// answers STS and IAM on one address uses it to route unsigned IAM calls to
// the Handler, which refuses them as IAM does (MissingAuthenticationToken).
func IsAction(name string) bool {
	_, ok := actions[name]
	return ok
}
