package proto

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func newReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// fuzzLimits are tight limits, so that short fuzz inputs reach every limit too.
var fuzzLimits = Limits{MaxHeaderBytes: 160, MaxTargetLength: 40, MaxBodyBytes: 24}

const chunkedHead = "POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"

// FuzzParse checks that ParseHead never panics, answers every prefix of its input
// consistently (ParseHeadFrom too, resuming in pieces), keeps its invariants, and agrees with net/http.ReadRequest on the method, the
// request target and the body of every request both accept (design.md, house style 10).
func FuzzParse(f *testing.F) {
	for _, c := range validRequests {
		f.Add(c.input(f))
	}
	for _, c := range hostileRequests {
		if in := c.input(f); len(in) <= 4096 {
			f.Add(in)
		}
	}
	for _, c := range validChunks {
		f.Add(append([]byte(chunkedHead), c.input(f)...))
	}
	for _, c := range hostileChunks {
		f.Add([]byte(chunkedHead + c.in))
	}
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n"))

	f.Fuzz(func(t *testing.T, in []byte) { checkParse(t, in) })
}

// checkParse is FuzzParse's property for one input. It reports whether net/http accepted the
// input too, so that method, target and body were compared.
func checkParse(t *testing.T, in []byte) (compared bool) {
	// Every prefix yields ErrNeedMore until the answer is decided, then that same answer,
	// with both limit sets (checkPrefixes fails the test otherwise).
	checkPrefixes(t, in, &Limits{})
	checkPrefixes(t, in, &fuzzLimits)
	// Resumed in pieces (ParseHeadFrom), every prefix gets the same answer again.
	checkResumed(t, in, &Limits{}, 5)
	checkResumed(t, in, &fuzzLimits, 5)
	tight := Request{}
	checkInvariants(t, in, &fuzzLimits, &tight, ParseHead(in, &fuzzLimits, &tight))

	var lim Limits
	var req Request
	err := ParseHead(in, &lim, &req)
	checkInvariants(t, in, &lim, &req, err)
	if err != nil {
		return false
	}

	// Our framing of the body (RFC 9112 §6.3).
	var body []byte
	switch {
	case req.Chunked:
		var done bool
		body, _, done, err = decodeWhole(in[req.HeadLen:], &lim)
		body2, n2, done2, err2 := decodeBytewise(in[req.HeadLen:], &lim)
		_, n1, _, _ := decodeWhole(in[req.HeadLen:], &lim)
		if err != err2 || done != done2 || n1 != n2 || !bytes.Equal(body, body2) {
			t.Fatalf("chunked decoding differs byte by byte: whole (%q, %d, %v, %v), bytewise (%q, %d, %v, %v)",
				body, n1, done, err, body2, n2, done2, err2)
		}
		if err != nil || !done {
			return false
		}
	case req.ContentLength >= 0:
		if int64(len(in)-req.HeadLen) < req.ContentLength {
			return false // the body has not fully arrived
		}
		body = in[req.HeadLen : req.HeadLen+int(req.ContentLength)]
	}

	// net/http's reading of the same bytes. It does not skip the empty lines RFC 9112
	// §2.2 lets a server ignore, so it starts at HeadStart.
	hreq, err := http.ReadRequest(newReader(in[req.HeadStart:]))
	if err != nil {
		return false // net/http refuses what we accept: not a disagreement on a shared answer
	}
	hbody, err := io.ReadAll(hreq.Body)
	if err != nil {
		// Includes net/http's own limits (4096-octet chunk lines, its "too much
		// non-data" guard on chunk extensions) and its refusal of some trailer names.
		return false
	}
	if hreq.Method != req.Method.String() {
		t.Fatalf("method: net/http %q, proto %q", hreq.Method, req.Method)
	}
	if hreq.RequestURI != string(req.Target) {
		t.Fatalf("target: net/http %q, proto %q", hreq.RequestURI, req.Target)
	}
	if !bytes.Equal(hbody, body) {
		t.Fatalf("body: net/http %q, proto %q (chunked %v, Content-Length %d)", hbody, body, req.Chunked, req.ContentLength)
	}
	return true
}

// TestAgreeWithNetHTTP runs FuzzParse's property over requests assembled from pieces that
// matter for framing and smuggling (a fixed-seed generator: the same inputs every run). Random
// bytes rarely form a request both parsers accept; these mostly do.
func TestAgreeWithNetHTTP(t *testing.T) {
	is := is.New(t)
	var (
		methods  = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "CONNECT"}
		targets  = []string{"/", "/a/b?c=d&e", "/%41%2F", "http://h.example/x?y", "HTTPS://h.example:8443", "*", "h.example:443", "/caf\xc3\xa9", "/{x}|^", "/a#frag", "/?"}
		versions = []string{"HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/1.7"}
		hosts    = []string{"Host: example.com", "Host:", "Host: [::1]:80", "host:\ta.example\t", "HOST: x:8080"}
		fields   = []string{
			"Content-Length: 5", "Content-Length: 05", "Content-Length:5 ", "Content-Length: 5, 5", "Content-Length: 0",
			"content-length: 3", "Transfer-Encoding: chunked", "Transfer-Encoding: Chunked", "transfer-encoding:  chunked\t",
			"Transfer-Encoding: chunked, chunked", "Transfer-Encoding: gzip", "Transfer-Encoding: chunked;x=1",
			"Connection: close", "Connection: keep-alive, Upgrade", "Expect: 100-continue", "X-A: b", "Trailer: X-T",
			"X-Obs: caf\xc3\xa9", "Cookie: a=b; c=d",
		}
		bodies = []string{
			"", "hello", "abc", "hello world", "5\r\nhello\r\n0\r\n\r\n", "3;x=y\r\nabc\r\n0\r\n\r\n",
			"3 \r\nabc\r\n0\r\nX-T: 1\r\n\r\n", "2\r\nab\r\n1\r\nc\r\n0\r\n\r\n", "0\r\n\r\n",
			"A\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", "3\t;a=\"b;c\"\r\nabc\r\n0;z\r\nX-T:\r\n\r\n",
			"5\r\nhel\r\n\r\n0\r\n\r\n", "0\r\nHost: x\r\n\r\n",
		}
	)
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	compared := 0
	const n = 3000
	for range n {
		var b strings.Builder
		if rng.IntN(8) == 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(pick(methods) + " " + pick(targets) + " " + pick(versions) + "\r\n")
		if rng.IntN(8) != 0 {
			b.WriteString(pick(hosts) + "\r\n")
		}
		for range rng.IntN(4) {
			b.WriteString(pick(fields) + "\r\n")
		}
		b.WriteString("\r\n" + pick(bodies))
		if checkParse(t, []byte(b.String())) {
			compared++
		}
	}
	t.Logf("%d of %d generated requests compared with net/http", compared, n)
	is.True(compared > n/5) // most generated requests are compared, not skipped
}

// checkPrefixes is parseBytewise made affordable for the fuzzer (whose minimizer runs it many
// thousands of times): inputs up to 128 octets are fed one byte at a time; for longer ones the
// first 128 prefixes, about 128 more spread over the input, the last 32, and every prefix
// around the first decided one are checked against the whole input's answer.
func checkPrefixes(t *testing.T, in []byte, lim *Limits) {
	t.Helper()
	if len(in) <= 128 {
		parseBytewise(t, in, lim)
		return
	}
	var req Request
	final := ParseHead(in, lim, &req)
	want := viewOf(&req)
	// check parses the prefix of length n and reports whether it is decided (gives the whole
	// input's answer); a prefix past a decided one must be decided too.
	check := func(n int, mustDecide bool) bool {
		err := ParseHead(in[:n], lim, &req)
		switch {
		case err == ErrNeedMore && final != ErrNeedMore:
			if mustDecide {
				t.Fatalf("prefix %d of %d needs more, a shorter one gave %v", n, len(in), final)
			}
			return false
		case err != final:
			t.Fatalf("prefix %d of %d: %v, whole input: %v", n, len(in), err, final)
		case err == nil && viewOf(&req) != want:
			t.Fatalf("prefix %d parses as %+v, whole input as %+v", n, viewOf(&req), want)
		}
		return true
	}
	step := len(in)/128 + 1
	sampled := func(n int) bool { return n <= 128 || n%step == 0 || n > len(in)-32 }
	prev := 0
	for n := 1; n <= len(in); n++ {
		if !sampled(n) {
			continue
		}
		if !check(n, false) {
			prev = n
			continue
		}
		// n is the first sampled prefix that is decided, so the decision lies in (prev, n]:
		// check every prefix there and the 32 after n, then the remaining samples.
		decided := false
		for m := prev + 1; m < n; m++ {
			decided = check(m, decided) || decided
		}
		for m := n + 1; m <= len(in); m++ {
			if m <= n+32 || sampled(m) {
				check(m, true)
			}
		}
		return
	}
}

// checkInvariants checks what ParseHead promises about its answer.
func checkInvariants(t *testing.T, in []byte, lim *Limits, req *Request, err error) {
	t.Helper()
	if err == ErrNeedMore {
		return
	}
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			t.Fatalf("error %v is not a *Error", err)
		}
		switch e.Status {
		case 400, 413, 414, 417, 431, 501, 505:
		default:
			t.Fatalf("error %v has status %d", e, e.Status)
		}
		return
	}
	switch {
	case req.Method == MethodUnknown:
		t.Fatalf("accepted an unknown method")
	case req.HeadStart < 0 || req.HeadStart >= req.HeadLen || req.HeadLen > len(in):
		t.Fatalf("HeadStart %d, HeadLen %d, input %d", req.HeadStart, req.HeadLen, len(in))
	case req.HeadLen > lim.headerBytes():
		t.Fatalf("HeadLen %d over MaxHeaderBytes %d", req.HeadLen, lim.headerBytes())
	case !bytes.HasSuffix(in[:req.HeadLen], []byte("\r\n\r\n")):
		t.Fatalf("head does not end in CRLF CRLF: %q", in[:req.HeadLen])
	case len(req.Target) == 0 || len(req.Target) > lim.targetLength():
		t.Fatalf("target %q", req.Target)
	case len(req.Path) == 0:
		t.Fatalf("empty path for target %q", req.Target)
	case req.ContentLength < -1 || req.ContentLength > lim.BodyBytes():
		t.Fatalf("Content-Length %d", req.ContentLength)
	case req.Chunked && req.ContentLength != -1:
		t.Fatalf("chunked with Content-Length %d", req.ContentLength)
	case len(req.Headers) > lim.fieldLines():
		t.Fatalf("%d headers", len(req.Headers))
	case req.HTTP11() && req.Host == nil:
		t.Fatalf("HTTP/1.1 without Host accepted")
	case len(req.Host) > 0 && !validHost(req.Host):
		t.Fatalf("invalid Host %q accepted", req.Host)
	}
	for _, h := range req.Headers {
		if !isToken(h.Name) {
			t.Fatalf("field name %q", h.Name)
		}
		for _, c := range h.Value {
			if !fieldValueTable[c] {
				t.Fatalf("field value %q", h.Value)
			}
		}
	}
}
