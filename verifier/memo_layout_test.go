package verifier

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestMemoSizes pins the sizes and the layout the decision memo's comment documents: the
// memo and a caller's Result copy fill their size classes (768 and 448 bytes), and what
// every use checks (entry, epoch, key stamp, token validity, the request's lengths and the
// account's place in it) sits in the memo's first two cache lines, before the request.
func TestMemoSizes(t *testing.T) {
	var m decisionMemo
	assert.LessOrEqual(t, unsafe.Sizeof(m), uintptr(768))
	assert.Greater(t, unsafe.Sizeof(m), uintptr(640), "768 is the memo's size class")
	assert.Equal(t, uintptr(448), unsafe.Sizeof(resultCopy{}))
	assert.LessOrEqual(t, unsafe.Offsetof(m.request)+unsafe.Sizeof(m.request), uintptr(128), "the checks in the first two lines")
	assert.Less(t, unsafe.Offsetof(m.inline), unsafe.Offsetof(m.out), "the request before the Result")
	assert.Less(t, unsafe.Offsetof(m.out), unsafe.Offsetof(m.route), "what only the full path reads last")
}
