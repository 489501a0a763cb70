package verifier

import (
	"strconv"
	"strings"
	"time"

	"github.com/webidentity/webidentity/policy"
)

// condContext answers the policy's condition keys from a verified token and a request. It is
// built per request inside the evaluation (no allocation of its own) and computes a value only
// when the policy asks for its key, which policy.Evaluate does only for keys the policy
// references. Keys arrive lower-cased (the policy.Context contract).
//
// Provider keys are "<prefix>:<claim>" with prefix the provider URL without "https://":
// aud, sub, azp, amr and, for accounts.google.com, oaud (there aud is azp when present and
// oaud is aud); for token.actions.githubusercontent.com also the GitHub claims AWS accepts.
// Global keys: sts:rolesessionname, sts:sourceidentity, sts:transitivetagkeys,
// aws:currenttime, aws:epochtime, aws:sourceip, aws:federatedprovider, aws:tagkeys and
// aws:requesttag/<key>.
type condContext struct {
	tok            *Token
	spans          *claimSpans // tok's (verified.spans)
	prov           *route
	req            *Request
	now            time.Time
	tags           *sessionTags
	sourceIdentity string

	// One backing array per single-valued key, so that slices handed to Evaluate stay valid
	// while it asks for other keys.
	one [slotCount][1]string
	amr []string
}

var _ policy.Context = (*condContext)(nil)

// Slots for single-valued keys.
const (
	slotSub = iota
	slotAzp
	slotGoogleAud
	slotSessionName
	slotSourceIdentity
	slotCurrentTime
	slotEpochTime
	slotSourceIP
	slotProvider
	slotAmr
	slotClaim // first of the GitHub claim slots, in claimID order from cActor
	slotCount = slotClaim + int(claimCount-cActor)
)

// Values implements policy.Context.
func (c *condContext) Values(key string) ([]string, bool) {
	if rest, ok := strings.CutPrefix(key, c.prov.prefix); ok && len(rest) > 0 && rest[0] == ':' {
		return c.providerValues(rest[1:])
	}
	switch key {
	case "sts:rolesessionname":
		if c.req == nil {
			return nil, false
		}
		return c.single(slotSessionName, c.req.RoleSessionName)
	case "sts:sourceidentity":
		return c.single(slotSourceIdentity, c.sourceIdentity)
	case "aws:currenttime":
		return c.single(slotCurrentTime, c.now.UTC().Format(time.RFC3339))
	case "aws:epochtime":
		return c.single(slotEpochTime, strconv.FormatInt(c.now.Unix(), 10))
	case "aws:sourceip":
		if c.req == nil {
			return nil, false
		}
		return c.single(slotSourceIP, c.req.SourceIP)
	case "aws:federatedprovider":
		return c.single(slotProvider, c.prov.principal)
	case "aws:tagkeys":
		if c.tags == nil {
			return nil, false
		}
		return c.tags.keys, len(c.tags.keys) > 0
	case "sts:transitivetagkeys":
		if c.tags == nil {
			return nil, false
		}
		return c.tags.transitive, len(c.tags.transitive) > 0
	}
	if k, ok := strings.CutPrefix(key, "aws:requesttag/"); ok && c.tags != nil {
		if i := c.tags.index(k); i >= 0 {
			return c.tags.values[i][:], true
		}
	}
	return nil, false
}

// single returns a one-element slice holding v, or not-present for "".
func (c *condContext) single(slot int, v string) ([]string, bool) {
	if v == "" {
		return nil, false
	}
	c.one[slot][0] = v
	return c.one[slot][:], true
}

// providerValues answers "<prefix>:<claim>" keys.
func (c *condContext) providerValues(claim string) ([]string, bool) {
	t := c.tok
	switch claim {
	case "sub":
		return c.single(slotSub, t.Subject)
	case "azp":
		return c.single(slotAzp, t.AuthorizedParty)
	case "aud":
		if c.prov.kind == kindGoogle && t.AuthorizedParty != "" {
			return c.single(slotGoogleAud, t.AuthorizedParty)
		}
		return t.Audience, len(t.Audience) > 0
	case "oaud":
		if c.prov.kind == kindGoogle {
			return t.Audience, len(t.Audience) > 0
		}
		return nil, false
	case "amr":
		return c.amrValues()
	}
	if c.prov.kind == kindGitHub {
		if id := claimIndex(claim); id >= cActor && id < claimCount {
			return c.claimValue(id)
		}
	}
	return nil, false
}

// amrValues returns the amr claim, a string or an array of strings.
func (c *condContext) amrValues() ([]string, bool) {
	sp := c.spans[cAmr]
	switch sp.kind {
	case kindString:
		return c.single(slotAmr, stringValue(c.tok.Claims, sp))
	case kindArray:
		if c.amr == nil {
			c.amr = appendStrings(c.amr, c.tok.Claims, []byte(c.tok.Claims), sp)
		}
		return c.amr, len(c.amr) > 0
	}
	return nil, false
}

// claimValue returns a claim as a condition value: strings as they are, numbers and booleans as
// their JSON text; other types are absent.
func (c *condContext) claimValue(id claimID) ([]string, bool) {
	sp := c.spans[id]
	switch sp.kind {
	case kindString:
		return c.single(slotClaim+int(id-cActor), stringValue(c.tok.Claims, sp))
	case kindNumber, kindBool:
		return c.single(slotClaim+int(id-cActor), c.tok.Claims[sp.start:sp.end])
	}
	return nil, false
}
