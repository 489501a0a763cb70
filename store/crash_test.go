//go:build unix

package store

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/webidentity/webidentity/iam"
)

// The crash test runs this test binary again as a writer: with
// crashWriterEnv set to a data directory, TestMain runs crashWriter instead
// of the tests.
const (
	crashWriterEnv = "WEBIDENTITY_STORE_CRASH_WRITER"
	crashRoundEnv  = "WEBIDENTITY_STORE_CRASH_ROUND"
	crashWrites    = 3000 // per round; the parent kills the writer long before
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashWriterEnv); dir != "" {
		round, _ := strconv.Atoi(os.Getenv(crashRoundEnv))
		if err := crashWriter(dir, round); err != nil {
			fmt.Fprintln(os.Stderr, "crash writer:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashLine is one line of the writer's output: "begin" before a write
// (naming the entity it touches), then "done" once the write has returned
// success, with the entity as the registry returned it (nil for a delete)
// and the registry's revision.
type crashLine struct {
	Op       string    `json:"op"`
	ARN      string    `json:"arn"`
	Role     *roleView `json:"role,omitempty"`
	Revision uint64    `json:"revision"`
}

// crashWriter opens the store in dir and writes as fast as it can: creates
// roles, rewrites their trust policies, tags them and deletes some, each
// write announced on stdout before it starts and confirmed after it returns.
func crashWriter(dir string, round int) error {
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	reg, err := s.Registry(iam.Options{})
	if err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout) // unbuffered: one write(2) per line
	name := func(i int) string { return "r" + strconv.Itoa(round) + "-" + strconv.Itoa(i) }
	for i := range crashWrites {
		var (
			arn string
			ro  *iam.Role
			err error
		)
		switch i % 5 { // each case is one write: one revision
		case 0, 1:
			arn = roleARN(acctA, name(i))
			_ = out.Encode(crashLine{Op: "begin", ARN: arn})
			ro, err = reg.CreateRole(&iam.Role{Account: acctA, Name: name(i), TrustPolicyDocument: trustDoc(acctA, eksURL, name(i))})
		case 2:
			arn = roleARN(acctA, name(i-2))
			_ = out.Encode(crashLine{Op: "begin", ARN: arn})
			ro, err = reg.UpdateAssumeRolePolicy(arn, trustDoc(acctA, eksURL, "updated-"+name(i)))
		case 3:
			arn = roleARN(acctA, name(i-3))
			_ = out.Encode(crashLine{Op: "begin", ARN: arn})
			ro, err = reg.TagRole(arn, []iam.Tag{{Key: "at", Value: strconv.Itoa(i)}})
		case 4:
			arn = roleARN(acctA, name(i-3))
			_ = out.Encode(crashLine{Op: "begin", ARN: arn})
			err = reg.DeleteRole(arn)
		}
		if err != nil {
			return err
		}
		line := crashLine{Op: "done", ARN: arn, Revision: reg.Revision()}
		if ro != nil {
			v := viewRole(ro)
			line.Role = &v
		}
		if err := out.Encode(line); err != nil {
			return err
		}
	}
	return s.Close()
}

// TestCrashLosesNoAcknowledgedWrite kills a writer process with SIGKILL
// mid-burst, several rounds in the same directory, and checks after each
// that the store opens cleanly and holds every write the writer saw
// succeed, exactly, at consistent revisions.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs writer processes")
	}
	dir := t.TempDir()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	want := map[string]*roleView{} // acknowledged state; nil: deleted
	var storedRev uint64
	for round := range 4 {
		killAfter := 20 + rng.IntN(200) // acknowledged writes before the kill
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), crashWriterEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		var (
			done     int
			pending  string // the entity of a write begun and not acknowledged
			lastRev  = storedRev
			revOrder = true
		)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l crashLine
			require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "line %q", sc.Text())
			switch l.Op {
			case "begin":
				pending = l.ARN
			case "done":
				pending = ""
				want[l.ARN] = l.Role
				revOrder = revOrder && l.Revision == lastRev+1
				lastRev = l.Revision
				if done++; done == killAfter {
					require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				}
			}
		}
		// Lines the writer printed before it died are read to the end: each
		// "done" among them is a write that returned success.
		err = cmd.Wait()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "the writer was killed, not finished: %v", err)
		ws, ok := ee.Sys().(syscall.WaitStatus)
		require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "writer: %v", err)
		require.GreaterOrEqual(t, done, killAfter)
		assert.True(t, revOrder, "acknowledged writes have consecutive revisions, continuing the store's")
		if pending != "" {
			delete(want, pending) // in flight at the kill: either outcome is right
		}

		s, reg := open(t, dir)
		rev, err := s.Revision()
		require.NoError(t, err)
		assert.Contains(t, []uint64{lastRev, lastRev + 1}, rev, "round %d: the store's revision is the last acknowledged one, or one more for the write in flight", round)
		assert.Equal(t, rev, reg.Revision(), "the registry starts at the store's revision")
		for arn, v := range want {
			ro, err := reg.Role(arn)
			if v == nil {
				assert.ErrorIs(t, err, iam.ErrNoSuchEntity, "round %d: %s was deleted", round, arn)
				continue
			}
			if assert.NoError(t, err, "round %d: %s acknowledged and lost", round, arn) {
				assert.Equal(t, *v, viewRole(ro), "round %d: %s", round, arn)
			}
		}
		storedRev = rev
		require.NoError(t, s.Close())
		t.Logf("round %d: killed after %d acknowledged writes (%d read), store at revision %d", round, killAfter, done, rev)
	}
}
