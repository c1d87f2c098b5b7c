package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// The scenario CLI (issue #5, spec §5.5): "ownhttp scenario run|list|run-remote|live|proxy".
//
//	run FILE        validate a scenario file and run it here, against --base-url
//	list            the server's scenarios
//	run-remote ID   run a stored scenario on the server
//	live            a terminal view of the server's live events
//	proxy           send one request through the server's proxy to a target
//
// Exit status: 0 success (a passed run); 1 a missing file, a server that cannot be reached or
// answers an error; 2 a bad command line or an invalid scenario; 3 a failed run (or, for
// proxy, an upstream status of 400 or more). Every failure is one line on stderr, never a
// stack trace. Flags may come before or after the FILE or ID.

// Defaults of the scenario CLI.
const (
	defaultServerURL  = "http://127.0.0.1:8080"
	defaultCLITimeout = 10 * time.Second
	// maxCLIBody caps a response body the CLI reads (a step's response, an API answer).
	maxCLIBody   = 8 << 20
	cliUserAgent = "ownhttp-scenario-cli"
)

// exitCode ends the program with this status. Whatever had to be said has already been
// written to stdout or stderr; main prints nothing more.
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// Exit statuses of the scenario CLI.
const (
	exitFailure    exitCode = 1 // file missing, server unreachable or answering an error
	exitValidation exitCode = 2 // invalid scenario or bad --headers-json
	exitFailed     exitCode = 3 // the run failed (proxy: upstream status >= 400)
)

const scenarioUsage = `Usage: ownhttp scenario COMMAND [flags] [FILE|ID]

Commands:
  run FILE        validate a scenario file and run it from here against --base-url
  list            list the server's scenarios
  run-remote ID   run a stored scenario on the server
  live            follow the server's live events (a dashboard on a terminal, lines otherwise)
  proxy           send one request to a target through the server's proxy

Flags of every command:
  --base-url URL (run) / --server URL (others)   default ` + defaultServerURL + `
  --token TOKEN    sent as "Authorization: Bearer TOKEN" (env OWNHTTP_TOKEN, else OWNHTTP_DEMO_TOKEN)
  --insecure       skip TLS certificate verification (off by default)
  --timeout D      per-request timeout (default 10s)
  --json           print JSON instead of text

run:         --seed N (default 1337)  --junit FILE  --live  --max-steps N  --max-assertions N
run-remote:  --seed N
live:        --refresh-ms N (default 100)  --failed-only
proxy:       --target-id ID --method M --path P  [--body S] [--headers-json '{"k":"v"}']

Exit status: 0 pass; 1 file missing or server unreachable/error; 2 bad usage or invalid
scenario; 3 run failed (proxy: upstream status >= 400).
`

// runScenarioCLI is "ownhttp scenario run|list|run-remote|live|proxy …" (issue #5).
func runScenarioCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, scenarioUsage)
		return usagef("scenario: want a command: run, list, run-remote, live or proxy")
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
		return usagef("scenario: unknown command %q: want run, list, run-remote, live or proxy", cmd)
	}
}

// cliConn holds the connection flags every command has.
type cliConn struct {
	server   string
	token    string
	insecure bool
	timeout  time.Duration
	json     bool
}

// newCLIFlags returns a flag set for "scenario <cmd>" with the connection flags; urlFlag is
// the server URL flag's name (base-url for run, server for the others).
func newCLIFlags(cmd, urlFlag string) (*flag.FlagSet, *cliConn) {
	fs := flag.NewFlagSet("ownhttp scenario "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &cliConn{}
	fs.StringVar(&c.server, urlFlag, defaultServerURL, "server base URL")
	fs.StringVar(&c.token, "token", "", "demo token, sent as Authorization: Bearer")
	fs.BoolVar(&c.insecure, "insecure", false, "skip TLS certificate verification")
	fs.DurationVar(&c.timeout, "timeout", defaultCLITimeout, "per-request timeout")
	fs.BoolVar(&c.json, "json", false, "print JSON")
	return fs, c
}

// parseCLIFlags parses args with flags and positional arguments in any order (the flag
// package alone stops at the first positional one) and returns the positional arguments.
// After "--" everything is positional. Unset connection flags are then read from the
// environment: OWNHTTP_TOKEN (else OWNHTTP_DEMO_TOKEN, the server's), OWNHTTP_SERVER or
// OWNHTTP_BASE_URL, OWNHTTP_INSECURE, OWNHTTP_TIMEOUT.
func parseCLIFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{fs.Name() + ": " + oneLine(err.Error())}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range []string{"token", "server", "base-url", "insecure", "timeout"} {
		if set[name] || fs.Lookup(name) == nil {
			continue
		}
		v := os.Getenv(envPrefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
		if v == "" && name == "token" {
			v = os.Getenv(envPrefix + "_DEMO_TOKEN")
		}
		if v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return nil, usagef("%s: %s from the environment: %v", fs.Name(), name, err)
		}
	}
	return pos, nil
}

// cliHelp prints a command's usage for --help.
func cliHelp(fs *flag.FlagSet, args string, w io.Writer) {
	fmt.Fprintf(w, "Usage: %s [flags]", fs.Name())
	if args != "" {
		fmt.Fprint(w, " "+args)
	}
	fmt.Fprint(w, "\n\n")
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(w, "  --%s (default %q)\n      %s\n", f.Name, f.DefValue, f.Usage)
	})
}

// cliClient talks to one server.
type cliClient struct {
	base  *url.URL // scheme and host, and a path prefix without a trailing "/"
	token string
	hc    *http.Client
}

// newCLIClient checks the server URL and builds the client: no redirects followed (a 3xx is
// an answer), no transparent compression, a fresh connection per request (a scenario step
// never races a server closing an idle connection), TLS verification unless insecure.
// timeout bounds each whole request; 0 leaves the body unbounded (the live stream), with the
// connection and the response head still bounded by headTimeout.
func newCLIClient(server, token string, insecure bool, timeout, headTimeout time.Duration) (*cliClient, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("server URL %q: want http://host[:port] or https://host[:port]", server)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if headTimeout <= 0 {
		headTimeout = defaultCLITimeout
	}
	tr := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: headTimeout}).DialContext,
		TLSHandshakeTimeout:    headTimeout,
		ResponseHeaderTimeout:  headTimeout,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
	}
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // --insecure: the user asked
	}
	return &cliClient{base: u, token: token, hc: &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// baseString is the server URL as messages show it.
func (c *cliClient) baseString() string {
	return c.base.Scheme + "://" + c.base.Host + c.base.Path
}

// newRequest builds a request for target (origin-form: "/path?query"), sent byte for byte
// as given after the base URL's path prefix. Authorization carries the token unless header
// already has one.
func (c *cliClient) newRequest(ctx context.Context, method, target string, header http.Header, body []byte) (*http.Request, error) {
	path, query, hasQuery := strings.Cut(target, "?")
	path = c.base.Path + path
	u := &url.URL{Scheme: c.base.Scheme, Host: c.base.Host}
	if strings.HasPrefix(path, "//") {
		u.Opaque = "//" + c.base.Host + path // absolute-form keeps the path's bytes
	} else {
		u.Opaque = path
	}
	u.RawQuery, u.ForceQuery = query, hasQuery && query == ""
	req, err := http.NewRequestWithContext(ctx, method, c.base.Scheme+"://"+c.base.Host+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.URL = u
	if len(body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if header == nil {
		header = http.Header{}
	}
	req.Header = header
	if _, ok := header["User-Agent"]; !ok {
		header.Set("User-Agent", cliUserAgent)
	}
	if c.token != "" && header.Get("Authorization") == "" {
		header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends a request and reads the response body (at most maxCLIBody bytes).
func (c *cliClient) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxCLIBody))
	if err != nil {
		return resp, b, err
	}
	return resp, b, nil
}

// api sends a JSON request to the server's API and returns the status and body.
func (c *cliClient) api(ctx context.Context, method, target string, payload []byte) (int, []byte, error) {
	h := http.Header{"Accept": {"application/json"}}
	if payload != nil {
		h.Set("Content-Type", "application/json")
	}
	req, err := c.newRequest(ctx, method, target, h, payload)
	if err != nil {
		return 0, nil, err
	}
	resp, body, err := c.do(req)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// unreachable reports whether err means the server could not be reached at all (the
// connection or its TLS handshake failed), as opposed to a request that failed under way.
func unreachable(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect"),
		errors.As(err, &dns), errors.As(err, &cv), errors.As(err, &rh):
		return true
	}
	return false
}

// reportRequestError writes the one line that explains a failed request to the server and
// returns exit status 1: "cannot reach <url>: <cause>" when no connection could be made.
func (c *cliClient) reportRequestError(stderr io.Writer, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "ownhttp: interrupted")
	case unreachable(err):
		fmt.Fprintf(stderr, "ownhttp: cannot reach %s: %s\n", c.baseString(), rootCause(err))
	default:
		fmt.Fprintf(stderr, "ownhttp: request to %s failed: %s\n", c.baseString(), rootCause(err))
	}
	return exitFailure
}

// rootCause returns the message of the innermost error under the url.Error and net.OpError
// wrappers ("connection refused"), with a hint for certificate errors.
func rootCause(err error) string {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		return oneLine(cv.Err.Error()) + " (use --insecure for a self-signed development certificate)"
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return "the server does not speak TLS (use an http:// URL)"
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return oneLine(err.Error())
		}
		err = next
	}
}

// reportAPIError writes an error answer of the server (status and body) to stderr and
// returns exit status 1.
func reportAPIError(stderr io.Writer, status int, body []byte) error {
	fmt.Fprintf(stderr, "ownhttp: server answered %d %s\n", status, http.StatusText(status))
	if len(body) > 0 {
		stderr.Write(body)
		if body[len(body)-1] != '\n' {
			fmt.Fprintln(stderr)
		}
	}
	return exitFailure
}

// randomHex returns 2n random hex characters.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
