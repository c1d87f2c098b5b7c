package proto

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// registered is the reason-phrase table written out from RFC 9110 §15 and the IANA HTTP Status
// Code Registry (plus 418 as net/http and most servers spell it), independently of status.go.
var registered = map[int]string{
	100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
	200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
	205: "Reset Content", 206: "Partial Content", 207: "Multi-Status", 208: "Already Reported", 226: "IM Used",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
	305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
	400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
	408: "Request Timeout", 409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed",
	413: "Payload Too Large", 414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
	417: "Expectation Failed", 418: "I'm a teapot", 421: "Misdirected Request", 422: "Unprocessable Content",
	423: "Locked", 424: "Failed Dependency", 425: "Too Early", 426: "Upgrade Required",
	428: "Precondition Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
	451: "Unavailable For Legal Reasons",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
	507: "Insufficient Storage", 508: "Loop Detected", 510: "Not Extended", 511: "Network Authentication Required",
}

func TestStatusLines(t *testing.T) {
	is := is.New(t)
	for code := 100; code < 600; code++ {
		reason := registered[code] // "" for an unregistered code
		is.Equal(StatusText(code), reason)
		// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF.
		is.Equal(string(AppendStatusLine(nil, code)), "HTTP/1.1 "+strconv.Itoa(code)+" "+reason+"\r\n")
	}
}

func TestStatusSpotChecks(t *testing.T) {
	is := is.New(t)
	for line, code := range map[string]int{
		"HTTP/1.1 200 OK\r\n":                              200,
		"HTTP/1.1 100 Continue\r\n":                        100,
		"HTTP/1.1 204 No Content\r\n":                      204,
		"HTTP/1.1 304 Not Modified\r\n":                    304,
		"HTTP/1.1 404 Not Found\r\n":                       404,
		"HTTP/1.1 413 Payload Too Large\r\n":               413,
		"HTTP/1.1 414 URI Too Long\r\n":                    414,
		"HTTP/1.1 417 Expectation Failed\r\n":              417,
		"HTTP/1.1 422 Unprocessable Content\r\n":           422,
		"HTTP/1.1 431 Request Header Fields Too Large\r\n": 431,
		"HTTP/1.1 501 Not Implemented\r\n":                 501,
		"HTTP/1.1 503 Service Unavailable\r\n":             503,
		"HTTP/1.1 505 HTTP Version Not Supported\r\n":      505,
		"HTTP/1.1 299 \r\n":                                299, // unregistered: empty reason
		"HTTP/1.1 306 \r\n":                                306, // (Unused) in the registry
		"HTTP/1.1 499 \r\n":                                499,
		"HTTP/1.1 599 \r\n":                                599,
	} {
		is.Equal(string(AppendStatusLine(nil, code)), line)
	}
}

func TestStatusOutOfRange(t *testing.T) {
	is := is.New(t)
	for _, code := range []int{-1, 0, 99, 600, 1000} {
		is.Equal(StatusText(code), "")
		is.Equal(string(AppendStatusLine(nil, code)), "HTTP/1.1 500 Internal Server Error\r\n")
	}
}

// Every status line the server can write is one net/http reads back with the same code.
func TestStatusLinesReadByNetHTTP(t *testing.T) {
	is := is.New(t)
	for code := 100; code < 600; code++ {
		if code < 200 || code == 204 || code == 304 {
			continue // no body framing to exercise; net/http handles 1xx specially
		}
		raw := AppendStatusLine(nil, code)
		raw = AppendHeaderInt(raw, "Content-Length", 0)
		raw = append(raw, "\r\n"...)
		resp, err := http.ReadResponse(newReader(raw), nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, code)
		is.NoErr(resp.Body.Close())
	}
}

func TestAppendHeaders(t *testing.T) {
	is := is.New(t)
	dst := []byte("HTTP/1.1 200 OK\r\n")
	dst = AppendHeader(dst, "Content-Type", "text/plain; charset=utf-8")
	dst = AppendHeaderBytes(dst, "ETag", []byte(`"abc"`))
	dst = AppendHeaderBytes(dst, "X-Empty", nil)
	dst = AppendHeaderInt(dst, "Content-Length", 0)
	dst = AppendHeaderInt(dst, "X-Big", 1<<62)
	dst = AppendHeaderInt(dst, "X-Neg", -7)
	is.Equal(string(dst), "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nETag: \"abc\"\r\n"+
		"X-Empty: \r\nContent-Length: 0\r\nX-Big: 4611686018427387904\r\nX-Neg: -7\r\n")
}

func TestAppendChunk(t *testing.T) {
	is := is.New(t)
	for _, tc := range []struct {
		n    int
		size string
	}{
		{1, "1"}, {9, "9"}, {10, "A"}, {15, "F"}, {16, "10"}, {171, "AB"}, {255, "FF"},
		{2748, "ABC"}, {4096, "1000"}, {65535, "FFFF"}, {0xBEEF, "BEEF"},
	} {
		data := bytes.Repeat([]byte("x"), tc.n)
		got := AppendChunk(nil, data)
		is.Equal(string(got), tc.size+"\r\n"+string(data)+"\r\n") // RFC 9112 §7.1, upper-case hex
	}
}

func TestAppendChunkEmptyIsNoOp(t *testing.T) {
	is := is.New(t)
	dst := []byte("prefix")
	is.Equal(string(AppendChunk(dst, nil)), "prefix")
	is.Equal(string(AppendChunk(dst, []byte{})), "prefix")
	is.Equal(len(AppendChunk(nil, nil)), 0)
}

// Upper-casing touches only the size just written, never what the caller had in dst before
// (a body or header that happens to end in hex letters).
func TestAppendChunkKeepsPrefix(t *testing.T) {
	is := is.New(t)
	for _, prefix := range []string{"cafe", "deadbeef", "X-Id: abc", "0\r\n\r\n1a"} {
		got := AppendChunk([]byte(prefix), bytes.Repeat([]byte("z"), 0xab))
		is.Equal(string(got[:len(prefix)]), prefix)
		is.Equal(string(got[len(prefix):len(prefix)+4]), "AB\r\n")
	}
}

func TestLastChunk(t *testing.T) {
	is := is.New(t)
	is.Equal(LastChunk, "0\r\n\r\n")
	_, n, done, err := decodeWhole([]byte(LastChunk), &Limits{})
	is.NoErr(err)
	is.True(done)
	is.Equal(n, len(LastChunk))
}

func TestDateCache(t *testing.T) {
	is := is.New(t)
	var d DateCache
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		// RFC 9110 §5.6.7's own example.
		{time.Date(1994, time.November, 6, 8, 49, 37, 0, time.UTC), "Sun, 06 Nov 1994 08:49:37 GMT"},
		// Same second, later nanoseconds: unchanged.
		{time.Date(1994, time.November, 6, 8, 49, 37, 999999999, time.UTC), "Sun, 06 Nov 1994 08:49:37 GMT"},
		{time.Date(1994, time.November, 6, 8, 49, 38, 0, time.UTC), "Sun, 06 Nov 1994 08:49:38 GMT"},
		// A local time is written in GMT.
		{time.Date(2024, time.February, 29, 23, 59, 59, 0, time.FixedZone("CET", 3600)), "Thu, 29 Feb 2024 22:59:59 GMT"},
		{time.Date(2025, time.January, 1, 0, 0, 0, 0, time.FixedZone("PST", -8*3600)), "Wed, 01 Jan 2025 08:00:00 GMT"},
		// Year and day rollover, single-digit day.
		{time.Date(1999, time.December, 31, 23, 59, 59, 0, time.UTC), "Fri, 31 Dec 1999 23:59:59 GMT"},
		{time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC), "Sat, 01 Jan 2000 00:00:00 GMT"},
		// The clock stepping back is written as given.
		{time.Date(1970, time.January, 1, 0, 0, 1, 0, time.UTC), "Thu, 01 Jan 1970 00:00:01 GMT"},
		{time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC), "Fri, 31 Dec 9999 23:59:59 GMT"},
	} {
		d.Update(tc.t)
		is.Equal(string(d.Bytes()), tc.want)
		back, err := http.ParseTime(string(d.Bytes()))
		is.NoErr(err)
		is.True(back.Equal(tc.t.Truncate(time.Second)))
	}
}

// The Unix epoch is second 0, which is also a zero DateCache's second: the first Update must
// still format it.
func TestDateCacheEpoch(t *testing.T) {
	is := is.New(t)
	var d DateCache
	d.Update(time.Unix(0, 0))
	is.Equal(string(d.Bytes()), "Thu, 01 Jan 1970 00:00:00 GMT")
}

// Years without four digits cannot be written (RFC 9110 §5.6.7: year = 4DIGIT); the cache
// keeps the last good value instead of writing a malformed or truncated date.
func TestDateCacheOutOfRangeYear(t *testing.T) {
	is := is.New(t)
	var d DateCache
	d.Update(time.Date(2025, time.May, 5, 5, 5, 5, 0, time.UTC))
	for _, y := range []int{10000, 123456, -1} {
		d.Update(time.Date(y, time.January, 1, 0, 0, 0, 0, time.UTC))
		is.Equal(string(d.Bytes()), "Mon, 05 May 2025 05:05:05 GMT")
	}
}

func TestTimeFormatMatchesNetHTTP(t *testing.T) {
	is := is.New(t)
	is.Equal(TimeFormat, http.TimeFormat)
	is.True(!strings.Contains(TimeFormat, "MST"))
}
