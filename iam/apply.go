package iam

import "strconv"

// Apply installs a change that another replica made and committed, as its
// Commit hook or a watcher saw it, for a fleet whose replicas share a
// database: the follower learns of the change from the database and applies
// it here. Apply does not call Options.Commit or CommitBatch (the change is
// in the database already); it publishes the change at c.Revision, so the
// follower's revisions are the fleet's, and watchers see it as a local write.
//
// A ProviderCreated or ProviderUpdated change puts c.NewProvider, a
// RoleCreated or RoleUpdated change puts c.NewRole (validated, and its trust
// policy compiled, as by PutOIDCProvider and PutRole), a delete removes
// c.ARN, and Loaded replaces everything with c.Providers and c.Roles as
// Load does. A change at or below Revision() is applied already (a replica's
// own change coming back from the database, or a duplicate notification) and
// is ignored. Revisions may skip: the follower trusts that it is given every
// change, in order, or a Loaded one that resynchronises it; a delete of a
// missing entity is NoSuchEntity, the sign that it was not.
func (r *Registry) Apply(c Change) error {
	if c.Revision == 0 {
		return newError(CodeInvalidInput, c.ARN, "Revision", "a change to apply has a revision")
	}
	if c.Revision <= r.Revision() {
		return nil
	}
	switch c.Kind {
	case ProviderCreated, ProviderUpdated:
		if c.NewProvider == nil {
			return newError(CodeInvalidInput, c.ARN, "NewProvider", c.Kind.String()+" without a provider")
		}
		p, err := validateProvider(c.NewProvider, r.allowPort)
		if err != nil {
			return err
		}
		return r.run(c.Revision, func() (*pending, error) {
			_, w, err := r.commitProvider(p, false, c.Revision)
			return w, err
		})
	case ProviderDeleted:
		return r.deleteProvider(c.ARN, c.Revision)
	case RoleCreated, RoleUpdated:
		if c.NewRole == nil {
			return newError(CodeInvalidInput, c.ARN, "NewRole", c.Kind.String()+" without a role")
		}
		in := c.NewRole.clone()
		in.TrustPolicy = nil
		ro, err := validateRole(in, r.maxTrustPolicyChars, r.currentRole)
		if err != nil {
			return err
		}
		return r.run(c.Revision, func() (*pending, error) {
			_, w, err := r.commitRole(ro, false, c.Revision)
			return w, err
		})
	case RoleDeleted:
		return r.deleteRole(c.ARN, c.Revision)
	case Loaded:
		_, err := r.load(c.Providers, c.Roles, c.Revision)
		return err
	}
	return newError(CodeInvalidInput, c.ARN, "Kind", "unknown change kind "+strconv.Itoa(int(c.Kind)))
}

// isApplied reports whether the change of revision applied (0 for a local
// write) is in s already.
func isApplied(s *state, applied uint64) bool { return applied != 0 && applied <= s.rev }

// nextRev is the revision of the change after cur: cur+1 for a local write,
// or the applied change's own.
func nextRev(cur, applied uint64) uint64 {
	if applied == 0 {
		return cur + 1
	}
	return applied
}
