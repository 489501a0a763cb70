package iam

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// CreateOIDCProvider adds a provider, as IAM's CreateOpenIDConnectProvider:
// the provider is validated (see the package documentation for the rules),
// and an account that already registers the URL gets EntityAlreadyExists.
// It returns the stored snapshot (ARN, Partition, Account, URL and CreateDate
// filled). Other accounts may register the same URL. Safe for concurrent use.
func (r *Registry) CreateOIDCProvider(p *OIDCProvider) (*OIDCProvider, error) {
	return r.putProvider(p, true)
}

// PutOIDCProvider adds the provider or replaces the account's provider for
// its URL (keeping the old CreateDate when p's is zero). It is for stores and
// configuration; a control plane's Create is CreateOIDCProvider.
func (r *Registry) PutOIDCProvider(p *OIDCProvider) (*OIDCProvider, error) {
	return r.putProvider(p, false)
}

func (r *Registry) putProvider(in *OIDCProvider, create bool) (*OIDCProvider, error) {
	p, err := validateProvider(in, r.allowPort)
	if err != nil {
		return nil, err
	}
	var out *OIDCProvider
	err = r.write(func() (w *pending, err error) {
		out, w, err = r.commitProvider(r.attemptProvider(p), create, 0)
		return w, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// attemptProvider is the validated p for one attempt of a write: p itself,
// or where a write may start again (under CommitBatch, or with CatchUp after
// a stale commit) a copy, since an attempt fills fields from the state it
// saw.
func (r *Registry) attemptProvider(p *OIDCProvider) *OIDCProvider {
	if r.batched() || r.catchUpFn != nil {
		return p.clone()
	}
	return p
}

// DeleteOIDCProvider removes the provider with the ARN; NoSuchEntity if there
// is none.
func (r *Registry) DeleteOIDCProvider(arn string) error { return r.deleteProvider(arn, 0) }

// deleteProvider deletes the provider: a local write if applied is 0, else
// the change of that revision made by another replica (see Apply).
func (r *Registry) deleteProvider(arn string, applied uint64) error {
	part, acct, url, err := ParseOIDCProviderARN(arn)
	if err != nil {
		return err
	}
	return r.run(applied, func() (*pending, error) { return r.deleteProviderLocked(arn, part, acct, url, applied) })
}

// deleteProviderLocked is deleteProvider's part under the write lock.
func (r *Registry) deleteProviderLocked(arn, part, acct, url string, applied uint64) (*pending, error) {
	s := r.head
	if isApplied(s, applied) {
		return nil, nil
	}
	pid, _ := partitionID(part)
	an, _ := parseAccount(acct)
	ap, uh := acctPart(pid, an), r.urlHash(url)
	is := s.iss.find(r.hashOf(uh), url)
	var old *OIDCProvider
	if is != nil {
		old = r.providerAt(s, ap, uh, is.id)
	}
	if old == nil {
		return nil, noSuchProvider(arn)
	}
	id := is.id
	ns := *s
	r.setProvider(&ns, ap, uh, id, nil)
	ns.nProv--
	ns.rev = nextRev(s.rev, applied)
	var removed []string
	if r.issuerRefs[url] == 1 {
		removed = []string{url}
		i, _ := slices.BinarySearch(s.issuers, url)
		ns.issuers = slices.Delete(slices.Clone(s.issuers), i, i+1)
		ns.iss = r.withoutIssuer(s.iss, url)
	}
	c := Change{Revision: ns.rev, Kind: ProviderDeleted, ARN: old.ARN, OldProvider: old, IssuersRemoved: removed}
	if err := r.commitSync(c, applied); err != nil {
		return nil, err
	}
	idx := r.accounts[acctKey{part, acct}]
	delete(idx.providers, url)
	r.dropAccountIfEmpty(acctKey{part, acct}, idx)
	if r.issuerRefs[url]--; r.issuerRefs[url] == 0 {
		delete(r.issuerRefs, url)
		r.releaseIssuerID(id)
	}
	return r.publish(&ns, c, applied), nil
}

// commitProvider publishes the validated p, or queues it under
// CommitBatch (the pending); r.mu is held. applied is 0 for a local write,
// else the revision of another replica's change (Apply).
func (r *Registry) commitProvider(p *OIDCProvider, create bool, applied uint64) (*OIDCProvider, *pending, error) {
	s := r.head
	if isApplied(s, applied) {
		return p, nil, nil
	}
	pid, _ := partitionID(p.Partition)
	acct, _ := parseAccount(p.Account)
	ap, uh := acctPart(pid, acct), r.urlHash(p.URL)
	id, known := r.peekIssuerID(), false
	var old *OIDCProvider
	if is := s.iss.find(r.hashOf(uh), p.URL); is != nil {
		// Share the URL's bytes with the other accounts' providers.
		p.URL, id, known = is.url, is.id, true
		old = r.providerAt(s, ap, uh, id)
	} else {
		p.URL = strings.Clone(p.URL) // the issuer table's copy, apart from the input's
	}
	r.internClientIDs(p)
	ak := acctKey{p.Partition, p.Account}
	idx := r.accounts[ak]
	if old != nil && create {
		return nil, nil, newError(CodeEntityAlreadyExists, p.ARN, "Url", "Provider with url "+p.URL+" already exists.")
	}
	if old == nil && r.maxProv >= 0 && idx != nil && len(idx.providers) >= r.maxProv {
		return nil, nil, newError(CodeLimitExceeded, p.ARN, "", "Cannot exceed quota for OpenIdConnectProvidersPerAccount: "+strconv.Itoa(r.maxProv))
	}
	if p.CreateDate.IsZero() {
		if old != nil {
			p.CreateDate = old.CreateDate
		} else {
			p.CreateDate = r.now().UTC()
		}
	}
	ns := *s
	ns.rev = nextRev(s.rev, applied)
	var added []string
	if old == nil {
		ns.nProv++
		if !known {
			added = []string{p.URL}
			i, _ := slices.BinarySearch(s.issuers, p.URL)
			ns.issuers = slices.Insert(slices.Clone(s.issuers), i, p.URL)
			ns.iss = r.withIssuer(s.iss, p.URL, id)
		}
	}
	r.setProvider(&ns, ap, uh, id, p)
	kind := ProviderCreated
	if old != nil {
		kind = ProviderUpdated
	}
	c := Change{Revision: ns.rev, Kind: kind, ARN: p.ARN, OldProvider: old, NewProvider: p, IssuersAdded: added}
	if err := r.commitSync(c, applied); err != nil {
		return nil, nil, err
	}
	if !known {
		r.takeIssuerID(id)
	}
	if old == nil {
		r.issuerRefs[p.URL]++
	}
	r.account(ak).providers[p.URL] = p
	return p, r.publish(&ns, c, applied), nil
}

func (r *Registry) dropAccountIfEmpty(k acctKey, idx *accountIndex) {
	if idx != nil && len(idx.providers) == 0 && len(idx.roles) == 0 {
		delete(r.accounts, k)
	}
}

// modifyProvider is the read-modify-write behind the finer provider
// updates: under the write lock, fn edits a copy of the current provider,
// which is then validated and published. If fn reports no change, nothing is
// committed.
func (r *Registry) modifyProvider(arn string, fn func(p *OIDCProvider) (changed bool, err error)) (*OIDCProvider, error) {
	part, acct, url, err := ParseOIDCProviderARN(arn)
	if err != nil {
		return nil, err
	}
	var out *OIDCProvider
	err = r.write(func() (*pending, error) {
		cur := r.provider(r.head, part, acct, url)
		if cur == nil {
			return nil, noSuchProvider(arn)
		}
		next := cur.clone()
		changed, err := fn(next)
		if err != nil || !changed {
			out = cur
			return nil, err
		}
		p, err := validateProvider(next, r.allowPort)
		if err != nil {
			return nil, err
		}
		p, w, err := r.commitProvider(p, false, 0)
		out = p
		return w, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddClientIDToOIDCProvider adds a client ID (audience) to the provider, as
// IAM's AddClientIDToOpenIDConnectProvider: adding one that is there already
// changes nothing and is not an error.
func (r *Registry) AddClientIDToOIDCProvider(arn, clientID string) (*OIDCProvider, error) {
	return r.modifyProvider(arn, func(p *OIDCProvider) (bool, error) {
		if containsString(p.ClientIDs, clientID) {
			return false, nil
		}
		p.ClientIDs = append(p.ClientIDs, clientID)
		return true, nil
	})
}

// RemoveClientIDFromOIDCProvider removes a client ID from the provider, as
// IAM's RemoveClientIDFromOpenIDConnectProvider: removing one that is not
// there changes nothing and is not an error.
func (r *Registry) RemoveClientIDFromOIDCProvider(arn, clientID string) (*OIDCProvider, error) {
	return r.modifyProvider(arn, func(p *OIDCProvider) (bool, error) {
		n := len(p.ClientIDs)
		p.ClientIDs = slices.DeleteFunc(p.ClientIDs, func(c string) bool { return c == clientID })
		return len(p.ClientIDs) != n, nil
	})
}

// UpdateOIDCProviderThumbprint replaces the provider's thumbprints, as IAM's
// UpdateOpenIDConnectProviderThumbprint (the list is required there: an empty
// one is a ValidationError).
func (r *Registry) UpdateOIDCProviderThumbprint(arn string, thumbprints []string) (*OIDCProvider, error) {
	if len(thumbprints) == 0 {
		return nil, newError(CodeValidationError, arn, "ThumbprintList", "ThumbprintList is required")
	}
	return r.modifyProvider(arn, func(p *OIDCProvider) (bool, error) {
		p.Thumbprints = slices.Clone(thumbprints)
		return true, nil
	})
}

// TagOIDCProvider adds tags to the provider, replacing the value of a key it
// has already (keys compared ignoring case), as IAM's
// TagOpenIDConnectProvider. More than 50 tags in total is LimitExceeded.
func (r *Registry) TagOIDCProvider(arn string, tags []Tag) (*OIDCProvider, error) {
	if err := validateTags(arn, tags); err != nil {
		return nil, err
	}
	return r.modifyProvider(arn, func(p *OIDCProvider) (bool, error) {
		p.Tags = mergeTags(p.Tags, tags)
		return true, nil
	})
}

// UntagOIDCProvider removes the tags with the keys (ignoring case); keys it
// does not have are ignored.
func (r *Registry) UntagOIDCProvider(arn string, keys []string) (*OIDCProvider, error) {
	return r.modifyProvider(arn, func(p *OIDCProvider) (bool, error) {
		n := len(p.Tags)
		p.Tags = removeTags(p.Tags, keys)
		return len(p.Tags) != n, nil
	})
}

func mergeTags(cur, add []Tag) []Tag {
	out := slices.Clone(cur)
	for _, t := range add {
		i := slices.IndexFunc(out, func(o Tag) bool { return strings.EqualFold(o.Key, t.Key) })
		if i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	return out
}

func removeTags(cur []Tag, keys []string) []Tag {
	return slices.DeleteFunc(cur, func(t Tag) bool {
		return slices.ContainsFunc(keys, func(k string) bool { return strings.EqualFold(k, t.Key) })
	})
}

// CreateRole adds a role, as IAM's CreateRole: the role is validated (see
// the package documentation), its trust policy parsed, a RoleID generated if
// empty and CreateDate filled if zero. A role whose name another role of the
// account has, ignoring case, is EntityAlreadyExists. It returns the stored
// snapshot. Safe for concurrent use.
func (r *Registry) CreateRole(ro *Role) (*Role, error) { return r.putRole(ro, true) }

// PutRole adds the role or replaces the role with its ARN, keeping the old
// RoleID and CreateDate when ro's are empty. It is for stores and
// configuration; a control plane's Create is CreateRole.
func (r *Registry) PutRole(ro *Role) (*Role, error) { return r.putRole(ro, false) }

func (r *Registry) putRole(in *Role, create bool) (*Role, error) {
	ro, err := validateRole(in, r.maxTrustPolicyChars, r.currentRole)
	if err != nil {
		return nil, err
	}
	var out *Role
	err = r.write(func() (w *pending, err error) {
		out, w, err = r.commitRole(r.attemptRole(ro), create, 0)
		return w, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// attemptRole is attemptProvider for a role.
func (r *Registry) attemptRole(ro *Role) *Role {
	if r.batched() || r.catchUpFn != nil {
		return ro.clone()
	}
	return ro
}

func (r *Registry) currentRole(arn string) *Role {
	ro, _ := r.Role(arn)
	return ro
}

// commitRole publishes the validated ro, or queues it under CommitBatch
// (the pending); r.mu is held. applied is 0 for a local write, else the
// revision of another replica's change (Apply).
func (r *Registry) commitRole(ro *Role, create bool, applied uint64) (*Role, *pending, error) {
	s := r.head
	if isApplied(s, applied) {
		return ro, nil, nil
	}
	old := r.role(s, ro.ARN)
	if old != nil && create {
		return nil, nil, newError(CodeEntityAlreadyExists, ro.ARN, "RoleName", "Role with name "+ro.Name+" already exists.")
	}
	ak := acctKey{ro.Partition, ro.Account}
	idx := r.accounts[ak]
	lower := strings.ToLower(ro.Name)
	if idx != nil {
		if other := idx.roles[lower]; other != nil && other.ARN != ro.ARN {
			return nil, nil, newError(CodeEntityAlreadyExists, ro.ARN, "RoleName", "Role with name "+ro.Name+" already exists.")
		}
		if old == nil && r.maxRoles >= 0 && len(idx.roles) >= r.maxRoles {
			return nil, nil, newError(CodeLimitExceeded, ro.ARN, "", "Cannot exceed quota for RolesPerAccount: "+strconv.Itoa(r.maxRoles))
		}
	}
	switch {
	case ro.RoleID == "" && old != nil:
		ro.RoleID = old.RoleID
	case ro.RoleID == "":
		id, err := r.uniqueRoleID(nil)
		if err != nil {
			return nil, nil, err
		}
		ro.RoleID = id
	default:
		if arn, ok := r.roleIDs[ro.RoleID]; ok && arn != ro.ARN {
			return nil, nil, newError(CodeEntityAlreadyExists, ro.ARN, "RoleId", "Role ID "+ro.RoleID+" is taken")
		}
	}
	if ro.CreateDate.IsZero() {
		if old != nil {
			ro.CreateDate = old.CreateDate
		} else {
			ro.CreateDate = r.now().UTC()
		}
	}
	compactRole(ro)
	ns := *s
	ns.rev = nextRev(s.rev, applied)
	r.setRole(&ns, ro.ARN, ro)
	if old == nil {
		ns.nRoles++
	}
	kind := RoleCreated
	if old != nil {
		kind = RoleUpdated
	}
	c := Change{Revision: ns.rev, Kind: kind, ARN: ro.ARN, OldRole: old, NewRole: ro}
	if err := r.commitSync(c, applied); err != nil {
		return nil, nil, err
	}
	if old != nil && old.RoleID != ro.RoleID {
		delete(r.roleIDs, old.RoleID)
	}
	r.roleIDs[ro.RoleID] = ro.ARN
	r.account(ak).roles[lower] = ro
	return ro, r.publish(&ns, c, applied), nil
}

// uniqueRoleID generates a role ID that neither the registry nor taken has.
func (r *Registry) uniqueRoleID(taken map[string]string) (string, error) {
	for {
		id, err := newRoleID(r.rand)
		if err != nil {
			return "", &Error{Code: CodeInvalidInput, Field: "RoleId", Message: "cannot generate a role ID", Err: err}
		}
		if _, ok := r.roleIDs[id]; ok && taken == nil {
			continue
		}
		if _, ok := taken[id]; ok {
			continue
		}
		return id, nil
	}
}

// DeleteRole removes the role with the ARN; NoSuchEntity if there is none.
func (r *Registry) DeleteRole(arn string) error { return r.deleteRole(arn, 0) }

// deleteRole deletes the role: a local write if applied is 0, else the
// change of that revision made by another replica (see Apply).
func (r *Registry) deleteRole(arn string, applied uint64) error {
	return r.run(applied, func() (*pending, error) { return r.deleteRoleLocked(arn, applied) })
}

// deleteRoleLocked is deleteRole's part under the write lock.
func (r *Registry) deleteRoleLocked(arn string, applied uint64) (*pending, error) {
	s := r.head
	if isApplied(s, applied) {
		return nil, nil
	}
	old := r.role(s, arn)
	if old == nil {
		return nil, noSuchRole(arn)
	}
	ns := *s
	ns.rev = nextRev(s.rev, applied)
	r.setRole(&ns, arn, nil)
	ns.nRoles--
	c := Change{Revision: ns.rev, Kind: RoleDeleted, ARN: arn, OldRole: old}
	if err := r.commitSync(c, applied); err != nil {
		return nil, err
	}
	delete(r.roleIDs, old.RoleID)
	ak := acctKey{old.Partition, old.Account}
	idx := r.accounts[ak]
	delete(idx.roles, strings.ToLower(old.Name))
	r.dropAccountIfEmpty(ak, idx)
	return r.publish(&ns, c, applied), nil
}

// modifyRole is the read-modify-write behind the finer role updates. The
// copy is validated (a changed trust policy parsed) outside the write lock;
// the commit then checks, under the lock, that the role is still the one it
// read (a compare-and-swap), and starts again if a concurrent writer changed
// it, so that no concurrent update is lost.
//
// The role read is the write side's, which under CommitBatch may be a queued
// change: an answer drawn from it without a write of its own (no such role,
// no change, an invalid result) waits until that change is durable, and
// starts again if it failed (see write).
func (r *Registry) modifyRole(arn string, fn func(ro *Role) (changed bool, err error)) (*Role, error) {
	for {
		cur, tail := r.headRole(arn)
		var (
			ro  *Role
			err error
		)
		if cur == nil {
			err = noSuchRole(arn)
		} else {
			next := cur.clone()
			var changed bool
			if changed, err = fn(next); err == nil && !changed {
				ro = cur
			} else if err == nil {
				next.TrustPolicy = nil
				ro, err = validateRole(next, r.maxTrustPolicyChars, func(string) *Role { return cur })
				if err == nil {
					var out *Role
					err = r.write(func() (w *pending, err error) {
						if r.role(r.head, arn) != cur {
							return nil, errRedo
						}
						out, w, err = r.commitRole(r.attemptRole(ro), false, 0)
						return w, err
					})
					if err == errRedo {
						continue
					}
					if err != nil {
						return nil, err
					}
					return out, nil
				}
			}
		}
		if tail != nil && !r.await(tail) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return ro, nil
	}
}

// headRole returns the write side's role with the ARN and the last change
// not yet published.
func (r *Registry) headRole(arn string) (*Role, *pending) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.role(r.head, arn), r.lastUnpublished()
}

// UpdateAssumeRolePolicy replaces the role's trust policy, as IAM's
// UpdateAssumeRolePolicy: the document is checked and parsed as at
// CreateRole.
func (r *Registry) UpdateAssumeRolePolicy(arn, document string) (*Role, error) {
	return r.modifyRole(arn, func(ro *Role) (bool, error) {
		ro.TrustPolicyDocument = document
		return true, nil
	})
}

// RoleUpdate is the input of UpdateRole; a nil or zero field is left as it
// is.
type RoleUpdate struct {
	Description        *string
	MaxSessionDuration time.Duration
}

// UpdateRole changes the role's description and maximum session duration,
// as IAM's UpdateRole.
func (r *Registry) UpdateRole(arn string, u RoleUpdate) (*Role, error) {
	return r.modifyRole(arn, func(ro *Role) (bool, error) {
		if u.Description != nil {
			ro.Description = *u.Description
		}
		if u.MaxSessionDuration != 0 {
			ro.MaxSessionDuration = u.MaxSessionDuration
		}
		return true, nil
	})
}

// TagRole adds tags to the role, replacing the value of a key it has already
// (ignoring case), as IAM's TagRole. More than 50 in total is LimitExceeded.
func (r *Registry) TagRole(arn string, tags []Tag) (*Role, error) {
	if err := validateTags(arn, tags); err != nil {
		return nil, err
	}
	return r.modifyRole(arn, func(ro *Role) (bool, error) {
		ro.Tags = mergeTags(ro.Tags, tags)
		return true, nil
	})
}

// UntagRole removes the tags with the keys (ignoring case), as IAM's
// UntagRole; keys the role does not have are ignored.
func (r *Registry) UntagRole(arn string, keys []string) (*Role, error) {
	return r.modifyRole(arn, func(ro *Role) (bool, error) {
		n := len(ro.Tags)
		ro.Tags = removeTags(ro.Tags, keys)
		return len(ro.Tags) != n, nil
	})
}
