package policy

import (
	"testing"
	"unsafe"
)

// TestHotBytes: a packed IRSA policy's hot bytes run from the Policy to its statement's labels,
// inside its block; an unpacked policy's are the Policy value; nil has none.
func TestHotBytes(t *testing.T) {
	irsa := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
		`"Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{` +
		`"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub":"system:serviceaccount:ns:sa",` +
		`"oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud":"sts.amazonaws.com"}}}]}`
	p, err := Parse([]byte(irsa))
	if err != nil {
		t.Fatal(err)
	}
	if p.fast == nil {
		t.Fatal("the IRSA policy has no fast form: the test needs one")
	}
	n := p.HotBytes()
	start := uintptr(unsafe.Pointer(p))
	for _, q := range []uintptr{
		uintptr(unsafe.Pointer(p.fast)),
		uintptr(unsafe.Pointer(&p.stmts[0].labels)),
		uintptr(unsafe.Pointer(unsafe.StringData(p.fast.str(p.fast.conds[0].lit)))),
	} {
		if q < start || q >= start+n {
			t.Errorf("address %#x outside the hot bytes [%#x, %#x)", q, start, start+n)
		}
	}
	if n > maxHotBytes {
		t.Errorf("HotBytes %d > %d", n, maxHotBytes)
	}

	// Two Allow statements: no fast form, the Policy alone.
	two := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Principal":{"Federated":"accounts.google.com"},"Action":"sts:AssumeRoleWithWebIdentity"},` +
		`{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}]}`
	q, err := Parse([]byte(two))
	if err != nil {
		t.Fatal(err)
	}
	if q.fast != nil {
		t.Fatal("a policy with a Deny statement has a fast form")
	}
	if got := q.HotBytes(); got != unsafe.Sizeof(Policy{}) {
		t.Errorf("HotBytes = %d, want the Policy's %d", got, unsafe.Sizeof(Policy{}))
	}
	if got := (*Policy)(nil).HotBytes(); got != 0 {
		t.Errorf("nil HotBytes = %d, want 0", got)
	}
}
