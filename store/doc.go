// Package store keeps an iam.Registry on disk, so that providers and roles
// survive restarts: the embedded default of serve, one bbolt file in a data
// directory. Pure Go, no cgo, nothing to set up.
//
// # Use
//
//	s, err := store.Open("/var/lib/webidentity", store.Options{})
//	if err != nil { ... }            // ErrCorrupt, ErrUnsupportedVersion, ErrLocked
//	defer s.Close()
//	reg, err := s.Registry(iam.Options{})
//	// reg holds what the store holds; serve it, change it:
//	role, err := reg.CreateRole(&iam.Role{Account: "111122223333", Name: "deploy", TrustPolicyDocument: doc})
//
// Registry loads every provider and role (iam.Registry.Load: all or nothing,
// every trust policy compiled again from its stored text) at the store's
// revision, and installs the store as the registry's iam.Options.CommitBatch
// hook.
//
// # Durability
//
// Every write of the registry is in a bbolt transaction, committed with
// fsync (bbolt's default; NoSync is never set) before the change is
// published. So a write that returned success is on disk: a crash of the
// process, kill -9 included, loses no such change
// (TestCrashLosesNoAcknowledgedWrite kills a real writer process mid-burst,
// with one writer and with several, and checks). A write that the store
// cannot make fails with iam.CodeServiceFailure (IAM's HTTP 500 code),
// wrapping the cause (ErrClosed once the store is closed), and changes
// nothing, in memory or on disk. A Load of the registry, such as an import
// of a JSON configuration, replaces the store's content in one transaction.
//
// A bbolt commit syncs twice (data pages, then the meta page): two
// fdatasync calls, a few milliseconds on most disks. Writes that run at the
// same time share one transaction (the registry's group commit, see
// iam.Options.CommitBatch): while one transaction commits, the writes that
// arrive queue, and the next transaction takes them all. A lone writer
// commits at once, so it makes about half the disk's fdatasync rate in
// writes per second; parallel writers (Terraform runs 10 at once) multiply
// that by the number that share a transaction. No timer is involved: a batch
// is what queued during the previous commit.
//
// # Why bbolt
//
// The registry is a key-value set: entities by ARN, read whole at start,
// written one at a time. bbolt is that: a single file, one writer with
// ACID transactions and fsync at commit, crash-safe by copy-on-write pages
// and a double meta page, in pure Go with a small API and no dependencies.
// SQLite through a pure-Go driver would bring a large translated C code
// base and SQL that buys nothing here.
//
// # Layout (SchemaVersion 1)
//
// Bucket "meta": "schema" the decimal SchemaVersion, "revision" the
// big-endian uint64 revision of the last change. Buckets "providers" and
// "roles": key the entity's ARN, value a JSON record with "v" (the record
// version, 1), "revision" (of the change that wrote it) and every field:
// for a provider url, clientIDs, thumbprints, tags, createDate; for a role
// roleID, trustPolicyDocument (the text as given), maxSessionDurationSeconds,
// description, tags, createDate. Open refuses a file that is not a store
// (ErrCorrupt) or is of another schema version (ErrUnsupportedVersion);
// Registry refuses a record that does not decode, is of another version,
// disagrees with its key or is later than the store's revision.
//
// One process at a time opens a store (bbolt locks the file); a fleet of
// replicas shares a PostgreSQL store instead.
package store
