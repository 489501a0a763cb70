package pgstore_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/webidentity/webidentity/iam"
	"github.com/webidentity/webidentity/pgstore"
)

// A replica of a fleet: open the shared database, serve its registry, and
// handle what a write may still fail with. This example needs a
// PostgreSQL server, so it is compiled but not run (no Output comment); the
// package's tests run the same steps against a real server.
func Example() {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, "postgres://webidentity@db.internal:5432/webidentity", pgstore.Options{})
	if err != nil {
		log.Fatal(err) // ErrUnavailable, ErrUnsupportedVersion, ErrCorrupt
	}
	defer s.Close()
	reg, err := s.Registry(iam.Options{})
	if err != nil {
		log.Fatal(err)
	}

	// The verifier and the control plane use reg as any registry; lookups
	// never touch the database.
	p, err := reg.CreateOIDCProvider(&iam.OIDCProvider{
		Account:   "111122223333",
		URL:       "https://token.actions.githubusercontent.com",
		ClientIDs: []string{"sts.amazonaws.com"},
	})
	if err != nil {
		log.Fatal(err)
	}
	role := &iam.Role{
		Account: "111122223333",
		Name:    "deploy",
		TrustPolicyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		  "Principal":{"Federated":"` + p.ARN + `"},"Action":"sts:AssumeRoleWithWebIdentity",
		  "Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:org/app:ref:refs/heads/main"}}}]}`,
	}
	// A write that another replica's write beat is caught up and run again
	// by the registry: the caller sees success or the answer IAM gives
	// against the fleet's state. What is left to handle:
	_, err = reg.CreateRole(role)
	switch {
	case errors.Is(err, iam.ErrEntityAlreadyExists):
		// Another replica (or an earlier run) created it first.
	case errors.Is(err, pgstore.ErrUnavailable):
		// The database is unreachable: nothing changed (but for the
		// case ErrUnavailable's documentation names); retry later.
		log.Print("read-only for now: ", err)
	case errors.Is(err, pgstore.ErrConflict):
		// iam.MaxStaleAttempts races in a row lost (rare): nothing
		// changed. An IAM client retries the HTTP 500 itself.
		log.Print("busy: ", err)
	case err != nil:
		log.Fatal(err)
	}

	// Readiness: decide always, accept writes only with the database.
	if err := s.WritesReady(); err != nil {
		log.Print("read-only for now: ", err)
	}
	st := s.Status()
	log.Printf("revision %d, database at %d, synced %v ago", st.Revision, st.DatabaseRevision, time.Since(st.Synced))
}
