package iamapi

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/webidentity/webidentity/iam"
)

// responseBody renders <ActionResponse xmlns=...><ActionResult>result</ActionResult>
// <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></ActionResponse>. A nil result
// writes no Result element, as IAM answers the actions without output.
func responseBody(action, id string, result any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("<" + action + "Response xmlns=\"" + Namespace + "\">")
	if result != nil {
		enc := xml.NewEncoder(&buf)
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return nil, err
		}
	}
	buf.WriteString("<ResponseMetadata><RequestId>" + id + "</RequestId></ResponseMetadata></" + action + "Response>")
	return buf.Bytes(), nil
}

// errorBody renders IAM's ErrorResponse: Type Sender, or Receiver for a 5xx status.
func errorBody(status int, code, message, id string) []byte {
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	var buf bytes.Buffer
	buf.WriteString("<ErrorResponse xmlns=\"" + Namespace + "\"><Error><Type>" + typ + "</Type><Code>")
	_ = xml.EscapeText(&buf, []byte(code))
	buf.WriteString("</Code><Message>")
	_ = xml.EscapeText(&buf, []byte(message))
	buf.WriteString("</Message></Error><RequestId>" + id + "</RequestId></ErrorResponse>")
	return buf.Bytes()
}

func send(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// The XML shapes of the IAM Query API (2010-05-08) for these actions. Element order follows
// the API reference's sample responses; clients do not depend on it.
type (
	tagXML struct {
		Key   string
		Value string
	}
	// tagsXML is an optional Tags element: nil omits it (encoding/xml writes the parent of
	// "Tags>member" even for an empty slice).
	tagsXML struct {
		Member []tagXML `xml:"member"`
	}
	roleXML struct {
		Path                     string
		RoleName                 string
		RoleID                   string `xml:"RoleId"`
		Arn                      string
		CreateDate               string
		AssumeRolePolicyDocument string
		Description              string `xml:",omitempty"`
		MaxSessionDuration       int64
		Tags                     *tagsXML `xml:",omitempty"`
	}
	roleResult struct {
		Role roleXML
	}
	listRolesResult struct {
		Roles       []roleXML `xml:"Roles>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}
	tagsResult struct {
		Tags        []tagXML `xml:"Tags>member"`
		IsTruncated bool
		Marker      string `xml:",omitempty"`
	}
	createProviderResult struct {
		OpenIDConnectProviderArn string
		Tags                     *tagsXML `xml:",omitempty"`
	}
	getProviderResult struct {
		URL            string   `xml:"Url"`
		ClientIDList   []string `xml:"ClientIDList>member"`
		ThumbprintList []string `xml:"ThumbprintList>member"`
		CreateDate     string
		Tags           *tagsXML `xml:",omitempty"`
	}
	providerEntryXML struct {
		Arn string
	}
	listProvidersResult struct {
		OpenIDConnectProviderList []providerEntryXML `xml:"OpenIDConnectProviderList>member"`
	}
	// emptyResult is <ActionResult></ActionResult>, which IAM answers UpdateRole with.
	emptyResult struct{}
)

// isoTime renders a timestamp as IAM does: ISO 8601 in UTC, to the second.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// roleElement is the Role shape of GetRole, CreateRole and UpdateRoleDescription; withTags
// false gives ListRoles' subset (IAM's listing omits Tags, PermissionsBoundary and
// RoleLastUsed).
func roleElement(ro *iam.Role, withTags bool) roleXML {
	x := roleXML{
		Path:                     ro.Path,
		RoleName:                 ro.Name,
		RoleID:                   ro.RoleID,
		Arn:                      ro.ARN,
		CreateDate:               isoTime(ro.CreateDate),
		AssumeRolePolicyDocument: EncodePolicyDocument(ro.TrustPolicyDocument),
		Description:              ro.Description,
		MaxSessionDuration:       int64(ro.MaxSessionDuration / time.Second),
	}
	if withTags {
		x.Tags = optionalTags(ro.Tags)
	}
	return x
}

// sortedTags returns the tags sorted by key (byte order), as IAM documents its tag listings.
func sortedTags(tags []iam.Tag) []iam.Tag {
	out := slices.Clone(tags)
	slices.SortFunc(out, func(a, b iam.Tag) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// optionalTags is the Tags element of an entity: sorted by key, omitted when there are none.
func optionalTags(tags []iam.Tag) *tagsXML {
	if len(tags) == 0 {
		return nil
	}
	return &tagsXML{Member: tagElements(sortedTags(tags))}
}

func tagElements(tags []iam.Tag) []tagXML {
	if len(tags) == 0 {
		return nil
	}
	out := make([]tagXML, len(tags))
	for i, t := range tags {
		out[i] = tagXML(t)
	}
	return out
}

// EncodePolicyDocument percent-encodes a policy document as IAM returns it in
// AssumeRolePolicyDocument (RFC 3986): every byte of its UTF-8 form except the unreserved
// characters A-Z, a-z, 0-9, "-", ".", "_" and "~" becomes %XX with upper-case hex digits, so a
// space is %20 (never "+"), "+" is %2B, "*" is %2A and "é" is %C3%A9. url.PathUnescape and
// url.QueryUnescape (Go), urllib.parse.unquote (botocore, which decodes it for its callers)
// and java.net.URLDecoder all restore the document exactly. The AWS SDK for Go v2 returns the
// encoded string as it is: decode it with url.QueryUnescape.
func EncodePolicyDocument(doc string) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(doc); i++ {
		if !unreserved(doc[i]) {
			n++
		}
	}
	if n == 0 {
		return doc
	}
	b := make([]byte, 0, len(doc)+2*n)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
