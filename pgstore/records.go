package pgstore

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/webidentity/webidentity/iam"
)

// recordVersion is the version of the JSON records in the entity columns; a
// record of another version is ErrUnsupportedVersion.
const recordVersion = 1

type tagRecord struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// providerRecord is a provider as the entity column holds it.
type providerRecord struct {
	V           int         `json:"v"`
	ARN         string      `json:"arn"`
	URL         string      `json:"url"`
	ClientIDs   []string    `json:"clientIDs"`
	Thumbprints []string    `json:"thumbprints"`
	Tags        []tagRecord `json:"tags,omitempty"`
	CreateDate  time.Time   `json:"createDate"`
}

// roleRecord is a role as the entity column holds it. The trust policy is the
// document as written; it is compiled again when a replica loads it.
type roleRecord struct {
	V                         int         `json:"v"`
	ARN                       string      `json:"arn"`
	RoleID                    string      `json:"roleID"`
	TrustPolicyDocument       string      `json:"trustPolicyDocument"`
	MaxSessionDurationSeconds int64       `json:"maxSessionDurationSeconds"`
	Description               string      `json:"description,omitempty"`
	Tags                      []tagRecord `json:"tags,omitempty"`
	CreateDate                time.Time   `json:"createDate"`
}

func tagsOut(tags []iam.Tag) []tagRecord {
	if len(tags) == 0 {
		return nil
	}
	out := make([]tagRecord, len(tags))
	for i, t := range tags {
		out[i] = tagRecord(t)
	}
	return out
}

func tagsIn(tags []tagRecord) []iam.Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]iam.Tag, len(tags))
	for i, t := range tags {
		out[i] = iam.Tag(t)
	}
	return out
}

func encodeProvider(p *iam.OIDCProvider) ([]byte, error) {
	return json.Marshal(providerRecord{
		V: recordVersion, ARN: p.ARN, URL: p.URL, ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints,
		Tags: tagsOut(p.Tags), CreateDate: p.CreateDate,
	})
}

func encodeRole(ro *iam.Role) ([]byte, error) {
	return json.Marshal(roleRecord{
		V: recordVersion, ARN: ro.ARN, RoleID: ro.RoleID, TrustPolicyDocument: ro.TrustPolicyDocument,
		MaxSessionDurationSeconds: int64(ro.MaxSessionDuration / time.Second),
		Description:               ro.Description, Tags: tagsOut(ro.Tags), CreateDate: ro.CreateDate,
	})
}

func decodeProvider(arn string, v []byte) (*iam.OIDCProvider, error) {
	var rec providerRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkRecord(rec.V, arn, rec.ARN); err != nil {
		return nil, err
	}
	return &iam.OIDCProvider{
		ARN: rec.ARN, URL: rec.URL, ClientIDs: rec.ClientIDs, Thumbprints: rec.Thumbprints,
		Tags: tagsIn(rec.Tags), CreateDate: rec.CreateDate,
	}, nil
}

func decodeRole(arn string, v []byte) (*iam.Role, error) {
	var rec roleRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkRecord(rec.V, arn, rec.ARN); err != nil {
		return nil, err
	}
	return &iam.Role{
		ARN: rec.ARN, RoleID: rec.RoleID, TrustPolicyDocument: rec.TrustPolicyDocument,
		MaxSessionDuration: time.Duration(rec.MaxSessionDurationSeconds) * time.Second,
		Description:        rec.Description, Tags: tagsIn(rec.Tags), CreateDate: rec.CreateDate,
	}, nil
}

// checkRecord checks a record's version and that it names the row's ARN.
func checkRecord(v int, rowARN, arn string) error {
	switch {
	case v != recordVersion:
		return fmt.Errorf("%w: record version %d", ErrUnsupportedVersion, v)
	case rowARN != arn:
		return fmt.Errorf("%w: the record's ARN %q differs from its row's", ErrCorrupt, arn)
	}
	return nil
}

// rawRow is an entity row as read: its ARN and its JSON record.
type rawRow struct {
	arn    string
	entity []byte
}

// decodeAll decodes the rows on GOMAXPROCS goroutines (a start-up reads
// every entity; JSON decoding is most of its CPU time).
func decodeAll(provRows, roleRows []rawRow) ([]*iam.OIDCProvider, []*iam.Role, error) {
	provs := make([]*iam.OIDCProvider, len(provRows))
	roles := make([]*iam.Role, len(roleRows))
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
			for i := w; i < len(provRows); i += workers {
				p, err := decodeProvider(provRows[i].arn, provRows[i].entity)
				if err != nil {
					fail(fmt.Errorf("provider %q: %w", provRows[i].arn, err))
					return
				}
				provs[i] = p
			}
			for i := w; i < len(roleRows); i += workers {
				ro, err := decodeRole(roleRows[i].arn, roleRows[i].entity)
				if err != nil {
					fail(fmt.Errorf("role %q: %w", roleRows[i].arn, err))
					return
				}
				roles[i] = ro
			}
		})
	}
	wg.Wait()
	return provs, roles, first
}

// kindNames are the change log's spellings of the change kinds: the
// iam.ChangeKind names, stable across releases.
var kindNames = map[iam.ChangeKind]string{
	iam.ProviderCreated: "ProviderCreated",
	iam.ProviderUpdated: "ProviderUpdated",
	iam.ProviderDeleted: "ProviderDeleted",
	iam.RoleCreated:     "RoleCreated",
	iam.RoleUpdated:     "RoleUpdated",
	iam.RoleDeleted:     "RoleDeleted",
	iam.Loaded:          "Loaded",
}

var kindsByName = func() map[string]iam.ChangeKind {
	m := make(map[string]iam.ChangeKind, len(kindNames))
	for k, n := range kindNames {
		m[n] = k
	}
	return m
}()

// decodeChange turns a change log row into the Change that Apply installs.
func decodeChange(rev int64, kind, arn string, entity []byte) (iam.Change, error) {
	k, ok := kindsByName[kind]
	if !ok {
		return iam.Change{}, fmt.Errorf("%w: change %d has kind %q", ErrUnsupportedVersion, rev, kind)
	}
	c := iam.Change{Revision: uint64(rev), Kind: k, ARN: arn}
	var err error
	switch k {
	case iam.ProviderCreated, iam.ProviderUpdated:
		c.NewProvider, err = decodeProvider(arn, entity)
	case iam.RoleCreated, iam.RoleUpdated:
		c.NewRole, err = decodeRole(arn, entity)
	}
	if err != nil {
		return iam.Change{}, fmt.Errorf("change %d: %w", rev, err)
	}
	return c, nil
}
