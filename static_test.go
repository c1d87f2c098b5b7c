package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// staticSecret is the content of files placed outside the static root; no response may ever
// carry it.
const staticSecret = "TOPSECRET-7f3a9c-outside-the-root"

// staticSite is a static root in a temp directory, with a secret file and directory next to
// it and symlinks pointing in and out.
type staticSite struct {
	root  string
	files map[string][]byte // name under the root -> content
}

func newStaticSite(t *testing.T) *staticSite {
	t.Helper()
	base := t.TempDir()
	site := &staticSite{root: filepath.Join(base, "static"), files: map[string][]byte{
		"hello.txt":     []byte("hello static\n"),
		"page.html":     []byte("<!doctype html><title>Static file is working</title>"),
		"app.js":        []byte("console.log('hi')\n"),
		"site.css":      []byte("body{margin:0}\n"),
		"data.json":     []byte(`{"a":1}`),
		"logo.svg":      []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`),
		"noext":         []byte("no extension"),
		"sub/inner.txt": []byte("inner"),
		"empty.txt":     {},
		"digits.txt":    []byte("0123456789"),
	}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Files are dated two hours back (with nanoseconds, which the ETag carries), so dates
	// between their mtime and now exist for the conditional tests.
	mtime := time.Now().Add(-2 * time.Hour).Truncate(time.Second).Add(123456789)
	for name, b := range site.files {
		p := filepath.Join(site.root, name)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, b, 0o644))
		must(os.Chtimes(p, mtime, mtime))
	}
	must(os.WriteFile(filepath.Join(base, "secret.txt"), []byte(staticSecret), 0o644))
	must(os.MkdirAll(filepath.Join(base, "outside"), 0o755))
	must(os.WriteFile(filepath.Join(base, "outside", "x.txt"), []byte(staticSecret), 0o644))
	must(os.Symlink("../secret.txt", filepath.Join(site.root, "link-secret")))
	must(os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(site.root, "link-abs")))
	must(os.Symlink("../outside", filepath.Join(site.root, "link-outdir")))
	must(os.Symlink("hello.txt", filepath.Join(site.root, "link-in.txt")))
	return site
}

// validators are the ETag and Last-Modified the server must send for name.
func (s *staticSite) validators(t *testing.T, name string) (etag, lastModified string) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(s.root, name))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`W/"%x-%x"`, fi.ModTime().UnixNano(), fi.Size()),
		fi.ModTime().UTC().Format(http.TimeFormat)
}

// staticRequest renders a request for target with extra header lines ("Name: value").
func staticRequest(method, target string, headers ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: x\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// staticDo sends one request on a fresh connection and reads its response.
func staticDo(t *testing.T, s *testkit.Server, method, target string, headers ...string) (*http.Response, string, []byte) {
	t.Helper()
	c := s.Dial(t)
	if _, err := c.Write([]byte(staticRequest(method, target, headers...))); err != nil {
		t.Fatal(err)
	}
	res := testkit.ReadResponses(c, []string{method}, false)
	if res.Err != nil {
		t.Fatalf("%s %s: %v\n%s", method, target, res.Err, res.Raw)
	}
	return res.Resps[0], res.Bodies[0], res.Raw
}

func startStatic(t *testing.T, engine string, site *staticSite) *testkit.Server {
	t.Helper()
	return testkit.Start(t, run, engine, "--static-dir", site.root, "--access-log=false")
}

func TestStaticServe(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		site := newStaticSite(t)
		s := startStatic(t, engine, site)
		for _, tc := range []struct{ name, ctype string }{
			{"hello.txt", "text/plain"},
			{"page.html", "text/html"},
			{"app.js", "text/javascript"},
			{"site.css", "text/css"},
			{"data.json", "application/json"},
			{"logo.svg", "image/svg+xml"},
			{"noext", "application/octet-stream"},
			{"sub/inner.txt", "text/plain"},
			{"empty.txt", "text/plain"},
		} {
			for _, method := range []string{"GET", "HEAD"} {
				t.Run(method+" "+tc.name, func(t *testing.T) {
					is := is.New(t)
					want := site.files[tc.name]
					etag, lm := site.validators(t, tc.name)
					resp, body, _ := staticDo(t, s, method, "/static/"+tc.name)
					is.Equal(resp.StatusCode, 200)
					is.Equal(resp.Header.Get("Content-Type"), tc.ctype)
					is.Equal(resp.Header.Get("Content-Length"), fmt.Sprint(len(want)))
					is.Equal(resp.Header.Get("Accept-Ranges"), "bytes")
					is.Equal(resp.Header.Get("ETag"), etag)
					is.Equal(resp.Header.Get("Last-Modified"), lm)
					if method == "HEAD" {
						is.Equal(body, "")
					} else {
						is.Equal(body, string(want))
					}
				})
			}
		}
		t.Run("symlink inside the root", func(t *testing.T) {
			is := is.New(t)
			resp, body, _ := staticDo(t, s, "GET", "/static/link-in.txt")
			is.Equal(resp.StatusCode, 200)
			is.Equal(body, string(site.files["hello.txt"]))
		})
		t.Run("percent-encoded name", func(t *testing.T) {
			is := is.New(t)
			resp, body, _ := staticDo(t, s, "GET", "/static/%68ello.txt?v=1")
			is.Equal(resp.StatusCode, 200)
			is.Equal(body, string(site.files["hello.txt"]))
		})
	})
}

// Pipelined static requests come back in order on one connection, files and errors mixed.
func TestStaticPipelined(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		site := newStaticSite(t)
		s := startStatic(t, engine, site)
		raw := staticRequest("GET", "/static/hello.txt") + staticRequest("GET", "/static/missing") +
			staticRequest("HEAD", "/static/page.html") + staticRequest("GET", "/static/%00") +
			staticRequest("GET", "/static/digits.txt", "Range: bytes=2-4")
		res := testkit.RoundTrip(t, s, raw, []string{"GET", "GET", "HEAD", "GET", "GET"}, false)
		is.NoErr(res.Err)
		is.Equal(res.Resps[0].StatusCode, 200)
		is.Equal(res.Bodies[0], "hello static\n")
		is.Equal(res.Resps[1].StatusCode, 404)
		is.Equal(res.Resps[2].StatusCode, 200)
		is.Equal(res.Bodies[2], "")
		is.Equal(res.Resps[3].StatusCode, 400)
		is.Equal(res.Resps[4].StatusCode, 206)
		is.Equal(res.Bodies[4], "234")
		is.True(res.Open) // still serving afterwards
	})
}

func TestStaticMethodNotAllowed(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		site := newStaticSite(t)
		s := startStatic(t, engine, site)
		for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
			t.Run(method, func(t *testing.T) {
				is := is.New(t)
				resp, body, _ := staticDo(t, s, method, "/static/hello.txt")
				is.Equal(resp.StatusCode, 405)
				is.Equal(resp.Header.Get("Allow"), "GET, HEAD")
				is.Equal(body, "Method Not Allowed")
			})
		}
	})
}

func TestStaticNotFound(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		site := newStaticSite(t)
		s := startStatic(t, engine, site)
		for _, target := range []string{"/static/", "/static", "/static/sub", "/static/sub/",
			"/static/missing.txt", "/static/hello.txt/", "/static/sub/missing", "/static/./"} {
			t.Run(target, func(t *testing.T) {
				is := is.New(t)
				resp, body, _ := staticDo(t, s, "GET", target)
				is.Equal(resp.StatusCode, 404)
				is.Equal(resp.Header.Get("Content-Type"), "text/plain; charset=utf-8")
				is.Equal(body, "Not Found")
			})
		}
		// HEAD of a missing file: the 404's Content-Length, no body.
		is := is.New(t)
		resp, body, _ := staticDo(t, s, "HEAD", "/static/missing.txt")
		is.Equal(resp.StatusCode, 404)
		is.Equal(resp.Header.Get("Content-Length"), "9")
		is.Equal(body, "")
	})
}

// An absent --static-dir (the harness default points at a directory that does not exist)
// answers 404, not an error.
func TestStaticAbsentDir(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		resp, body, _ := staticDo(t, s, "GET", "/static/hello.txt")
		is.Equal(resp.StatusCode, 404)
		is.Equal(body, "Not Found")
	})
}

func TestStaticConditional(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		site := newStaticSite(t)
		s := startStatic(t, engine, site)
		etag, lm := site.validators(t, "hello.txt")
		fi, err := os.Stat(filepath.Join(site.root, "hello.txt"))
		if err != nil {
			t.Fatal(err)
		}
		mtime := fi.ModTime().UTC()
		earlier := mtime.Add(-time.Hour).Format(http.TimeFormat)
		later := mtime.Add(time.Minute).Format(http.TimeFormat)
		future := time.Now().Add(48 * time.Hour).UTC().Format(http.TimeFormat)
		strong := strings.TrimPrefix(etag, "W/")
		for _, tc := range []struct {
			name    string
			method  string
			headers []string
			status  int
		}{
			{"INM exact", "GET", []string{"If-None-Match: " + etag}, 304},
			{"INM without W/ (weak comparison)", "GET", []string{"If-None-Match: " + strong}, 304},
			{"INM list", "GET", []string{`If-None-Match: "nope", ` + etag + `, "other"`}, 304},
			{"INM split over two lines", "GET", []string{`If-None-Match: "nope"`, "If-None-Match: " + etag}, 304},
			{"INM star", "GET", []string{"If-None-Match: *"}, 304},
			{"INM on HEAD", "HEAD", []string{"If-None-Match: " + etag}, 304},
			{"INM miss", "GET", []string{`If-None-Match: "nope"`}, 200},
			{"INM miss with a matching IMS", "GET", []string{`If-None-Match: "nope"`, "If-Modified-Since: " + lm}, 200},
			{"IMS equal", "GET", []string{"If-Modified-Since: " + lm}, 304},
			{"IMS later", "GET", []string{"If-Modified-Since: " + later}, 304},
			{"IMS on HEAD", "HEAD", []string{"If-Modified-Since: " + lm}, 304},
			{"IMS earlier", "GET", []string{"If-Modified-Since: " + earlier}, 200},
			{"IMS invalid date", "GET", []string{"If-Modified-Since: yesterday"}, 200},
			{"IMS in the future", "GET", []string{"If-Modified-Since: " + future}, 200},
			{"IMS repeated", "GET", []string{"If-Modified-Since: " + lm, "If-Modified-Since: " + lm}, 200},
			{"IMS in RFC 850 form", "GET", []string{"If-Modified-Since: " + mtime.Format("Monday, 02-Jan-06 15:04:05 GMT")}, 304},
			{"IMS in asctime form", "GET", []string{"If-Modified-Since: " + mtime.Format(time.ANSIC)}, 304},
			{"If-Match weak never matches", "GET", []string{"If-Match: " + etag}, 412},
			{"If-Match star", "GET", []string{"If-Match: *"}, 200},
			{"If-Unmodified-Since earlier", "GET", []string{"If-Unmodified-Since: " + earlier}, 412},
			{"If-Unmodified-Since equal", "GET", []string{"If-Unmodified-Since: " + lm}, 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				resp, body, _ := staticDo(t, s, tc.method, "/static/hello.txt", tc.headers...)
				is.Equal(resp.StatusCode, tc.status)
				switch tc.status {
				case 304:
					is.Equal(body, "")
					is.Equal(resp.Header.Get("ETag"), etag)
					is.Equal(resp.Header.Get("Last-Modified"), lm)
					is.Equal(resp.Header.Values("Content-Type"), []string(nil))
					is.Equal(resp.Header.Values("Content-Length"), []string(nil))
				case 200:
					if tc.method == "GET" {
						is.Equal(body, string(site.files["hello.txt"]))
					}
					is.Equal(resp.Header.Get("ETag"), etag)
				case 412:
					is.Equal(body, "Precondition Failed")
				}
			})
		}
	})
}

func TestStaticRanges(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		site := newStaticSite(t)
		s := startStatic(t, engine, site)
		etag, lm := site.validators(t, "digits.txt")
		const all = "0123456789"
		for _, tc := range []struct {
			name    string
			method  string
			headers []string
			status  int
			body    string
			crange  string
		}{
			{"first bytes", "GET", []string{"Range: bytes=0-4"}, 206, "01234", "bytes 0-4/10"},
			{"middle", "GET", []string{"Range: bytes=3-5"}, 206, "345", "bytes 3-5/10"},
			{"open-ended", "GET", []string{"Range: bytes=7-"}, 206, "789", "bytes 7-9/10"},
			{"suffix", "GET", []string{"Range: bytes=-3"}, 206, "789", "bytes 7-9/10"},
			{"suffix longer than the file", "GET", []string{"Range: bytes=-50"}, 206, all, "bytes 0-9/10"},
			{"end past the file is clipped", "GET", []string{"Range: bytes=8-100"}, 206, "89", "bytes 8-9/10"},
			{"unsatisfiable", "GET", []string{"Range: bytes=10-"}, 416, "Range Not Satisfiable", "bytes */10"},
			{"zero suffix", "GET", []string{"Range: bytes=-0"}, 416, "Range Not Satisfiable", "bytes */10"},
			{"several ranges are ignored", "GET", []string{"Range: bytes=0-1,4-5"}, 200, all, ""},
			{"invalid syntax is ignored", "GET", []string{"Range: bytes=5-2"}, 200, all, ""},
			{"other unit is ignored", "GET", []string{"Range: items=0-1"}, 200, all, ""},
			{"garbage is ignored", "GET", []string{"Range: lots"}, 200, all, ""},
			{"HEAD ignores Range", "HEAD", []string{"Range: bytes=0-4"}, 200, "", ""},
			{"If-Range with our weak ETag", "GET", []string{"Range: bytes=0-4", "If-Range: " + etag}, 200, all, ""},
			{"If-Range with a strong ETag", "GET", []string{"Range: bytes=0-4", "If-Range: " + strings.TrimPrefix(etag, "W/")}, 200, all, ""},
			{"If-Range with Last-Modified", "GET", []string{"Range: bytes=0-4", "If-Range: " + lm}, 206, "01234", "bytes 0-4/10"},
			{"If-Range with another date", "GET", []string{"Range: bytes=0-4", "If-Range: Sun, 06 Nov 1994 08:49:37 GMT"}, 200, all, ""},
			{"If-Range with garbage", "GET", []string{"Range: bytes=0-4", "If-Range: whenever"}, 200, all, ""},
			{"304 wins over Range", "GET", []string{"Range: bytes=0-4", "If-None-Match: " + etag}, 304, "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				resp, body, _ := staticDo(t, s, tc.method, "/static/digits.txt", tc.headers...)
				is.Equal(resp.StatusCode, tc.status)
				is.Equal(body, tc.body)
				is.Equal(resp.Header.Get("Content-Range"), tc.crange)
				switch tc.status {
				case 206:
					is.Equal(resp.Header.Get("Content-Length"), fmt.Sprint(len(tc.body)))
					is.Equal(resp.Header.Get("Content-Type"), "text/plain")
					is.Equal(resp.Header.Get("ETag"), etag)
					is.Equal(resp.Header.Get("Accept-Ranges"), "bytes")
				case 200:
					is.Equal(resp.Header.Get("Content-Length"), "10")
				case 416:
					is.Equal(resp.Header.Get("Accept-Ranges"), "bytes")
				}
			})
		}
	})
}

// Files much larger than the socket buffers arrive byte-exact while the client reads slowly
// through a tiny receive buffer: with three large pipelined responses (8 MiB, more than the
// kernel's largest send buffer) the reactor's sendfile meets a full socket and must resume
// when it drains, and the responses after it still come in order.
func TestStaticLargeFile(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		site := newStaticSite(t)
		big := make([]byte, 3<<20)
		rand.Read(big)
		if err := os.WriteFile(filepath.Join(site.root, "big.bin"), big, 0o644); err != nil {
			t.Fatal(err)
		}
		s := startStatic(t, engine, site)

		d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			rc.Control(func(fd uintptr) {
				serr = setReceiveBuffer(fd, 4096)
			})
			return serr
		}}
		c, err := d.Dial("tcp", s.Addr)
		is.NoErr(err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		_, err = c.Write([]byte(staticRequest("GET", "/static/big.bin") +
			staticRequest("GET", "/static/big.bin", "Range: bytes=1000000-2999999") +
			staticRequest("GET", "/static/big.bin") + staticRequest("GET", "/static/hello.txt")))
		is.NoErr(err)

		br := bufio.NewReaderSize(c, 16)
		resp, err := http.ReadResponse(br, nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 200)
		is.Equal(resp.ContentLength, int64(len(big)))
		// The first 256 KiB in 512-byte reads, the rest at once.
		var got bytes.Buffer
		chunk := make([]byte, 512)
		for got.Len() < 256<<10 {
			n, err := resp.Body.Read(chunk)
			got.Write(chunk[:n])
			if err != nil {
				break
			}
		}
		_, err = io.Copy(&got, resp.Body)
		is.NoErr(err)
		is.Equal(got.Len(), len(big))
		is.True(bytes.Equal(got.Bytes(), big))

		resp, err = http.ReadResponse(br, nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 206)
		is.Equal(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes 1000000-2999999/%d", len(big)))
		part, err := io.ReadAll(resp.Body)
		is.NoErr(err)
		is.True(bytes.Equal(part, big[1000000:3000000]))

		resp, err = http.ReadResponse(br, nil)
		is.NoErr(err)
		again, err := io.ReadAll(resp.Body)
		is.NoErr(err)
		is.True(bytes.Equal(again, big))

		resp, err = http.ReadResponse(br, nil)
		is.NoErr(err)
		rest, err := io.ReadAll(resp.Body)
		is.NoErr(err)
		is.Equal(string(rest), "hello static\n")
	})
}

// staticHostileCases are request targets that try to leave the static root or break the
// decoder, with the status each must get.
var staticHostileCases = []struct {
	target string
	status int
}{
	{"/static/../secret.txt", 403},
	{"/static/..", 403},
	{"/static/%2e%2e/secret.txt", 403},
	{"/static/%2E%2E/secret.txt", 403},
	{"/static/.%2e/secret.txt", 403},
	{"/static/..%2fsecret.txt", 403},
	{"/static/%2e%2e%2fsecret.txt", 403},
	{"/static/a/../../secret.txt", 403},
	{"/static/sub/%2e%2e/%2e%2e/secret.txt", 403},
	{"/static/sub/../hello.txt", 403}, // ".." is refused even when it would stay inside
	{`/static/..\secret.txt`, 403},
	{"/static/%2e%2e%5csecret.txt", 403},
	{`/static/sub\..\..\secret.txt`, 403},
	{"/static/%00", 400},
	{"/static/a%00b", 400},
	{"/static/hello.txt%00.html", 400},
	{"/static/%zz", 400},
	{"/static/%", 400},
	{"/static/%4", 400},
	{"/static/link-secret", 403},
	{"/static/link-abs", 403},
	{"/static/link-outdir/x.txt", 403},
	{"/static/link-outdir", 403},
	{"/static//etc/passwd", 404},
	{"/static/%2fetc%2fpasswd", 404},
	{"/static/%252e%252e/secret.txt", 404}, // decoded once: a literal "%2e%2e" directory
	{"/static/%c0%ae%c0%ae/secret.txt", 404},
	{"/static/..;/secret.txt", 404},
	{"/static/.../secret.txt", 404},
	{"http://x/static/../secret.txt", 403},
	{"http://x/static/%2e%2e/secret.txt", 403},
	{"http://x/static//etc/passwd", 404},
	{"/static/" + strings.Repeat("a", 300), 404},
	{"/static/" + strings.Repeat("a/", 3000) + "x", 404},
	{"/static/" + strings.Repeat("../", 2000) + "secret.txt", 403},
	{"/static/" + strings.Repeat("a", 9000), 414},
}

var staticErrorBodies = map[int]string{400: "Bad Request", 403: "Forbidden", 404: "Not Found",
	414: "URI Too Long"}

func TestStaticHostilePaths(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		site := newStaticSite(t)
		s := startStatic(t, engine, site)
		for _, tc := range staticHostileCases {
			name := tc.target
			if len(name) > 60 {
				name = fmt.Sprintf("%s...(%d bytes)", name[:40], len(name))
			}
			for _, method := range []string{"GET", "HEAD"} {
				t.Run(method+" "+name, func(t *testing.T) {
					is := is.New(t)
					resp, body, raw := staticDo(t, s, method, tc.target)
					is.Equal(resp.StatusCode, tc.status)
					is.True(!bytes.Contains(raw, []byte(staticSecret)))
					if method == "GET" {
						is.Equal(body, staticErrorBodies[tc.status])
						is.Equal(resp.Header.Get("Content-Type"), "text/plain; charset=utf-8")
					}
				})
			}
		}
	})
}
