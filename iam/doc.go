// Package iam holds the IAM side of a multi-tenant STS: OpenID Connect
// providers and roles, for many accounts, validated as IAM validates them,
// in a Registry that changes at runtime while the verifier reads it without
// locks.
//
// It imports policy (to parse trust policies) and the standard library
// only: no network, no keys, no AWS SDK.
//
// # Entities
//
// An OIDCProvider is one account's registration of an issuer: its ARN
// (arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/X),
// the issuer URL exactly as tokens carry it in iss, the client IDs
// (audiences) it accepts and the certificate thumbprints it pins. Any number
// of accounts may register the same URL, each with its own client IDs. A
// Role has an ARN, a RoleID ("AROA..."), a trust policy (the document as
// written and its compiled policy.Policy) and a maximum session duration.
//
// # Filling a registry
//
//	r := iam.New(iam.Options{})
//	p, err := r.CreateOIDCProvider(&iam.OIDCProvider{
//		Account:   "111122223333",
//		URL:       "https://token.actions.githubusercontent.com",
//		ClientIDs: []string{"sts.amazonaws.com"},
//	})
//	role, err := r.CreateRole(&iam.Role{
//		Account:             "111122223333",
//		Name:                "deploy",
//		TrustPolicyDocument: doc,
//	})
//
// Create* is IAM's Create: an existing entity is EntityAlreadyExists, and so
// is a role whose name another role of the account has in any case. Put* adds
// or replaces (for stores and configuration). The finer IAM updates are
// there too (AddClientIDToOIDCProvider, RemoveClientIDFromOIDCProvider,
// UpdateOIDCProviderThumbprint, TagOIDCProvider, UntagOIDCProvider,
// UpdateAssumeRolePolicy, UpdateRole, TagRole, UntagRole), each atomic with
// respect to concurrent writers; updating or deleting a missing entity is
// NoSuchEntity. Load replaces everything at once, all or nothing, for a
// configuration reload or a store's start-up.
//
// # Validation
//
// Every write validates as IAM's API does at Create/Update, and fails with an
// *Error whose Code is IAM's (errors.Is with ErrValidation, ErrLimitExceeded,
// ...; errors.As for Field and Entity):
//
//   - provider URL: 1 to 255 characters, https://, a DNS host, optional path;
//     no query, fragment, user info or port (InvalidInput). Kept verbatim,
//     case and trailing slash included: it must equal iss byte for byte.
//   - client IDs: 0 to 100 (IAM allows none; such a provider accepts no
//     token), 1 to 255 characters each; duplicates dropped.
//   - thumbprints: 0 to 5 (optional in IAM since it verifies the issuer's
//     TLS chain itself), 40 hex characters each.
//   - tags: at most 50; keys 1 to 128, values 0 to 256 characters of letters,
//     digits, spaces and _.:/=+-@; keys unique ignoring case; "aws:" reserved.
//   - role name 1 to 64 of [\w+=,.@-], unique per account ignoring case; path
//     "/" or "/.../" up to 512 characters of ! to ~; RoleID 16 to 128 of \w.
//   - MaxSessionDuration 3,600 to 43,200 whole seconds (default 1 hour);
//     Description up to 1,000 characters of tab, LF, CR, space to ~ and
//     U+00A1 to U+00FF.
//   - trust policy: 1 to 131,072 characters of tab, LF, CR and U+0020 to
//     U+00FF; at most Options.MaxTrustPolicyLength (2,048 by default, as
//     IAM's quota) characters that are not white space, else LimitExceeded;
//     then policy.Parse, else MalformedPolicyDocument wrapping the
//     *policy.ParseError (its Path is reachable with errors.As).
//   - quotas per account: 100 OIDC providers and 1,000 roles by default
//     (Options), LimitExceeded beyond.
//
// # Lookups
//
// The verifier asks two questions per request, both lock-free and
// allocation-free, a miss included:
//
//	p, err := r.OIDCProvider(partition, account, iss) // the role's account's provider for the token's issuer
//	role, err := r.Role(roleARN)
//
// A miss matches ErrNoSuchEntity. The values returned are immutable
// snapshots: a write publishes a new value and never modifies a published
// one, so a caller may keep using what it got. Once a write method returns,
// every lookup that starts afterwards sees the change.
//
// In a registry of hundreds of thousands of entities a lookup's memory is
// cold. A caller that does other work before it needs the answer (the
// verifier parses the token and checks its signature) can prepare the
// lookup once, ask for its memory ahead, link by link, and finish it later:
//
//	rl := r.PrepareRole(roleARN) // parses and hashes the ARN once
//	rl.Prefetch(0)               // the index slot; later depths follow the chain
//	…
//	role, err := rl.Role()       // the same answer as r.Role(roleARN) now
//
// PrepareOIDCProvider does the same for a provider. Prefetching is a hint:
// it never blocks, allocates or changes a result, and a prepared lookup
// answers as the plain one would at the moment it is finished, whatever was
// written since it was prepared.
//
// # Following changes
//
// Watch calls a function with every committed Change, in commit order, on
// the writer's goroutine after the change is visible and before the write
// returns, each with the next Revision. A Change carries the old and new
// values, and the issuer URLs that gained their first provider or lost their
// last one (IssuersAdded, IssuersRemoved), from which a key cache registers
// and drops issuers; Issuers lists the current ones. The callback must not
// call the registry's write methods.
//
// # Durability
//
// A store makes changes survive restarts through a durability hook, called
// with every change, its Revision assigned, after validation and before the
// change is published. A write returns success only once the hook has
// returned nil, so a change that a caller saw succeed is durable and
// visible; if the hook fails, nothing is published and the write fails with
// CodeServiceFailure (IAM's HTTP 500 code) wrapping the store's error.
// Options.Revision starts the revisions where the store's last one ended.
//
// Options.Commit is the simple hook: one change at a time, under the write
// lock, so writes per second are bounded by the store's commit rate (for a
// disk, its fsync rate); the PostgreSQL store (pgstore) uses it, its
// transactions serialised by the database. Options.CommitBatch is group
// commit: a write validates against the changes queued before it, queues its
// own and releases the lock; one call at a time then persists every change
// queued since the previous call, and the changes are published in revision
// order. A lone writer commits at once, as with Commit; writers that arrive
// during a commit share the next one, so writes per second grow with the
// number of concurrent writers. If a batch fails, none of it is published
// and its writes fail; the writes queued behind it start again against the
// state before it. The package store (an embedded bbolt database) uses
// CommitBatch.
//
// A replica of a fleet installs the changes that other replicas committed
// with Apply: the Change as the other replica's hook saw it, published at
// its own revision, without calling Commit; a change at or below Revision()
// is ignored as applied already.
//
// Replicas race: a write validated against a replica's state may find the
// shared store ahead of it, another replica having committed since. The
// hook then writes nothing and returns an error wrapping ErrStale; with
// Options.CatchUp set, the registry does not fail the write but catches up
// (CatchUp installs the newer changes with Apply) and runs it again against
// the newer state, its checks included, so the caller sees success or the
// answer IAM gives against the fleet's current state (EntityAlreadyExists
// if the other replica created the same role, NoSuchEntity if it deleted
// it), never a ServiceFailure for a mere race. Writes wait while the
// registry is known to be behind, the writes that lost go first once it has
// caught up, and CatchUp may hold the store for their next commit (pgstore
// locks the fleet's revision row) so that they do not lose again. After
// MaxStaleAttempts attempts, or if CatchUp fails, the write fails with
// CodeServiceFailure as before.
package iam
