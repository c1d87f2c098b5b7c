package proto

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// readFixture loads testdata/requests/name: newlines become CRLF, then the escapes \r, \n, \t
// and \xHH are expanded (see testdata/README.md).
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "requests", name))
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 == len(raw) {
			out = append(out, raw[i])
			continue
		}
		switch raw[i+1] {
		case 'r':
			out = append(out, '\r')
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'x':
			n, err := strconv.ParseUint(string(raw[i+2:i+4]), 16, 8)
			if err != nil {
				t.Fatalf("%s: bad escape: %v", name, err)
			}
			out = append(out, byte(n))
			i += 2
		default:
			out = append(out, '\\', raw[i+1])
		}
		i++
	}
	return out
}

// head is the comparable view of a parsed Request; absent ([]byte(nil)) views read "<nil>".
type head struct {
	Method, Target, Path, Query, Host string
	Minor                             uint8
	HTTP11                            bool
	ContentLength                     int64
	Chunked, KeepAlive, Expect100     bool
	HeadStart, HeadLen, NumHeaders    int
}

func str(b []byte) string {
	if b == nil {
		return "<nil>"
	}
	return string(b)
}

func viewOf(r *Request) head {
	return head{
		Method: r.Method.String(), Target: str(r.Target), Path: str(r.Path), Query: str(r.Query),
		Host: str(r.Host), Minor: r.Minor, HTTP11: r.HTTP11(), ContentLength: r.ContentLength,
		Chunked: r.Chunked, KeepAlive: r.KeepAlive(), Expect100: r.Expect100,
		HeadStart: r.HeadStart, HeadLen: r.HeadLen, NumHeaders: len(r.Headers),
	}
}

// parseBytewise feeds in to ParseHead one byte at a time (in[:1], in[:2], …) and checks the
// incremental contract: every prefix yields ErrNeedMore until the result is decided, and from
// then on every longer prefix yields that same result (the same error, or the same parse).
// It returns the final result and the prefix length at which it was decided.
func parseBytewise(t *testing.T, in []byte, lim *Limits) (head, int, error) {
	t.Helper()
	is := is.NewRelaxed(t)
	var (
		req       = Request{Headers: make([]Header, 0, 4)}
		decidedAt = -1
		firstErr  error
		firstView head
	)
	for n := 1; n <= len(in); n++ {
		if decidedAt > 0 && len(in) > 4096 && n-decidedAt > 64 && n != len(in) && (n-decidedAt)&(n-decidedAt-1) != 0 {
			continue // long inputs: past the decision, sample longer prefixes (the parser is stateless)
		}
		err := ParseHead(in[:n], lim, &req)
		if decidedAt < 0 {
			if err == ErrNeedMore {
				continue
			}
			decidedAt, firstErr = n, err
			if err == nil {
				firstView = viewOf(&req)
				is.Equal(req.HeadLen, n) // the head is accepted the moment its final LF arrives
			}
			continue
		}
		if err != firstErr {
			t.Fatalf("prefix %d: %v, but prefix %d already gave %v", n, err, decidedAt, firstErr)
		}
		if err == nil && viewOf(&req) != firstView {
			t.Fatalf("prefix %d parses as %+v, prefix %d as %+v", n, viewOf(&req), decidedAt, firstView)
		}
	}
	if decidedAt < 0 {
		return head{}, len(in), ErrNeedMore
	}
	return firstView, decidedAt, firstErr
}

// parseBoth parses in whole and byte by byte and requires the same answer.
func parseBoth(t *testing.T, in []byte, lim *Limits) (*Request, error) {
	t.Helper()
	is := is.New(t)
	req := &Request{}
	err := ParseHead(in, lim, req)
	view, _, err1 := parseBytewise(t, in, lim)
	is.Equal(err1, err) // byte-at-a-time result equals the whole-buffer result
	if err == nil {
		is.Equal(view, viewOf(req))
	}
	return req, err
}

func withHost(line string, fields ...string) string {
	return line + "\r\nHost: example.com\r\n" + strings.Join(fields, "") + "\r\n"
}

var longTarget8000 = "/" + strings.Repeat("a", 7999)

type validCase struct {
	name string
	in   string // the whole input, head then body (or file: a fixture under testdata/requests)
	file string
	body string // the tail of in after the head
	lim  Limits
	want head // HeadLen is len(in)-len(body) and need not be set
	hdr  map[string]string
}

var validRequests = []validCase{
	{
		name: "origin-form",
		in:   "GET /index.html?q=1&r=2 HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{Method: "GET", Target: "/index.html?q=1&r=2", Path: "/index.html", Query: "q=1&r=2",
			Host: "example.com", Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "origin-form empty query",
		in:   "HEAD /a/b? HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
		want: head{Method: "HEAD", Target: "/a/b?", Path: "/a/b", Query: "", Host: "example.com:8080",
			Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "absolute-form authority wins over Host (RFC 9112 §3.2.2)",
		in:   "GET http://target.example:8080/a/b?x=1 HTTP/1.1\r\nHost: other.example\r\n\r\n",
		want: head{Method: "GET", Target: "http://target.example:8080/a/b?x=1", Path: "/a/b", Query: "x=1",
			Host: "target.example:8080", Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "absolute-form https without path, scheme case-insensitive",
		in:   "DELETE HTTPS://Example.COM HTTP/1.1\r\nHost: x\r\n\r\n",
		want: head{Method: "DELETE", Target: "HTTPS://Example.COM", Path: "/", Query: "<nil>", Host: "Example.COM",
			Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "absolute-form query without path, IPv6 literal",
		in:   "GET http://[::1]:8080?x=1 HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
		want: head{Method: "GET", Target: "http://[::1]:8080?x=1", Path: "/", Query: "x=1", Host: "[::1]:8080",
			Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "OPTIONS asterisk-form (RFC 9112 §3.2.4)",
		in:   "OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{Method: "OPTIONS", Target: "*", Path: "*", Query: "<nil>", Host: "example.com",
			Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "CONNECT authority-form (RFC 9112 §3.2.3)",
		in:   "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		want: head{Method: "CONNECT", Target: "example.com:443", Path: "example.com:443", Query: "<nil>",
			Host: "example.com:443", Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "CONNECT authority-form IPv6",
		in:   "CONNECT [2001:db8::1]:8443 HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n",
		want: head{Method: "CONNECT", Target: "[2001:db8::1]:8443", Path: "[2001:db8::1]:8443", Query: "<nil>",
			Host: "[2001:db8::1]:8443", Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "leading empty lines are ignored (RFC 9112 §2.2)",
		in:   "\r\n\r\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: head{Method: "GET", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: -1, KeepAlive: true, HeadStart: 4, NumHeaders: 1},
	},
	{
		name: "HTTP/1.0 without Host",
		in:   "GET /old HTTP/1.0\r\n\r\n",
		want: head{Method: "GET", Target: "/old", Path: "/old", Query: "<nil>", Host: "<nil>", Minor: 0,
			ContentLength: -1},
	},
	{
		name: "HTTP/1.0 keep-alive (fixture)",
		file: "http10-keepalive.http",
		want: head{Method: "GET", Target: "/status", Path: "/status", Query: "<nil>", Host: "<nil>",
			ContentLength: -1, KeepAlive: true, NumHeaders: 2},
	},
	{
		name: "HTTP/1.5 is served as 1.1 (RFC 9110 §6.2)",
		in:   withHost("GET / HTTP/1.5"),
		want: head{Method: "GET", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 5,
			HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "HTTP/1.9 with a body",
		in:   withHost("PUT /x HTTP/1.9", "Content-Length: 3\r\n") + "abc",
		body: "abc",
		want: head{Method: "PUT", Target: "/x", Path: "/x", Query: "<nil>", Host: "example.com", Minor: 9,
			HTTP11: true, ContentLength: 3, KeepAlive: true, NumHeaders: 2},
	},
	{
		name: "Connection token list with Close",
		in:   withHost("GET / HTTP/1.1", "Connection: foo, Close\r\n"),
		want: head{Method: "GET", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: -1, NumHeaders: 2},
	},
	{
		name: "Connection tokens are not substrings",
		in:   withHost("GET / HTTP/1.1", "Connection: closed, enclose\r\n"),
		want: head{Method: "GET", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 2},
	},
	{
		name: "Connection over two lines, close wins over keep-alive",
		in:   "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: upgrade ,\tclose\r\n\r\n",
		want: head{Method: "GET", Target: "/", Path: "/", Query: "<nil>", Host: "<nil>", ContentLength: -1,
			NumHeaders: 2},
	},
	{
		name: "identical duplicate Content-Length (RFC 9112 §6.3)",
		in:   withHost("POST /p HTTP/1.1", "Content-Length: 5\r\n", "Content-Length: 5\r\n") + "hello",
		body: "hello",
		want: head{Method: "POST", Target: "/p", Path: "/p", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: 5, KeepAlive: true, NumHeaders: 3},
	},
	{
		name: "Content-Length list of identical values (RFC 9110 §8.6)",
		in:   withHost("POST /p HTTP/1.1", "Content-Length: 5, 5\r\n") + "hello",
		body: "hello",
		want: head{Method: "POST", Target: "/p", Path: "/p", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: 5, KeepAlive: true, NumHeaders: 2},
	},
	{
		name: "Content-Length zero and leading zeros",
		in:   withHost("PATCH /p HTTP/1.1", "Content-Length: 000\r\n"),
		want: head{Method: "PATCH", Target: "/p", Path: "/p", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: 0, KeepAlive: true, NumHeaders: 2},
	},
	{
		name: "Expect: 100-continue, case-insensitive (RFC 9110 §10.1.1)",
		in:   withHost("PUT /up HTTP/1.1", "Content-Length: 2\r\n", "Expect: 100-Continue\r\n") + "ok",
		body: "ok",
		want: head{Method: "PUT", Target: "/up", Path: "/up", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: 2, KeepAlive: true, Expect100: true, NumHeaders: 3},
	},
	{
		name: "Expect is ignored on HTTP/1.0",
		in:   "PUT /up HTTP/1.0\r\nExpect: 100-continue\r\nExpect: fly\r\nContent-Length: 2\r\n\r\nok",
		body: "ok",
		want: head{Method: "PUT", Target: "/up", Path: "/up", Query: "<nil>", Host: "<nil>",
			ContentLength: 2, NumHeaders: 3},
	},
	{
		name: "8000-octet target with the default limits",
		in:   withHost("GET " + longTarget8000 + " HTTP/1.1"),
		want: head{Method: "GET", Target: longTarget8000, Path: longTarget8000, Query: "<nil>", Host: "example.com",
			Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "target exactly MaxTargetLength",
		in:   withHost("GET /" + strings.Repeat("t", 99) + " HTTP/1.1"),
		lim:  Limits{MaxTargetLength: 100},
		want: head{Method: "GET", Target: "/" + strings.Repeat("t", 99), Path: "/" + strings.Repeat("t", 99),
			Query: "<nil>", Host: "example.com", Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "head exactly MaxHeaderBytes",
		in:   withHost("GET / HTTP/1.1", "X-Pad: "+strings.Repeat("p", 64-16-19-9-2)+"\r\n"),
		lim:  Limits{MaxHeaderBytes: 64},
		want: head{Method: "GET", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 2},
	},
	{
		name: "MaxHeaderBytes/8 short field lines, within MaxHeaderBytes",
		in:   withHost("GET / HTTP/1.1", strings.Repeat("A: 1\r\n", 31)), // 223 bytes
		lim:  Limits{MaxHeaderBytes: 256},
		want: head{Method: "GET", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 32},
	},
	{
		name: "101 field lines with the default limits (nginx and net/http accept them)",
		in:   withHost("GET / HTTP/1.1", manyHeaders(100)),
		want: head{Method: "GET", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 101},
	},
	{
		name: "Content-Length exactly MaxBodyBytes",
		in:   withHost("POST / HTTP/1.1", "Content-Length: 4\r\n") + "abcd",
		body: "abcd",
		lim:  Limits{MaxBodyBytes: 4},
		want: head{Method: "POST", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: 4, KeepAlive: true, NumHeaders: 2},
	},
	{
		name: "empty Expect and a list of 100-continue",
		in:   withHost("POST / HTTP/1.1", "Expect:\r\n", "Expect: , 100-continue,100-CONTINUE\r\n"),
		want: head{Method: "POST", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: -1, KeepAlive: true, Expect100: true, NumHeaders: 3},
	},
	{
		name: "chunked, coding names are case-insensitive, empty list elements ignored",
		in:   withHost("POST /c HTTP/1.1", "Transfer-Encoding: , Chunked\r\n") + "0\r\n\r\n",
		body: "0\r\n\r\n",
		want: head{Method: "POST", Target: "/c", Path: "/c", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: -1, Chunked: true, KeepAlive: true, NumHeaders: 2},
	},
	{
		name: "empty Host is valid (RFC 9110 §7.2)",
		in:   "GET / HTTP/1.1\r\nHost:\r\n\r\n",
		want: head{Method: "GET", Target: "/", Path: "/", Query: "<nil>", Host: "", Minor: 1, HTTP11: true,
			ContentLength: -1, KeepAlive: true, NumHeaders: 1},
	},
	{
		name: "field values lose OWS, keep inner SP/HTAB and obs-text",
		in:   "TRACE / HTTP/1.1\r\nhOsT: \t example.com \t\r\nX-Text:  caf\xc3\xa9 \tau lait\t\r\nX-Empty:\r\n\r\n",
		want: head{Method: "TRACE", Target: "/", Path: "/", Query: "<nil>", Host: "example.com", Minor: 1,
			HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 3},
		hdr: map[string]string{"host": "example.com", "x-text": "caf\xc3\xa9 \tau lait", "x-empty": "", "x-absent": "<nil>"},
	},
	{
		name: "browser GET (fixture)",
		file: "browser-get.http",
		want: head{Method: "GET", Target: "/search?q=ownhttp&lang=en", Path: "/search", Query: "q=ownhttp&lang=en",
			Host: "www.example.com", Minor: 1, HTTP11: true, ContentLength: -1, KeepAlive: true, NumHeaders: 8},
		hdr: map[string]string{"cookie": "session=abc123; theme=dark", "accept-encoding": "gzip, deflate, br"},
	},
	{
		name: "form POST with Expect (fixture)",
		file: "post-form.http",
		body: "name=ownhttp&stars=5",
		want: head{Method: "POST", Target: "/mocks?validate=1", Path: "/mocks", Query: "validate=1", Host: "localhost:8080",
			Minor: 1, HTTP11: true, ContentLength: 20, KeepAlive: true, Expect100: true, NumHeaders: 4},
	},
	{
		name: "chunked POST with trailer (fixture)",
		file: "chunked-trailers.http",
		body: "4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-Checksum: 1234\r\n\r\n",
		want: head{Method: "POST", Target: "/upload", Path: "/upload", Query: "<nil>", Host: "localhost", Minor: 1,
			HTTP11: true, ContentLength: -1, Chunked: true, KeepAlive: true, NumHeaders: 3},
	},
	{
		name: "proxy absolute-form with Connection: Close (fixture)",
		file: "proxy-absolute.http",
		want: head{Method: "GET", Target: "http://upstream.example:8080/api/v1/items?limit=10", Path: "/api/v1/items",
			Query: "limit=10", Host: "upstream.example:8080", Minor: 1, HTTP11: true, ContentLength: -1, NumHeaders: 3},
		hdr: map[string]string{"host": "proxy.local"},
	},
}

func (c *validCase) input(t testing.TB) []byte {
	if c.file != "" {
		return readFixture(t, c.file)
	}
	return []byte(c.in)
}

func TestParseHeadValid(t *testing.T) {
	for _, tc := range validRequests {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			in := tc.input(t)
			req, err := parseBoth(t, in, &tc.lim)
			is.NoErr(err)
			want := tc.want
			want.HeadLen = len(in) - len(tc.body)
			is.Equal(viewOf(req), want)
			is.Equal(string(in[req.HeadLen:]), tc.body) // the body starts at HeadLen
			for name, v := range tc.hdr {
				is.Equal(str(req.Header(name)), v)
			}
		})
	}
}

// A Request is reused across requests: nothing of the previous parse survives.
func TestParseHeadResetsRequest(t *testing.T) {
	is := is.New(t)
	req := Request{Headers: make([]Header, 0, 8)}
	var lim Limits
	is.NoErr(ParseHead([]byte("POST http://a.example/x?y HTTP/1.1\r\nHost: b\r\nContent-Length: 1\r\n"+
		"Expect: 100-continue\r\nConnection: close\r\n\r\nZ"), &lim, &req))
	is.NoErr(ParseHead([]byte("GET /p HTTP/1.0\r\n\r\n"), &lim, &req))
	is.Equal(viewOf(&req), head{Method: "GET", Target: "/p", Path: "/p", Query: "<nil>", Host: "<nil>",
		ContentLength: -1, HeadLen: 19})
	fresh, err := parseBoth(t, []byte("GET /p HTTP/1.0\r\n\r\n"), &lim)
	is.NoErr(err)
	is.Equal(viewOf(&req), viewOf(fresh)) // reused equals fresh
	is.Equal(cap(req.Headers), 8)         // the caller's Headers storage is kept
}

// Pipelined requests: ParseHead looks only at the first head; the caller slices on.
func TestParseHeadPipelined(t *testing.T) {
	is := is.New(t)
	buf := []byte("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nxGET /3 HTTP/1.1\r\nHost: a\r\n\r\n")
	var lim Limits
	var paths []string
	for len(buf) > 0 {
		req, err := parseBoth(t, buf, &lim) // the bytes of the next request do not disturb this one
		is.NoErr(err)
		paths = append(paths, string(req.Path))
		buf = buf[req.HeadLen+max(int(req.ContentLength), 0):]
	}
	is.Equal(paths, []string{"/1", "/2", "/3"})
}

type hostileCase struct {
	name string
	in   string
	file string
	lim  Limits
	want *Error
}

var (
	manyHeaders = func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("X-H" + strconv.Itoa(i) + ": v\r\n")
		}
		return b.String()
	}
	bigHead = withHost("GET / HTTP/1.1", "X-Big: "+strings.Repeat("b", DefaultMaxHeaderBytes)+"\r\n")
)

var hostileRequests = []hostileCase{
	// Request line (RFC 9112 §3).
	{name: "no target or version", in: "GET\r\n\r\n", want: ErrBadRequestLine},
	{name: "empty method", in: " / HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadRequestLine},
	{name: "no version (HTTP/0.9)", in: "GET /\r\n\r\n", want: ErrBadRequestLine},
	{name: "CR that is no empty line before the request line", in: "\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadRequestLine},
	{name: "LF before the request line", in: "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadRequestLine},
	{name: "method with a separator", in: "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadMethod},
	{name: "method with NUL", in: "GET\x00 / HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadMethod},
	{name: "TLS ClientHello on a plain port", in: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", want: ErrBadMethod},
	{name: "unknown method (RFC 9110 §9.1)", in: "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrUnknownMethod},
	{name: "methods are case-sensitive", in: "get / HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrUnknownMethod},
	{name: "unknown method is decided before the version", in: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", want: ErrUnknownMethod},
	{name: "method longer than any", in: strings.Repeat("M", maxMethodLen+1), want: ErrUnknownMethod},
	{name: "empty target", in: "GET  HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "control in target", in: "GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "DEL in target", in: "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "asterisk-form is only for OPTIONS", in: "GET * HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "authority-form is only for CONNECT", in: "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "CONNECT without port", in: "CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "CONNECT with empty port", in: "CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "CONNECT with origin-form (RFC 9110 §9.3.6)", in: "CONNECT /tunnel HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "CONNECT with absolute-form", in: "CONNECT http://example.com:443/ HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "CONNECT with asterisk-form", in: "CONNECT * HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "CONNECT IPv6 without port", in: "CONNECT [::1] HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "absolute-form with another scheme", in: "GET ftp://example.com/ HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "absolute-form with userinfo (RFC 9110 §4.2.4)", in: "GET http://user@example.com/ HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "absolute-form without authority", in: "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "relative target", in: "GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadTarget},
	{name: "target over the default limit", in: withHost("GET /" + strings.Repeat("a", DefaultMaxTargetLength) + " HTTP/1.1"), want: ErrTargetTooLong},
	{name: "target over the limit is 414 even past MaxHeaderBytes", in: withHost("GET /" + strings.Repeat("a", 3*DefaultMaxHeaderBytes) + " HTTP/1.1"), want: ErrTargetTooLong},
	{name: "target one over a custom limit", in: withHost("GET /" + strings.Repeat("t", 100) + " HTTP/1.1"), lim: Limits{MaxTargetLength: 100}, want: ErrTargetTooLong},
	{name: "version with trailing garbage", in: "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", want: ErrBadVersion},
	{name: "version with trailing space", in: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", want: ErrBadVersion},
	{name: "version is case-sensitive", in: "GET / http/1.1\r\nHost: a\r\n\r\n", want: ErrBadVersion},
	{name: "version without minor", in: "GET / HTTP/1\r\nHost: a\r\n\r\n", want: ErrBadVersion},
	{name: "version with two-digit minor", in: "GET / HTTP/1.10\r\nHost: a\r\n\r\n", want: ErrBadVersion},
	{name: "version with a letter", in: "GET / HTTP/x.1\r\nHost: a\r\n\r\n", want: ErrBadVersion},
	{name: "extra word in the request line", in: "GET / extra HTTP/1.1\r\nHost: a\r\n\r\n", want: ErrBadVersion},
	{name: "HTTP/2.0 (RFC 9110 §15.6.6)", in: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", want: ErrVersion},
	{name: "HTTP/0.9 spelled out", in: "GET / HTTP/0.9\r\nHost: a\r\n\r\n", want: ErrVersion},
	{name: "HTTP/3.1", in: "GET / HTTP/3.1\r\n\r\n", want: ErrVersion},

	// Head size (RFC 9110 §15.5.20 via RFC 6585 §5).
	{name: "head over the default MaxHeaderBytes", in: bigHead, want: ErrHeadTooLarge},
	{name: "head one over a custom limit", in: withHost("GET / HTTP/1.1", "X-Pad: "+strings.Repeat("p", 64-16-19-9-1)+"\r\n"), lim: Limits{MaxHeaderBytes: 64}, want: ErrHeadTooLarge},
	{name: "endless leading empty lines", in: strings.Repeat("\r\n", 40) + "GET / HTTP/1.1\r\n", lim: Limits{MaxHeaderBytes: 64}, want: ErrHeadTooLarge},
	{name: "request line longer than MaxHeaderBytes but within MaxTargetLength", in: withHost("GET /" + strings.Repeat("a", 100) + " HTTP/1.1"), lim: Limits{MaxHeaderBytes: 64}, want: ErrHeadTooLarge},
	{name: "many field lines over the default MaxHeaderBytes", in: withHost("GET / HTTP/1.1", manyHeaders(2000)), want: ErrHeadTooLarge},
	{name: "one short field line over MaxHeaderBytes/8", in: withHost("GET / HTTP/1.1", strings.Repeat("A: 1\r\n", 32)), lim: Limits{MaxHeaderBytes: 256}, want: ErrTooManyHeaders},

	// Field lines (RFC 9112 §5, §2.2).
	{name: "whitespace before the colon (fixture, RFC 9112 §5.1)", file: "bad-space-before-colon.http", want: ErrBadHeader},
	{name: "tab before the colon", in: "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", want: ErrBadHeader},
	{name: "CTL in a field name", in: "GET / HTTP/1.1\r\nHost: a\r\nX\x01Y: v\r\n\r\n", want: ErrBadHeader},
	{name: "field line without a colon", in: "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", want: ErrBadHeader},
	{name: "empty field name", in: "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", want: ErrBadHeader},
	{name: "NUL in a field value (fixture)", file: "bad-nul-value.http", want: ErrBadHeader},
	{name: "DEL in a field value", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", want: ErrBadHeader},
	{name: "obs-fold (RFC 9112 §5.2)", in: "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", want: ErrObsFold},
	{name: "obs-fold hiding a coding (fixture)", file: "smuggle-obs-fold.http", want: ErrObsFold},
	{name: "whitespace before the first field line (RFC 9112 §2.2)", in: "GET / HTTP/1.1\r\n Host: a\r\n\r\n", want: ErrObsFold},
	{name: "bare CR in a field value (fixture)", file: "bad-bare-cr.http", want: ErrBareCR},
	{name: "bare CR after the version", in: "GET / HTTP/1.1\rHost: a\r\n\r\n", want: ErrBareCR},
	{name: "bare CR where the head should end", in: "GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n", want: ErrBareCR},
	{name: "bare LF after the version", in: "GET / HTTP/1.1\nHost: a\n\n", want: ErrBareLF},
	{name: "bare LF after a field", in: "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", want: ErrBareLF},
	{name: "bare LF ends the head", in: "GET / HTTP/1.1\r\nHost: a\r\n\n", want: ErrBareLF},

	// Host (RFC 9112 §3.2).
	{name: "HTTP/1.1 without Host", in: "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", want: ErrMissingHost},
	{name: "HTTP/1.1 absolute-form without Host", in: "GET http://example.com/ HTTP/1.1\r\n\r\n", want: ErrMissingHost},
	{name: "two Host lines", in: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", want: ErrDuplicateHost},
	{name: "two identical Host lines on HTTP/1.0", in: "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", want: ErrDuplicateHost},
	{name: "Host with a space", in: "GET / HTTP/1.1\r\nHost: exa mple.com\r\n\r\n", want: ErrBadHost},
	{name: "Host with userinfo", in: "GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n", want: ErrBadHost},
	{name: "Host with a bad port", in: "GET / HTTP/1.1\r\nHost: example.com:80a\r\n\r\n", want: ErrBadHost},
	{name: "Host with a six-digit port", in: "GET / HTTP/1.1\r\nHost: example.com:123456\r\n\r\n", want: ErrBadHost},
	{name: "Host with two colons", in: "GET / HTTP/1.1\r\nHost: a:b:80\r\n\r\n", want: ErrBadHost},
	{name: "Host with an unclosed IPv6 literal", in: "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", want: ErrBadHost},
	{name: "Host with an empty IPv6 literal", in: "GET / HTTP/1.1\r\nHost: []:80\r\n\r\n", want: ErrBadHost},
	{name: "Host with only a port", in: "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", want: ErrBadHost},
	{name: "bad Host is refused even with absolute-form", in: "GET http://a/ HTTP/1.1\r\nHost: a/b\r\n\r\n", want: ErrBadHost},

	// Framing and smuggling (RFC 9112 §6.1, §6.3; RFC 9110 §8.6).
	{name: "non-digit Content-Length", in: withHost("POST / HTTP/1.1", "Content-Length: abc\r\n"), want: ErrBadContentLength},
	{name: "negative Content-Length", in: withHost("POST / HTTP/1.1", "Content-Length: -1\r\n"), want: ErrBadContentLength},
	{name: "signed Content-Length", in: withHost("POST / HTTP/1.1", "Content-Length: +5\r\n"), want: ErrBadContentLength},
	{name: "hex Content-Length", in: withHost("POST / HTTP/1.1", "Content-Length: 0x5\r\n"), want: ErrBadContentLength},
	{name: "empty Content-Length", in: withHost("POST / HTTP/1.1", "Content-Length: \r\n"), want: ErrBadContentLength},
	{name: "Content-Length with inner space", in: withHost("POST / HTTP/1.1", "Content-Length: 5 5\r\n"), want: ErrBadContentLength},
	{name: "Content-Length list that differs", in: withHost("POST / HTTP/1.1", "Content-Length: 5, 6\r\n"), want: ErrBadContentLength},
	{name: "Content-Length list with an empty member", in: withHost("POST / HTTP/1.1", "Content-Length: 5,\r\n"), want: ErrBadContentLength},
	{name: "conflicting Content-Length lines", in: withHost("POST / HTTP/1.1", "Content-Length: 5\r\n", "Content-Length: 6\r\n"), want: ErrBadContentLength},
	{name: "Content-Length that overflows", in: withHost("POST / HTTP/1.1", "Content-Length: 99999999999999999999\r\n"), want: ErrBadContentLength},
	{name: "CL.TE smuggling (fixture)", file: "smuggle-cl-te.http", want: ErrCLAndTE},
	{name: "TE then CL", in: withHost("POST / HTTP/1.1", "Transfer-Encoding: chunked\r\n", "Content-Length: 0\r\n"), want: ErrCLAndTE},
	{name: "Transfer-Encoding on HTTP/1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrTEOnHTTP10},
	{name: "unknown coding on HTTP/1.0 is still 400", in: "POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", want: ErrTEOnHTTP10},
	{name: "gzip before chunked (RFC 9112 §6.1: 501)", in: withHost("POST / HTTP/1.1", "Transfer-Encoding: gzip, chunked\r\n"), want: ErrUnsupportedTE},
	{name: "identity", in: withHost("POST / HTTP/1.1", "Transfer-Encoding: identity\r\n"), want: ErrUnsupportedTE},
	{name: "chunked not final (RFC 9112 §6.3)", in: withHost("POST / HTTP/1.1", "Transfer-Encoding: chunked, gzip\r\n"), want: ErrBadTE},
	{name: "chunked then identity on two lines (fixture)", file: "smuggle-te-te.http", want: ErrBadTE},
	{name: "chunked twice", in: withHost("POST / HTTP/1.1", "Transfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\r\n"), want: ErrBadTE},
	{name: "empty Transfer-Encoding", in: withHost("POST / HTTP/1.1", "Transfer-Encoding: \r\n"), want: ErrBadTE},
	{name: "coding that is not a token", in: withHost("POST / HTTP/1.1", "Transfer-Encoding: chun ked\r\n"), want: ErrBadTE},
	{name: "unknown expectation (RFC 9110 §10.1.1)", in: withHost("POST / HTTP/1.1", "Expect: 100-continue-please\r\n"), want: ErrExpectation},
	{name: "unknown expectation in a list", in: withHost("POST / HTTP/1.1", "Expect: 100-continue, fly\r\n"), want: ErrExpectation},
	{name: "declared body over the default limit", in: withHost("POST / HTTP/1.1", "Content-Length: "+strconv.Itoa(DefaultMaxBodyBytes+1)+"\r\n"), want: ErrBodyTooLarge},
	{name: "declared body one over a custom limit", in: withHost("POST / HTTP/1.1", "Content-Length: 5\r\n"), lim: Limits{MaxBodyBytes: 4}, want: ErrBodyTooLarge},
}

func (c *hostileCase) input(t testing.TB) []byte {
	if c.file != "" {
		return readFixture(t, c.file)
	}
	return []byte(c.in)
}

func TestParseHeadHostile(t *testing.T) {
	for _, tc := range hostileRequests {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			_, err := parseBoth(t, tc.input(t), &tc.lim)
			is.Equal(err, tc.want) // the expected *Error, whole and byte by byte
		})
	}
}

// Limits act while bytes arrive: the error comes as soon as the limit is passed, not when the
// line or head ends.
func TestParseHeadDecidesEarly(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        string
		lim       Limits
		want      *Error
		decidedAt int // prefix length that first yields want
	}{
		{"414 at the first octet past MaxTargetLength", "GET /" + strings.Repeat("a", 200), Limits{MaxTargetLength: 100}, ErrTargetTooLong, len("GET ") + 101},
		{"414 at the default limit, long before the line ends", "GET /" + strings.Repeat("a", 3*DefaultMaxHeaderBytes), Limits{}, ErrTargetTooLong, len("GET ") + DefaultMaxTargetLength + 1},
		{"431 once MaxHeaderBytes octets hold no complete head", "GET / HTTP/1.1\r\nX: " + strings.Repeat("x", 200), Limits{MaxHeaderBytes: 64}, ErrHeadTooLarge, 64},
		{"431 when the limit falls inside a CRLF", "GET / HTTP/1.1\r\nX: " + strings.Repeat("x", 64-19-1) + "\r\n\r\n", Limits{MaxHeaderBytes: 64}, ErrHeadTooLarge, 64},
		{"431 when the limit falls inside the final CRLF", "GET / HTTP/1.1\r\nX: " + strings.Repeat("x", 64-19-3) + "\r\n\r\n", Limits{MaxHeaderBytes: 64}, ErrHeadTooLarge, 64},
		{"501 for an unknown method before the target arrives", "BREW /" + strings.Repeat("a", 100), Limits{}, ErrUnknownMethod, 5},
		{"400 for a CTL in a name before the line ends", "GET / HTTP/1.1\r\nX\x00" + strings.Repeat("y", 100), Limits{}, ErrBadHeader, 18},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			lim := tc.lim
			_, at, err := parseBytewise(t, []byte(tc.in), &lim)
			is.Equal(err, tc.want)
			is.Equal(at, tc.decidedAt)
		})
	}
}

// errorNames lists the *Error variables declared in errors.go, read from its syntax so that a
// new error cannot be added without a test here.
func errorNames(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Values) != 1 {
			return true
		}
		if call, ok := vs.Values[0].(*ast.CallExpr); ok {
			if fn, ok := call.Fun.(*ast.Ident); ok && fn.Name == "newErr" {
				names = append(names, vs.Names[0].Name)
			}
		}
		return true
	})
	sort.Strings(names)
	return names
}

var allErrors = map[string]*Error{
	"ErrBadRequestLine": ErrBadRequestLine, "ErrBadMethod": ErrBadMethod, "ErrUnknownMethod": ErrUnknownMethod,
	"ErrBadTarget": ErrBadTarget, "ErrTargetTooLong": ErrTargetTooLong, "ErrBadVersion": ErrBadVersion,
	"ErrVersion": ErrVersion, "ErrHeadTooLarge": ErrHeadTooLarge, "ErrTooManyHeaders": ErrTooManyHeaders,
	"ErrBadHeader": ErrBadHeader, "ErrObsFold": ErrObsFold, "ErrBareCR": ErrBareCR, "ErrBareLF": ErrBareLF,
	"ErrMissingHost": ErrMissingHost, "ErrDuplicateHost": ErrDuplicateHost, "ErrBadHost": ErrBadHost,
	"ErrBadContentLength": ErrBadContentLength, "ErrCLAndTE": ErrCLAndTE, "ErrTEOnHTTP10": ErrTEOnHTTP10,
	"ErrUnsupportedTE": ErrUnsupportedTE, "ErrBadTE": ErrBadTE, "ErrExpectation": ErrExpectation,
	"ErrBodyTooLarge": ErrBodyTooLarge, "ErrBadChunk": ErrBadChunk, "ErrChunkSizeOverflow": ErrChunkSizeOverflow,
	"ErrBadTrailer": ErrBadTrailer,
}

// Every protocol error in errors.go is produced by at least one hostile case (the hostile
// tests prove each case yields its error).
func TestEveryErrorIsTested(t *testing.T) {
	is := is.New(t)
	var names []string
	for name := range allErrors {
		names = append(names, name)
	}
	sort.Strings(names)
	is.Equal(names, errorNames(t)) // allErrors matches errors.go

	covered := map[*Error]bool{}
	for _, c := range hostileRequests {
		covered[c.want] = true
	}
	for _, c := range hostileChunks {
		covered[c.want] = true
	}
	for _, name := range names {
		if !covered[allErrors[name]] {
			t.Errorf("%s has no hostile test case", name)
		}
	}
}

func TestErrorStatus(t *testing.T) {
	is := is.New(t)
	want := map[*Error]int{
		ErrUnknownMethod: 501, ErrUnsupportedTE: 501, ErrTargetTooLong: 414, ErrVersion: 505,
		ErrHeadTooLarge: 431, ErrTooManyHeaders: 431, ErrBodyTooLarge: 413, ErrExpectation: 417,
	}
	for _, e := range allErrors {
		status, ok := want[e]
		if !ok {
			status = 400
		}
		is.Equal(e.Status, status) // the status the brief and RFC call for
		is.True(strings.HasPrefix(e.Error(), "proto: "))
		is.True(StatusText(e.Status) != "")
		var target *Error
		is.True(errors.As(error(e), &target))
	}
	is.True(strings.HasPrefix(ErrNeedMore.Error(), "proto: "))
}

func TestLookupMethod(t *testing.T) {
	is := is.New(t)
	for m := MethodGET; m <= MethodCONNECT; m++ {
		is.Equal(LookupMethod([]byte(m.String())), m)
	}
	for _, s := range []string{"", "get", "GETS", "GE", "Post", "PROPFIND", "CONNECTS"} {
		is.Equal(LookupMethod([]byte(s)), MethodUnknown)
	}
	is.Equal(MethodUnknown.String(), "")
	is.Equal(Method(200).String(), "") // out of range: no panic
}

func TestLimitDefaults(t *testing.T) {
	is := is.New(t)
	var zero Limits
	is.Equal(zero.HeaderBytes(), DefaultMaxHeaderBytes)
	is.Equal(zero.BodyBytes(), int64(DefaultMaxBodyBytes))
	is.Equal(zero.targetLength(), DefaultMaxTargetLength)
	is.Equal(zero.fieldLines(), DefaultMaxHeaderBytes/8)
	set := Limits{MaxHeaderBytes: 1, MaxTargetLength: 2, MaxBodyBytes: 3}
	is.Equal(set.HeaderBytes(), 1)
	is.Equal(set.targetLength(), 2)
	is.Equal(set.BodyBytes(), int64(3))
	is.Equal(set.fieldLines(), 0)
}

func TestKeepAlive(t *testing.T) {
	is := is.New(t)
	for _, tc := range []struct {
		minor            uint8
		close, keepAlive bool
		want             bool
	}{
		{1, false, false, true},
		{1, true, false, false},
		{1, true, true, false},
		{0, false, false, false},
		{0, false, true, true},
		{0, true, true, false},
		{7, false, false, true},
	} {
		r := Request{Minor: tc.minor, ConnClose: tc.close, ConnKeepAlive: tc.keepAlive}
		is.Equal(r.KeepAlive(), tc.want)
	}
}

func TestHasBody(t *testing.T) {
	is := is.New(t)
	is.True(!(&Request{ContentLength: -1}).HasBody())
	is.True(!(&Request{ContentLength: 0}).HasBody())
	is.True((&Request{ContentLength: 1}).HasBody())
	is.True((&Request{ContentLength: -1, Chunked: true}).HasBody())
}

func TestTokenHelpers(t *testing.T) {
	is := is.New(t)
	is.True(IsToken("X-Request-Id"))
	is.True(IsToken("!#$%&'*+-.^_`|~09azAZ"))
	is.True(!IsToken(""))
	is.True(!IsToken("a b"))
	is.True(!IsToken("a:b"))
	is.True(!IsToken("caf\xc3\xa9"))
	is.True(EqualFold([]byte("Content-LENGTH"), "content-length"))
	is.True(!EqualFold([]byte("content-lengt"), "content-length"))
	is.True(!EqualFold([]byte("Content_Length"), "content-length"))
}

// fieldValuePrefix (eight octets at a time) stops exactly where a one-octet-at-a-time scan
// of fieldValueTable stops, for every octet at every position of every length.
func TestFieldValuePrefix(t *testing.T) {
	is := is.New(t)
	slow := func(b []byte) int {
		for i, c := range b {
			if !fieldValueTable[c] {
				return i
			}
		}
		return len(b)
	}
	base := []byte("text/html; q=0.9, \x80\xff obs-text, and more of a long value...")
	for n := 0; n <= len(base); n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := append([]byte(nil), base[:n]...)
				b[pos] = byte(c)
				is.Equal(fieldValuePrefix(b), slow(b))
			}
		}
		is.Equal(fieldValuePrefix(base[:n]), n)
	}
}

// Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2-3).
func TestValidHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "example.com:8080": true, "a:": true, "xn--bcher-kva.example": true,
		"a%20b": true, "sub-delims!$&'()*+,;=": true, "127.0.0.1:80": true, "[::1]": true,
		"[::1]:8080": true, "[2001:db8::1]:": true,
		"": false, ":80": false, "a:1:2": false, "a:b": false, "a:123456": false, "a b": false,
		"a/b": false, "a@b": false, "a#b": false, "a|b": false, "[": false, "[]": false,
		"[::1]x": false, "[::1]:8o": false, "[g::1]": false, "a\x7fb": false,
	} {
		if got := validHost([]byte(host)); got != want {
			t.Errorf("validHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// ParseHeadFrom, fed a head in pieces that move in memory between calls (as a connection's
// buffer may), answers every prefix exactly as ParseHead does, views included.
func TestParseHeadFromResumes(t *testing.T) {
	var inputs [][]byte
	for _, c := range validRequests {
		inputs = append(inputs, c.input(t))
	}
	for _, c := range hostileRequests {
		inputs = append(inputs, c.input(t))
	}
	for _, lim := range []*Limits{{}, &fuzzLimits} {
		for _, in := range inputs {
			for _, step := range []int{1, 3, 7, 64} {
				checkResumed(t, in, lim, step)
			}
		}
	}
}

// checkResumed feeds in to ParseHeadFrom step bytes more at a time, each time from a fresh
// copy, and compares every answer with ParseHead's for the same prefix.
func checkResumed(t *testing.T, in []byte, lim *Limits, step int) {
	t.Helper()
	var scan HeadScan
	var got, want Request
	for n := min(step, len(in)); ; n = min(n+step, len(in)) {
		moved := append(make([]byte, 0, n+step), in[:n]...) // another place, another capacity
		err := ParseHeadFrom(moved, lim, &got, &scan)
		wantErr := ParseHead(in[:n], lim, &want)
		if err != wantErr {
			t.Fatalf("%q, %d bytes at a time, prefix %d: %v, ParseHead says %v", in, step, n, err, wantErr)
		}
		if err == nil {
			if viewOf(&got) != viewOf(&want) || !sameHeaders(got.Headers, want.Headers) {
				t.Fatalf("%q, %d bytes at a time: %+v, ParseHead says %+v", in, step, viewOf(&got), viewOf(&want))
			}
		}
		if err == nil { // kept whole: the same bytes and more give the same head, unscanned
			more := append(append(make([]byte, 0, n+8), in[:n]...), "tail"...)
			is := is.New(t)
			is.NoErr(ParseHeadFrom(more, lim, &got, &scan))
			is.True(scan.Parsed())
			is.Equal(viewOf(&got), viewOf(&want))
			is.True(sameHeaders(got.Headers, want.Headers))
			scan.Reset()
		}
		if err != ErrNeedMore || n == len(in) {
			if err != ErrNeedMore && scan.Resumed() != 0 {
				t.Fatalf("%q: the scan was not reset once the head was decided", in)
			}
			break
		}
	}
}

func sameHeaders(a, b []Header) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Name, b[i].Name) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// ParseHeadFrom resumes at the field line it could not finish: fed a line at a time, it
// resumes at each line's start.
func TestParseHeadFromResumePoint(t *testing.T) {
	is := is.New(t)
	lines := []string{"GET / HTTP/1.1\r\n", "Host: a\r\n", "X-One: 1\r\n", "X-Two: 2\r\n", "\r\n"}
	var scan HeadScan
	var req Request
	head := ""
	for _, l := range lines[:len(lines)-1] {
		head += l
		is.Equal(ParseHeadFrom([]byte(head+"X-Par"), &Limits{}, &req, &scan), ErrNeedMore)
		is.Equal(scan.Resumed(), len(head)) // the next call starts at the unfinished line
	}
	is.NoErr(ParseHeadFrom([]byte(head+"\r\n"), &Limits{}, &req, &scan))
	is.Equal(len(req.Headers), 3)
	is.Equal(string(req.Header("x-two")), "2")
	is.True(scan.Parsed()) // kept until the caller's Reset
	scan.Reset()
	is.Equal(scan.Resumed(), 0)
	is.True(!scan.Parsed())
}
