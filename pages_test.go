package main

import (
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// pageCSP is the Content-Security-Policy of the control tower, the dashboard and their files.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// pageClient is an HTTP client that sends exactly the headers a test gives (no automatic
// gzip) and never follows redirects.
func pageClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{Proxy: nil, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// pageGet sends method to path with headers ("Name: value") and returns the response and body.
func pageGet(t *testing.T, c *http.Client, s *testkit.Server, method, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.Addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, path, err)
	}
	return resp, string(b)
}

var assetRefRE = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)

// The pages and every file they name are served over real sockets on both engines with their
// types, tags and security headers; gzip and conditional requests work on the wire.
func TestPagesWire(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := testkit.Start(t, run, engine, "--access-log=false")
		c := pageClient()
		for _, page := range []struct{ path, title string }{
			{"/playground", "control tower"},
			{"/dashboard", "HTTP Server Live Metrics"},
		} {
			t.Run(page.path, func(t *testing.T) {
				is := is.New(t)
				resp, html := pageGet(t, c, s, "GET", page.path)
				is.Equal(resp.StatusCode, 200)
				is.Equal(resp.Header.Get("Content-Type"), "text/html; charset=utf-8")
				is.Equal(resp.Header.Get("Content-Security-Policy"), pageCSP)
				is.Equal(resp.Header.Get("X-Content-Type-Options"), "nosniff")
				is.Equal(resp.Header.Get("Referrer-Policy"), "no-referrer")
				is.True(strings.Contains(html, page.title))
				refs := assetRefRE.FindAllStringSubmatch(html, -1)
				is.True(len(refs) >= 3) // the page names its stylesheet, script and icon
				for _, ref := range append(refs, []string{"", page.path}) {
					path := ref[1]
					plain, body := pageGet(t, c, s, "GET", path)
					is.Equal(plain.StatusCode, 200)
					is.Equal(plain.Header.Get("Content-Security-Policy"), pageCSP)
					etag := plain.Header.Get("ETag")
					is.True(strings.HasPrefix(etag, `"`)) // a strong tag

					zipped, zbody := pageGet(t, c, s, "GET", path, "Accept-Encoding: gzip")
					is.Equal(zipped.StatusCode, 200)
					if zipped.Header.Get("Content-Encoding") == "gzip" {
						is.Equal(zipped.Header.Get("Vary"), "Accept-Encoding")
						zr, err := gzip.NewReader(strings.NewReader(zbody))
						is.NoErr(err)
						unzipped, err := io.ReadAll(zr)
						is.NoErr(err)
						is.Equal(string(unzipped), body)
						is.True(zipped.Header.Get("ETag") != etag) // its own tag
					}

					again, abody := pageGet(t, c, s, "GET", path, "If-None-Match: "+etag)
					is.Equal(again.StatusCode, 304)
					is.Equal(abody, "")
					is.Equal(again.Header.Get("ETag"), etag)

					head, hbody := pageGet(t, c, s, "HEAD", path)
					is.Equal(head.StatusCode, 200)
					is.Equal(hbody, "")
					is.Equal(head.ContentLength, int64(len(body)))
				}
			})
		}
	})
}

// Pipelined requests for the pages are answered in order on one connection.
func TestPagesPipelined(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		raw := "GET /playground HTTP/1.1\r\nHost: localhost\r\n\r\n" +
			"HEAD /assets/css/tower.css HTTP/1.1\r\nHost: localhost\r\n\r\n" +
			"GET /assets/nope.js HTTP/1.1\r\nHost: localhost\r\n\r\n" +
			"GET /dashboard HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n"
		for _, byteByByte := range []bool{false, true} {
			res := testkit.RoundTrip(t, s, raw, []string{"GET", "HEAD", "GET", "GET"}, byteByByte)
			is.NoErr(res.Err)
			is.Equal(len(res.Resps), 4)
			is.True(strings.Contains(res.Bodies[0], "control tower"))
			is.Equal(res.Resps[1].Header.Get("Content-Type"), "text/css; charset=utf-8")
			is.Equal(res.Bodies[1], "")
			is.Equal(res.Resps[2].StatusCode, 404)
			is.Equal(res.Resps[3].Header.Get("Content-Encoding"), "gzip")
			is.True(res.Open) // keep-alive survives
		}
	})
}

// Hostile requests for the pages' files name nothing outside the embedded set, on the wire.
func TestPagesWireHostile(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := testkit.Start(t, run, engine, "--access-log=false")
		for _, tc := range []struct {
			raw    string
			status int
		}{
			{"GET /assets/ HTTP/1.1\r\nHost: localhost\r\n\r\n", 404},
			{"GET /assets/../main.go HTTP/1.1\r\nHost: localhost\r\n\r\n", 404},
			{"GET /assets/%2e%2e/main.go HTTP/1.1\r\nHost: localhost\r\n\r\n", 404},
			{"GET /assets/..%2fmain.go HTTP/1.1\r\nHost: localhost\r\n\r\n", 404},
			{"GET /assets/playground.html HTTP/1.1\r\nHost: localhost\r\n\r\n", 404},
			{"GET /assets/js/tower.js/ HTTP/1.1\r\nHost: localhost\r\n\r\n", 404},
			{"POST /playground HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc", 405},
			{"PUT /assets/js/tower.js HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", 405},
			{"GET /playground HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"" + strings.Repeat("a", 4000) + "\r\n\r\n", 200},
			{"GET /playground HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: " + strings.Repeat("gzip;q=0,", 300) + "\r\n\r\n", 200},
		} {
			t.Run(strings.SplitN(tc.raw, "\r\n", 2)[0], func(t *testing.T) {
				is := is.New(t)
				method := strings.SplitN(tc.raw, " ", 2)[0]
				res := testkit.RoundTrip(t, s, tc.raw, []string{method}, false)
				is.NoErr(res.Err)
				is.Equal(res.Resps[0].StatusCode, tc.status)
				is.Equal(res.Resps[0].Header.Get("Content-Encoding"), "")
			})
		}
	})
}

// /static/dashboard.html stays the static handler's when the static directory provides one;
// /dashboard is always the embedded page.
func TestPagesStaticDashboard(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		dir := filepath.Join(t.TempDir(), "static")
		is.NoErr(os.MkdirAll(dir, 0o755))
		is.NoErr(os.WriteFile(filepath.Join(dir, "dashboard.html"), []byte("<title>my own dashboard</title>"), 0o644))
		s := testkit.Start(t, run, engine, "--access-log=false", "--static-dir", dir)
		c := pageClient()
		resp, body := pageGet(t, c, s, "GET", "/static/dashboard.html")
		is.Equal(resp.StatusCode, 200)
		is.Equal(body, "<title>my own dashboard</title>")
		resp, body = pageGet(t, c, s, "GET", "/dashboard")
		is.Equal(resp.StatusCode, 200)
		is.True(strings.Contains(body, "HTTP Server Live Metrics"))
	})
}
