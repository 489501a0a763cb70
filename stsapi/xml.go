package stsapi

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
)

// writeXML writes v as an XML document.
func writeXML(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(v); err != nil {
		http.Error(w, "internal failure", http.StatusInternalServerError)
		return
	}
	buf.WriteByte('\n')
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// The XML shapes of the STS Query API (2011-06-15).
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
