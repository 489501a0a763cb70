package awsid

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRequestID(t *testing.T) {
	uuid4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := RequestID()
		assert.Regexp(t, uuid4, id)
		assert.False(t, seen[id], "repeated id")
		seen[id] = true
	}
}
