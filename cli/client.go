package cli

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
	"slices"
	"strings"
	"time"
)

// Defaults of the client commands.
const (
	defaultServerURL  = "http://127.0.0.1:8080"
	defaultCLITimeout = 10 * time.Second
	// maxCLIBody caps a response body the CLI reads (a step's response, an API answer).
	maxCLIBody   = 8 << 20
	cliUserAgent = "ownhttp-scenario-cli"
)

// cliConn holds the connection flags every scenario command has.
type cliConn struct {
	server   string
	token    string
	insecure bool
	timeout  time.Duration
	json     bool
}

// newCLIFlags returns a flag set for "scenario <cmd>" with the connection flags; aliases are
// further names of --server (run keeps its older --base-url).
func newCLIFlags(cmd string, aliases ...string) (*flag.FlagSet, *cliConn) {
	fs := flag.NewFlagSet("ownhttp scenario "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &cliConn{}
	addServerFlag(fs, &c.server, aliases...)
	fs.StringVar(&c.token, "token", "", "demo token, sent as Authorization: Bearer")
	fs.BoolVar(&c.insecure, "insecure", false, "skip TLS certificate verification")
	fs.DurationVar(&c.timeout, "timeout", defaultCLITimeout, "per-request timeout")
	fs.BoolVar(&c.json, "json", false, "print JSON")
	return fs, c
}

// addServerFlag registers --server, the server URL every command that talks to a server
// takes, into server, and each of aliases as another name of the same flag.
func addServerFlag(fs *flag.FlagSet, server *string, aliases ...string) {
	fs.StringVar(server, "server", defaultServerURL, "server URL, http://host[:port] or https://host[:port]")
	for _, name := range aliases {
		fs.Var(fs.Lookup("server").Value, name, "the same as --server")
	}
}

// serverAliases are the older names of --server: setting one sets the server URL.
var serverAliases = []string{"base-url", "addr"}

// parseCLIFlags parses args with flags and positional arguments in any order (the flag
// package alone stops at the first positional one) and returns the positional arguments.
// After "--" everything is positional. The connection flags fs has and the command line did
// not set are then read from the environment: --token from OWNHTTP_TOKEN (else
// OWNHTTP_DEMO_TOKEN, the server's), --server (unless an alias of it was given) from
// OWNHTTP_SERVER (else OWNHTTP_BASE_URL, the older name), --insecure from OWNHTTP_INSECURE,
// --timeout from OWNHTTP_TIMEOUT.
func parseCLIFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, UsageError{fs.Name() + ": " + oneLine(err.Error())}
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
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if slices.Contains(serverAliases, f.Name) {
			set["server"] = true
		}
	})
	for _, v := range []struct {
		flag string
		env  []string
	}{
		{"token", []string{"TOKEN", "DEMO_TOKEN"}},
		{"server", []string{"SERVER", "BASE_URL"}},
		{"insecure", []string{"INSECURE"}},
		{"timeout", []string{"TIMEOUT"}},
	} {
		if set[v.flag] || fs.Lookup(v.flag) == nil {
			continue
		}
		for _, name := range v.env {
			name = envPrefix + "_" + name
			if value := os.Getenv(name); value != "" {
				if err := fs.Set(v.flag, value); err != nil {
					return nil, Usagef("%s: %s from the environment: %v", fs.Name(), name, err)
				}
				break
			}
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
	u, err := parseServerURL(server)
	if err != nil {
		return nil, err
	}
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

// parseServerURL checks a server URL: http or https, a host, an optional path prefix (returned
// without a trailing "/"), no query or fragment. A bad one is a UsageError.
func parseServerURL(server string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, Usagef("server URL %q: want http://host[:port] or https://host[:port]", server)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
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
