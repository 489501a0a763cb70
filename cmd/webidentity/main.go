package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Exit statuses of every subcommand.
const (
	exitOK    = 0 // allowed, valid, no high-severity finding, clean shutdown
	exitFail  = 1 // denied or invalid token, high-severity finding, server failure
	exitUsage = 2 // bad flags, unreadable input, invalid configuration
)

// env is what a subcommand may touch of the outside world. main fills it from the process;
// tests fill it with buffers and a fixed clock.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// now is the clock for every decision the command makes.
	now func() time.Time
	// listening, if set, is told the address serve listens on once it accepts connections.
	listening func(addr string)
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, now: time.Now}
	os.Exit(run(context.Background(), os.Args[1:], e))
}

// run dispatches to a subcommand and returns the process exit status.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "demo":
		return runDemo(ctx, rest, e)
	case "verify":
		return runVerify(ctx, rest, e)
	case "lint":
		return runLint(ctx, rest, e)
	case "serve":
		return runServe(ctx, rest, e)
	case "help", "-h", "-help", "--help":
		usage(e.stdout)
		return exitOK
	default:
		fmt.Fprintf(e.stderr, "webidentity: unknown command %q\n\n", cmd)
		usage(e.stderr)
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: webidentity <command> [flags]

commands:
  demo     walk through AssumeRoleWithWebIdentity against an embedded OIDC issuer
  verify   verify a web identity token, optionally against a role's trust policy
  lint     report risky trust policies
  serve    run an STS-compatible AssumeRoleWithWebIdentity endpoint

Run "webidentity <command> -h" for a command's flags, "go doc ./cmd/webidentity" for details.
Exit status: 0 allowed or clean, 1 denied, invalid or failed, 2 usage or configuration error.
`)
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("webidentity "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parseFlags parses args and returns the exit status to use if parsing stopped the command:
// exitOK for -h, exitUsage for a bad flag, -1 to go on.
func parseFlags(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	return -1
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
