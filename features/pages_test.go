package features

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/assets"
	"ownhttp/proto"
)

// pageTags returns the identity and gzip tags of an embedded file.
func pageTags(t *testing.T, name string) (identity, gz string) {
	t.Helper()
	set, err := assets.Load()
	if err != nil {
		t.Fatal(err)
	}
	f := set.Get(name)
	if f == nil {
		t.Fatalf("%s is not embedded", name)
	}
	return f.ETag, f.GzipETag
}

func gunzip(t *testing.T, b string) string {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// The pages and their files are served with their type, tag, caching and security headers,
// in gzip when the client accepts it, and without a body for HEAD.
func TestServePages(t *testing.T) {
	app := New(Config{})
	for _, tc := range []struct {
		target, name, ctype, contains string
	}{
		{"/playground", assets.Playground, "text/html; charset=utf-8", "control tower"},
		{"/playground?x=1", assets.Playground, "text/html; charset=utf-8", "control tower"},
		{"/dashboard", assets.Dashboard, "text/html; charset=utf-8", "HTTP Server Live Metrics"},
		{"/assets/js/tower.js", "js/tower.js", "text/javascript; charset=utf-8", "LiveFeed"},
		{"/assets/js/dashboard.js", "js/dashboard.js", "text/javascript; charset=utf-8", "setInterval(refreshMetrics, 1000);"},
		{"/assets/css/tower.css", "css/tower.css", "text/css; charset=utf-8", "--p99"},
		{"/assets/img/favicon.svg", "img/favicon.svg", "image/svg+xml", "<svg"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			is := is.New(t)
			etag, gzTag := pageTags(t, tc.name)

			resp, body := mkServe(t, app, mkReq("GET", tc.target))
			is.Equal(resp.StatusCode, 200)
			is.Equal(resp.Header.Get("Content-Type"), tc.ctype)
			is.Equal(resp.Header.Get("Content-Encoding"), "")
			is.Equal(resp.Header.Get("ETag"), etag)
			is.Equal(resp.Header.Get("Cache-Control"), "no-cache")
			is.Equal(resp.Header.Get("Content-Security-Policy"), pageCSP)
			is.Equal(resp.Header.Get("X-Content-Type-Options"), "nosniff")
			is.Equal(resp.Header.Get("Referrer-Policy"), "no-referrer")
			is.True(strings.Contains(body, tc.contains))
			if gzTag != "" {
				is.Equal(resp.Header.Get("Vary"), "Accept-Encoding")
			}

			head, headBody := mkServe(t, app, mkReq("HEAD", tc.target))
			is.Equal(head.StatusCode, 200)
			is.Equal(headBody, "")
			is.Equal(head.ContentLength, int64(len(body))) // HEAD keeps the length of a GET
			is.Equal(head.Header.Get("ETag"), etag)

			if gzTag == "" {
				return
			}
			zresp, zbody := mkServe(t, app, mkReq("GET", tc.target, "Accept-Encoding: br, gzip;q=0.8\r\n"))
			is.Equal(zresp.StatusCode, 200)
			is.Equal(zresp.Header.Get("Content-Encoding"), "gzip")
			is.Equal(zresp.Header.Get("ETag"), gzTag) // each representation has its own tag
			is.Equal(zresp.Header.Get("Vary"), "Accept-Encoding")
			is.Equal(zresp.Header.Get("Content-Security-Policy"), pageCSP)
			is.True(len(zbody) < len(body))
			is.Equal(gunzip(t, zbody), body)
		})
	}
}

// If-None-Match answers 304 for the tag of the representation that would be sent (weak
// comparison); If-Match answers 412 unless it names that tag strongly (RFC 9110 §13.1.1-2).
func TestServePagesConditional(t *testing.T) {
	app := New(Config{})
	etag, gzTag := pageTags(t, assets.Playground)
	const gzip = "Accept-Encoding: gzip\r\n"
	for _, tc := range []struct {
		name    string
		headers []string
		status  int
	}{
		{"none", nil, 200},
		{"if-none-match exact", []string{"If-None-Match: " + etag + "\r\n"}, 304},
		{"if-none-match weak form", []string{"If-None-Match: W/" + etag + "\r\n"}, 304},
		{"if-none-match in a list", []string{`If-None-Match: "a", ` + etag + ` , "b"` + "\r\n"}, 304},
		{"if-none-match in a second field", []string{"If-None-Match: \"a\"\r\n", "If-None-Match: " + etag + "\r\n"}, 304},
		{"if-none-match star", []string{"If-None-Match: *\r\n"}, 304},
		{"if-none-match other", []string{`If-None-Match: "0123"` + "\r\n"}, 200},
		{"if-none-match gzip tag without gzip", []string{"If-None-Match: " + gzTag + "\r\n"}, 200},
		{"if-none-match gzip tag with gzip", []string{gzip, "If-None-Match: " + gzTag + "\r\n"}, 304},
		{"if-none-match identity tag with gzip", []string{gzip, "If-None-Match: " + etag + "\r\n"}, 200},
		{"if-match exact", []string{"If-Match: " + etag + "\r\n"}, 200},
		{"if-match star", []string{"If-Match: *\r\n"}, 200},
		{"if-match other", []string{`If-Match: "0123"` + "\r\n"}, 412},
		{"if-match weak is never strong", []string{"If-Match: W/" + etag + "\r\n"}, 412},
		{"if-match before if-none-match", []string{`If-Match: "0123"` + "\r\n", "If-None-Match: " + etag + "\r\n"}, 412},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			resp, body := mkServe(t, app, mkReq("GET", "/playground", tc.headers...))
			is.Equal(resp.StatusCode, tc.status)
			switch tc.status {
			case 304:
				is.Equal(body, "")
				is.True(resp.Header.Get("ETag") != "")
				is.Equal(resp.Header.Get("Content-Length"), "")
				is.Equal(resp.Header.Get("Content-Type"), "")
				is.Equal(resp.Header.Get("Cache-Control"), "no-cache")
				is.Equal(resp.Header.Get("Vary"), "Accept-Encoding")
				is.Equal(resp.Header.Get("Content-Security-Policy"), pageCSP)
			case 200:
				is.True(strings.Contains(body, "<!doctype html>") || resp.Header.Get("Content-Encoding") == "gzip")
			case 412:
				is.Equal(resp.Header.Get("ETag"), etag)
			}
		})
	}
}

// Hostile paths and headers: nothing outside the embedded files is served, pages are not
// served under /assets/, malformed validators and refused codings fall back to a plain 200.
func TestServePagesHostile(t *testing.T) {
	app := New(Config{})
	for _, tc := range []struct {
		name, raw string
		status    int
		encoding  string
	}{
		{"assets root", mkReq("GET", "/assets/"), 404, ""},
		{"assets directory", mkReq("GET", "/assets/js/"), 404, ""},
		{"assets directory no slash", mkReq("GET", "/assets/js"), 404, ""},
		{"page under assets", mkReq("GET", "/assets/playground.html"), 404, ""},
		{"dot dot", mkReq("GET", "/assets/../features/pages.go"), 404, ""},
		{"encoded dot dot", mkReq("GET", "/assets/%2e%2e/assets.go"), 404, ""},
		{"dot segment", mkReq("GET", "/assets/js/./tower.js"), 404, ""},
		{"double slash", mkReq("GET", "/assets//js/tower.js"), 404, ""},
		{"encoded slash", mkReq("GET", "/assets/js%2ftower.js"), 404, ""},
		{"case", mkReq("GET", "/assets/JS/TOWER.JS"), 404, ""},
		{"nul", mkReq("GET", "/assets/js/tower.js%00"), 404, ""},
		{"backslash", mkReq("GET", `/assets/js\tower.js`), 404, ""},
		{"source file", mkReq("GET", "/assets/assets.go"), 404, ""},
		{"playground slash", mkReq("GET", "/playground/"), 404, ""},
		{"post page", mkReq("POST", "/playground", "Content-Length: 0\r\n"), 405, ""},
		{"delete asset", mkReq("DELETE", "/assets/js/tower.js"), 405, ""},
		{"gzip refused", mkReq("GET", "/playground", "Accept-Encoding: gzip;q=0\r\n"), 200, ""},
		{"gzip malformed weight", mkReq("GET", "/playground", "Accept-Encoding: gzip;q=2\r\n"), 200, ""},
		{"identity preferred", mkReq("GET", "/playground", "Accept-Encoding: gzip;q=0.1, identity\r\n"), 200, ""},
		{"star", mkReq("GET", "/playground", "Accept-Encoding: *\r\n"), 200, "gzip"},
		{"unterminated tag", mkReq("GET", "/playground", "If-None-Match: \"abc\r\n"), 200, ""},
		{"bare W/", mkReq("GET", "/playground", "If-None-Match: W/\r\n"), 200, ""},
		{"commas only", mkReq("GET", "/playground", "If-None-Match: ,,, ,\r\n"), 200, ""},
		{"unquoted tag", mkReq("GET", "/playground", "If-None-Match: abc\r\n"), 200, ""},
		{"star in a list", mkReq("GET", "/playground", "If-None-Match: \"a\", *\r\n"), 200, ""},
		{"long list", mkReq("GET", "/playground", "If-None-Match: "+strings.Repeat(`"x", `, 500)+"\"y\"\r\n"), 200, ""},
		{"if-match garbage", mkReq("GET", "/playground", "If-Match: garbage\r\n"), 412, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			resp, _ := mkServe(t, app, tc.raw)
			is.Equal(resp.StatusCode, tc.status)
			is.Equal(resp.Header.Get("Content-Encoding"), tc.encoding)
			if tc.status == 405 {
				is.Equal(resp.Header.Get("Allow"), "GET, HEAD")
			}
		})
	}
}

// Serving a page or a file allocates nothing through the whole connection: parse, route,
// pick the representation, evaluate the validators, render.
func TestServePagesAllocs(t *testing.T) {
	app := New(Config{})
	etag, gzTag := pageTags(t, "js/tower.js")
	for _, tc := range []struct {
		name, raw string
		status    string
	}{
		{"page", mkReq("GET", "/playground"), "200"},
		{"asset gzip", mkReq("GET", "/assets/js/tower.js", "Accept-Encoding: gzip, deflate, br\r\n"), "200"},
		{"asset 304", mkReq("GET", "/assets/js/tower.js", "If-None-Match: "+etag+"\r\n"), "304"},
		{"asset 304 gzip", mkReq("GET", "/assets/js/tower.js", "Accept-Encoding: gzip\r\n", "If-None-Match: \"a\", "+gzTag+"\r\n"), "304"},
		{"asset 404", mkReq("GET", "/assets/js/nope.js"), "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c, tr := mkConn(app)
			req := []byte(tc.raw)
			now := time.Unix(1, 0)
			c.OnData(req, now)
			is.True(bytes.HasPrefix(tr.out.Bytes(), []byte("HTTP/1.1 "+tc.status))) // served as expected
			allocs := testing.AllocsPerRun(1000, func() {
				tr.out.Reset()
				c.OnData(req, now)
			})
			is.Equal(allocs, 0.0) // allocations per served page
		})
	}
}

func TestEtagFieldMatch(t *testing.T) {
	const tag = `"abc"`
	for _, tc := range []struct {
		value       string
		weak, match bool
	}{
		{`"abc"`, true, true},
		{`"abc"`, false, true},
		{`W/"abc"`, true, true},
		{`W/"abc"`, false, false},
		{` "x" ,"abc"`, true, true},
		{"\t*\t", false, true},
		{`*`, true, true},
		{`"abcd"`, true, false},
		{`"ab"`, true, false},
		{`""`, true, false},
		{``, true, false},
		{`"x" "abc"`, true, false}, // no comma between members: malformed, stops
		{`"abc`, true, false},
		{`abc`, true, false},
		{`w/"abc"`, true, false}, // W/ is case-sensitive
		{"\"a\x01\", \"abc\"", true, false},
		{"\"\x80\", \"abc\"", true, true}, // obs-text is a valid etagc
	} {
		t.Run(tc.value, func(t *testing.T) {
			is.New(t).Equal(etagFieldMatch([]byte(tc.value), []byte(tag), tc.weak), tc.match)
		})
	}
}

// etagListMatch reads every field of the name, case-insensitively, and tells absence apart.
func TestEtagListMatch(t *testing.T) {
	is := is.New(t)
	hs := []proto.Header{
		{Name: []byte("Accept"), Value: []byte(`"abc"`)},
		{Name: []byte("IF-NONE-MATCH"), Value: []byte(`"x"`)},
		{Name: []byte("if-none-match"), Value: []byte(`"abc"`)},
	}
	present, match := etagListMatch(hs, "if-none-match", []byte(`"abc"`), true)
	is.True(present)
	is.True(match)
	present, match = etagListMatch(hs, "if-match", []byte(`"abc"`), false)
	is.True(!present)
	is.True(!match)
	present, match = etagListMatch(hs[:2], "if-none-match", []byte(`"abc"`), true)
	is.True(present)
	is.True(!match)
}
