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
	return "AROA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
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
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "iam" || parts[3] != "" ||
		parts[4] == "" || !strings.HasPrefix(parts[5], "role/") {
		return AssumedRoleUser{}, false
	}
	name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	if name == "" || roleID == "" {
		return AssumedRoleUser{}, false
	}
	return AssumedRoleUser{
		ARN: "arn:" + parts[1] + ":sts::" + parts[4] + ":assumed-role/" + name + "/" + session,
		ID:  roleID + ":" + session,
	}, true
}
