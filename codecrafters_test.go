package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
	"ownhttp/loop"
)

// ccResponse is one response read off the wire, its body exactly as sent.
type ccResponse struct {
	*http.Response
	body []byte
}

// ccDo sends one raw request on a fresh connection and reads one response (method says how
// to frame it: HEAD has no body).
func ccDo(t *testing.T, s *testkit.Server, method, raw string) ccResponse {
	t.Helper()
	r, err := ccTry(s, method, raw)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return r
}

// ccTry is ccDo for any goroutine: it reports failures instead of ending the test.
func ccTry(s *testkit.Server, method, raw string) (ccResponse, error) {
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		return ccResponse{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write([]byte(raw)); err != nil {
		return ccResponse{}, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return ccResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return ccResponse{resp, body}, err
}

func ccGet(t *testing.T, s *testkit.Server, target string, headers ...string) ccResponse {
	t.Helper()
	return ccDo(t, s, "GET", "GET "+target+" HTTP/1.1\r\nHost: x\r\n"+ccHeaderLines(headers)+"\r\n")
}

func ccPost(t *testing.T, s *testkit.Server, target, body string) ccResponse {
	t.Helper()
	return ccDo(t, s, "POST", "POST "+target+" HTTP/1.1\r\nHost: x\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+body)
}

func ccHeaderLines(headers []string) string {
	var b strings.Builder
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	return b.String()
}

// ccServer starts a server in CodeCrafters mode serving dir (none when dir is "").
func ccServer(t *testing.T, engine, dir string) *testkit.Server {
	args := []string{"--codecrafters-mode", "--access-log=false"}
	if dir != "" {
		args = append(args, "--directory", dir)
	}
	return testkit.Start(t, run, engine, args...)
}

func TestCodeCraftersEcho(t *testing.T) {
	tests := []struct {
		target string
		status int
		body   string
	}{
		{"/echo/abc", 200, "abc"},
		{"/echo/a%20b", 200, "a%20b"}, // raw, not percent-decoded
		{"/echo/a/b/c", 200, "a/b/c"},
		{"/echo/", 200, ""},
		{"/echo/abc?x=1", 200, "abc"}, // the query is not part of the path
		{"/echo/caf\xc3\xa9", 200, "caf\xc3\xa9"},
		{"/echo/" + strings.Repeat("z", 4000), 200, strings.Repeat("z", 4000)},
		{"/echo", 404, "Not Found"}, // no {str} at all
		{"/echoes/abc", 404, "Not Found"},
	}
	eachEngine(t, func(t *testing.T, engine string) {
		s := ccServer(t, engine, "")
		for _, tt := range tests {
			is := is.New(t)
			r := ccGet(t, s, tt.target)
			is.Equal(r.StatusCode, tt.status) // tt.target
			is.Equal(string(r.body), tt.body)
			if tt.status != 200 {
				continue
			}
			is.Equal(r.Header.Values("Content-Type"), []string{"text/plain"}) // exactly, no charset
			is.Equal(r.Header.Get("Content-Length"), strconv.Itoa(len(tt.body)))
			is.Equal(r.Header.Values("Content-Encoding"), []string(nil))
			is.Equal(r.Header.Get("Vary"), "Accept-Encoding")
		}
	})
}

func TestCodeCraftersEchoGzip(t *testing.T) {
	tests := []struct {
		name     string
		encoding []string // Accept-Encoding field values; none: no field
		gzip     bool
	}{
		{"absent", nil, false},
		{"gzip", []string{"gzip"}, true},
		{"gzip q=0", []string{"gzip;q=0"}, false},
		{"deflate and weighted gzip", []string{"deflate, gzip;q=0.5"}, true},
		{"upper case", []string{"GZIP"}, true},
		{"star", []string{"*"}, true},
		{"identity", []string{"identity"}, false},
		{"invalid codings only", []string{"invalid-encoding"}, false},
		{"gzip among invalid", []string{"invalid-encoding-1, gzip, invalid-encoding-2"}, true},
		{"second field", []string{"br", "gzip"}, true},
		{"malformed weight", []string{"gzip;q=2"}, false},
		{"empty", []string{""}, false},
	}
	const msg = "hello-gzip-hello-gzip-hello-gzip"
	eachEngine(t, func(t *testing.T, engine string) {
		s := ccServer(t, engine, "")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				var headers []string
				for _, v := range tt.encoding {
					headers = append(headers, "Accept-Encoding: "+v)
				}
				r := ccGet(t, s, "/echo/"+msg, headers...)
				is.Equal(r.StatusCode, 200)
				is.Equal(r.Header.Values("Content-Type"), []string{"text/plain"})
				is.Equal(r.Header.Get("Vary"), "Accept-Encoding")
				is.Equal(r.Header.Get("Content-Length"), strconv.Itoa(len(r.body)))
				if !tt.gzip {
					is.Equal(r.Header.Values("Content-Encoding"), []string(nil))
					is.Equal(string(r.body), msg)
					return
				}
				is.Equal(r.Header.Values("Content-Encoding"), []string{"gzip"})
				zr, err := gzip.NewReader(bytes.NewReader(r.body))
				is.NoErr(err)
				plain, err := io.ReadAll(zr)
				is.NoErr(err)
				is.Equal(string(plain), msg) // decompresses to the original

				// HEAD: the same head, Content-Length of the compressed body, no body.
				h := ccDo(t, s, "HEAD", "HEAD /echo/"+msg+" HTTP/1.1\r\nHost: x\r\n"+ccHeaderLines(headers)+"\r\n")
				is.Equal(h.StatusCode, 200)
				is.Equal(h.Header.Get("Content-Length"), strconv.Itoa(len(r.body)))
				is.Equal(h.Header.Get("Content-Encoding"), "gzip")
				is.Equal(len(h.body), 0)
			})
		}
	})
}

// Methods other than GET and HEAD on /echo/ are 405 with Allow (the seed said 404 for POST).
func TestCodeCraftersEchoOtherMethods(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := ccServer(t, engine, "")
		for _, m := range []string{"POST", "PUT", "DELETE"} {
			is := is.New(t)
			r := ccDo(t, s, m, m+" /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
			is.Equal(r.StatusCode, 405) // m
			is.Equal(r.Header.Get("Allow"), "GET, HEAD")
		}
	})
}

func TestCodeCraftersUserAgent(t *testing.T) {
	tests := []struct {
		headers []string
		body    string
	}{
		{[]string{"User-Agent: foobar/1.2.3"}, "foobar/1.2.3"},
		{[]string{"user-agent:   spaced out  "}, "spaced out"},
		{[]string{"User-Agent: first", "User-Agent: second"}, "first"},
		{nil, ""},
	}
	eachEngine(t, func(t *testing.T, engine string) {
		s := ccServer(t, engine, "")
		for _, tt := range tests {
			is := is.New(t)
			r := ccGet(t, s, "/user-agent", tt.headers...)
			is.Equal(r.StatusCode, 200)
			is.Equal(string(r.body), tt.body)
			is.Equal(r.Header.Values("Content-Type"), []string{"text/plain"})
			is.Equal(r.Header.Get("Content-Length"), strconv.Itoa(len(tt.body)))
		}
	})
}

func TestCodeCraftersFiles(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		dir := t.TempDir()
		big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: many sendfile calls
		is.NoErr(os.WriteFile(filepath.Join(dir, "foo"), []byte("Hello, World!"), 0o600))
		is.NoErr(os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o600))
		is.NoErr(os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600))
		is.NoErr(os.WriteFile(filepath.Join(dir, "a b"), []byte("spaced"), 0o600))
		s := ccServer(t, engine, dir)

		r := ccGet(t, s, "/files/foo")
		is.Equal(r.StatusCode, 200)
		is.Equal(string(r.body), "Hello, World!")
		is.Equal(r.Header.Values("Content-Type"), []string{"application/octet-stream"})
		is.Equal(r.Header.Get("Content-Length"), "13")

		r = ccDo(t, s, "HEAD", "HEAD /files/foo HTTP/1.1\r\nHost: x\r\n\r\n")
		is.Equal(r.StatusCode, 200)
		is.Equal(r.Header.Get("Content-Length"), "13")
		is.Equal(len(r.body), 0)

		r = ccGet(t, s, "/files/big.bin")
		is.Equal(r.StatusCode, 200)
		is.True(bytes.Equal(r.body, big))

		r = ccGet(t, s, "/files/empty")
		is.Equal(r.StatusCode, 200)
		is.Equal(r.Header.Get("Content-Length"), "0")

		r = ccGet(t, s, "/files/a%20b") // names are percent-decoded
		is.Equal(r.StatusCode, 200)
		is.Equal(string(r.body), "spaced")

		r = ccGet(t, s, "/files/non-existent")
		is.Equal(r.StatusCode, 404)
		is.Equal(string(r.body), "Not Found")

		r = ccPost(t, s, "/files/created", "posted body")
		is.Equal(r.StatusCode, 201)
		is.Equal(r.Status, "201 Created")
		is.Equal(len(r.body), 0)
		is.Equal(r.Header.Get("Content-Length"), "0")
		got, err := os.ReadFile(filepath.Join(dir, "created"))
		is.NoErr(err)
		is.Equal(string(got), "posted body")

		r = ccPost(t, s, "/files/created", "new") // overwrites
		is.Equal(r.StatusCode, 201)
		r = ccGet(t, s, "/files/created")
		is.Equal(string(r.body), "new")

		r = ccPost(t, s, "/files/foo", "") // an empty body empties the file
		is.Equal(r.StatusCode, 201)
		got, err = os.ReadFile(filepath.Join(dir, "foo"))
		is.NoErr(err)
		is.Equal(len(got), 0)

		// A chunked upload is written decoded.
		r = ccDo(t, s, "POST", "POST /files/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
		is.Equal(r.StatusCode, 201)
		got, err = os.ReadFile(filepath.Join(dir, "chunked"))
		is.NoErr(err)
		is.Equal(string(got), "abcde")

		entries, err := os.ReadDir(dir)
		is.NoErr(err)
		is.Equal(len(entries), 6) // foo, big.bin, empty, "a b", created, chunked: no temporary files left
	})
}

// Hostile names never reach outside the directory: each is a plain 404 (or, for targets the
// parser refuses, a 400), for GET and for POST, and nothing is written anywhere.
func TestCodeCraftersFilesHostile(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		base := t.TempDir()
		dir := filepath.Join(base, "files")
		outside := filepath.Join(base, "outside")
		is.NoErr(os.Mkdir(dir, 0o700))
		is.NoErr(os.Mkdir(outside, 0o700))
		is.NoErr(os.WriteFile(filepath.Join(base, "secret"), []byte("secret"), 0o600))
		is.NoErr(os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600))
		is.NoErr(os.Mkdir(filepath.Join(dir, "subdir"), 0o700))
		is.NoErr(mkfifo(filepath.Join(dir, "fifo")))
		is.NoErr(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "abs-link")))
		is.NoErr(os.Symlink("../outside/secret", filepath.Join(dir, "rel-link")))
		s := ccServer(t, engine, dir)

		targets := []struct {
			target string
			status int
		}{
			{"/files/..", 404},
			{"/files/.", 404},
			{"/files/../secret", 404},
			{"/files/%2e%2e", 404},
			{"/files/..%2fsecret", 404},
			{"/files/..%2foutside%2fsecret", 404},
			{"/files/%2e%2e%2fsecret", 404},
			{"/files/%2fetc%2fpasswd", 404},
			{"/files/..\\secret", 404},
			{"/files/..%5csecret", 404},
			{"/files/secret%00.txt", 404},
			{"/files/%", 404},
			{"/files/%zz", 404},
			{"/files/a%0d%0aX-Injected:%201", 404},
			{"/files/", 404},
			{"/files/a/b", 404},
			{"/files/" + strings.Repeat("n", 256), 404},
			{"/files/.ownhttp-upload-ABC", 404},
			{"/files/subdir", 404},
			{"/files/fifo", 404}, // must not hang waiting for a writer
			{"/files/abs-link", 404},
			{"/files/rel-link", 404},
			{"/files/a\x01b", 400}, // control characters in the target: the parser refuses
		}
		for _, tt := range targets {
			r := ccGet(t, s, tt.target)
			is.Equal(r.StatusCode, tt.status) // GET tt.target
			is.True(!strings.Contains(string(r.body), "secret"))
			r = ccPost(t, s, tt.target, "pwned")
			is.Equal(r.StatusCode, tt.status) // POST tt.target
		}

		// Nothing was written anywhere, nothing was replaced.
		for _, d := range []string{base, dir, outside} {
			err := filepath.Walk(d, func(path string, info os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				if info.Mode().IsRegular() {
					b, err := os.ReadFile(path)
					if err != nil {
						return err
					}
					if string(b) != "secret" {
						return errors.New(path + " was written")
					}
				}
				return nil
			})
			is.NoErr(err)
		}
		entries, err := os.ReadDir(dir)
		is.NoErr(err)
		is.Equal(len(entries), 4) // subdir, fifo and the two links, no new files
		st, err := os.Lstat(filepath.Join(dir, "abs-link"))
		is.NoErr(err)
		is.True(st.Mode()&os.ModeSymlink != 0) // the link itself is untouched
	})
}

// Without --directory, and with a directory that does not exist, the file routes are 404.
func TestCodeCraftersFilesNoDirectory(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		for _, dir := range []string{"", filepath.Join(t.TempDir(), "missing")} {
			is := is.New(t)
			s := ccServer(t, engine, dir)
			is.Equal(ccGet(t, s, "/files/foo").StatusCode, 404)
			is.Equal(ccPost(t, s, "/files/foo", "x").StatusCode, 404)
			if dir != "" {
				_, err := os.Stat(dir)
				is.True(errors.Is(err, os.ErrNotExist)) // not created
			}
		}
	})
}

// Outside CodeCrafters mode the routes do not exist.
func TestCodeCraftersOff(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		dir := t.TempDir()
		is.NoErr(os.WriteFile(filepath.Join(dir, "foo"), []byte("x"), 0o600))
		s := testkit.Start(t, run, engine, "--directory", dir, "--access-log=false")
		for _, target := range []string{"/echo/abc", "/user-agent", "/files/foo"} {
			is.Equal(ccGet(t, s, target).StatusCode, 404) // target
		}
	})
}

// Connection: close is honoured at once: the response says so and the server closes.
func TestCodeCraftersConnectionClose(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		dir := t.TempDir()
		is.NoErr(os.WriteFile(filepath.Join(dir, "foo"), []byte("file"), 0o600))
		s := ccServer(t, engine, dir)
		for _, target := range []string{"/echo/hi", "/user-agent", "/files/foo"} {
			res := testkit.RoundTrip(t, s, "GET "+target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", []string{"GET"}, false)
			is.NoErr(res.Err)
			is.Equal(res.Resps[0].StatusCode, 200)
			is.True(res.Resps[0].Close) // Connection: close in the response (net/http strips the field)
			is.True(res.Closed)         // target
		}
		// Without it, the connection is kept and answers the next request.
		res := testkit.RoundTrip(t, s, "GET /echo/hi HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET"}, false)
		is.NoErr(res.Err)
		is.True(res.Open)
	})
}

// Pipelined requests across the file routes are answered in order, the offloaded ones
// included. The POST comes last: RFC 9112 §9.3.2 lets a server process pipelined requests in
// parallel only while they are safe, and conn does not hold back requests that follow an
// unsafe one (reported to the lead), so a GET after a POST could overtake its write.
func TestCodeCraftersPipelined(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		dir := t.TempDir()
		is.NoErr(os.WriteFile(filepath.Join(dir, "foo"), []byte("file"), 0o600))
		s := ccServer(t, engine, dir)
		raw := "GET /files/foo HTTP/1.1\r\nHost: x\r\n\r\n" +
			"GET /echo/one HTTP/1.1\r\nHost: x\r\n\r\n" +
			"GET /files/missing HTTP/1.1\r\nHost: x\r\n\r\n" +
			"HEAD /files/foo HTTP/1.1\r\nHost: x\r\n\r\n" +
			"GET /echo/two HTTP/1.1\r\nHost: x\r\n\r\n" +
			"POST /files/bar HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nbar"
		res := testkit.RoundTrip(t, s, raw, []string{"GET", "GET", "GET", "HEAD", "GET", "POST"}, false)
		is.NoErr(res.Err)
		is.Equal(res.Bodies, []string{"file", "one", "Not Found", "", "two", ""})
		var statuses []int
		for _, r := range res.Resps {
			statuses = append(statuses, r.StatusCode)
		}
		is.Equal(statuses, []int{200, 200, 404, 200, 200, 201})
		is.True(res.Open) // and the connection is still there
		got, err := os.ReadFile(filepath.Join(dir, "bar"))
		is.NoErr(err)
		is.Equal(string(got), "bar")
	})
}

// Many clients at once (the CodeCrafters "concurrent connections" stage).
func TestCodeCraftersConcurrentClients(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		dir := t.TempDir()
		s := ccServer(t, engine, dir)
		const clients = 32
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				name := "f" + strconv.Itoa(i)
				post := "POST /files/" + name + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
					strconv.Itoa(len(name)) + "\r\n\r\n" + name
				if r, err := ccTry(s, "POST", post); err != nil || r.StatusCode != 201 {
					t.Errorf("POST %s: %v %v", name, err, r.Response)
					return
				}
				r, err := ccTry(s, "GET", "GET /files/"+name+" HTTP/1.1\r\nHost: x\r\n\r\n")
				if err != nil || string(r.body) != name {
					t.Errorf("GET %s: %v %q", name, err, r.body)
				}
			})
		}
		wg.Wait()
	})
}

// TestYourProgramScript runs ./your_program.sh the way CodeCrafters does, from another working
// directory and with a relative --directory: it builds, serves, and takes the directory
// relative to the caller.
func TestYourProgramScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	is := is.New(t)
	script, err := filepath.Abs("your_program.sh")
	is.NoErr(err)
	st, err := os.Stat(script)
	is.NoErr(err)
	is.True(st.Mode()&0o111 != 0) // executable

	caller := t.TempDir()
	is.NoErr(os.Mkdir(filepath.Join(caller, "files"), 0o700))
	is.NoErr(os.WriteFile(filepath.Join(caller, "files", "foo"), []byte("from the caller"), 0o600))
	// The first run compiles: the wait is long. --port 0 and the ready file replace a
	// guessed free port.
	p := testkit.StartProcess(t, caller, 5*time.Minute, script, "--port", "0", "--directory", "files",
		"--state-file", filepath.Join(caller, "state.json"), "--access-log=false")
	is.Equal(p.Bound.Listeners[0].Role, loop.RoleHTTP)

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string) (int, string, error) {
		resp, err := client.Get("http://" + p.Addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	status, body, err := get("/echo/hi")
	is.NoErr(err)
	is.Equal(status, 200)
	is.Equal(body, "hi")
	status, body, err = get("/files/foo")
	is.NoErr(err)
	is.Equal(status, 200)
	is.Equal(body, "from the caller") // --directory files is the caller's ./files
}
