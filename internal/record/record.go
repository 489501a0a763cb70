// Package record is the JSON form in which the stores keep OIDC providers and roles, one
// format for the embedded store (store) and the PostgreSQL store (pgstore): the records, their
// conversion to and from iam entities, and a fast decoder for the canonical shape json.Marshal
// writes (json.Unmarshal for anything else, with the same result).
package record

import (
	"encoding/json"
	"runtime"
	"sync"
	"time"

	"github.com/webidentity/webidentity/iam"
)

// Version is the version of the records; a store refuses a record of another version.
const Version = 1

// Tag is a tag as recorded.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Provider is an OIDC provider as stored. Revision is the revision of the change that wrote
// it (the embedded store keeps it; 0, and absent from the JSON, where the store does not).
type Provider struct {
	V           int       `json:"v"`
	Revision    uint64    `json:"revision,omitempty"`
	ARN         string    `json:"arn"`
	URL         string    `json:"url"`
	ClientIDs   []string  `json:"clientIDs"`
	Thumbprints []string  `json:"thumbprints"`
	Tags        []Tag     `json:"tags,omitempty"`
	CreateDate  time.Time `json:"createDate"`
}

// Role is a role as stored. The trust policy is the document as written; it is compiled again
// when the store is loaded.
type Role struct {
	V                         int       `json:"v"`
	Revision                  uint64    `json:"revision,omitempty"`
	ARN                       string    `json:"arn"`
	RoleID                    string    `json:"roleID"`
	TrustPolicyDocument       string    `json:"trustPolicyDocument"`
	MaxSessionDurationSeconds int64     `json:"maxSessionDurationSeconds"`
	Description               string    `json:"description,omitempty"`
	Tags                      []Tag     `json:"tags,omitempty"`
	CreateDate                time.Time `json:"createDate"`
}

func tagsOut(tags []iam.Tag) []Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]Tag, len(tags))
	for i, t := range tags {
		out[i] = Tag(t)
	}
	return out
}

func tagsIn(tags []Tag) []iam.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]iam.Tag, len(tags))
	for i, t := range tags {
		out[i] = iam.Tag(t)
	}
	return out
}

// EncodeProvider returns the record of p, written by the change of revision rev (0: none).
func EncodeProvider(p *iam.OIDCProvider, rev uint64) ([]byte, error) {
	return json.Marshal(Provider{
		V: Version, Revision: rev, ARN: p.ARN, URL: p.URL,
		ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints, Tags: tagsOut(p.Tags), CreateDate: p.CreateDate,
	})
}

// EncodeRole returns the record of ro, written by the change of revision rev (0: none).
func EncodeRole(ro *iam.Role, rev uint64) ([]byte, error) {
	return json.Marshal(Role{
		V: Version, Revision: rev, ARN: ro.ARN, RoleID: ro.RoleID,
		TrustPolicyDocument:       ro.TrustPolicyDocument,
		MaxSessionDurationSeconds: int64(ro.MaxSessionDuration / time.Second),
		Description:               ro.Description, Tags: tagsOut(ro.Tags), CreateDate: ro.CreateDate,
	})
}

// DecodeProvider decodes a provider record (the fast path for the canonical shape, else
// json.Unmarshal). The caller checks V, Revision and the ARN against its key.
func DecodeProvider(v []byte) (Provider, error) {
	if rec, ok := fastProvider(v); ok {
		return rec, nil
	}
	var rec Provider
	err := json.Unmarshal(v, &rec)
	return rec, err
}

// DecodeRole decodes a role record, as DecodeProvider does.
func DecodeRole(v []byte) (Role, error) {
	if rec, ok := fastRole(v); ok {
		return rec, nil
	}
	var rec Role
	err := json.Unmarshal(v, &rec)
	return rec, err
}

// Entity returns the provider the record holds.
func (rec *Provider) Entity() *iam.OIDCProvider {
	return &iam.OIDCProvider{
		ARN: rec.ARN, URL: rec.URL, ClientIDs: rec.ClientIDs, Thumbprints: rec.Thumbprints,
		Tags: tagsIn(rec.Tags), CreateDate: rec.CreateDate,
	}
}

// Entity returns the role the record holds.
func (rec *Role) Entity() *iam.Role {
	return &iam.Role{
		ARN: rec.ARN, RoleID: rec.RoleID, TrustPolicyDocument: rec.TrustPolicyDocument,
		MaxSessionDuration: time.Duration(rec.MaxSessionDurationSeconds) * time.Second,
		Description:        rec.Description, Tags: tagsIn(rec.Tags), CreateDate: rec.CreateDate,
	}
}

// DecodeAll decodes a store's records on GOMAXPROCS goroutines (a start-up reads every entity,
// and decoding is most of its CPU time): provider(i) for i < nProviders and role(i) for
// i < nRoles. It returns the first error one of them reported.
func DecodeAll(nProviders, nRoles int, provider func(i int) (*iam.OIDCProvider, error), role func(i int) (*iam.Role, error)) ([]*iam.OIDCProvider, []*iam.Role, error) {
	provs := make([]*iam.OIDCProvider, nProviders)
	roles := make([]*iam.Role, nRoles)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			var err error
			for i := w; i < nProviders; i += workers {
				if provs[i], err = provider(i); err != nil {
					fail(err)
					return
				}
			}
			for i := w; i < nRoles; i += workers {
				if roles[i], err = role(i); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return provs, roles, first
}
