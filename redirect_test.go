package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
	"ownhttp/loop"
)

// redirectCase is one request to the plain port and the Location it must get; {https} in
// location stands for the HTTPS port.
type redirectCase struct {
	name     string
	raw      string
	method   string // of the request whose response is read; GET when empty
	location string
}

// checkRedirects sends every case on its own connection to the redirect port of s and checks
// the 308, its headers and body, and that the connection closes.
func checkRedirects(t *testing.T, s *tlsServer, cases []redirectCase) {
	t.Helper()
	redirect, ok := s.Bound.Listener(loop.RoleRedirect)
	if !ok {
		t.Fatalf("no redirect listener in %+v", s.Bound)
	}
	https := strconv.Itoa(int(s.Bound.Listeners[0].Addr.Port()))
	plain := *s.Server
	plain.Addr = redirect.Addr.String()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			method := tc.method
			if method == "" {
				method = "GET"
			}
			res := testkit.RoundTrip(t, &plain, tc.raw, []string{method}, false)
			is.NoErr(res.Err)
			resp := res.Resps[0]
			is.Equal(resp.Status, "308 Permanent Redirect")
			is.Equal(resp.Header.Get("Location"), strings.ReplaceAll(tc.location, "{https}", https))
			is.Equal(resp.Header.Get("Cache-Control"), "no-store")
			is.True(resp.Close) // Connection: close
			if method == "HEAD" {
				is.Equal(res.Bodies[0], "")
			} else {
				is.Equal(res.Bodies[0], "Use HTTPS")
			}
			is.True(res.Closed)
		})
	}
}

// With TLS, the plain port answers every request with a 308 to the same target on HTTPS,
// keeping the host only when it names this server (bound here to 127.0.0.1).
func TestRedirectToHTTPS(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := startTLSServer(t, engine, "--access-log=false")
		checkRedirects(t, s, []redirectCase{
			{name: "localhost with port", raw: "GET /a?b=1 HTTP/1.1\r\nHost: localhost:8080\r\n\r\n",
				location: "https://localhost:{https}/a?b=1"},
			{name: "bind address", raw: "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
			{name: "host case", raw: "GET /x HTTP/1.1\r\nHost: LocalHost\r\n\r\n",
				location: "https://localhost:{https}/x"},
			{name: "head", raw: "HEAD /h HTTP/1.1\r\nHost: localhost\r\n\r\n", method: "HEAD",
				location: "https://localhost:{https}/h"},
			{name: "post with body", raw: "POST /submit HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi",
				method: "POST", location: "https://localhost:{https}/submit"},
			{name: "delete", raw: "DELETE /api/mocks/m1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
				method: "DELETE", location: "https://localhost:{https}/api/mocks/m1"},
			{name: "raw target kept", raw: "GET /a%2Fb/./c?q=%20&r HTTP/1.1\r\nHost: localhost\r\n\r\n",
				location: "https://localhost:{https}/a%2Fb/./c?q=%20&r"},
			{name: "absolute form", raw: "GET http://localhost:8080/x/y?z=1 HTTP/1.1\r\nHost: localhost:8080\r\n\r\n",
				location: "https://localhost:{https}/x/y?z=1"},
			{name: "absolute form without path", raw: "GET http://localhost HTTP/1.1\r\nHost: localhost\r\n\r\n",
				location: "https://localhost:{https}/"},
			{name: "asterisk", raw: "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n", method: "OPTIONS",
				location: "https://localhost:{https}/"},
			{name: "http/1.0 without host", raw: "GET /old HTTP/1.0\r\n\r\n",
				location: "https://127.0.0.1:{https}/old"},
			{name: "empty host", raw: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
			{name: "pipelined: one answer, then close", raw: "GET /1 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /2 HTTP/1.1\r\nHost: localhost\r\n\r\n",
				location: "https://localhost:{https}/1"},
		})
	})
}

// A host the client chose is never echoed: the redirect goes to the bind address.
func TestRedirectHostileHosts(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := startTLSServer(t, engine, "--access-log=false")
		checkRedirects(t, s, []redirectCase{
			{name: "foreign host", raw: "GET /a?b=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n",
				location: "https://127.0.0.1:{https}/a?b=1"},
			{name: "foreign host with our port", raw: "GET / HTTP/1.1\r\nHost: evil.example:8080\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
			{name: "suffix of ours", raw: "GET / HTTP/1.1\r\nHost: localhost.evil.example\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
			{name: "prefix of ours", raw: "GET / HTTP/1.1\r\nHost: evil-localhost\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
			{name: "other loopback address", raw: "GET / HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
			{name: "ipv6 loopback when bound to ipv4", raw: "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
			{name: "mapped ipv4", raw: "GET / HTTP/1.1\r\nHost: [::ffff:127.0.0.1]\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
			{name: "percent-encoded name", raw: "GET / HTTP/1.1\r\nHost: local%68ost\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
			{name: "absolute form to a foreign host", raw: "GET http://evil.example/a HTTP/1.1\r\nHost: localhost\r\n\r\n",
				location: "https://127.0.0.1:{https}/a"},
			{name: "scheme-relative target", raw: "GET //evil.example/x HTTP/1.1\r\nHost: localhost\r\n\r\n",
				location: "https://localhost:{https}//evil.example/x"},
			{name: "connect", raw: "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
				method: "CONNECT", location: "https://127.0.0.1:{https}/"},
			{name: "long host", raw: "GET / HTTP/1.1\r\nHost: " + strings.Repeat("a", 300) + "\r\n\r\n",
				location: "https://127.0.0.1:{https}/"},
		})
	})
}

// --public-host names this server too, and replaces foreign hosts.
func TestRedirectPublicHost(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := startTLSServer(t, engine, "--public-host", "api.example.test", "--access-log=false")
		checkRedirects(t, s, []redirectCase{
			{name: "public host", raw: "GET /a?b=1 HTTP/1.1\r\nHost: api.example.test:8080\r\n\r\n",
				location: "https://api.example.test:{https}/a?b=1"},
			{name: "public host case", raw: "GET / HTTP/1.1\r\nHost: API.Example.TEST\r\n\r\n",
				location: "https://api.example.test:{https}/"},
			{name: "localhost still ours", raw: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
				location: "https://localhost:{https}/"},
			{name: "foreign host", raw: "GET /x HTTP/1.1\r\nHost: evil.example\r\n\r\n",
				location: "https://api.example.test:{https}/x"},
			{name: "no host", raw: "GET / HTTP/1.0\r\n\r\n",
				location: "https://api.example.test:{https}/"},
		})
	})
}
