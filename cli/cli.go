// Package cli is ownhttp's client side: the subcommands that talk to a server over HTTP
// (scenario, bench load), run one in this process (bench compare-engines) or make files for
// one (certs). It imports none of the server's packages: what it needs from the server side
// comes in an Env that main builds.
//
// Every failure is reported as an error from Run: a UsageError (exit status 2, its message
// not yet written), an ExitCode (its message already written), flag.ErrHelp (the help was
// written; exit status 0) or any other error (exit status 1, not yet written).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Env is what the command line needs from the server side; main hands it in so cli imports
// none of the server's packages (loop, features).
type Env struct {
	// Serve runs an ownhttp server in this process with the given server flags (as on the
	// command line, e.g. "--engine", "threadpool", "--port", "0", ...). It calls ready once
	// with the base URL ("http://127.0.0.1:PORT") when it serves, and returns after ctx ends
	// and the server stopped.
	Serve func(ctx context.Context, args []string, stderr io.Writer, ready func(baseURL string)) error
	// DevCertificate makes (or reuses) the development certificate under dir.
	DevCertificate func(dir string) (certFile, keyFile string, err error)
}

// Command is one subcommand for `ownhttp --help`.
type Command struct{ Name, Summary string }

// Commands are the subcommands Run knows.
var Commands = []Command{
	{"certs", "make (or reuse) a development TLS certificate"},
	{"scenario", "run scenario files, list and run the server's scenarios, follow its live events, use its proxy"},
	{"bench", "load a server (load) or compare the two engines in this process (compare-engines)"},
	{"mocks", "export the server's API-created mocks as mock files (export DIR), or import HAR, OpenAPI, WireMock or mock files (import FILE|DIR)"},
	{"record", "record a target's answers to requests no mock answers, and make mocks of them (--target NAME)"},
	{"verify", "check how many requests the server received that meet criteria (--count, --at-least, --at-most)"},
}

// IsCommand reports whether name is one of Commands.
func IsCommand(name string) bool {
	return slices.ContainsFunc(Commands, func(c Command) bool { return c.Name == name })
}

// Run runs the subcommand args[0] with args[1:]. It returns when the command is done, or,
// for the commands that follow a server (scenario live), after ctx ends.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) error {
	if len(args) == 0 {
		return Usagef("want a command: certs, scenario, bench, mocks, record or verify")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "certs":
		return runCerts(rest, stdout, env)
	case "scenario":
		return runScenario(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr, env)
	case "mocks":
		return runMocks(ctx, rest, stdout, stderr)
	case "verify":
		return runVerify(ctx, rest, stdout, stderr)
	case "record":
		return runRecord(ctx, rest, stdout, stderr)
	default:
		return Usagef("unknown command %q: want certs, scenario, bench, mocks, record or verify", cmd)
	}
}

// UsageError is a bad command line: exit status 2. Its message has not been written.
type UsageError struct{ msg string }

func (e UsageError) Error() string { return e.msg }

// Usagef returns a UsageError with the formatted message.
func Usagef(format string, args ...any) error { return UsageError{fmt.Sprintf(format, args...)} }

// ExitCode ends the program with this status. Whatever had to be said has already been
// written to stdout or stderr; main prints nothing more.
type ExitCode int

func (e ExitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// Exit statuses of the commands.
const (
	exitFailure    ExitCode = 1 // file missing, server unreachable or answering an error
	exitValidation ExitCode = 2 // invalid scenario or bad --headers-json
	exitFailed     ExitCode = 3 // the run failed (proxy: upstream status >= 400)
)

// envPrefix starts the environment variables the commands read (OWNHTTP_TOKEN, …).
const envPrefix = "OWNHTTP"

// oneLine is the first line of s.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// runCerts is "ownhttp certs --dir DIR": make a development certificate on demand.
func runCerts(args []string, stdout io.Writer, env Env) error {
	fs := flag.NewFlagSet("ownhttp certs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "certs", "directory for dev-cert.pem and dev-key.pem")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: ownhttp certs [--dir DIR]  (makes DIR/dev-cert.pem and DIR/dev-key.pem)")
			return err
		}
		return UsageError{oneLine(err.Error())}
	}
	certFile, keyFile, err := env.DevCertificate(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "certificate: %s\nkey: %s\n", certFile, keyFile)
	return nil
}
