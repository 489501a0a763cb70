package stsapi

// The handler's parameter and answer code before the hand-written form parser and XML writer
// (url.ParseQuery into url.Values, regexp for PolicyArns members, encoding/xml), kept as the
// reference that the differential tests and fuzz targets hold the fast path to.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"mime"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/webidentity/webidentity/verifier"
)

// refReadParams is the old readParams after the body was read: method, query, Content-Type
// and body in, parameters (or nil) and the refusal out.
func refReadParams(method, rawQuery, contentType string, body []byte) (url.Values, *stsError) {
	if method != "GET" && method != "POST" {
		return nil, &stsError{code: CodeMethodNotAllowed, message: "Use GET or POST.", reason: ReasonMethod}
	}
	malformed := func(msg string) *stsError {
		return &stsError{code: CodeMalformedQueryString, message: msg, reason: ReasonMalformed}
	}
	params, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, malformed("The query string is malformed.")
	}
	if method == "POST" {
		ct, _, _ := mime.ParseMediaType(contentType)
		if len(bytes.TrimSpace(body)) > 0 {
			if ct != "application/x-www-form-urlencoded" {
				return nil, malformed("The body must be application/x-www-form-urlencoded.")
			}
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, malformed("The request body is malformed.")
			}
			for k, vs := range form {
				params[k] = append(params[k], vs...)
			}
		}
	}
	// The old code kept "" (from "=v") and its checks read it as "none found", so by map
	// order an empty name could hide a repeated or unknown parameter. The new parser drops
	// the empty name; the reference does too, so that it is deterministic.
	delete(params, "")
	if name := refFirstRepeated(params); name != "" {
		return params, paramError(ReasonRepeatedParameter, name, paramMessage(name,
			"The parameter %p was given more than once.", "A parameter was given more than once."))
	}
	return params, nil
}

// refDecode is the old ServeHTTP between reading the parameters and calling the verifier:
// Action and Version, then parseAssumeParams.
func refDecode(params url.Values) (*verifier.Request, string, []string, *stsError) {
	action := params.Get("Action")
	if action == "" {
		return nil, "", nil, &stsError{code: CodeMissingAction, message: "The request must contain the parameter Action.",
			reason: ReasonMissingAction, param: "Action"}
	}
	if version := params.Get("Version"); action != Action || version != Version {
		msg := "Could not find operation for this version."
		if identRE.MatchString(action) && identRE.MatchString(version) {
			msg = "Could not find operation " + action + " for version " + version
		}
		param := "Action"
		if action == Action {
			param = "Version"
		}
		return nil, "", nil, &stsError{code: CodeInvalidAction, message: msg, reason: ReasonUnknownAction, param: param}
	}
	return refParseAssumeParams(params)
}

func refFirstRepeated(p url.Values) string {
	found := ""
	for k, vs := range p {
		if len(vs) > 1 && (found == "" || k < found) {
			found = k
		}
	}
	return found
}

var refPolicyARNParam = regexp.MustCompile(`^PolicyArns\.member\.([1-9][0-9]?)\.arn$`)

func refParseAssumeParams(p url.Values) (req *verifier.Request, policyDoc string, policyARNs []string, e *stsError) {
	arns := map[int]string{}
	unknown := ""
	for k := range p {
		switch k {
		case "Action", "Version", "RoleArn", "RoleSessionName", "WebIdentityToken", "ProviderId",
			"DurationSeconds", "Policy":
		case "PolicyArns": // an empty list
			if p.Get(k) != "" {
				return nil, "", nil, paramError(ReasonInvalidParameter, k, "PolicyArns must be given as PolicyArns.member.N.arn.")
			}
		default:
			m := refPolicyARNParam.FindStringSubmatch(k)
			if m == nil {
				if unknown == "" || k < unknown {
					unknown = k // the smallest, so that the answer does not depend on map order
				}
				continue
			}
			n, _ := strconv.Atoi(m[1])
			arns[n] = p.Get(k)
		}
	}
	if unknown != "" {
		return nil, "", nil, paramError(ReasonUnknownParameter, unknown, paramMessage(unknown,
			"%p is not a parameter of AssumeRoleWithWebIdentity.",
			"The request has a parameter that AssumeRoleWithWebIdentity does not take."))
	}
	for _, name := range [...]string{"RoleArn", "RoleSessionName", "WebIdentityToken"} {
		if _, ok := p[name]; !ok {
			// AWS's wording for a missing required member.
			return nil, "", nil, paramError(ReasonMissingParameter, name,
				"1 validation error detected: Value null at '"+awsMemberName(name)+"' failed to satisfy constraint: Member must not be null")
		}
	}
	req = &verifier.Request{
		RoleARN:          p.Get("RoleArn"),
		RoleSessionName:  p.Get("RoleSessionName"),
		WebIdentityToken: p.Get("WebIdentityToken"),
		ProviderID:       p.Get("ProviderId"),
	}
	if _, ok := p["DurationSeconds"]; ok {
		d, err := strconv.Atoi(p.Get("DurationSeconds"))
		if err != nil || strings.HasPrefix(p.Get("DurationSeconds"), "+") {
			return nil, "", nil, paramError(ReasonInvalidParameter, "DurationSeconds", "DurationSeconds must be an integer.")
		}
		if d < 900 {
			// The verifier reads 0 as "not given" (the default hour); an explicit value must
			// meet STS's minimum, so 0, -0 and negatives are refused here.
			return nil, "", nil, paramError(ReasonInvalidParameter, "DurationSeconds", "DurationSeconds must be at least 900.")
		}
		req.DurationSeconds = d
	}
	if _, ok := p["Policy"]; ok {
		policyDoc = p.Get("Policy")
		if len(policyDoc) < 1 || len(policyDoc) > maxSessionPolicy {
			return nil, "", nil, paramError(ReasonInvalidParameter, "Policy", "Policy must be 1 to 2048 characters.")
		}
		if !json.Valid([]byte(policyDoc)) {
			return nil, "", nil, &stsError{code: CodeMalformedPolicyDocument, message: "The session policy is not valid JSON.",
				reason: ReasonInvalidParameter, param: "Policy"}
		}
	}
	if len(arns) > maxPolicyARNs {
		return nil, "", nil, paramError(ReasonInvalidParameter, "PolicyArns", "At most 10 PolicyArns are allowed.")
	}
	for i := 1; i <= len(arns); i++ {
		name := "PolicyArns.member." + strconv.Itoa(i) + ".arn"
		a, ok := arns[i]
		if !ok {
			return nil, "", nil, paramError(ReasonInvalidParameter, name, name+" is missing: PolicyArns members must be numbered from 1 without gaps.")
		}
		if len(a) < 20 || len(a) > 2048 || !strings.HasPrefix(a, "arn:") {
			return nil, "", nil, paramError(ReasonInvalidParameter, name, name+" is not a policy ARN.")
		}
		policyARNs = append(policyARNs, a)
	}
	return req, policyDoc, policyARNs, nil
}

// The XML shapes of the STS Query API (2011-06-15), for encoding/xml: the reference encoding
// of the answers, and how the tests decode them.
type (
	assumeResponse struct {
		XMLName   xml.Name     `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
		Result    assumeResult `xml:"AssumeRoleWithWebIdentityResult"`
		RequestID string       `xml:"ResponseMetadata>RequestId"`
	}
	assumeResult struct {
		SubjectFromWebIdentityToken string
		Audience                    string
		AssumedRoleUser             assumedRoleUserXML
		Credentials                 credentialsXML
		SourceIdentity              string `xml:",omitempty"`
		Provider                    string
	}
	assumedRoleUserXML struct {
		Arn           string
		AssumedRoleID string `xml:"AssumedRoleId"`
	}
	credentialsXML struct {
		SessionToken    string
		SecretAccessKey string
		Expiration      string
		AccessKeyID     string `xml:"AccessKeyId"`
	}
	errorResponse struct {
		XMLName   xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
		Error     errorXML
		RequestID string `xml:"RequestId"`
	}
	errorXML struct {
		Type    string
		Code    string
		Message string
	}
)

// refXML is the old writeXML's body: the XML header, v as encoding/xml encodes it, a newline.
func refXML(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
