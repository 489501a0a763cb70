package stsapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/webidentity/webidentity/verifier"
)

// The answers are the XML shapes of the STS Query API (2011-06-15), written by hand: their
// shape is fixed and encoding/xml's reflection was most of the handler's own cost. The bytes
// are those encoding/xml.Marshal writes for the same values (xml_test.go holds the two to
// each other): the XML header line, no indentation, every element present (empty when its
// value is) except SourceIdentity, left out when empty, text escaped as encoding/xml escapes
// it, and a final newline.

// xmlHeader is encoding/xml's Header.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// appendAssumeResponse appends an AssumeRoleWithWebIdentityResponse.
func appendAssumeResponse(b []byte, requestID string, res *verifier.Result, user *AssumedRoleUser, creds *Credentials) []byte {
	b = append(b, xmlHeader+`<AssumeRoleWithWebIdentityResponse xmlns="`+Namespace+`"><AssumeRoleWithWebIdentityResult>`...)
	b = appendElement(b, "SubjectFromWebIdentityToken", res.Subject)
	b = appendElement(b, "Audience", res.Audience)
	b = append(b, "<AssumedRoleUser>"...)
	b = appendElement(b, "Arn", user.ARN)
	b = appendElement(b, "AssumedRoleId", user.ID)
	b = append(b, "</AssumedRoleUser><Credentials>"...)
	b = appendElement(b, "SessionToken", creds.SessionToken)
	b = appendElement(b, "SecretAccessKey", creds.SecretAccessKey)
	b = append(b, "<Expiration>"...)
	// RFC 3339 text is digits, '-', ':', '+', 'T' and 'Z': nothing to escape.
	b = creds.Expiration.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, "</Expiration>"...)
	b = appendElement(b, "AccessKeyId", creds.AccessKeyID)
	b = append(b, "</Credentials>"...)
	if res.SourceIdentity != "" {
		b = appendElement(b, "SourceIdentity", res.SourceIdentity)
	}
	b = appendElement(b, "Provider", answeredProvider(res))
	b = append(b, "</AssumeRoleWithWebIdentityResult><ResponseMetadata>"...)
	b = appendElement(b, "RequestId", requestID)
	return append(b, "</ResponseMetadata></AssumeRoleWithWebIdentityResponse>\n"...)
}

// appendErrorResponse appends an ErrorResponse.
func appendErrorResponse(b []byte, typ, code, message, requestID string) []byte {
	b = append(b, xmlHeader+`<ErrorResponse xmlns="`+Namespace+`"><Error>`...)
	b = appendElement(b, "Type", typ)
	b = appendElement(b, "Code", code)
	b = appendElement(b, "Message", message)
	b = append(b, "</Error>"...)
	b = appendElement(b, "RequestId", requestID)
	return append(b, "</ErrorResponse>\n"...)
}

// appendElement appends <name>text</name>, text escaped.
func appendElement(b []byte, name, text string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendEscaped(b, text)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// appendEscaped appends s as XML character data, escaped as encoding/xml.EscapeText escapes
// it: the five special characters and tab, newline and carriage return as references, and
// invalid UTF-8 and characters outside XML's Char production as U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		var esc string
		width := 1
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				esc = "&#34;"
			case '\'':
				esc = "&#39;"
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '\t':
				esc = "&#x9;"
			case '\n':
				esc = "&#xA;"
			case '\r':
				esc = "&#xD;"
			default:
				if c >= 0x20 {
					i++
					continue
				}
				esc = "\uFFFD"
			}
		} else {
			var r rune
			r, width = utf8.DecodeRuneInString(s[i:])
			if (r != utf8.RuneError || width != 1) && inXMLCharRange(r) {
				i += width
				continue
			}
			esc = "\uFFFD"
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		i += width
		last = i
	}
	return append(b, s[last:]...)
}

// inXMLCharRange reports whether r (at least utf8.RuneSelf) is in XML 1.0's Char production.
func inXMLCharRange(r rune) bool {
	return r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= utf8.MaxRune
}

// writeAnswer writes an XML answer with its status.
func writeAnswer(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"text/xml"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Answer buffers are pooled (ResponseWriter.Write copies what it is given); one that grew
// beyond maxPooledAnswer is left to the collector.
const maxPooledAnswer = 16 << 10

var answerPool = sync.Pool{New: func() any { b := make([]byte, 0, 2<<10); return &b }}

func getBuffer() *[]byte { return answerPool.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledAnswer {
		answerPool.Put(b)
	}
}
