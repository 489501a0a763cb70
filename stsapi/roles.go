package stsapi

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strings"
)

// RoleIDs gives the RoleId (AROA...) of a role, which the AssumedRoleUser of an answer names
// (AssumedRoleId is "RoleId:session"). The handler asks only for roles the verifier has just
// allowed. Implementations must be safe for concurrent use; an error is answered with
// InternalFailure and logged.
type RoleIDs interface {
	RoleID(ctx context.Context, roleARN string) (string, error)
}

// StaticRoleIDs is a RoleIDs from a map of role ARN to RoleId.
type StaticRoleIDs map[string]string

var _ RoleIDs = StaticRoleIDs(nil)

// ErrUnknownRole is returned by StaticRoleIDs for a role it does not hold.
var ErrUnknownRole = errors.New("stsapi: role has no RoleId")

// RoleID returns the RoleId of roleARN, or ErrUnknownRole.
func (m StaticRoleIDs) RoleID(_ context.Context, roleARN string) (string, error) {
	if id, ok := m[roleARN]; ok {
		return id, nil
	}
	return "", ErrUnknownRole
}

// derivedRoleIDs is the default RoleIDs: DerivedRoleID for every role.
type derivedRoleIDs struct{}

func (derivedRoleIDs) RoleID(_ context.Context, roleARN string) (string, error) {
	return DerivedRoleID(roleARN), nil
}

// DerivedRoleID makes a stable AROA-style id from a role ARN, for services (and
// configurations) that do not know the role's real RoleId. It is not IAM's id.
func DerivedRoleID(roleARN string) string {
	sum := sha256.Sum256([]byte(roleARN))
	// The first 17 base32 characters of the hash: those of its first 15 bytes (24 characters).
	var id [4 + 24]byte
	copy(id[:], "AROA")
	base32.StdEncoding.Encode(id[4:], sum[:15])
	return string(id[:4+17])
}

// AssumedRoleUser is how an answer names the session: Arn is
// arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION and ID is ROLEID:SESSION.
type AssumedRoleUser struct {
	ARN string
	ID  string
}

// assumedRoleUser builds the session's names from a role ARN
// (arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME), its RoleId and the session name.
func assumedRoleUser(roleARN, roleID, session string) (AssumedRoleUser, bool) {
	// arn : PARTITION : iam : (empty region) : ACCOUNT : role/...
	rest, ok := strings.CutPrefix(roleARN, "arn:")
	if !ok {
		return AssumedRoleUser{}, false
	}
	partition, rest, ok := strings.Cut(rest, ":")
	if !ok || partition == "" {
		return AssumedRoleUser{}, false
	}
	if rest, ok = strings.CutPrefix(rest, "iam::"); !ok {
		return AssumedRoleUser{}, false
	}
	account, resource, ok := strings.Cut(rest, ":")
	if !ok || account == "" || !strings.HasPrefix(resource, "role/") {
		return AssumedRoleUser{}, false
	}
	name := resource[strings.LastIndexByte(resource, '/')+1:]
	if name == "" || roleID == "" {
		return AssumedRoleUser{}, false
	}
	return AssumedRoleUser{
		ARN: "arn:" + partition + ":sts::" + account + ":assumed-role/" + name + "/" + session,
		ID:  roleID + ":" + session,
	}, true
}
