package iamapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsAction(t *testing.T) {
	for _, a := range []string{"CreateRole", "GetOpenIDConnectProvider", "UpdateAssumeRolePolicy", "ListRoleTags"} {
		assert.True(t, IsAction(a), a)
	}
	for _, a := range []string{"", "createrole", "CreateRole ", "AssumeRoleWithWebIdentity", "CreateUser"} {
		assert.False(t, IsAction(a), "%q", a)
	}
}
