package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/internal/record"
)

// FileName is the database file's name inside the data directory.
const FileName = "webidentity.db"

// SchemaVersion is the version of the file layout this package writes and
// reads. A file of another version fails Open with ErrUnsupportedVersion.
const SchemaVersion = 1

// DefaultLockTimeout is how long Open waits for another process to release
// the file when Options.LockTimeout is zero.
const DefaultLockTimeout = time.Second

// Errors of Open and Registry, for errors.Is. The error returned wraps one of
// these and the underlying cause, and names the file.
var (
	// ErrCorrupt: the file is not a bbolt database, fails its checksums, or
	// holds data this package did not write.
	ErrCorrupt = errors.New("store: corrupt or foreign database file")
	// ErrUnsupportedVersion: the file was written with another
	// SchemaVersion (by a newer or older release).
	ErrUnsupportedVersion = errors.New("store: unsupported schema version")
	// ErrLocked: another process has the file open.
	ErrLocked = errors.New("store: database file is locked by another process")
	// ErrRegistryOpen: Registry was called a second time; a store serves
	// one registry.
	ErrRegistryOpen = errors.New("store: the store already serves a registry")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("store: closed")
)

// Bucket and key names of the layout.
var (
	bucketMeta      = []byte("meta")
	bucketProviders = []byte("providers")
	bucketRoles     = []byte("roles")
	keySchema       = []byte("schema")
	keyRevision     = []byte("revision")
)

// Options configures a Store. The zero value is fine.
type Options struct {
	// LockTimeout is how long Open waits while another process holds the
	// database file; then Open fails with ErrLocked. If zero,
	// DefaultLockTimeout; if negative, Open waits as long as it takes.
	LockTimeout time.Duration
}

// Store is the embedded store: one bbolt file in a data directory, holding
// every OIDC provider and role of a registry and the revision of the last
// change. Create one with Open, get its registry with Registry, and Close it
// at shutdown.
//
// A Store is safe for concurrent use; its writes are the registry's, which
// the registry hands it one batch at a time.
type Store struct {
	db   *bolt.DB
	path string

	mu      sync.Mutex
	reg     *iam.Registry
	loading bool // the registry's own start-up Load is running

	commits atomic.Uint64 // transactions committed by commitBatch
}

// Open opens the store in dir, creating the directory (mode 0700) and an
// empty store in it if there is none. It fails with ErrCorrupt for a file
// that is not a store, ErrUnsupportedVersion for a store of another
// SchemaVersion and ErrLocked when another process has it open.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	timeout := opts.LockTimeout
	switch {
	case timeout == 0:
		timeout = DefaultLockTimeout
	case timeout < 0:
		timeout = 0 // bbolt: wait forever
	}
	db, err := openBolt(path, timeout)
	if err != nil {
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch),
			errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, errPanic):
			return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.initLayout(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// errPanic marks a panic of bbolt on a damaged file, turned into an error.
var errPanic = errors.New("bbolt panicked on the file")

// openBolt is bolt.Open, with a panic on a damaged file turned into an
// error.
func openBolt(path string, timeout time.Duration) (db *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
}

// initLayout checks the layout of an existing store, or writes the layout
// of a new one.
func (s *Store) initLayout() error {
	fresh := false
	err := s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			empty := true
			_ = tx.ForEach(func([]byte, *bolt.Bucket) error { empty = false; return nil })
			if !empty {
				return fmt.Errorf("%w: %s: no %q bucket", ErrCorrupt, s.path, bucketMeta)
			}
			fresh = true
			return nil
		}
		v := meta.Get(keySchema)
		if v == nil {
			return fmt.Errorf("%w: %s: no schema version", ErrCorrupt, s.path)
		}
		if string(v) != strconv.Itoa(SchemaVersion) {
			return fmt.Errorf("%w: %s has schema version %q, this release reads %d", ErrUnsupportedVersion, s.path, v, SchemaVersion)
		}
		if len(meta.Get(keyRevision)) != 8 || tx.Bucket(bucketProviders) == nil || tx.Bucket(bucketRoles) == nil {
			return fmt.Errorf("%w: %s: incomplete layout", ErrCorrupt, s.path)
		}
		return nil
	})
	if err != nil || !fresh {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
			return err
		}
		if err := meta.Put(keyRevision, revBytes(0)); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketProviders); err != nil {
			return err
		}
		_, err = tx.CreateBucket(bucketRoles)
		return err
	})
}

// view is db.View with a panic (bbolt's reaction to some damaged pages)
// turned into ErrCorrupt.
func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path, p)
		}
	}()
	return s.db.View(fn)
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Revision returns the revision of the last change the store recorded (0
// for a new store).
func (s *Store) Revision() (uint64, error) {
	var rev uint64
	err := s.view(func(tx *bolt.Tx) error {
		rev = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keyRevision))
		return nil
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		err = ErrClosed
	}
	return rev, err
}

// Registry returns a registry holding everything the store holds, at the
// store's revision, and makes the store its Options.CommitBatch hook: from
// then on every write of the registry is in the store before it returns,
// writes that run at the same time sharing one transaction, and a write the
// store cannot make fails with iam.CodeServiceFailure and changes nothing.
// A Load of the registry (an import) replaces the store's content in one
// transaction.
//
// opts are the registry's options; their Commit, CommitBatch and Revision
// must be zero (the store sets them), and so must CatchUp (one process owns
// the store: its hook is never stale, and a CatchUp would never run). The quotas must admit what the store holds, or the
// start-up load fails. A store serves one registry: a second call fails
// with ErrRegistryOpen.
func (s *Store) Registry(opts iam.Options) (*iam.Registry, error) {
	if opts.Commit != nil || opts.CommitBatch != nil || opts.Revision != 0 {
		return nil, errors.New("store: Options.Commit, CommitBatch and Revision are set by the store")
	}
	if opts.CatchUp != nil {
		return nil, errors.New("store: Options.CatchUp has no use: the store has one writer, never ahead of its registry")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reg != nil {
		return nil, ErrRegistryOpen
	}
	provs, roles, rev, err := s.readAll()
	if err != nil {
		return nil, err
	}
	opts.CommitBatch = s.commitBatch
	if rev > 0 {
		// Load advances the revision by one: the loaded state is then at
		// the store's revision.
		opts.Revision = rev - 1
	}
	reg := iam.New(opts)
	if rev > 0 {
		s.loading = true
		err := reg.Load(provs, roles)
		s.loading = false
		if err != nil {
			return nil, fmt.Errorf("store: %s: loading the registry: %w", s.path, err)
		}
	}
	s.reg = reg
	return reg, nil
}

// readAll reads every entity and the revision in one transaction. The
// records are decoded on GOMAXPROCS goroutines while the transaction keeps
// their bytes mapped.
func (s *Store) readAll() (provs []*iam.OIDCProvider, roles []*iam.Role, rev uint64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		rev = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keyRevision))
		pk, pv := collect(tx.Bucket(bucketProviders))
		rk, rv := collect(tx.Bucket(bucketRoles))
		var err error
		provs, roles, err = record.DecodeAll(len(pk), len(rk),
			func(i int) (*iam.OIDCProvider, error) {
				p, err := decodeProvider(pk[i], pv[i], rev)
				if err != nil {
					return nil, fmt.Errorf("%w: %s: provider %q: %w", ErrCorrupt, s.path, pk[i], err)
				}
				return p, nil
			},
			func(i int) (*iam.Role, error) {
				ro, err := decodeRole(rk[i], rv[i], rev)
				if err != nil {
					return nil, fmt.Errorf("%w: %s: role %q: %w", ErrCorrupt, s.path, rk[i], err)
				}
				return ro, nil
			})
		return err
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		err = ErrClosed
	}
	return provs, roles, rev, err
}

// collect returns the bucket's keys and values, which stay valid until the
// transaction ends.
func collect(b *bolt.Bucket) (keys, values [][]byte) {
	_ = b.ForEach(func(k, v []byte) error {
		keys = append(keys, k)
		values = append(values, v)
		return nil
	})
	return keys, values
}

// commitBatch is the registry's CommitBatch hook: the changes of writers
// that ran at the same time, in revision order, in one bbolt transaction,
// fsynced before it returns (bbolt's default). One transaction costs two
// fdatasync calls however many changes it holds; that is what makes
// concurrent writes scale.
func (s *Store) commitBatch(cs []iam.Change) error {
	if len(cs) == 1 && cs[0].Kind == iam.Loaded && s.loading {
		return nil // the start-up load of what the store holds
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, c := range cs {
			if err := apply(tx, c); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyRevision, revBytes(cs[len(cs)-1].Revision))
	})
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	if err == nil {
		s.commits.Add(1)
	}
	return err
}

// apply writes one change in tx.
func apply(tx *bolt.Tx, c iam.Change) error {
	pb, rb := tx.Bucket(bucketProviders), tx.Bucket(bucketRoles)
	switch c.Kind {
	case iam.ProviderCreated, iam.ProviderUpdated:
		return putProvider(pb, c.NewProvider, c.Revision)
	case iam.ProviderDeleted:
		return pb.Delete([]byte(c.ARN))
	case iam.RoleCreated, iam.RoleUpdated:
		return putRole(rb, c.NewRole, c.Revision)
	case iam.RoleDeleted:
		return rb.Delete([]byte(c.ARN))
	case iam.Loaded:
		npb, nrb, err := recreate(tx)
		if err != nil {
			return err
		}
		for _, p := range c.Providers {
			if err := putProvider(npb, p, c.Revision); err != nil {
				return err
			}
		}
		for _, ro := range c.Roles {
			if err := putRole(nrb, ro, c.Revision); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("store: unknown change kind %v", c.Kind)
}

// recreate empties the entity buckets.
func recreate(tx *bolt.Tx) (providers, roles *bolt.Bucket, err error) {
	for _, name := range [][]byte{bucketProviders, bucketRoles} {
		if err := tx.DeleteBucket(name); err != nil {
			return nil, nil, err
		}
	}
	if providers, err = tx.CreateBucket(bucketProviders); err != nil {
		return nil, nil, err
	}
	roles, err = tx.CreateBucket(bucketRoles)
	return providers, roles, err
}

// Close closes the database file. Writes of the store's registry fail
// afterwards (iam.CodeServiceFailure wrapping ErrClosed) and change
// nothing; lookups keep answering from the last state.
func (s *Store) Close() error { return s.db.Close() }

func revBytes(rev uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, rev)
}

func putProvider(b *bolt.Bucket, p *iam.OIDCProvider, rev uint64) error {
	v, err := record.EncodeProvider(p, rev)
	if err != nil {
		return err
	}
	return b.Put([]byte(p.ARN), v)
}

func putRole(b *bolt.Bucket, ro *iam.Role, rev uint64) error {
	v, err := record.EncodeRole(ro, rev)
	if err != nil {
		return err
	}
	return b.Put([]byte(ro.ARN), v)
}

// checkRecord checks what every record must satisfy: its version, its key,
// and a revision no later than the store's.
func checkRecord(v int, key []byte, arn string, recRev, rev uint64) error {
	switch {
	case v != record.Version:
		return fmt.Errorf("%w: record version %d", ErrUnsupportedVersion, v)
	case !bytes.Equal(key, []byte(arn)):
		return fmt.Errorf("record's ARN %q differs from its key", arn)
	case recRev == 0 || recRev > rev:
		return fmt.Errorf("record's revision %d is not in 1..%d", recRev, rev)
	}
	return nil
}

func decodeProvider(key, v []byte, rev uint64) (*iam.OIDCProvider, error) {
	rec, err := record.DecodeProvider(v)
	if err != nil {
		return nil, err
	}
	if err := checkRecord(rec.V, key, rec.ARN, rec.Revision, rev); err != nil {
		return nil, err
	}
	return rec.Entity(), nil
}

func decodeRole(key, v []byte, rev uint64) (*iam.Role, error) {
	rec, err := record.DecodeRole(v)
	if err != nil {
		return nil, err
	}
	if err := checkRecord(rec.V, key, rec.ARN, rec.Revision, rev); err != nil {
		return nil, err
	}
	return rec.Entity(), nil
}
