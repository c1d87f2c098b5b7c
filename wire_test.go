package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// want is one expected response.
type want struct {
	method  string // request method, for framing (HEAD has no body); default GET
	status  int
	body    *string           // exact body when set
	headers map[string]string // exact values; absent means "must not be present"
}

const absent = "<absent>"

func str(s string) *string { return &s }

// wireCase is one raw exchange on a fresh connection.
type wireCase struct {
	name   string
	raw    string
	resps  []want
	closed bool // the server closes the connection after the last response
	open   bool // the connection stays open after the last response
	// wholeOnly marks cases whose meaning depends on the bytes arriving together.
	wholeOnly bool
}

var hello = str("Hello World")

// wireCases is the shared table: every case runs on both engines, with the input sent at
// once and one byte per write.
func wireCases() []wireCase {
	longTarget := "/?q=" + strings.Repeat("a", 8000-len("GET /?q= HTTP/1.1"))
	return []wireCase{
		// Routes.
		{name: "get root", raw: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", open: true, resps: []want{{status: 200, body: hello,
			headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Length": "11",
				"Connection": "keep-alive", "Keep-Alive": "timeout=10, max=999", "Server": "ownhttp"}}}},
		{name: "head root", raw: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", open: true, resps: []want{{method: "HEAD", status: 200, body: str(""),
			headers: map[string]string{"Content-Length": "11"}}}},
		{name: "stream", raw: "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", open: true, resps: []want{{status: 200,
			body: str("chunk-one\nchunk-two\nchunk-three\n"), headers: map[string]string{"Content-Length": absent}}}},
		{name: "head stream", raw: "HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n", open: true, resps: []want{{method: "HEAD", status: 200, body: str(""),
			headers: map[string]string{"Content-Length": absent}}}},
		{name: "submit", raw: "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", open: true,
			resps: []want{{status: 200, body: str("Received POST body: hello")}}},
		{name: "submit chunked with extensions and trailers", raw: "POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n",
			open: true, resps: []want{{status: 200, body: str("Received POST body: abcde")}}},
		{name: "healthz", raw: "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", open: true, resps: []want{{status: 200}}},
		{name: "unknown path", raw: "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", open: true, resps: []want{{status: 404, body: str("Not Found")}}},
		{name: "post unknown path", raw: "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", open: true, resps: []want{{status: 404}}},
		{name: "put unknown path", raw: "PUT /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", open: true,
			resps: []want{{status: 405, headers: map[string]string{"Allow": "GET, HEAD, POST"}}}},
		{name: "options path", raw: "OPTIONS /nope HTTP/1.1\r\nHost: x\r\n\r\n", open: true,
			resps: []want{{status: 405, headers: map[string]string{"Allow": "GET, HEAD, POST"}}}},
		{name: "post root", raw: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", open: true,
			resps: []want{{status: 405, headers: map[string]string{"Allow": "GET, HEAD"}}}},
		{name: "get submit", raw: "GET /submit HTTP/1.1\r\nHost: x\r\n\r\n", open: true,
			resps: []want{{status: 405, headers: map[string]string{"Allow": "POST"}}}},
		{name: "options asterisk", raw: "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", open: true,
			resps: []want{{status: 200, headers: map[string]string{"Allow": allowAll, "Content-Length": "0"}}}},
		{name: "query ignored for routing", raw: "GET /?a=1 HTTP/1.1\r\nHost: x\r\n\r\n", open: true, resps: []want{{status: 200, body: hello}}},
		{name: "absolute form", raw: "GET http://example.com/ HTTP/1.1\r\nHost: other\r\n\r\n", open: true, resps: []want{{status: 200, body: hello}}},
		{name: "leading empty lines", raw: "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", open: true, resps: []want{{status: 200, body: hello}}},
		{name: "8000-octet request line", raw: "GET " + longTarget + " HTTP/1.1\r\nHost: x\r\n\r\n", open: true, resps: []want{{status: 200, body: hello}}},
		{name: "higher minor served as 1.1", raw: "GET / HTTP/1.5\r\nHost: x\r\n\r\n", open: true, resps: []want{{status: 200, body: hello,
			headers: map[string]string{"Connection": "keep-alive"}}}},

		// Keep-alive by version and Connection tokens.
		{name: "connection close", raw: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", closed: true,
			resps: []want{{status: 200, headers: map[string]string{"Connection": "close", "Keep-Alive": absent}}}},
		{name: "connection token list", raw: "GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, Close\r\n\r\n", closed: true,
			resps: []want{{status: 200, headers: map[string]string{"Connection": "close"}}}},
		{name: "http/1.0 closes", raw: "GET / HTTP/1.0\r\n\r\n", closed: true,
			resps: []want{{status: 200, body: hello, headers: map[string]string{"Connection": "close"}}}},
		{name: "http/1.0 keep-alive", raw: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", open: true,
			resps: []want{{status: 200, headers: map[string]string{"Connection": "keep-alive"}}}},
		{name: "http/1.0 stream is close-delimited", raw: "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", closed: true,
			resps: []want{{status: 200, body: str("chunk-one\nchunk-two\nchunk-three\n"), headers: map[string]string{"Transfer-Encoding": absent, "Connection": "close"}}}},

		// Pipelining: responses strictly in request order, also around a streamed response.
		{name: "pipelined", raw: "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\n\r\nPOST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			closed: true, resps: []want{
				{status: 200, body: hello, headers: map[string]string{"Keep-Alive": "timeout=10, max=999"}},
				{status: 200, body: str("chunk-one\nchunk-two\nchunk-three\n"), headers: map[string]string{"Keep-Alive": "timeout=10, max=998"}},
				{status: 200, body: str("Received POST body: hi")},
				{status: 404, headers: map[string]string{"Connection": "close"}},
			}},

		// Expect.
		{name: "expect with body present sends no 100", raw: "POST /submit HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", open: true, wholeOnly: true,
			resps: []want{{status: 200, body: str("Received POST body: ok")}}},
		{name: "expect other than 100-continue", raw: "POST /submit HTTP/1.1\r\nHost: x\r\nExpect: x-fancy\r\nContent-Length: 2\r\n\r\nok", closed: true,
			resps: []want{{status: 417}}},
		{name: "expect ignored on http/1.0", raw: "POST /submit HTTP/1.0\r\nExpect: x-fancy\r\nContent-Length: 2\r\n\r\nok", closed: true,
			resps: []want{{status: 200}}},
	}
}

const allowAll = "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH"

// hostileCases is the table of bad input: each gets its status and the connection closes.
func hostileCases() []wireCase {
	bad := func(name, raw string, status int) wireCase {
		return wireCase{name: name, raw: raw, closed: true, resps: []want{{status: status, headers: map[string]string{"Connection": "close"}}}}
	}
	return []wireCase{
		bad("unknown method", "BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
		bad("lower-case method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
		bad("method not a token", "GE(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
		bad("http/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
		bad("http/0.9", "GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505),
		bad("garbage version", "GET / HTTP/1.1x\r\nHost: x\r\n\r\n", 400),
		bad("garbage version word", "GET / FTP/1.1\r\nHost: x\r\n\r\n", 400),
		bad("two-part request line", "GET /\r\nHost: x\r\n\r\n", 400),
		bad("double space", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
		bad("missing host", "GET / HTTP/1.1\r\n\r\n", 400),
		bad("duplicate host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
		bad("invalid host", "GET / HTTP/1.1\r\nHost: a b@c\r\n\r\n", 400),
		bad("target too long", "GET /"+strings.Repeat("a", 9000)+" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
		bad("target over limit and head over limit", "GET /"+strings.Repeat("a", 20000)+" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
		bad("head too large", "GET / HTTP/1.1\r\nHost: x\r\n"+strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 17)+"\r\n", 431),
		bad("declared body too large", "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n", 413),
		bad("declared body too large with expect", "POST /submit HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 600000\r\n\r\n", 413),
		bad("streamed body too large", "POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n80001\r\n", 413),
		bad("space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
		bad("ctl in field name", "GET / HTTP/1.1\r\nHost: x\r\nX\x01Y: z\r\n\r\n", 400),
		bad("line without colon", "GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", 400),
		bad("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", 400),
		bad("bare CR in field", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r2\r\n\r\n", 400),
		bad("bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400),
		bad("NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
		bad("content-length with transfer-encoding", "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
		bad("conflicting content-length", "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
		bad("non-digit content-length", "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400),
		bad("negative content-length", "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
		bad("unknown transfer coding", "POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
		bad("chunked not final", "POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
		bad("chunked twice", "POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
		bad("transfer-encoding on http/1.0", "POST /submit HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
		bad("chunk size overflow", "POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", 400),
		bad("bad chunk hex", "POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
		bad("chunk data without CRLF", "POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
		bad("bad trailer", "POST /submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", 400),
		bad("control in target", "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
		bad("asterisk with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
		bad("relative target", "GET foo HTTP/1.1\r\nHost: x\r\n\r\n", 400),
		bad("binary garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls hello\r\n\r\n", 400),
	}
}

var requestIDRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestWire(t *testing.T) {
	for _, engine := range testkit.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := testkit.Start(t, run, engine, "--access-log=false")
			for _, table := range []struct {
				name  string
				cases []wireCase
			}{{"routes", wireCases()}, {"hostile", hostileCases()}} {
				for _, tc := range table.cases {
					for _, byteByByte := range []bool{false, true} {
						if byteByByte && tc.wholeOnly {
							continue
						}
						name := fmt.Sprintf("%s/%s/whole", table.name, tc.name)
						if byteByByte {
							name = fmt.Sprintf("%s/%s/bytewise", table.name, tc.name)
						}
						t.Run(name, func(t *testing.T) {
							t.Parallel()
							checkCase(t, s, tc, byteByByte)
						})
					}
				}
			}
		})
	}
}

func checkCase(t *testing.T, s *testkit.Server, tc wireCase, byteByByte bool) {
	is := is.NewRelaxed(t)
	methods := make([]string, len(tc.resps))
	for i, w := range tc.resps {
		methods[i] = w.method
		if methods[i] == "" {
			methods[i] = "GET"
		}
	}
	res := testkit.RoundTrip(t, s, tc.raw, methods, byteByByte)
	if res.Err != nil {
		t.Fatalf("reading responses: %v\nraw so far: %q", res.Err, res.Raw)
	}
	for i, w := range tc.resps {
		r := res.Resps[i]
		is.Equal(r.StatusCode, w.status) // status
		if w.body != nil {
			is.Equal(res.Bodies[i], *w.body) // body
		}
		head := headOf(res.Raw, i)
		for name, v := range w.headers {
			got, present := headerLookup(head, name)
			switch {
			case v == absent && present:
				t.Errorf("response %d: header %s present (%q), want absent", i, name, got)
			case v != absent && (!present || got != v):
				t.Errorf("response %d: header %s = %q, want %q", i, name, got, v)
			}
		}
		if r.StatusCode >= 200 && !requestIDRE.MatchString(r.Header.Get("X-Request-ID")) && tc.resps[i].status < 400 {
			t.Errorf("X-Request-ID %q is not 16 hex digits", r.Header.Get("X-Request-ID"))
		}
		if r.Header.Get("Date") == "" {
			t.Errorf("no Date header")
		}
	}
	if tc.closed && !res.Closed {
		t.Errorf("connection left open, want closed")
	}
	if tc.open && !res.Open {
		t.Errorf("connection does not serve a further request, want it kept open")
	}
}

// headOf returns the head of the i-th response in raw.
func headOf(raw []byte, i int) string {
	s := string(raw)
	for n := 0; ; n++ {
		start := strings.Index(s, "HTTP/1.1 ")
		if start < 0 {
			return ""
		}
		s = s[start:]
		end := strings.Index(s, "\r\n\r\n")
		if end < 0 {
			return s
		}
		if n == i {
			return s[:end+2]
		}
		s = s[end:]
	}
}

// headerLookup finds a field in a raw response head.
func headerLookup(head, name string) (string, bool) {
	for _, line := range strings.Split(head, "\r\n")[1:] {
		if k, v, ok := strings.Cut(line, ": "); ok && strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}
