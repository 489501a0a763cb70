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
	"sync"
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
	crashWriterEnv  = "WEBIDENTITY_STORE_CRASH_WRITER"
	crashRoundEnv   = "WEBIDENTITY_STORE_CRASH_ROUND"
	crashWritersEnv = "WEBIDENTITY_STORE_CRASH_WRITERS"
	crashWrites     = 3000 // per writer and round; the parent kills the process long before
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashWriterEnv); dir != "" {
		round, _ := strconv.Atoi(os.Getenv(crashRoundEnv))
		writers, _ := strconv.Atoi(os.Getenv(crashWritersEnv))
		if err := crashWriter(dir, round, max(writers, 1)); err != nil {
			fmt.Fprintln(os.Stderr, "crash writer:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashLine is one line of the writer process's output: "begin" before a
// write (naming the writer goroutine and the entity it touches), then "done"
// once the write has returned success, with the entity as the registry
// returned it (nil for a delete) and the registry's revision read after it
// returned.
type crashLine struct {
	Op       string    `json:"op"`
	Writer   int       `json:"writer"`
	ARN      string    `json:"arn"`
	Role     *roleView `json:"role,omitempty"`
	Revision uint64    `json:"revision"`
}

// crashWriter opens the store in dir and writes as fast as it can from
// writers goroutines, each on roles of its own: creates roles, rewrites
// their trust policies, tags them and deletes some, each write announced on
// stdout before it starts and confirmed after it returns.
func crashWriter(dir string, round, writers int) error {
	s, err := Open(dir, Options{})
	if err != nil {
		return err
	}
	reg, err := s.Registry(iam.Options{MaxRolesPerAccount: -1})
	if err != nil {
		return err
	}
	var outMu sync.Mutex
	out := json.NewEncoder(os.Stdout) // unbuffered: one write(2) per line
	emit := func(l crashLine) error {
		outMu.Lock()
		defer outMu.Unlock()
		return out.Encode(l)
	}
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			errs <- crashWrites1(reg, w, round, emit)
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			return err
		}
	}
	return s.Close()
}

// crashWrites1 is one writer goroutine of crashWriter.
func crashWrites1(reg *iam.Registry, w, round int, emit func(crashLine) error) error {
	name := func(i int) string { return "r" + strconv.Itoa(round) + "-w" + strconv.Itoa(w) + "-" + strconv.Itoa(i) }
	for i := range crashWrites {
		var (
			arn string
			ro  *iam.Role
			err error
		)
		switch i % 5 { // each case is one write: one revision
		case 0, 1:
			arn = roleARN(acctA, name(i))
			_ = emit(crashLine{Op: "begin", Writer: w, ARN: arn})
			ro, err = reg.CreateRole(&iam.Role{Account: acctA, Name: name(i), TrustPolicyDocument: trustDoc(acctA, eksURL, name(i))})
		case 2:
			arn = roleARN(acctA, name(i-2))
			_ = emit(crashLine{Op: "begin", Writer: w, ARN: arn})
			ro, err = reg.UpdateAssumeRolePolicy(arn, trustDoc(acctA, eksURL, "updated-"+name(i)))
		case 3:
			arn = roleARN(acctA, name(i-3))
			_ = emit(crashLine{Op: "begin", Writer: w, ARN: arn})
			ro, err = reg.TagRole(arn, []iam.Tag{{Key: "at", Value: strconv.Itoa(i)}})
		case 4:
			arn = roleARN(acctA, name(i-3))
			_ = emit(crashLine{Op: "begin", Writer: w, ARN: arn})
			err = reg.DeleteRole(arn)
		}
		if err != nil {
			return err
		}
		line := crashLine{Op: "done", Writer: w, ARN: arn, Revision: reg.Revision()}
		if ro != nil {
			v := viewRole(ro)
			line.Role = &v
		}
		if err := emit(line); err != nil {
			return err
		}
	}
	return nil
}

// TestCrashLosesNoAcknowledgedWrite kills a writer process with SIGKILL
// mid-burst, several rounds in the same directory, and checks after each
// that the store opens cleanly and holds every write the writer saw
// succeed, exactly, at consistent revisions. With several writer goroutines
// the writes share transactions (group commit), and a kill lands amid
// batches.
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs writer processes")
	}
	for _, writers := range []int{1, 8} {
		t.Run("writers="+strconv.Itoa(writers), func(t *testing.T) { testCrash(t, writers) })
	}
}

func testCrash(t *testing.T, writers int) {
	dir := t.TempDir()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	want := map[string]*roleView{} // acknowledged state; nil: deleted
	var storedRev uint64
	for round := range 4 {
		killAfter := writers*10 + rng.IntN(200) // acknowledged writes before the kill
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), crashWriterEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round),
			crashWritersEnv+"="+strconv.Itoa(writers))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())

		var (
			done     int
			pending  = map[int]string{} // writer -> the entity of a write begun and not acknowledged
			lastRev  = make([]uint64, writers)
			maxRev   uint64
			revOrder = true
		)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var l crashLine
			require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "line %q", sc.Text())
			switch l.Op {
			case "begin":
				pending[l.Writer] = l.ARN
			case "done":
				delete(pending, l.Writer)
				want[l.ARN] = l.Role
				if writers == 1 {
					revOrder = revOrder && l.Revision == max(lastRev[0], storedRev)+1
				} else {
					revOrder = revOrder && l.Revision > max(lastRev[l.Writer], storedRev)
				}
				lastRev[l.Writer] = l.Revision
				maxRev = max(maxRev, l.Revision)
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
		if writers == 1 {
			assert.True(t, revOrder, "acknowledged writes have consecutive revisions, continuing the store's")
		} else {
			assert.True(t, revOrder, "each writer's acknowledged writes see increasing revisions, after the store's")
		}
		for _, arn := range pending {
			delete(want, arn) // in flight at the kill: either outcome is right
		}

		s, reg := open(t, dir)
		rev, err := s.Revision()
		require.NoError(t, err)
		// Every write is one change: the acknowledged ones are in the store,
		// and at most those in flight besides.
		assert.GreaterOrEqual(t, rev, maxRev, "round %d: a revision a writer saw published is in the store", round)
		assert.GreaterOrEqual(t, rev-storedRev, uint64(done), "round %d: every acknowledged write is a stored change", round)
		assert.LessOrEqual(t, rev-storedRev, uint64(done+len(pending)), "round %d: no more than the writes begun", round)
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
		require.NoError(t, s.Close())
		t.Logf("round %d: killed after %d acknowledged writes (%d read), %d in flight (%d of them stored), store at revision %d",
			round, killAfter, done, len(pending), rev-storedRev-uint64(done), rev)
		storedRev = rev
	}
}
