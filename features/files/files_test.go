package files

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/proto"
)

func TestContentType(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"index.html", "text/html"},
		{"INDEX.HTML", "text/html"},
		{"page.htm", "text/html"},
		{"site.css", "text/css"},
		{"app.js", "text/javascript"},
		{"mod.mjs", "text/javascript"},
		{"data.json", "application/json"},
		{"logo.svg", "image/svg+xml"},
		{"logo.png", "image/png"},
		{"photo.JPG", "image/jpeg"},
		{"notes.txt", "text/plain"},
		{"font.woff2", "font/woff2"},
		{"a/b.c/readme", "application/octet-stream"}, // the dot is in a directory name
		{"Makefile", "application/octet-stream"},
		{"archive.unknownext", "application/octet-stream"},
		{"trailingdot.", "application/octet-stream"},
		{".bashrc", "application/octet-stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is.New(t).Equal(contentType(tc.name), tc.want)
		})
	}
}

func TestStaticName(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"test.html", "test.html"},
		{"css/site.css", "css/site.css"},
		{"a%20b.txt", "a b.txt"},
		{"%41%62c", "Abc"},
		{"./a/./b", "a/b"},
		{"a//b", "a/b"},
		{"/etc/passwd", "etc/passwd"},     // a leading slash stays inside the root
		{"%2fetc%2fpasswd", "etc/passwd"}, // so does an encoded one
		{"dir/", "dir/"},                  // a trailing slash is kept: files are not found
		{"%252e%252e/x", "%2e%2e/x"},      // decoded once: a literal name, not a traversal
		{"a+b.txt", "a+b.txt"},            // '+' is not a space in a path
		{"..a/b..", "..a/b.."},            // dots inside a name are fine
		{"%e2%9c%93.txt", "\u2713.txt"},   // UTF-8 names
		{"%0a.txt", "\n.txt"},             // control bytes are a file name like any other
		{strings.Repeat("a/", 100) + "z", strings.Repeat("a/", 100) + "z"},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			is := is.New(t)
			name, status := Name([]byte(tc.raw))
			is.Equal(status, 0)
			is.Equal(name, tc.want)
		})
	}
}

func TestStaticNameHostile(t *testing.T) {
	for _, tc := range []struct {
		raw    string
		status int
	}{
		{"", 404},
		{"/", 404},
		{"./", 404},
		{"..", 403},
		{"../x", 403},
		{"a/../../x", 403},
		{"a/../x", 403}, // refused even though it stays inside the root
		{"%2e%2e/x", 403},
		{"%2E%2E%2Fx", 403},
		{"..%2fx", 403},
		{"a/%2e%2e", 403},
		{`..\x`, 403},
		{"%2e%2e%5cx", 403},
		{`a\b`, 403},
		{"%5c", 403},
		{"%00", 400},
		{"a%00b", 400},
		{"%00/..", 400}, // NUL is checked first
		{"%zz", 400},
		{"%", 400},
		{"%4", 400},
		{"a%4g", 400},
		{"%%41", 400},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			is := is.New(t)
			name, status := Name([]byte(tc.raw))
			is.Equal(status, tc.status)
			is.Equal(name, "")
		})
	}
}

func TestMatchETags(t *testing.T) {
	const cur = `W/"17f-a5"`
	for _, tc := range []struct {
		list       string
		weak, want bool
	}{
		{`W/"17f-a5"`, true, true},
		{`"17f-a5"`, true, true}, // weak comparison ignores W/
		{`"other", W/"17f-a5"`, true, true},
		{`"other",W/"17f-a5"`, true, true},
		{` , "other" ,, "17f-a5" `, true, true}, // empty list elements are skipped
		{`*`, true, true},
		{` * `, true, true},
		{`"other"`, true, false},
		{`"17f-a"`, true, false},
		{`w/"17f-a5"`, true, false},         // W is case-sensitive: a malformed member
		{`17f-a5`, true, false},             // unquoted
		{`"17f-a5`, true, false},            // unterminated
		{`"other" W/"17f-a5"`, true, false}, // no comma: parsing stops
		{`bad, W/"17f-a5"`, true, false},    // malformed first member stops parsing
		{`W/"17f-a5", bad`, true, true},     // members before the bad one count
		{`"a", *`, true, false},             // * only stands alone
		{`"with space"`, true, false},       // SP is not an etagc
		{`W/"17f-a5"`, false, false},        // strong comparison: weak never matches
		{`*`, false, true},                  // If-Match: * matches any representation
		{"\"\x80\"", true, false},           // obs-text is allowed, just different
	} {
		t.Run(tc.list, func(t *testing.T) {
			is.New(t).Equal(matchETags(tc.list, cur, tc.weak), tc.want)
		})
	}
}

func TestETagsMatch(t *testing.T) {
	for _, tc := range []struct {
		a, b               string
		weakWant, strongOK bool
	}{
		{`W/"1"`, `W/"1"`, true, false},
		{`W/"1"`, `"1"`, true, false},
		{`"1"`, `"1"`, true, true},
		{`"1"`, `"2"`, false, false},
		{`W/"1"`, `W/"2"`, false, false},
	} {
		is := is.New(t)
		is.Equal(etagsMatch(tc.a, tc.b, true), tc.weakWant)
		is.Equal(etagsMatch(tc.a, tc.b, false), tc.strongOK)
	}
}

func TestParseRange(t *testing.T) {
	const size = 1000
	for _, tc := range []struct {
		spec   string
		off, n int64
		res    rangeResult
	}{
		{"bytes=0-0", 0, 1, rangeSatisfiable},
		{"bytes=0-499", 0, 500, rangeSatisfiable},
		{"bytes=500-999", 500, 500, rangeSatisfiable},
		{"bytes=500-", 500, 500, rangeSatisfiable},
		{"bytes=999-", 999, 1, rangeSatisfiable},
		{"bytes=-1", 999, 1, rangeSatisfiable},
		{"bytes=-500", 500, 500, rangeSatisfiable},
		{"bytes=-5000", 0, 1000, rangeSatisfiable},     // longer suffix: the whole file
		{"bytes=900-5000", 900, 100, rangeSatisfiable}, // end past the last byte: clipped
		{"bytes=0-99999999999999999999999", 0, 1000, rangeSatisfiable},
		{"Bytes=1-2", 1, 2, rangeSatisfiable},   // the unit is case-insensitive
		{"bytes= 1-2 ", 1, 2, rangeSatisfiable}, // OWS around list members
		{"bytes=1-2,", 1, 2, rangeSatisfiable},  // empty list elements are ignored
		{"bytes=007-008", 7, 2, rangeSatisfiable},
		{"bytes=1000-", 0, 0, rangeUnsatisfiable},
		{"bytes=1000-2000", 0, 0, rangeUnsatisfiable},
		{"bytes=-0", 0, 0, rangeUnsatisfiable},
		{"bytes=99999999999999999999999-", 0, 0, rangeUnsatisfiable},
		{"bytes=5-4", 0, 0, rangeIgnored}, // last-pos below first-pos: invalid
		{"bytes=99999999999999999999-99999999999999999998", 0, 0, rangeIgnored},
		{"bytes=0-1,5-6", 0, 0, rangeIgnored}, // several ranges: ignored
		{"bytes=0-1, -5", 0, 0, rangeIgnored},
		{"bytes=", 0, 0, rangeIgnored},
		{"bytes=,", 0, 0, rangeIgnored},
		{"bytes=-", 0, 0, rangeIgnored},
		{"bytes=a-b", 0, 0, rangeIgnored},
		{"bytes=1", 0, 0, rangeIgnored},
		{"bytes=1-2-3", 0, 0, rangeIgnored},
		{"bytes=+1-2", 0, 0, rangeIgnored},
		{"bytes=-+1", 0, 0, rangeIgnored},
		{"bytes=1 -2", 0, 0, rangeIgnored},
		{"bytes=0x10-", 0, 0, rangeIgnored},
		{"bytes 0-1", 0, 0, rangeIgnored},
		{"items=0-1", 0, 0, rangeIgnored},
		{"bytes =0-1", 0, 0, rangeIgnored},
		{"=0-1", 0, 0, rangeIgnored},
		{"", 0, 0, rangeIgnored},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			is := is.New(t)
			off, n, res := parseRange(tc.spec, size)
			is.Equal(res, tc.res)
			if res == rangeSatisfiable {
				is.Equal(off, tc.off)
				is.Equal(n, tc.n)
			}
		})
	}
}

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int64
		good bool
	}{
		{"0", 0, true},
		{"9223372036854775807", 1<<63 - 1, true},
		{"9223372036854775808", 1<<63 - 1, true}, // saturates
		{"99999999999999999999999999", 1<<63 - 1, true},
		{"99999999999999999999999x", 0, false},
		{"", 0, false},
		{"-1", 0, false},
	} {
		is := is.New(t)
		n, ok := decimal(tc.s)
		is.Equal(ok, tc.good)
		is.Equal(n, tc.n)
	}
}

func TestParseHTTPDate(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	for _, tc := range []struct {
		s    string
		want time.Time
		ok   bool
	}{
		{"Sun, 06 Nov 1994 08:49:37 GMT", want, true},
		{"Sunday, 06-Nov-94 08:49:37 GMT", want, true},
		{"Sun Nov  6 08:49:37 1994", want, true},
		{"Thursday, 01-Jan-70 00:00:00 GMT", time.Date(2070, 1, 1, 0, 0, 0, 0, time.UTC), true}, // not > 50 years ahead
		{"Wednesday, 01-Jan-80 00:00:00 GMT", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"Sun, 06 Nov 1994 08:49:37 UTC", time.Time{}, false},
		{"Sun, 06 Nov 1994 08:49:37", time.Time{}, false},
		{"Sun, 6 Nov 1994 08:49:37 GMT", time.Time{}, false},
		{"Sun, 06 Nov 1994 25:49:37 GMT", time.Time{}, false},
		{"06 Nov 1994 08:49:37 GMT", time.Time{}, false},
		{"1994-11-06T08:49:37Z", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"", time.Time{}, false},
	} {
		t.Run(tc.s, func(t *testing.T) {
			is := is.New(t)
			got, ok := parseHTTPDate(tc.s, now)
			is.Equal(ok, tc.ok)
			if ok {
				is.True(got.Equal(tc.want))
			}
		})
	}
}

func TestValidatorsOf(t *testing.T) {
	is := is.New(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	mtime := time.Unix(0, 0x1898076cf9da8400).UTC()
	v := validatorsOf(mtime, 0xa5, now)
	is.Equal(v.etag, `W/"1898076cf9da8400-a5"`) // the spec's example
	is.True(v.hasLastMod)
	is.Equal(v.lastModStr, mtime.Truncate(time.Second).Format(proto.TimeFormat))

	// A modification time in the future is reported as now (RFC 9110 §8.8.2.1); the ETag
	// keeps the real one.
	future := now.Add(time.Hour)
	v = validatorsOf(future, 1, now)
	is.Equal(v.lastModStr, "Fri, 01 May 2026 12:00:00 GMT")
	is.Equal(v.etag, weakETag(future, 1))

	// A year an IMF-fixdate cannot hold: no Last-Modified at all.
	v = validatorsOf(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), 1, time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC))
	is.True(!v.hasLastMod)
}

func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	mtime := time.Date(2026, 4, 1, 10, 0, 0, 500, time.UTC)
	const size = 100
	v := validatorsOf(mtime, size, now)
	lm := v.lastModStr
	before := mtime.Add(-time.Hour).Format(proto.TimeFormat)
	after := mtime.Add(time.Hour).Format(proto.TimeFormat)
	future := now.Add(time.Hour).Format(proto.TimeFormat)
	full := decision{status: 200, n: size}
	for _, tc := range []struct {
		name string
		q    Query
		want decision
	}{
		{"plain GET", Query{}, full},
		{"INM exact", Query{ifNoneMatch: v.etag}, decision{status: 304}},
		{"INM strong form", Query{ifNoneMatch: strings.TrimPrefix(v.etag, "W/")}, decision{status: 304}},
		{"INM list", Query{ifNoneMatch: `"x", ` + v.etag}, decision{status: 304}},
		{"INM star", Query{ifNoneMatch: "*"}, decision{status: 304}},
		{"INM miss", Query{ifNoneMatch: `"x"`}, full},
		{"INM miss beats a matching IMS", Query{ifNoneMatch: `"x"`, ifModifiedSince: lm}, full},
		{"INM malformed still disables IMS", Query{ifNoneMatch: `x`, ifModifiedSince: lm}, full},
		{"IMS equal", Query{ifModifiedSince: lm}, decision{status: 304}},
		{"IMS later", Query{ifModifiedSince: after}, decision{status: 304}},
		{"IMS earlier", Query{ifModifiedSince: before}, full},
		{"IMS invalid", Query{ifModifiedSince: "not a date"}, full},
		{"IMS in the future", Query{ifModifiedSince: future}, full},
		{"IMS on HEAD", Query{ifModifiedSince: lm}, decision{status: 304}},
		{"If-Match weak tag never matches strongly", Query{ifMatch: v.etag}, decision{status: 412}},
		{"If-Match star", Query{ifMatch: "*"}, full},
		{"If-Match beats INM", Query{ifMatch: `"x"`, ifNoneMatch: "*"}, decision{status: 412}},
		{"IUS before mtime", Query{ifUnmodifiedSince: before}, decision{status: 412}},
		{"IUS at mtime", Query{ifUnmodifiedSince: lm}, full},
		{"IUS invalid", Query{ifUnmodifiedSince: "nope"}, full},
		{"IUS ignored with If-Match", Query{ifMatch: "*", ifUnmodifiedSince: before}, full},
		{"range", Query{get: true, rangeSpec: "bytes=10-19"}, decision{status: 206, off: 10, n: 10}},
		{"range on HEAD is ignored", Query{rangeSpec: "bytes=10-19"}, full},
		{"unsatisfiable", Query{get: true, rangeSpec: "bytes=100-"}, decision{status: 416}},
		{"invalid range", Query{get: true, rangeSpec: "bytes=x"}, full},
		{"several ranges", Query{get: true, rangeSpec: "bytes=0-1,3-4"}, full},
		{"If-Range date exact", Query{get: true, rangeSpec: "bytes=0-9", ifRange: lm}, decision{status: 206, n: 10}},
		{"If-Range date later", Query{get: true, rangeSpec: "bytes=0-9", ifRange: after}, full},
		{"If-Range weak etag", Query{get: true, rangeSpec: "bytes=0-9", ifRange: v.etag}, full},
		{"If-Range strong etag", Query{get: true, rangeSpec: "bytes=0-9", ifRange: strings.TrimPrefix(v.etag, "W/")}, full},
		{"If-Range garbage", Query{get: true, rangeSpec: "bytes=0-9", ifRange: "garbage"}, full},
		{"If-Range false beats 416", Query{get: true, rangeSpec: "bytes=500-", ifRange: after}, full},
		{"If-Range without Range", Query{get: true, ifRange: lm}, full},
		{"304 beats Range", Query{get: true, rangeSpec: "bytes=0-9", ifNoneMatch: v.etag}, decision{status: 304}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.now = now
			is.New(t).Equal(evaluate(&q, &v, size), tc.want)
		})
	}

	// A Range on an empty file is ignored (no byte of it can be named).
	is := is.New(t)
	q := Query{get: true, rangeSpec: "bytes=0-", now: now}
	v0 := validatorsOf(mtime, 0, now)
	is.Equal(evaluate(&q, &v0, 0), decision{status: 200})
}

func TestFileQueryOf(t *testing.T) {
	h := func(kv ...string) []proto.Header {
		var out []proto.Header
		for i := 0; i < len(kv); i += 2 {
			out = append(out, proto.Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
		}
		return out
	}
	is := is.New(t)
	now := time.Now()
	req := &proto.Request{Method: proto.MethodGET, Headers: h(
		"if-none-match", `"a"`, "If-None-Match", `"b", "c"`, "If-None-Match", "",
		"If-Modified-Since", "x", "If-Modified-Since", "y",
		"If-Unmodified-Since", "z",
		"Range", "bytes=0-1",
		"If-Range", "d")}
	q := QueryOf(req, "f.txt", now)
	is.True(q.get)
	is.Equal(q.name, "f.txt")
	is.Equal(q.ifNoneMatch, `"a", "b", "c"`) // list lines combine; empty ones add nothing
	is.Equal(q.ifModifiedSince, "")          // repeated singleton: ignored
	is.Equal(q.ifUnmodifiedSince, "z")
	is.Equal(q.rangeSpec, "bytes=0-1")
	is.Equal(q.ifRange, "d")

	req = &proto.Request{Method: proto.MethodHEAD, Headers: h("Range", "bytes=0-1", "If-Range", "a", "If-Range", "b")}
	q = QueryOf(req, "f", now)
	is.True(!q.get)
	is.Equal(q.rangeSpec, "") // a repeated If-Range cannot hold: the Range is dropped

	req = &proto.Request{Method: proto.MethodGET, Headers: h("Range", "bytes=0-1", "Range", "bytes=2-3")}
	q = QueryOf(req, "f", now)
	is.Equal(q.rangeSpec, "")
}

// Open against a real directory: what it serves, and how every refusal maps.
func TestOpenStatus(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
	}{
		{&os.PathError{Op: "openat", Path: "x", Err: syscall.ENOENT}, 404},
		{&os.PathError{Op: "openat", Path: "x", Err: syscall.ENOTDIR}, 404},
		{&os.PathError{Op: "openat", Path: "x", Err: syscall.EACCES}, 403},
		{&os.PathError{Op: "openat", Path: "x", Err: syscall.EMFILE}, 503},
		{&os.PathError{Op: "openat", Path: "x", Err: syscall.EIO}, 500},
		{&os.PathError{Op: "openat", Path: "x", Err: os.ErrInvalid}, 403},
	} {
		is.New(t).Equal(openStatus(tc.err), tc.status)
	}
}
