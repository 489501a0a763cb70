package pgstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
)

// The process tests run this test binary again as a replica: with childEnv
// set, TestMain runs childMain instead of the tests.
const (
	childEnv      = "WEBIDENTITY_PGSTORE_CHILD"       // "replica" or "burst"
	childDSNEnv   = "WEBIDENTITY_PGSTORE_CHILD_DSN"   // the database
	childRoundEnv = "WEBIDENTITY_PGSTORE_CHILD_ROUND" // burst: names the roles
)

// childLine is one line of a child's output.
type childLine struct {
	Op       string `json:"op"` // ready, created, has, begin, done
	ARN      string `json:"arn,omitempty"`
	RoleID   string `json:"roleID,omitempty"`
	Revision uint64 `json:"revision,omitempty"`
	Has      bool   `json:"has,omitempty"`
	Code     string `json:"code,omitempty"` // the write's iam error code
	Conflict bool   `json:"conflict,omitempty"`
}

func childMain(mode string) int {
	s, err := Open(context.Background(), os.Getenv(childDSNEnv), Options{})
	if err == nil {
		defer s.Close()
		var reg *iam.Registry
		if reg, err = s.Registry(testOptions()); err == nil {
			out := json.NewEncoder(os.Stdout) // unbuffered: one write(2) per line
			switch mode {
			case "replica":
				err = childReplica(reg, out)
			case "burst":
				err = childBurst(reg, out)
			default:
				err = fmt.Errorf("unknown mode %q", mode)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	return 0
}

// childReplica answers commands from stdin: "create NAME" creates a role in
// acctA, "has ARN" reports whether the registry holds it.
func childReplica(reg *iam.Registry, out *json.Encoder) error {
	if err := out.Encode(childLine{Op: "ready"}); err != nil {
		return err
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd, arg, _ := strings.Cut(in.Text(), " ")
		var line childLine
		switch cmd {
		case "create":
			ro, err := reg.CreateRole(newRole(acctA, arg))
			line = childLine{Op: "created", ARN: roleARN(acctA, arg), Revision: reg.Revision()}
			var ie *iam.Error
			switch {
			case errors.As(err, &ie):
				line.Code, line.Conflict = string(ie.Code), errors.Is(err, ErrConflict)
			case err != nil:
				return err
			default:
				line.RoleID = ro.RoleID
			}
		case "has":
			line = childLine{Op: "has", ARN: arg, Has: hasRole(reg, arg)}
		default:
			return fmt.Errorf("unknown command %q", cmd)
		}
		if err := out.Encode(line); err != nil {
			return err
		}
	}
	return in.Err()
}

// childBurst creates roles as fast as it can, each announced before the
// write starts and confirmed once it has returned success.
func childBurst(reg *iam.Registry, out *json.Encoder) error {
	round := os.Getenv(childRoundEnv)
	for i := range 100000 {
		name := "r" + round + "-" + strconv.Itoa(i)
		arn := roleARN(acctA, name)
		if err := out.Encode(childLine{Op: "begin", ARN: arn}); err != nil {
			return err
		}
		ro, err := reg.CreateRole(newRole(acctA, name))
		if err != nil {
			return err
		}
		if err := out.Encode(childLine{Op: "done", ARN: arn, RoleID: ro.RoleID, Revision: reg.Revision()}); err != nil {
			return err
		}
	}
	return nil
}

// child is a running child process.
type child struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan childLine
}

func startChild(t *testing.T, mode, dsn string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+mode, childDSNEnv+"="+dsn)...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{cmd: cmd, in: in, lines: make(chan childLine, 1024)}
	go func() {
		defer close(c.lines)
		dec := json.NewDecoder(stdout)
		for {
			var l childLine
			if err := dec.Decode(&l); err != nil {
				return // EOF, or a line cut short by a kill
			}
			c.lines <- l
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return c
}

func (c *child) next(t *testing.T) childLine {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		require.True(t, ok, "the child exited")
		return l
	case <-time.After(30 * time.Second):
		t.Fatal("no answer from the child")
	}
	panic("unreachable")
}

func (c *child) ask(t *testing.T, cmd string) childLine {
	t.Helper()
	_, err := io.WriteString(c.in, cmd+"\n")
	require.NoError(t, err)
	return c.next(t)
}

// TestSecondProcess: a replica in another process; each enforces the
// other's changes within a second, and of a role created by both at once,
// exactly one creation succeeds and the other is EntityAlreadyExists.
func TestSecondProcess(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	_, a := replica(t, dsn, Options{})
	c := startChild(t, "replica", dsn)
	require.Equal(t, "ready", c.next(t).Op)

	got := c.ask(t, "create from-child")
	require.Empty(t, got.Code)
	took := eventually(t, within, "this process has the child's role", func() bool { return hasRole(a, got.ARN) })
	t.Logf("the child's create seen here after %v", took)

	mine, err := a.CreateRole(newRole(acctA, "from-parent"))
	require.NoError(t, err)
	took = eventually(t, within, "the child has this process's role", func() bool { return c.ask(t, "has "+mine.ARN).Has })
	t.Logf("this process's create seen by the child after %v", took)

	for i := range 5 {
		name := "both-" + strconv.Itoa(i)
		var (
			wg   sync.WaitGroup
			err  error
			line childLine
		)
		wg.Go(func() { _, err = a.CreateRole(newRole(acctA, name)) })
		wg.Go(func() { line = c.ask(t, "create "+name) })
		wg.Wait()
		require.True(t, (err == nil) != (line.Code == ""), "exactly one wins: here %v, child %+v", err, line)
		// The loser gets EntityAlreadyExists, never the race itself.
		if err != nil {
			assert.ErrorIs(t, err, iam.ErrEntityAlreadyExists)
			assert.NotErrorIs(t, err, ErrConflict)
		} else {
			assert.Equal(t, string(iam.CodeEntityAlreadyExists), line.Code, "%+v", line)
			assert.False(t, line.Conflict, "%+v", line)
		}
	}
	require.NoError(t, c.in.Close())
	require.NoError(t, c.cmd.Wait())
}

// TestCrashLosesNoAcknowledgedWrite: a writer process killed with SIGKILL
// mid-burst; every write that had returned success is in the database, as
// it was acknowledged.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	dsn, _ := testDB(t)
	var acknowledged []childLine // over every round
	for round := range 2 {
		c := startChild(t, "burst", dsn, childRoundEnv+"="+strconv.Itoa(round))
		killAfter := 20 + rand.IntN(60)
		var done []childLine
		begun := 0
		for l := range c.lines {
			switch l.Op {
			case "begin":
				begun++
			case "done":
				done = append(done, l)
			}
			if len(done) == killAfter {
				require.NoError(t, c.cmd.Process.Kill())
			}
		}
		err := c.cmd.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "killed")
		require.GreaterOrEqual(t, len(done), killAfter)

		acknowledged = append(acknowledged, done...)

		s, reg := replica(t, dsn, Options{})
		for _, l := range acknowledged {
			ro, err := reg.Role(l.ARN)
			require.NoError(t, err, "acknowledged write %s lost", l.ARN)
			assert.Equal(t, l.RoleID, ro.RoleID)
			assert.LessOrEqual(t, l.Revision, reg.Revision())
		}
		_, roles := reg.Len()
		assert.EqualValues(t, reg.Revision(), roles, "every revision is one create")
		assert.LessOrEqual(t, roles-len(acknowledged), round+1, "besides the acknowledged, at most the write in flight of each round")
		t.Logf("round %d: %d acknowledged, %d begun; %d roles in the database", round, len(done), begun, roles)
		require.NoError(t, s.Close())
	}
}
