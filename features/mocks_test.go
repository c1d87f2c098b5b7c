package features

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/conn"
	"ownhttp/proto"
	"ownhttp/state"
)

// mkActor runs a state actor without a state file until the test ends.
func mkActor(t testing.TB, cfg state.Config) *state.Actor {
	a, _ := startActor(t, cfg)
	return a
}

// mkAddMock creates a mock from a JSON payload or fails the test.
func mkAddMock(t testing.TB, a *state.Actor, payload string) state.Mock {
	t.Helper()
	in, e := state.DecodeMockInput([]byte(payload))
	if e != nil {
		t.Fatalf("decode %s: %v", payload, e)
	}
	m, err := a.CreateMock(context.Background(), in)
	if err != nil {
		t.Fatalf("create %s: %v", payload, err)
	}
	return m
}

// mkTransport collects what a connection writes (the feature tests' connections never send files).
type mkTransport struct{ out bytes.Buffer }

func (m *mkTransport) Write(p []byte) (int, error)                    { return m.out.Write(p) }
func (m *mkTransport) WriteMore(p []byte) (int, error)                { return m.out.Write(p) }
func (m *mkTransport) SendFile(*os.File, int64, int64) (int64, error) { return 0, io.EOF }
func (m *mkTransport) CloseWrite() error                              { return nil }
func (m *mkTransport) Reset() error                                   { return nil }

// mkOwner runs posted functions at once (the tests here never post).
type mkOwner struct{}

func (mkOwner) Post(fn func()) bool { fn(); return true }

// mkNoOffload refuses every task: serving a mock must never need the offload pool.
type mkNoOffload struct{}

func (mkNoOffload) Go(func()) bool { return false }

// mkConn returns a connection driven by app's Serve, writing into the returned buffer.
func mkConn(app *App) (*conn.Conn, *mkTransport) {
	srv := &conn.Server{Handler: app, Offload: mkNoOffload{}}
	srv.Defaults()
	date := &proto.DateCache{}
	date.Update(time.Unix(0, 0))
	tr := &mkTransport{}
	c := conn.New(srv, tr, mkOwner{}, nil, date, nil, netip.MustParseAddrPort("127.0.0.1:1"), 1, false, time.Unix(0, 0))
	return c, tr
}

// mkServe sends one raw request through a fresh connection and parses the response.
func mkServe(t *testing.T, app *App, raw string) (*http.Response, string) {
	t.Helper()
	c, tr := mkConn(app)
	c.OnData([]byte(raw), time.Unix(1, 0))
	method := strings.SplitN(raw, " ", 2)[0]
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(tr.out.Bytes())), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%q: %v\n%s", raw, err, tr.out.String())
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%q: body: %v", raw, err)
	}
	return resp, string(b)
}

func mkReq(method, target string, headers ...string) string {
	return method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + strings.Join(headers, "") + "\r\n"
}

// Serving a matched mock allocates nothing, with 200 mocks loaded (exact and patterns), CORS
// on, through the whole connection: parse, route, match, render.
func TestServeMockAllocs(t *testing.T) {
	is := is.New(t)
	a := mkActor(t, state.Config{})
	for i := range 190 {
		mkAddMock(t, a, fmt.Sprintf(`{"method":"GET","path_pattern":"/exact/%d","status":201,"headers":{"X-N":"%d"},"body":"b%d"}`, i, i, i))
	}
	for i := range 10 {
		mkAddMock(t, a, fmt.Sprintf(`{"method":"POST","path_pattern":"/p%d/{id}/items/*","body":"p%d"}`, i, i))
	}
	is.Equal(a.Snapshot().Len(), 200)
	app := New(Config{State: a, CORSOrigins: []string{"https://a.example", "https://b.example"}})
	for _, tc := range []struct {
		name, raw, want string
	}{
		{"exact", mkReq("GET", "/exact/150?q=1", "Origin: https://b.example\r\n"), "b150"},
		{"pattern", mkReq("POST", "/p9/42/items/x/y", "Content-Length: 0\r\n"), "p9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c, tr := mkConn(app)
			req := []byte(tc.raw)
			now := time.Unix(1, 0)
			c.OnData(req, now)
			is.True(strings.HasSuffix(tr.out.String(), "\r\n\r\n"+tc.want)) // the mock answered
			allocs := testing.AllocsPerRun(1000, func() {
				tr.out.Reset()
				c.OnData(req, now)
			})
			is.Equal(allocs, 0.0) // allocations per served mock
		})
	}
}

// The mock's status, headers and body reach the wire; HEAD, the query string, patterns and
// their precedence behave as documented.
func TestServeMock(t *testing.T) {
	a := mkActor(t, state.Config{})
	for _, p := range []string{
		`{"id":"users","method":"GET","path_pattern":"/users","status":201,"headers":{"X-Mock":"yes","x-b":"2"},"body":"[1,2]"}`,
		`{"id":"user","method":"GET","path_pattern":"/users/{id}","body":"one user","content_type":"text/plain"}`,
		`{"id":"me","method":"GET","path_pattern":"/users/me","body":"me"}`,
		`{"id":"files","method":"GET","path_pattern":"/files-of/*","body":"any file"}`,
		`{"id":"deep","method":"GET","path_pattern":"/files-of/{dir}/readme","body":"readme"}`,
		`{"id":"post","method":"POST","path_pattern":"/users","status":202,"body":"posted"}`,
		`{"id":"gone","method":"DELETE","path_pattern":"/users/{id}","status":204,"body":"not sent"}`,
		`{"id":"patch","method":"PATCH","path_pattern":"/users/{id}","body":"patched"}`,
	} {
		mkAddMock(t, a, p)
	}
	app := New(Config{State: a})
	for _, tc := range []struct {
		name, raw   string
		status      int
		body, route string
		headers     map[string]string
	}{
		{"exact with headers", mkReq("GET", "/users"), 201, "[1,2]", "GET /users",
			map[string]string{"X-Mock": "yes", "X-B": "2", "Content-Type": "application/json", "Content-Length": "5"}},
		{"query ignored", mkReq("GET", "/users?page=2&x"), 201, "[1,2]", "", nil},
		{"HEAD matches GET, no body", mkReq("HEAD", "/users"), 201, "", "", map[string]string{"Content-Length": "5"}},
		{"param", mkReq("GET", "/users/42"), 200, "one user", "", map[string]string{"Content-Type": "text/plain"}},
		{"exact beats param", mkReq("GET", "/users/me"), 200, "me", "", nil},
		{"wildcard", mkReq("GET", "/files-of/a/b/c"), 200, "any file", "", nil},
		{"wildcard matches its prefix", mkReq("GET", "/files-of"), 200, "any file", "", nil},
		{"params beat wildcard", mkReq("GET", "/files-of/docs/readme"), 200, "readme", "", nil},
		{"other method", mkReq("POST", "/users", "Content-Length: 0\r\n"), 202, "posted", "", nil},
		{"204 has no body", mkReq("DELETE", "/users/7"), 204, "", "", nil},
		{"PATCH", mkReq("PATCH", "/users/7", "Content-Length: 0\r\n"), 200, "patched", "", nil},
		{"no mock: generic 404", mkReq("GET", "/nobody"), 404, "Not Found", "", nil},
		{"no mock for method: generic 405", mkReq("PUT", "/nobody", "Content-Length: 0\r\n"), 405, "Method Not Allowed", "", nil},
		{"param needs a segment", mkReq("GET", "/users/"), 404, "Not Found", "", nil},
		{"case matters", mkReq("GET", "/Users"), 404, "Not Found", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			resp, body := mkServe(t, app, tc.raw)
			is.Equal(resp.StatusCode, tc.status)
			is.Equal(body, tc.body)
			for k, v := range tc.headers {
				is.Equal(resp.Header.Get(k), v) // header k
			}
			if tc.status == 204 {
				is.Equal(resp.Header.Get("Content-Type"), "")
				is.Equal(len(resp.Header.Values("Content-Length")), 0)
			}
			is.Equal(len(resp.Header.Values("Content-Type")) <= 1, true) // never two Content-Types
		})
	}
}

// mkRouteRecorder keeps the route key of every finished exchange.
type mkRouteRecorder struct{ routes []string }

func (r *mkRouteRecorder) Done(c *conn.Completed) { r.routes = append(r.routes, c.Route) }

// A mock response carries the bounded route key "METHOD pattern", never the raw path.
func TestServeMockRouteKey(t *testing.T) {
	is := is.New(t)
	a := mkActor(t, state.Config{})
	mkAddMock(t, a, `{"method":"GET","path_pattern":"/users/{id}"}`)
	app := New(Config{State: a})
	srv := &conn.Server{Handler: app, Offload: mkNoOffload{}}
	srv.Defaults()
	date := &proto.DateCache{}
	date.Update(time.Unix(0, 0))
	rec := &mkRouteRecorder{}
	c := conn.New(srv, &mkTransport{}, mkOwner{}, rec, date, nil, netip.MustParseAddrPort("127.0.0.1:1"), 1, false, time.Unix(0, 0))
	c.OnData([]byte(mkReq("GET", "/users/1")+mkReq("HEAD", "/users/2?x=1")), time.Unix(1, 0))
	is.Equal(rec.routes, []string{"GET /users/{id}", "GET /users/{id}"})
}

// CORS: an allowed origin (listed or "*") gets Access-Control-Allow-Origin on mock
// responses, and a preflight for a mocked method gets 204 with the allowed methods and
// headers; anything else gets no CORS headers and the generic handling.
func TestServeMockCORS(t *testing.T) {
	a := mkActor(t, state.Config{})
	mkAddMock(t, a, `{"method":"GET","path_pattern":"/items/{id}","body":"item"}`)
	mkAddMock(t, a, `{"method":"PUT","path_pattern":"/items/{id}","body":"put"}`)
	mkAddMock(t, a, `{"method":"DELETE","path_pattern":"/items/*","body":"del"}`)
	listed := New(Config{State: a, CORSOrigins: []string{"https://a.example", "http://localhost:5173"}})
	anyOrigin := New(Config{State: a, CORSOrigins: []string{"*"}})
	none := New(Config{State: a})
	const origin = "Origin: http://localhost:5173\r\n"
	preflight := func(method, extra string) string {
		return mkReq("OPTIONS", "/items/9", origin, "Access-Control-Request-Method: "+method+"\r\n", extra)
	}
	for _, tc := range []struct {
		name         string
		app          *App
		raw          string
		status       int
		allowOrigin  string
		allowMethods string
		allowHeaders string
		vary         string
	}{
		{"listed origin", listed, mkReq("GET", "/items/1", origin), 200, "http://localhost:5173", "", "", "Origin"},
		{"any origin", anyOrigin, mkReq("GET", "/items/1", "Origin: https://z.example\r\n"), 200, "*", "", "", "Origin"},
		{"unlisted origin", listed, mkReq("GET", "/items/1", "Origin: https://evil.example\r\n"), 200, "", "", "", "Origin"},
		{"no origin", listed, mkReq("GET", "/items/1"), 200, "", "", "", "Origin"},
		{"cors off", none, mkReq("GET", "/items/1", origin), 200, "", "", "", ""},
		{"preflight", listed, preflight("PUT", "Access-Control-Request-Headers: content-type, x-trace\r\n"),
			204, "http://localhost:5173", "GET, HEAD, PUT, DELETE", "content-type, x-trace", "Origin"},
		{"preflight drops non-token header names", listed, preflight("DELETE", "Access-Control-Request-Headers: x-a, b@d, , x-c\r\n"),
			204, "http://localhost:5173", "GET, HEAD, PUT, DELETE", "x-a, x-c", "Origin"},
		{"preflight with any origin", anyOrigin, preflight("GET", ""), 204, "*", "GET, HEAD, PUT, DELETE", "", "Origin"},
		{"preflight for an unmocked method", listed, preflight("POST", ""), 405, "", "", "", ""},
		{"preflight from an unlisted origin", listed,
			mkReq("OPTIONS", "/items/9", "Origin: https://evil.example\r\n", "Access-Control-Request-Method: PUT\r\n"), 405, "", "", "", ""},
		{"preflight with cors off", none, preflight("PUT", ""), 405, "", "", "", ""},
		{"OPTIONS without a requested method", listed, mkReq("OPTIONS", "/items/9", origin), 405, "", "", "", ""},
		{"preflight for an unmocked path", listed,
			mkReq("OPTIONS", "/other", origin, "Access-Control-Request-Method: GET\r\n"), 405, "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			resp, _ := mkServe(t, tc.app, tc.raw)
			is.Equal(resp.StatusCode, tc.status)
			is.Equal(resp.Header.Get("Access-Control-Allow-Origin"), tc.allowOrigin)
			is.Equal(resp.Header.Get("Access-Control-Allow-Methods"), tc.allowMethods)
			is.Equal(resp.Header.Get("Access-Control-Allow-Headers"), tc.allowHeaders)
			is.Equal(resp.Header.Get("Vary"), tc.vary)
			if tc.status == 204 {
				is.Equal(resp.Header.Get("Access-Control-Max-Age"), "600")
			}
		})
	}
}

// Without a state actor no mock is served and the mock API answers 503 JSON.
func TestNoState(t *testing.T) {
	is := is.New(t)
	app := New(Config{})
	resp, body := mkServe(t, app, mkReq("GET", "/anything"))
	is.Equal(resp.StatusCode, 404)
	is.Equal(body, "Not Found")
	for _, raw := range []string{mkReq("GET", "/api/mocks"), mkReq("GET", "/api/history"), mkReq("GET", "/api/playground/state"),
		mkReq("POST", "/api/mocks", "Content-Length: 2\r\n") + "{}", mkReq("DELETE", "/api/mocks/x")} {
		resp, body := mkServe(t, app, raw)
		is.Equal(resp.StatusCode, 503)                                // no state
		is.Equal(resp.Header.Get("Content-Type"), "application/json") // JSON error
		is.True(strings.Contains(body, `"code":"unavailable"`))
	}
}

// A replayed request carries the caller's credentials, never stored ones, and none of the
// stored hop-by-hop or framing fields.
func TestReplayHeaders(t *testing.T) {
	stored := map[string]string{
		"authorization": state.Redacted, "cookie": state.Redacted, "proxy-authorization": state.Redacted,
		"host": "example", "connection": "close", "content-length": "5", "transfer-encoding": "chunked",
		"keep-alive": "timeout=5", "te": "trailers", "upgrade": "websocket", "expect": "100-continue",
		"x-ownhttp-self": "1", "accept": "application/json", "x-trace": "t-1", "user-agent": "curl/8",
	}
	for _, tc := range []struct {
		name, caller string
		want         http.Header
	}{
		{"caller credentials", "Bearer caller-2", http.Header{"Authorization": {"Bearer caller-2"},
			"Accept": {"application/json"}, "X-Trace": {"t-1"}, "User-Agent": {"curl/8"}}},
		{"anonymous caller", "", http.Header{"Accept": {"application/json"}, "X-Trace": {"t-1"}, "User-Agent": {"curl/8"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(replayHeaders(stored, tc.caller), tc.want)
		})
	}
	is := is.New(t)
	is.Equal(len(replayHeaders(nil, "")), 0) // no stored headers
}

// The replay target is the stored raw target, or the path and query of an absolute-form one.
func TestReplayTarget(t *testing.T) {
	for _, tc := range []struct {
		raw, path, want string
		ok              bool
	}{
		{"/users?x=1", "/users", "/users?x=1", true},
		{"/a%2Fb/{c}", "/a%2Fb/{c}", "/a%2Fb/{c}", true},
		{"http://example.com/p?q=1", "/p", "/p?q=1", true},
		{"http://example.com", "/", "/", true},
		{"*", "*", "*", true},
		{"", "/fallback", "/fallback", true},
		{"example.com:443", "example.com:443", "", false},
		{"", "-", "", false},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			is := is.New(t)
			got, ok := replayTarget(&state.ReplayInput{RawTarget: tc.raw, Path: tc.path})
			is.Equal(ok, tc.ok)
			is.Equal(got, tc.want)
		})
	}
}

// A manual request payload is validated field by field; framing fields are dropped and the
// path is made safe for the request line.
func TestDecodePlaygroundRequest(t *testing.T) {
	for _, tc := range []struct {
		name, payload  string
		method, target string
		header         http.Header
		body           string
	}{
		{"defaults", `{}`, "GET", "/", http.Header{}, ""},
		{"empty body", ``, "GET", "/", http.Header{}, ""},
		{"full", `{"method":"post","path":"/users?x=1","headers":{"X-A":"1","content-length":"9","Host":"h","Authorization":"Bearer t"},"body":"hi"}`,
			"POST", "/users?x=1", http.Header{"X-A": {"1"}, "Authorization": {"Bearer t"}}, "hi"},
		{"nulls", `{"method":null,"path":null,"headers":null,"body":null}`, "GET", "/", http.Header{}, ""},
		{"unsafe path bytes", `{"path":"/a b#c\u00e9\t"}`, "GET", "/a%20b%23c%C3%A9%09", http.Header{}, ""},
		{"extension method", `{"method":"propfind"}`, "PROPFIND", "/", http.Header{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			req, sent, err := decodePlaygroundRequest([]byte(tc.payload), maxPlaygroundBody)
			is.NoErr(err)
			is.Equal(req.method, tc.method)
			is.Equal(req.target, tc.target)
			is.Equal(sent, playgroundSent{Method: tc.method, Path: tc.target})
			is.Equal(req.header, tc.header)
			is.Equal(req.body, tc.body)
		})
	}
}

// Hostile or wrong manual request payloads are product errors with the right status.
func TestDecodePlaygroundRequestHostile(t *testing.T) {
	big := `{"body":"` + strings.Repeat("a", maxPlaygroundBody+1) + `"}`
	for _, tc := range []struct {
		name, payload string
		status        int
		code          string
	}{
		{"not json", `{`, 400, "invalid_json"},
		{"not an object", `[1]`, 400, "invalid_json"},
		{"not utf-8", "{\"path\":\"/\xff\"}", 400, "invalid_json"},
		{"method not a string", `{"method":1}`, 400, "invalid_request"},
		{"method not a token", `{"method":"GE T"}`, 400, "invalid_request"},
		{"method empty", `{"method":""}`, 400, "invalid_request"},
		{"method with CRLF", `{"method":"GET\r\nX: y"}`, 400, "invalid_request"},
		{"path not a string", `{"path":["/"]}`, 400, "invalid_request"},
		{"path without slash", `{"path":"users"}`, 400, "invalid_request"},
		{"path absolute URL", `{"path":"http://evil/"}`, 400, "invalid_request"},
		{"headers not an object", `{"headers":"x"}`, 400, "invalid_request"},
		{"headers a list", `{"headers":[["a","b"]]}`, 400, "invalid_request"},
		{"header value not a string", `{"headers":{"X":1}}`, 400, "invalid_request"},
		{"header name not a token", `{"headers":{"X Y":"1"}}`, 400, "invalid_request"},
		{"header value with CRLF", `{"headers":{"X":"a\r\nEvil: 1"}}`, 400, "invalid_request"},
		{"header value with NUL", `{"headers":{"X":"a\u0000"}}`, 400, "invalid_request"},
		{"body not a string", `{"body":{"a":1}}`, 400, "invalid_request"},
		{"body too large", big, 413, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			_, _, err := decodePlaygroundRequest([]byte(tc.payload), maxPlaygroundBody)
			status, code, msg := statusOf(err)
			is.Equal(status, tc.status)
			is.Equal(code, tc.code)
			is.True(msg != "")
		})
	}
}

func TestRequestedHeaders(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"content-type", "content-type"},
		{" X-A ,\tx-b,", "X-A, x-b"},
		{"a b, c", "c"},
		{"\x00, é", ""},
	} {
		is := is.New(t)
		is.Equal(requestedHeaders([]byte(tc.in)), tc.want) // requested headers of tc.in
	}
}

// BenchmarkServeMockVsRoot compares the whole per-request cost (parse, guard, route, mock
// match, render, metrics, capture) of a {param} mock among 200 with that of GET /.
func BenchmarkServeMockVsRoot(b *testing.B) {
	a := mkActor(b, state.Config{})
	for i := range 100 {
		mkAddMock(b, a, fmt.Sprintf(`{"method":"GET","path_pattern":"/exact/%d","body":"e%d"}`, i, i))
	}
	for i := range 99 {
		mkAddMock(b, a, fmt.Sprintf(`{"method":"GET","path_pattern":"/p%d/{id}/item/{n}","body":"p%d"}`, i, i))
	}
	mkAddMock(b, a, `{"method":"GET","path_pattern":"/bench/{id}/item/{n}","body":"Hello World","content_type":"text/plain"}`)
	app := New(Config{State: a})
	for _, tc := range []struct{ name, path string }{{"root", "/"}, {"mock", "/bench/42/item/7"}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := &conn.Server{Handler: app, Offload: mkNoOffload{}, MaxKeepAliveRequests: 1 << 40}
			srv.Defaults()
			date := &proto.DateCache{}
			date.Update(time.Unix(0, 0))
			tr := &mkTransport{}
			obs := app.NewObserver() // metrics and history capture, as on a loop
			c := conn.New(srv, tr, mkOwner{}, obs, date, nil, netip.MustParseAddrPort("127.0.0.1:1"), 1, false, time.Unix(0, 0))
			flush := obs.(interface{ Flush() })
			req := []byte(strings.Repeat(mkReq("GET", tc.path, ""), 16))
			now := time.Unix(1, 0)
			b.ReportAllocs()
			for b.Loop() {
				tr.out.Reset()
				c.OnData(req, now)
				flush.Flush()
			}
			if c.Closed() {
				b.Fatal("connection closed")
			}
		})
	}
}

// When the offload pool is full (here: it refuses everything), an API route that needs it
// answers 503 in the API's error shape and anything else in plain text; both with Retry-After.
func TestBusyReplies(t *testing.T) {
	is := is.New(t)
	app := New(Config{State: mkActor(t, state.Config{}), StaticDir: t.TempDir()})
	resp, body := mkServe(t, app, mkReq("GET", "/api/mocks"))
	is.Equal(resp.StatusCode, 503)
	is.Equal(resp.Header.Get("Content-Type"), jsonType)
	is.Equal(resp.Header.Get("Retry-After"), "1")
	is.Equal(body, `{"error":{"code":"busy","message":"the server is busy; retry shortly"}}`)
	resp, body = mkServe(t, app, mkReq("GET", "/static/page.html"))
	is.Equal(resp.StatusCode, 503)
	is.Equal(resp.Header.Get("Content-Type"), textPlain)
	is.Equal(resp.Header.Get("Retry-After"), "1")
	is.Equal(body, "Service Unavailable")
}
