package verifier

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// payload puts the payload's bytes right after the caller's Result copy when the call hands
// one out, for every size class edge; the string is the payload's and stays so whatever is
// written into the copy afterwards; without a Result to hand out, or beyond the largest
// block, the payload is a string of its own.
func TestPayloadBlock(t *testing.T) {
	rooms := []int{payRoom1024, payRoom1280, payRoom1536, payRoom2048, payRoom3072, payRoom4096}
	for _, room := range rooms {
		for _, n := range []int{room - 1, room, room + 1} {
			pay := bytes.Repeat([]byte{'x'}, n)
			pay[0], pay[n-1] = '{', '}'
			sel := &selector{own: true}
			s := sel.payload(pay)
			require.Equal(t, string(pay), s)
			if n > payRoom4096 {
				assert.Nil(t, sel.result, "n=%d: beyond the largest block", n)
				continue
			}
			require.NotNil(t, sel.result, "n=%d", n)
			at := uintptr(unsafe.Pointer(unsafe.StringData(s)))
			c := uintptr(unsafe.Pointer(sel.result))
			assert.Equal(t, c+uintptr(resultCopySize), at, "n=%d: the bytes follow the copy", n)
			pay[1] = 'y' // the caller's buffer, reused
			*sel.result = resultCopy{res: Result{RoleARN: strings.Repeat("r", 64)}, tok: Token{Claims: "z"}}
			sel.result.aud[0] = strings.Repeat("a", 32)
			assert.Equal(t, "{"+strings.Repeat("x", n-2)+"}", s, "n=%d: nothing reaches the payload", n)

			again := sel.payload(pay)
			assert.Equal(t, string(pay), again, "a second payload of one call gets a string of its own")
			assert.NotEqual(t, at, uintptr(unsafe.Pointer(unsafe.StringData(again))))
		}
	}
	sel := &selector{}
	s := sel.payload([]byte(`{"a":1}`))
	assert.Equal(t, `{"a":1}`, s)
	assert.Nil(t, sel.result, "Verify and AssumeRoleWithWebIdentityInto keep no copy")
	sel.own = true
	assert.Equal(t, "", sel.payload(nil))
	assert.Nil(t, sel.result)
}

// The Result of the full path is the caller's own: its Token's claims are the token's, an
// edit of one Result reaches neither another caller's nor the token cache's, and each call
// gets a block of its own.
func TestPayloadBlockResults(t *testing.T) {
	w, req, _ := memoTarget(t, "basic", nil)
	for _, v := range []*Verifier{w.plain, w.memo} {
		r1, err := v.AssumeRoleWithWebIdentity(context.Background(), req)
		require.NoError(t, err)
		claims := r1.Token.Claims
		sub := r1.Token.Subject
		require.Contains(t, claims, `"sub":"`+irsaSub+`"`)
		r1.Token.Claims, r1.Token.Subject, r1.RoleID = "edited", "edited", "edited"
		r1.Token.Audience[0] = "edited"
		r2, err := v.AssumeRoleWithWebIdentity(context.Background(), req)
		require.NoError(t, err)
		assert.Equal(t, claims, r2.Token.Claims)
		assert.Equal(t, sub, r2.Token.Subject)
		assert.Equal(t, []string{"sts.amazonaws.com"}, r2.Token.Audience)
		assert.NotEqual(t, "edited", r2.RoleID)
		assert.NotSame(t, r1, r2)
	}
}
