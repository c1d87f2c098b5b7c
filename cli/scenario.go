package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// The scenario CLI (issue #5, spec §5.5): "ownhttp scenario run|list|run-remote|live|proxy".
//
//	run FILE|DIR…   validate scenario files (JSON or Hurl) and run them here, against --server
//	list            the server's scenarios
//	run-remote ID   run a stored scenario on the server
//	live            a terminal view of the server's live events
//	proxy           send one request through the server's proxy to a target
//
// Exit status: 0 success (every run passed); 1 a missing file, a server that cannot be reached or
// answers an error; 2 a bad command line or an invalid scenario; 3 a failed run (or, for
// proxy, an upstream status of 400 or more). Every failure is one line on stderr, never a
// stack trace. Flags may come before or after the FILE or ID.

const scenarioUsage = `Usage: ownhttp scenario COMMAND [flags] [FILE|ID]

Commands:
  run FILE|DIR... validate scenario files (JSON or .hurl) and run them from here against --server
  list            list the server's scenarios
  run-remote ID   run a stored scenario on the server
  live            follow the server's live events (a dashboard on a terminal, lines otherwise)
  proxy           send one request to a target through the server's proxy

Flags of every command:
  --server URL     default ` + defaultServerURL + ` (env OWNHTTP_SERVER; run also takes --base-url)
  --token TOKEN    sent as "Authorization: Bearer TOKEN" (env OWNHTTP_TOKEN, else OWNHTTP_DEMO_TOKEN)
  --insecure       skip TLS certificate verification (off by default)
  --timeout D      per-request timeout (default 10s)
  --json           print JSON instead of text

run:         --seed N (default 1337)  --junit FILE  --report-json FILE  --jobs N  --live
             --var NAME=VALUE  --secret NAME=VALUE  --vars-file FILE  (also OWNHTTP_VAR_NAME,
             OWNHTTP_SECRET_NAME)  --store=false  --max-steps N  --max-assertions N
run-remote:  --seed N
live:        --refresh-ms N (default 100)  --failed-only
proxy:       --target-id ID --method M --path P  [--body S] [--headers-json '{"k":"v"}']

Exit status: 0 pass; 1 file missing or server unreachable/error; 2 bad usage or invalid
scenario; 3 run failed (proxy: upstream status >= 400).
`

// runScenario is "ownhttp scenario run|list|run-remote|live|proxy …" (issue #5).
func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, scenarioUsage)
		return Usagef("scenario: want a command: run, list, run-remote, live or proxy")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		return cliRun(ctx, rest, stdout, stderr)
	case "list":
		return cliList(ctx, rest, stdout, stderr)
	case "run-remote":
		return cliRunRemote(ctx, rest, stdout, stderr)
	case "live":
		return cliLive(ctx, rest, stdout, stderr)
	case "proxy":
		return cliProxy(ctx, rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, scenarioUsage)
		return flag.ErrHelp
	default:
		return Usagef("scenario: unknown command %q: want run, list, run-remote, live or proxy", cmd)
	}
}
