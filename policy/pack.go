package policy

import (
	"cmp"
	"slices"
	"strings"
	"unsafe"
)

// Locality. A registry evaluates the trust policy of a random role out of
// hundreds of thousands, so every object of the compiled form that Evaluate
// reads is a cache line, and often a page, that misses: once the instructions
// are cheap, the cost of Evaluate is the number of cold lines it touches.
// Parse therefore moves the compiled form of a typical trust policy (one
// statement with at most one principal ID, whose conditions are String*
// operators with literal or prefix values, and few of them) into one
// allocation, a block:
//
//	Policy | fast form (with the principal) | bytes | statement | conditions | patterns
//
// The fast form (see fastForm) and the bytes come first: they are what
// Evaluate reads to find a typical request allowed, about six adjacent lines
// for an IRSA policy. The rest is the ordinary compiled form, which decides
// everything else (denials and their explanations, other shapes), Lint and
// Keys read; its strings point into the same bytes.
//
// The bytes hold every string Evaluate compares: the principal ARN, each
// condition's key and the policy's spelling of it, the values. They are
// copies private to the policy rather than strings shared through package
// unique, because a shared string sits wherever it was first allocated, a
// cold line of its own; the copies cost about 300 bytes per IRSA policy,
// most of which the block makes up for by having no headers and no padding
// of separate allocations. A string equal to one added before is stored
// once, and a string that starts with the end of the bytes so far overlaps
// it (the ARN "arn:aws:iam::ACCOUNT:oidc-provider/HOST" and the key
// "HOST:sub" share HOST). The explanations (statement labels, condition
// infos) stay shared: the Allow explanation of a statement without Sid is
// one entry for every policy, always in cache.
//
// The block is an ordinary Go value (a struct with arrays; the strings point
// into its byte array, which is never written once they are made), so the
// collector keeps it alive through any of the pointers into it. Its shape is
// one of a fixed set (blockLayouts) sized to the allocator's size classes,
// the smallest that holds the policy; a policy that fits none keeps the form
// compileDocument built. Packing changes where the compiled form lives, not
// what it is (the tests compare the two forms field by field and decision by
// decision).

// block is the single allocation of a packed policy. C, P and B are arrays
// of conditions, patterns and bytes.
type block[C, P, B any] struct {
	pol   Policy
	fast  fastForm
	buf   B
	stmt  [1]statement
	conds C
	pats  P
}

// fastOffset and bufOffset are the offsets of the fast form and the bytes
// in every block (the fields before them do not depend on its parameters).
var (
	fastOffset = unsafe.Offsetof(block[[1]condition, [1]pattern, [8]byte]{}.fast)
	bufOffset  = unsafe.Offsetof(block[[1]condition, [1]pattern, [8]byte]{}.buf)
)

// blockLayout describes one instantiation of block.
type blockLayout struct {
	size             uintptr
	conds, pats, buf int
	alloc            func() blockParts
}

// blockParts are the pieces of a freshly allocated block.
type blockParts struct {
	pol   *Policy
	fast  *fastForm
	stmt  []statement
	conds []condition
	pats  []pattern
	buf   []byte
}

func layoutOf[C, P, B any]() blockLayout {
	var z block[C, P, B]
	nc := int(unsafe.Sizeof(z.conds) / unsafe.Sizeof(condition{}))
	np := int(unsafe.Sizeof(z.pats) / unsafe.Sizeof(pattern{}))
	nb := int(unsafe.Sizeof(z.buf))
	return blockLayout{
		size: unsafe.Sizeof(z), conds: nc, pats: np, buf: nb,
		alloc: func() blockParts {
			b := new(block[C, P, B])
			return blockParts{
				pol:   &b.pol,
				fast:  &b.fast,
				stmt:  b.stmt[:],
				conds: unsafe.Slice((*condition)(unsafe.Pointer(&b.conds)), nc),
				pats:  unsafe.Slice((*pattern)(unsafe.Pointer(&b.pats)), np),
				buf:   unsafe.Slice((*byte)(unsafe.Pointer(&b.buf)), nb),
			}
		},
	}
}

// blockLayouts are the shapes a packed policy may take, smallest first
// (pack takes the first that holds the policy).
var blockLayouts = func() []blockLayout {
	var all []blockLayout
	for _, ls := range [][]blockLayout{layouts1x1(), layouts1x2(), layouts2x2(), layouts2x3(), layouts2x4(), layouts3x3()} {
		for _, l := range ls {
			if l.buf > 0 {
				all = append(all, l)
			}
		}
	}
	slices.SortStableFunc(all, func(a, b blockLayout) int { return cmp.Compare(a.size, b.size) })
	return all
}()

// poolAdd returns pool with s in it and the offset of s: s is added unless
// it is one of the strings already added (ents), and when pool ends with a
// prefix of s, only the rest is added.
func poolAdd(pool []byte, ents []poolEntry, s string) ([]byte, int) {
	if s == "" {
		return pool, 0
	}
	for _, e := range ents {
		if e.s == s {
			return pool, e.off
		}
	}
	// A view of the pool, not a copy: it is dropped before pool is
	// appended to.
	have := unsafe.String(unsafe.SliceData(pool), len(pool))
	// The longest overlap starts at the first j in the tail where the
	// pool's rest is a prefix of s.
	for j := max(len(have)-len(s)+1, 0); j < len(have); j++ {
		k := strings.IndexByte(have[j:], s[0])
		if k < 0 {
			break
		}
		j += k
		if strings.HasPrefix(s, have[j:]) {
			pool = append(pool, s[len(have)-j:]...)
			return pool, len(pool) - len(s)
		}
	}
	pool = append(pool, s...)
	return pool, len(pool) - len(s)
}

// packable reports whether pack can move p into a block, and how many
// conditions and patterns it needs.
func packable(p *Policy) (conds, pats int, ok bool) {
	if len(p.stmts) != 1 {
		return 0, 0, false
	}
	s := &p.stmts[0]
	if len(s.principal.ids) > 1 {
		return 0, 0, false
	}
	if !sharedActions(s.actions) {
		for i := range s.actions {
			if s.actions[i].x != nil {
				return 0, 0, false
			}
		}
		pats += len(s.actions)
	}
	for i := range s.conds {
		c := &s.conds[i]
		if c.x != nil {
			return 0, 0, false
		}
		for j := range c.strs {
			if c.strs[j].x != nil {
				return 0, 0, false
			}
		}
		pats += len(c.strs)
	}
	return len(s.conds), pats, true
}

// sharedActions reports whether actions is one of commonLists, which every
// policy shares (and which stay in the caches).
func sharedActions(actions []pattern) bool {
	for _, l := range commonLists {
		if len(actions) > 0 && len(l) == len(actions) && &l[0] == &actions[0] {
			return true
		}
	}
	return false
}

// poolEntry is a string of the policy and its offset in the pool.
type poolEntry struct {
	s   string
	off int
}

// pack returns p, whose Id is id, moved into a block, or p itself if it
// does not fit one. The result is equal to p in every respect but where it
// lives (and the handles of shared strings, which it does not need).
func pack(p *Policy, id string) *Policy {
	nc, np, ok := packable(p)
	if !ok {
		return p
	}
	s := &p.stmts[0]
	shared := sharedActions(s.actions)
	// The strings, in the order Evaluate reads them: the principal, then
	// each condition's spelling (which may overlap the end of the ARN), key
	// and values, then the actions. Entries are made in this same order
	// below.
	var poolBuf [512]byte
	var entBuf [16]poolEntry
	pool, ents := poolBuf[:0], entBuf[:0]
	add := func(s string) {
		var off int
		pool, off = poolAdd(pool, ents, s)
		ents = append(ents, poolEntry{s, off})
	}
	for i := range s.principal.ids {
		add(s.principal.ids[i].ID)
	}
	for i := range s.conds {
		c := &s.conds[i]
		add(c.spell)
		add(c.key)
		for j := range c.strs {
			add(c.strs[j].lit)
		}
	}
	if !shared {
		for j := range s.actions {
			add(s.actions[j].lit)
		}
	}
	var lay *blockLayout
	for i := range blockLayouts {
		l := &blockLayouts[i]
		if l.conds == nc && l.pats >= np && l.buf >= len(pool) {
			lay = l
			break
		}
	}
	if lay == nil {
		return p
	}
	bp := lay.alloc()
	copy(bp.buf, pool)
	next := 0
	str := func() string {
		e := ents[next]
		next++
		if e.s == "" {
			return ""
		}
		return unsafe.String(&bp.buf[e.off], len(e.s))
	}

	q := bp.pol
	*q = *p
	q.x = nil // the block holds its own copy of every string it compares
	if id != "" {
		q.x = &policyExtra{id: id}
	}
	q.stmts = bp.stmt
	st := &bp.stmt[0]
	*st = *s
	if len(s.principal.ids) == 1 {
		bp.fast.id[0] = Principal{Type: s.principal.ids[0].Type, ID: str()}
		st.principal.ids = bp.fast.id[:]
	}
	if fastOf(s, bp.fast, ents) {
		q.fast = bp.fast
	}
	pats := bp.pats[:0:np]
	st.conds = bp.conds
	for i := range s.conds {
		c := &bp.conds[i]
		*c = s.conds[i]
		c.spell = str()
		c.key = str()
		if c.strs != nil {
			start := len(pats)
			for j := range s.conds[i].strs {
				pt := s.conds[i].strs[j]
				pt.lit = str()
				pats = append(pats, pt)
			}
			c.strs = pats[start:len(pats):len(pats)]
		}
	}
	if !shared {
		start := len(pats)
		for j := range s.actions {
			pt := s.actions[j]
			pt.lit = str()
			pats = append(pats, pt)
		}
		st.actions = pats[start:len(pats):len(pats)]
	}
	return q
}
