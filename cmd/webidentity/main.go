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
		fmt.Fprint(e.stderr, "webidentity: no command given\n\n")
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
	case "import":
		return runImport(ctx, rest, e)
	case "issuer":
		return runIssuer(ctx, rest, e)
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
  serve    run an STS-compatible AssumeRoleWithWebIdentity endpoint (and, with -data, IAM)
  import   import a serve configuration's providers and roles into a store (-data)
  issuer   run a local OIDC issuer that mints tokens, to try serve with the AWS CLI

Run "webidentity <command> -h" for a command's flags, "go doc ./cmd/webidentity" for details.
Exit status: 0 allowed or clean, 1 denied, invalid or failed, 2 usage or configuration error.
`)
}

// flagOutput is a flag set's output: stderr, except while -h prints the usage, which goes to
// stdout (as for "webidentity help") because it was asked for.
type flagOutput struct {
	stdout, stderr io.Writer
	help           bool
}

func (o *flagOutput) Write(p []byte) (int, error) {
	if o.help {
		return o.stdout.Write(p)
	}
	return o.stderr.Write(p)
}

// newFlagSet returns a flag set that reports errors instead of exiting. Parse it with
// parseFlags.
func newFlagSet(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("webidentity "+name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{stdout: e.stdout, stderr: e.stderr})
	return fs
}

// parseFlags parses args, flags and positional arguments in any order ("lint a.json -json";
// "--" ends the flags), and returns the exit status to use if parsing stopped the command:
// exitOK for -h, -help or --help (usage on stdout), exitUsage for a bad flag (what is wrong,
// then usage, on stderr), -1 to go on. Afterwards fs.Args() holds the positional arguments in
// their order. (A "--" given as a flag's value, "-o --", followed by arguments is read as the
// end of the flags; write "-o=--".)
func parseFlags(fs *flag.FlagSet, args []string) int {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package's own call; parseFlags prints usage itself
	defer func() { fs.Usage = usage }()
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			if out, ok := fs.Output().(*flagOutput); ok {
				out.help = true
				defer func() { out.help = false }()
			}
			printUsage(fs, usage)
			return exitOK
		}
		if err != nil {
			// The flag package has printed what is wrong ("flag provided but not defined").
			printUsage(fs, usage)
			return exitUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...) // after "--", everything is positional
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	// Leave the positional arguments in fs.Args(): "--" makes Parse take them all as such.
	_ = fs.Parse(append([]string{"--"}, positional...))
	return -1
}

// printUsage prints a flag set's usage: its Usage function, or the flag package's default.
func printUsage(fs *flag.FlagSet, usage func()) {
	if usage != nil {
		usage()
		return
	}
	fmt.Fprintf(fs.Output(), "usage of %s:\n", fs.Name())
	fs.PrintDefaults()
}

// usageError prints "webidentity CMD: what is wrong" and then the command's usage on stderr,
// and returns exitUsage: every usage error says what is wrong before the usage.
func usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), fs.Name()+": "+format+"\n", args...)
	if fs.Usage != nil {
		fs.Usage()
	} else {
		fs.PrintDefaults()
	}
	return exitUsage
}

// noArgs refuses positional arguments: it returns exitUsage after saying so, or -1.
func noArgs(fs *flag.FlagSet) int {
	if fs.NArg() != 0 {
		return usageError(fs, "unexpected arguments %q (this command takes only flags)", fs.Args())
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
