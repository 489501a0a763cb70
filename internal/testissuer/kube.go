package testissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
)

// Media types of the documents. kube-apiserver serves its JWKS only as MediaTypeJWKSet (RFC 7517
// section 8.5.1) and its discovery document only as MediaTypeJSON.
const (
	MediaTypeJSON   = "application/json"
	MediaTypeJWKSet = "application/jwk-set+json"
)

// KubeJWKSPath is where kube-apiserver serves its JWKS, at the server root.
const KubeJWKSPath = "/openid/v1/jwks"

// kubeCacheControl is what kube-apiserver sends with both documents; kubeErrorCacheControl is the
// apiserver-wide default that its error answers keep.
const (
	kubeCacheControl      = "public, max-age=3600"
	kubeErrorCacheControl = "no-cache, private"
)

// KubeKeyID returns the kid kube-apiserver gives a public key: base64url (unpadded) of the
// SHA-256 of its PKIX (SubjectPublicKeyInfo) DER encoding.
func KubeKeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("testissuer: encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// kubeJWK is a public JWK with kube-apiserver's member order (that of go-jose's encoder):
// use, kty, kid, crv, alg, x, y, n, e.
type kubeJWK struct {
	Use string `json:"use"`
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Crv string `json:"crv,omitempty"`
	Alg string `json:"alg"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

func (k *signingKey) kubeJWK() kubeJWK {
	b64 := base64.RawURLEncoding.EncodeToString
	j := kubeJWK{Use: "sig", Kid: k.kid, Alg: k.alg}
	switch pub := k.signer.Public().(type) {
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		size := (pub.Curve.Params().BitSize + 7) / 8
		raw, err := pub.Bytes()
		if err != nil {
			panic(fmt.Sprintf("testissuer: encode EC key: %v", err))
		}
		j.Kty, j.Crv, j.X, j.Y = "EC", pub.Curve.Params().Name, b64(raw[1:1+size]), b64(raw[1+size:])
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(pub)
	}
	return j
}

// kubeJWKSLocked renders the published keys as kube-apiserver does: {"keys":[...]} with its
// member order.
func (i *Issuer) kubeJWKSLocked() []byte {
	keys := []kubeJWK{}
	for _, kid := range i.order {
		if i.published[kid] {
			keys = append(keys, i.keys[kid].kubeJWK())
		}
	}
	doc, err := json.Marshal(struct {
		Keys []kubeJWK `json:"keys"`
	}{keys})
	if err != nil {
		panic(fmt.Sprintf("testissuer: encode JWKS: %v", err))
	}
	return doc
}

// kubeDiscovery is kube-apiserver's discovery document, in its member order.
type kubeDiscovery struct {
	Issuer        string   `json:"issuer"`
	JWKSURI       string   `json:"jwks_uri"`
	ResponseTypes []string `json:"response_types_supported"`
	SubjectTypes  []string `json:"subject_types_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
}

// kubeDiscoveryLocked renders the discovery document as kube-apiserver does; its algorithm list
// is the sorted set of the published keys' algorithms.
func (i *Issuer) kubeDiscoveryLocked() []byte {
	var algs []string
	for _, kid := range i.order {
		if i.published[kid] && !slices.Contains(algs, i.keys[kid].alg) {
			algs = append(algs, i.keys[kid].alg)
		}
	}
	slices.Sort(algs)
	if algs == nil {
		algs = []string{}
	}
	d := kubeDiscovery{
		Issuer:        i.URL(),
		JWKSURI:       i.JWKSURL(),
		ResponseTypes: []string{"id_token"},
		SubjectTypes:  []string{"public"},
		SigningAlgs:   algs,
	}
	if i.editDisc != nil {
		// An edited document loses the member order; tests that edit it do not care.
		var m map[string]any
		raw, _ := json.Marshal(d)
		_ = json.Unmarshal(raw, &m)
		i.editDisc(m)
		out, err := json.Marshal(m)
		if err != nil {
			panic(fmt.Sprintf("testissuer: encode discovery: %v", err))
		}
		return out
	}
	out, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("testissuer: encode discovery: %v", err))
	}
	return out
}

// AcceptsMediaType reports whether an Accept header lets a go-restful route that produces
// mediaType answer, as kube-apiserver decides it: an empty header means "*/*"; the header is
// split at commas; each entry is cut at its first ";" (so q-values, q=0 included, are ignored)
// and trimmed of spaces; the entry "*/*" or one equal to mediaType (case-sensitively) accepts.
// Type wildcards such as "application/*" do not. Only the first Accept field counts
// (http.Header.Get).
func AcceptsMediaType(accept, mediaType string) bool {
	if accept == "" {
		accept = "*/*"
	}
	for entry := range strings.SplitSeq(accept, ",") {
		if semi := strings.IndexByte(entry, ';'); semi >= 0 {
			entry = entry[:semi]
		}
		entry = strings.Trim(entry, " ")
		if entry == "*/*" || entry == mediaType {
			return true
		}
	}
	return false
}

// kubeNotAcceptable writes kube-apiserver's answer to an Accept it cannot serve: go-restful's
// 406 message wrapped in a metav1.Status by the apiserver's service error handler, as JSON.
func kubeNotAcceptable(w http.ResponseWriter, available string) {
	status := struct {
		Kind       string   `json:"kind"`
		APIVersion string   `json:"apiVersion"`
		Metadata   struct{} `json:"metadata"`
		Status     string   `json:"status"`
		Message    string   `json:"message"`
		Reason     string   `json:"reason"`
		Details    struct{} `json:"details"`
		Code       int      `json:"code"`
	}{
		Kind:       "Status",
		APIVersion: "v1",
		Status:     "Failure",
		Message:    KubeNotAcceptableMessage(available),
		Reason:     "NotAcceptable",
		Code:       http.StatusNotAcceptable,
	}
	body, err := json.Marshal(status)
	if err != nil {
		panic(fmt.Sprintf("testissuer: encode status: %v", err))
	}
	w.Header().Set("Content-Type", MediaTypeJSON)
	w.Header().Set("Cache-Control", kubeErrorCacheControl)
	w.WriteHeader(http.StatusNotAcceptable)
	_, _ = w.Write(append(body, '\n'))
}

// KubeNotAcceptableMessage is the message of kube-apiserver's 406 answer for a route that
// produces only the available media type.
func KubeNotAcceptableMessage(available string) string {
	return "406: Not Acceptable\n\nAvailable representations: " + available
}
