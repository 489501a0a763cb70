package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/internal/testissuer"
)

// pgServer is the PostgreSQL server of the run: WEBIDENTITY_TEST_POSTGRES (set by .ci/run), or
// one started by scripts/postgres.sh for this test binary.
var pgServer struct {
	once sync.Once
	dsn  string
	dir  string // set when this binary started it
	err  error
}

func postgresDSN(t *testing.T) string {
	t.Helper()
	pgServer.once.Do(func() {
		if dsn := os.Getenv("WEBIDENTITY_TEST_POSTGRES"); dsn != "" {
			pgServer.dsn = dsn
			return
		}
		out, err := exec.Command(filepath.Join("..", "..", "scripts", "postgres.sh"), "start").Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = errors.New(strings.TrimSpace(string(ee.Stderr)))
			}
			pgServer.err = err
			return
		}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			k, v, _ := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
			switch v = strings.Trim(v, "'"); k {
			case "WEBIDENTITY_TEST_POSTGRES":
				pgServer.dsn = v
			case "WEBIDENTITY_PG_DIR":
				pgServer.dir = v
			}
		}
	})
	if pgServer.err != nil || pgServer.dsn == "" {
		t.Fatalf("no PostgreSQL server: set WEBIDENTITY_TEST_POSTGRES to a DSN, or install PostgreSQL (Debian: apt-get install postgresql) for scripts/postgres.sh: %v", pgServer.err)
	}
	// A database of the test's own.
	var id [6]byte
	_, _ = rand.Read(id[:])
	name := "wi_cmd_" + hex.EncodeToString(id[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgServer.dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, pgServer.dsn); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
	})
	u, err := url.Parse(pgServer.dsn)
	require.NoError(t, err)
	u.Path = "/" + name
	return u.String()
}

// stopPostgres stops the server this test binary started, if any (TestMain calls it).
func stopPostgres() {
	if pgServer.dir != "" {
		_ = exec.Command(filepath.Join("..", "..", "scripts", "postgres.sh"), "stop", pgServer.dir).Run()
	}
}

// Two serve replicas on one PostgreSQL database (issue 11, item 6): a provider and a role
// created through A are enforced by B within a second, a trust-policy change through B by A,
// and a provider deleted through A turns B's next decision into InvalidIdentityToken.
func TestServeFleetTwoReplicas(t *testing.T) {
	dsn := postgresDSN(t)
	iss := testissuer.Start(t, testissuer.Options{Path: "/id/FLEET", Algorithms: []string{"ES256"}})
	dir := t.TempDir()
	ca := writeCA(t, dir, iss)
	admins := writeAdmins(t, dir)
	args := []string{"-postgres", dsn, "-admin", admins, "-allow-private-addresses", "-ca-file", ca,
		"-addr", "127.0.0.1:0", "-metrics-addr", "off", "-drain", "0s"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	baseA, doneA, logsA := runServeAt(t, ctx, args...)
	baseB, doneB, logsB := runServeAt(t, ctx, args...)
	adminA, adminB := iamClient(baseA, adminKey, adminSecret), iamClient(baseB, adminKey, adminSecret)
	stsB, stsA := newSTSClient(baseB), newSTSClient(baseA)
	token := func(sub string) string {
		return iss.MustMint(t, iss.Claims(sub, testAudience), testissuer.MintOptions{})
	}
	within := func(what string, ok func() bool) {
		t.Helper()
		start := time.Now()
		require.Eventually(t, ok, 5*time.Second, 10*time.Millisecond, "%s\nA:\n%s\nB:\n%s", what, logsA, logsB)
		assert.Less(t, time.Since(start), time.Second, "%s took longer than a second", what)
	}

	p, err := adminA.CreateOpenIDConnectProvider(ctx, &awsiam.CreateOpenIDConnectProviderInput{Url: aws.String(iss.URL()), ClientIDList: []string{testAudience}})
	require.NoError(t, err, "%s", logsA)
	role, err := adminA.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("app"), Path: aws.String("/eks/"),
		AssumeRolePolicyDocument: aws.String(mustJSON(t, irsaPolicy(iss, testSubject)))})
	require.NoError(t, err)
	roleARN := aws.ToString(role.Role.Arn)
	within("B enforces A's new provider and role", func() bool {
		_, err := stsB.AssumeRoleWithWebIdentity(ctx, assumeInput(roleARN, token(testSubject)))
		return err == nil
	})

	const other = "system:serviceaccount:payments:other"
	_, err = adminB.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: aws.String("app"),
		PolicyDocument: aws.String(mustJSON(t, irsaPolicy(iss, other)))})
	require.NoError(t, err, "%s", logsB)
	within("A enforces B's trust policy", func() bool {
		_, err := stsA.AssumeRoleWithWebIdentity(ctx, assumeInput(roleARN, token(testSubject)))
		var ae smithy.APIError
		return errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied"
	})
	_, err = stsA.AssumeRoleWithWebIdentity(ctx, assumeInput(roleARN, token(other)))
	require.NoError(t, err)

	_, err = adminA.DeleteOpenIDConnectProvider(ctx, &awsiam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.OpenIDConnectProviderArn})
	require.NoError(t, err)
	within("B refuses the account's tokens once A deleted the provider", func() bool {
		_, err := stsB.AssumeRoleWithWebIdentity(ctx, assumeInput(roleARN, token(other)))
		var ae smithy.APIError
		return errors.As(err, &ae) && ae.ErrorCode() == "InvalidIdentityToken"
	})

	// Both replicas are ready for writes while the database is up.
	for _, base := range []string{baseA, baseB} {
		code, _ := get(t, base+"/readyz/iam")
		assert.Equal(t, http.StatusOK, code)
	}
	cancel()
	awaitCleanExit(t, doneA, logsA)
	awaitCleanExit(t, doneB, logsB)
	assert.NotContains(t, logsA.String()+logsB.String(), dsn, "the DSN is not logged")
}
