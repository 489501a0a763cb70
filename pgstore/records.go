package pgstore

import (
	"fmt"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/record"
)

func encodeProvider(p *iam.OIDCProvider) ([]byte, error) { return record.EncodeProvider(p, 0) }

func encodeRole(ro *iam.Role) ([]byte, error) { return record.EncodeRole(ro, 0) }

// decodeProvider decodes an entity column (the format the embedded store uses too, without
// the revision, which the row holds).
func decodeProvider(arn string, v []byte) (*iam.OIDCProvider, error) {
	rec, err := record.DecodeProvider(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkRecord(rec.V, arn, rec.ARN); err != nil {
		return nil, err
	}
	return rec.Entity(), nil
}

func decodeRole(arn string, v []byte) (*iam.Role, error) {
	rec, err := record.DecodeRole(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := checkRecord(rec.V, arn, rec.ARN); err != nil {
		return nil, err
	}
	return rec.Entity(), nil
}

// checkRecord checks a record's version and that it names the row's ARN.
func checkRecord(v int, rowARN, arn string) error {
	switch {
	case v != record.Version:
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

// decodeAll decodes the rows in parallel (record.DecodeAll).
func decodeAll(provRows, roleRows []rawRow) ([]*iam.OIDCProvider, []*iam.Role, error) {
	return record.DecodeAll(len(provRows), len(roleRows),
		func(i int) (*iam.OIDCProvider, error) {
			p, err := decodeProvider(provRows[i].arn, provRows[i].entity)
			if err != nil {
				return nil, fmt.Errorf("provider %q: %w", provRows[i].arn, err)
			}
			return p, nil
		},
		func(i int) (*iam.Role, error) {
			ro, err := decodeRole(roleRows[i].arn, roleRows[i].entity)
			if err != nil {
				return nil, fmt.Errorf("role %q: %w", roleRows[i].arn, err)
			}
			return ro, nil
		})
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
