package iam

import (
	"errors"
	"hash/maphash"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// maxLoadErrors caps the errors Load reports.
const maxLoadErrors = 20

// Load replaces the whole registry with the providers and roles, atomically
// and all or nothing: everything is validated first, as by CreateOIDCProvider
// and CreateRole, plus uniqueness within the input (ARNs, role names per
// account ignoring case, role IDs, URLs per account) and the per-account
// quotas. If anything fails, nothing changes and the error joins (errors.Join)
// the first 20 *Error values, each naming its entity and field; errors.As
// finds the first. Otherwise lookups switch to the new state in one atomic
// store, and watchers get one Change of kind Loaded, which carries the whole
// new state (Providers, Roles). The Options.Commit hook, if any, is called
// with that Change before the switch; if it fails, nothing changes and the
// error is a CodeServiceFailure *Error. Under Options.CommitBatch, Load
// waits until the changes queued before it are committed, and runs alone.
//
// An entity whose ARN exists now keeps its RoleID and CreateDate when the
// input leaves them empty, and a role whose trust policy document is
// unchanged keeps its compiled policy (no parse), so reloading a
// configuration is cheap. Trust policies are parsed in parallel.
//
// With Options.CatchUp set, a Load whose hook says that the store is ahead
// (ErrStale: another replica committed first) catches up and runs again,
// validation included, as a write does (up to MaxStaleAttempts attempts),
// so that it replaces the fleet's current state rather than failing.
func (r *Registry) Load(providers []*OIDCProvider, roles []*Role) error {
	var release func() // the hold of the catch-up before this attempt
	defer func() {
		if release != nil {
			release() // the hook panicked
		}
	}()
	for attempt := 1; ; attempt++ {
		stale, err := r.load(providers, roles, 0)
		if release != nil {
			release()
			release = nil
		}
		if stale == 0 {
			return err
		}
		if attempt >= MaxStaleAttempts {
			r.serve(stale) // no catch-up for it: let the writes try
			return err
		}
		rel, _, cerr := r.catchUp(stale, false)
		if cerr != nil {
			return catchUpFailed(err, cerr)
		}
		release = rel
	}
}

// load is Load: a local write if applied is 0, else the Loaded change of
// that revision made by another replica (see Apply). stale is the number of
// the stale failure (see newStale) when the hook said that the store is
// ahead and Options.CatchUp is set, else 0.
func (r *Registry) load(providers []*OIDCProvider, roles []*Role, applied uint64) (stale uint64, err error) {
	var errs []error
	addErr := func(err error) {
		if len(errs) < maxLoadErrors {
			errs = append(errs, err)
		}
	}
	provs := make([]*OIDCProvider, len(providers))
	provErrs := make([]error, len(providers))
	parallel(len(providers), func(i int) { provs[i], provErrs[i] = validateProvider(providers[i], r.allowPort) })
	for _, err := range provErrs {
		if err != nil {
			addErr(err)
		}
	}
	rs, roleErrs := r.validateRoles(roles)
	for _, err := range roleErrs {
		addErr(err)
	}
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}

	r.lockExclusive()
	defer r.unlockExclusive()
	s := r.head
	if isApplied(s, applied) {
		return 0, nil
	}
	accounts := map[acctKey]*accountIndex{}
	account := func(k acctKey) *accountIndex {
		idx := accounts[k]
		if idx == nil {
			idx = &accountIndex{providers: map[string]*OIDCProvider{}, roles: map[string]*Role{}}
			accounts[k] = idx
		}
		return idx
	}
	refs := map[string]int{}
	urls := packURLs(provs) // interned URLs
	ns := &state{rev: nextRev(s.rev, applied)}
	var issuerOrder []string
	kept := make([]*OIDCProvider, 0, len(provs))
	now := r.now().UTC()
	for _, p := range provs {
		p.URL = urls[p.URL]
		r.internClientIDs(p)
		idx := account(acctKey{p.Partition, p.Account})
		if idx.providers[p.URL] != nil {
			addErr(newError(CodeEntityAlreadyExists, p.ARN, "Url", "Provider with url "+p.URL+" already exists."))
			continue
		}
		if r.maxProv >= 0 && len(idx.providers) >= r.maxProv {
			addErr(newError(CodeLimitExceeded, p.ARN, "", "Cannot exceed quota for OpenIdConnectProvidersPerAccount: "+strconv.Itoa(r.maxProv)))
			continue
		}
		if p.CreateDate.IsZero() {
			p.CreateDate = now
			if old := r.provider(s, p.Partition, p.Account, p.URL); old != nil {
				p.CreateDate = old.CreateDate
			}
		}
		idx.providers[p.URL] = p
		if refs[p.URL] == 0 {
			issuerOrder = append(issuerOrder, p.URL)
		}
		refs[p.URL]++
		kept = append(kept, p)
	}

	roleIDs := make(map[string]string, len(rs))
	for _, ro := range rs { // explicit IDs first, so generated ones avoid them
		if ro.RoleID == "" {
			continue
		}
		if arn, ok := roleIDs[ro.RoleID]; ok && arn != ro.ARN {
			addErr(newError(CodeEntityAlreadyExists, ro.ARN, "RoleId", "Role ID "+ro.RoleID+" is taken"))
		}
		roleIDs[ro.RoleID] = ro.ARN
	}
	for _, ro := range rs {
		// A duplicate ARN is a duplicate name, refused below.
		idx := account(acctKey{ro.Partition, ro.Account})
		lower := strings.ToLower(ro.Name)
		if idx.roles[lower] != nil {
			addErr(newError(CodeEntityAlreadyExists, ro.ARN, "RoleName", "Role with name "+ro.Name+" already exists."))
			continue
		}
		if r.maxRoles >= 0 && len(idx.roles) >= r.maxRoles {
			addErr(newError(CodeLimitExceeded, ro.ARN, "", "Cannot exceed quota for RolesPerAccount: "+strconv.Itoa(r.maxRoles)))
			continue
		}
		old := r.role(s, ro.ARN)
		if ro.RoleID == "" {
			if _, taken := roleIDs[old.idOrEmpty()]; old != nil && !taken {
				ro.RoleID = old.RoleID
			} else {
				id, err := r.uniqueRoleID(roleIDs)
				if err != nil {
					addErr(err)
					continue
				}
				ro.RoleID = id
			}
			roleIDs[ro.RoleID] = ro.ARN
		}
		if ro.CreateDate.IsZero() {
			ro.CreateDate = now
			if old != nil {
				ro.CreateDate = old.CreateDate
			}
		}
		compactRole(ro)
		idx.roles[lower] = ro
		ns.nRoles++
	}
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	// The issuers are numbered in order of first appearance.
	for id, u := range issuerOrder {
		ns.iss = r.withIssuerLoading(ns.iss, len(issuerOrder), u, uint32(id))
	}
	r.buildProviders(ns, kept)
	ns.nProv = len(kept)
	r.buildRoles(ns, rs)

	ns.issuers = make([]string, 0, len(refs))
	for u := range refs {
		ns.issuers = append(ns.issuers, u)
	}
	slices.Sort(ns.issuers)
	added, removed := diffSorted(s.issuers, ns.issuers)
	c := Change{Revision: ns.rev, Kind: Loaded, IssuersAdded: added, IssuersRemoved: removed, Providers: provs, Roles: rs}
	if applied == 0 {
		if err := r.commitNow(c); err != nil {
			if r.isStale(err) {
				stale = r.newStale() // writes wait until a catch-up serves it
			}
			return stale, err
		}
	}
	r.accounts, r.issuerRefs, r.roleIDs = accounts, refs, roleIDs
	r.freeIDs, r.nextID = nil, uint32(len(issuerOrder))
	r.head = ns
	r.setCur(ns, &c)
	r.emit(c)
	return 0, nil
}

// packURLs returns the providers' distinct URLs, each mapped to its copy in
// one allocation: the issuer table's canonical URLs, which every lookup
// compares with the token's iss, lie together in a few pages.
func packURLs(provs []*OIDCProvider) map[string]string {
	urls := map[string]string{}
	var order []string
	n := 0
	for _, p := range provs {
		if _, ok := urls[p.URL]; !ok {
			urls[p.URL] = p.URL
			order = append(order, p.URL)
			n += len(p.URL)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, u := range order {
		b.WriteString(u)
	}
	all := b.String()
	for _, u := range order {
		urls[u], all = all[:len(u)], all[len(u):]
	}
	return urls
}

func (ro *Role) idOrEmpty() string {
	if ro == nil {
		return ""
	}
	return ro.RoleID
}

// validateRoles validates the roles on GOMAXPROCS goroutines; errors are in
// input order. Roles whose trust policies are the same text share one
// compiled policy (and document string): the first role of each text is
// validated first, and the others then reuse its policy instead of parsing
// the text again.
func (r *Registry) validateRoles(in []*Role) ([]*Role, []error) {
	out := make([]*Role, len(in))
	errs := make([]error, len(in))
	// Texts are told apart by hash first (hashed in parallel): a map keyed
	// by the texts themselves costs more than the rest of Load's serial
	// part when every text differs.
	seed := maphash.MakeSeed()
	hashes := make([]uint64, len(in))
	parallel(len(in), func(i int) { hashes[i] = maphash.String(seed, in[i].TrustPolicyDocument) })
	first := make(map[uint64]int, len(in)) // hash -> the first role with it
	var firsts, dups, dupOf []int
	for i, h := range hashes {
		j, ok := first[h]
		if ok && in[j].TrustPolicyDocument == in[i].TrustPolicyDocument {
			dups, dupOf = append(dups, i), append(dupOf, j)
			continue
		}
		if !ok {
			first[h] = i
		}
		firsts = append(firsts, i)
	}
	parallel(len(firsts), func(k int) {
		i := firsts[k]
		out[i], errs[i] = validateRole(in[i], r.maxTrustPolicyChars, r.currentRole)
	})
	parallel(len(dups), func(k int) {
		i, same := dups[k], out[dupOf[k]] // nil if that one failed: then parsed again
		out[i], errs[i] = validateRole(in[i], r.maxTrustPolicyChars, func(string) *Role { return same })
	})
	var bad []error
	for _, err := range errs {
		if err != nil {
			bad = append(bad, err)
		}
	}
	return out, bad
}

// parallel calls fn(0) to fn(n-1) on up to GOMAXPROCS goroutines (one for
// small n).
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(1, n/64))
	if workers == 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// diffSorted returns the strings only in b (added) and only in a (removed).
func diffSorted(a, b []string) (added, removed []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			removed = append(removed, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			added = append(added, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return added, removed
}
