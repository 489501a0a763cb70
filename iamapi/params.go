package iamapi

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/webidentity/webidentity/iam"
)

// kind is how a parameter is encoded on the wire, as the AWS Query protocol encodes it.
type kind uint8

const (
	kString kind = iota // Name=value
	kInt                // Name=123
	kList               // Name.member.1=a&Name.member.2=b; an empty list is "Name="
	kTags               // Name.member.1.Key=k&Name.member.1.Value=v; an empty list is "Name="
)

// param is one parameter an action takes.
type param struct {
	name     string
	kind     kind
	required bool
}

// maxListMember bounds the N of Name.member.N: above every list's own limit (IAM's largest
// is 100 client IDs), so that an over-long list is refused by the registry with IAM's code
// (LimitExceeded), yet small enough that a hostile index costs nothing.
const maxListMember = 1000

// args are an action's parameters, parsed and checked for presence.
type args struct {
	present map[string]bool
	strs    map[string]string
	ints    map[string]int
	lists   map[string][]string
	tags    map[string][]iam.Tag
}

func (a *args) has(name string) bool      { return a.present[name] }
func (a *args) str(name string) string    { return a.strs[name] }
func (a *args) list(name string) []string { return a.lists[name] }
func (a *args) tagList(name string) []iam.Tag {
	return a.tags[name]
}

// parseArgs reads the parameters of action from p (Action and Version already checked).
// A parameter the action does not take is refused with InvalidInput naming it (IAM
// documents nothing for it; ignoring it would let a typo pass silently); so is one that IAM
// defines but this server does not implement (unsupported). A missing required parameter is a
// ValidationError in IAM's wording for a null member.
func parseArgs(action string, spec *actionSpec, p url.Values) (*args, *apiError) {
	a := &args{present: map[string]bool{}, strs: map[string]string{}, ints: map[string]int{},
		lists: map[string][]string{}, tags: map[string][]iam.Tag{}}
	members := map[string]map[int]string{} // list name -> index -> value
	tagKeys := map[string]map[int]string{}
	tagValues := map[string]map[int]string{}
	unknown, unsupported := "", ""
	for k, vs := range p {
		if k == "Action" || k == "Version" {
			continue
		}
		v := vs[0]
		if spec.unsupported[k] {
			unsupported = smallest(unsupported, k)
			continue
		}
		name, rest, _ := strings.Cut(k, ".")
		pr, ok := spec.param(name)
		if !ok {
			unknown = smallest(unknown, k)
			continue
		}
		switch {
		case rest == "" && (pr.kind == kString || pr.kind == kInt):
			a.present[name] = true
			if pr.kind == kString {
				a.strs[name] = v
				break
			}
			n, err := strconv.Atoi(v)
			if err != nil || strings.HasPrefix(v, "+") {
				return nil, validation(name, "Member must be an integer")
			}
			a.ints[name] = n
		case rest == "" && (pr.kind == kList || pr.kind == kTags):
			// The SDKs send "Name=" for an empty list.
			if v != "" {
				return nil, invalidInput(ReasonInvalidParameter, k, k+" must be given as "+k+".member.N.")
			}
			a.present[name] = true
		case pr.kind == kList:
			i, ok := memberIndex(rest)
			if !ok {
				unknown = smallest(unknown, k)
				continue
			}
			a.present[name] = true
			if members[name] == nil {
				members[name] = map[int]string{}
			}
			members[name][i] = v
		case pr.kind == kTags:
			idx, field, _ := strings.Cut(strings.TrimPrefix(rest, "member."), ".")
			i, ok := memberIndex("member." + idx)
			if !ok || !strings.HasPrefix(rest, "member.") || (field != "Key" && field != "Value") {
				unknown = smallest(unknown, k)
				continue
			}
			a.present[name] = true
			m := tagKeys
			if field == "Value" {
				m = tagValues
			}
			if m[name] == nil {
				m[name] = map[int]string{}
			}
			m[name][i] = v
		default:
			unknown = smallest(unknown, k)
		}
	}
	if unsupported != "" {
		return nil, invalidInput(ReasonUnsupportedParameter, unsupported,
			unsupported+" is not supported by this server.")
	}
	if unknown != "" {
		return nil, invalidInput(ReasonUnknownParameter, unknown, paramMessage(unknown,
			"%p is not a parameter of "+action+".", "The request has a parameter that "+action+" does not take."))
	}
	for name, m := range members {
		list := make([]string, len(m))
		for i := 1; i <= len(m); i++ {
			v, ok := m[i]
			if !ok {
				return nil, gap(name + ".member." + itoa(i))
			}
			list[i-1] = v
		}
		a.lists[name] = list
	}
	for _, pr := range spec.params {
		if pr.kind != kTags {
			continue
		}
		keys, values := tagKeys[pr.name], tagValues[pr.name]
		n := max(len(keys), len(values))
		tags := make([]iam.Tag, 0, n)
		for i := 1; i <= n; i++ {
			k, hasKey := keys[i]
			v, hasValue := values[i]
			prefix := pr.name + ".member." + itoa(i)
			switch {
			case !hasKey && !hasValue:
				return nil, gap(prefix)
			case !hasKey:
				return nil, missing(prefix + ".Key")
			case !hasValue:
				return nil, missing(prefix + ".Value")
			}
			tags = append(tags, iam.Tag{Key: k, Value: v})
		}
		if a.present[pr.name] {
			a.tags[pr.name] = tags
		}
	}
	for _, pr := range spec.params {
		if pr.required && !a.present[pr.name] {
			return nil, missing(pr.name)
		}
	}
	return a, nil
}

// memberIndex parses "member.N" with N in 1..maxListMember, written without leading zeros.
func memberIndex(rest string) (int, bool) {
	s, ok := strings.CutPrefix(rest, "member.")
	if !ok || s == "" || len(s) > 4 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, n >= 1 && n <= maxListMember
}

func smallest(cur, k string) string {
	if cur == "" || k < cur {
		return k // the smallest, so that the answer does not depend on map order
	}
	return cur
}

// gap refuses a list whose members are not numbered 1..n.
func gap(name string) *apiError {
	return invalidInput(ReasonInvalidParameter, name, name+" is missing: list members must be numbered from 1 without gaps.")
}

// missing is IAM's ValidationError for a required member that is absent.
func missing(name string) *apiError {
	return &apiError{code: string(iam.CodeValidationError), reason: ReasonMissingParameter, param: paramName(name),
		message: "1 validation error detected: Value null at '" + name + "' failed to satisfy constraint: Member must not be null"}
}

// validation is a ValidationError about a parameter's value, in IAM's wording ("1 validation
// error detected: Value at 'RoleName' failed to satisfy constraint: Member must ...").
// The value is not repeated.
func validation(name, constraint string) *apiError {
	return &apiError{code: string(iam.CodeValidationError), reason: ReasonInvalidParameter, param: paramName(name),
		message: "1 validation error detected: Value at '" + name + "' failed to satisfy constraint: " + constraint}
}

// invalidInput is an InvalidInput refusal about one parameter.
func invalidInput(reason Reason, name, msg string) *apiError {
	return &apiError{code: string(iam.CodeInvalidInput), message: msg, reason: reason, param: paramName(name)}
}

// plainParamRE is a parameter name (or action, version) safe to repeat in a message.
var plainParamRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// paramName renders a caller-supplied name for the log: as is when plain, else clipped and
// quoted as ASCII, so that no control character, invalid UTF-8 or unbounded input reaches a
// log line.
func paramName(name string) string {
	if name == "" || plainParamRE.MatchString(name) {
		return name
	}
	if len(name) > 64 {
		name = name[:64]
	}
	return strconv.QuoteToASCII(name)
}

// paramMessage returns withName with %p replaced by name, or generic when the name is not
// plain.
func paramMessage(name, withName, generic string) string {
	if plainParamRE.MatchString(name) {
		return strings.ReplaceAll(withName, "%p", name)
	}
	return generic
}

// firstRepeated returns the smallest name of a parameter given more than once, or "".
func firstRepeated(p url.Values) string {
	found := ""
	for k, vs := range p {
		if len(vs) > 1 {
			found = smallest(found, k)
		}
	}
	return found
}
