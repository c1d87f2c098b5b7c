package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// labClient speaks to a test server's API with net/http over real sockets.
type labClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newLabClient(t *testing.T, s *testkit.Server) *labClient {
	return newLabClientURL(t, "http://"+s.Addr, nil)
}

// newLabClientURL is newLabClient for any base URL, with tlsConf for https.
func newLabClientURL(t *testing.T, base string, tlsConf *tls.Config) *labClient {
	tr := &http.Transport{Proxy: nil, DisableCompression: true, TLSClientConfig: tlsConf}
	t.Cleanup(tr.CloseIdleConnections)
	return &labClient{t: t, base: base, c: &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// labResponse is a response read in full.
type labResponse struct {
	status int
	header http.Header
	body   []byte
}

// send makes one request and reads the whole response; headers are "Name: value" strings.
// It never fails the test, so it may run off the test goroutine.
func (l *labClient) send(method, target, body string, headers ...string) (labResponse, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, l.base+target, rd)
	if err != nil {
		return labResponse{}, err
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	resp, err := l.c.Do(req)
	if err != nil {
		return labResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return labResponse{}, fmt.Errorf("body: %w", err)
	}
	return labResponse{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// do is send that fails the test on a transport error.
func (l *labClient) do(method, target, body string, headers ...string) labResponse {
	l.t.Helper()
	r, err := l.send(method, target, body, headers...)
	if err != nil {
		l.t.Fatalf("%s %s: %v", method, target, err)
	}
	return r
}

// expectJSON sends a request, requires the status want, and returns the JSON body's field key.
func expectJSON[T any](l *labClient, method, target, payload string, want int, key string) T {
	l.t.Helper()
	r := l.do(method, target, payload)
	if r.status != want {
		l.t.Fatalf("%s %s %s: %d %s", method, target, payload, r.status, r.body)
	}
	var fields map[string]json.RawMessage
	r.decode(l.t, &fields)
	var v T
	if err := json.Unmarshal(fields[key], &v); err != nil {
		l.t.Fatalf("%s %s: field %q: %v: %s", method, target, key, err, r.body)
	}
	return v
}

// decode parses the body as JSON into v, failing the test when it is not.
func (r labResponse) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body is not the expected JSON (%v): %s", err, r.body)
	}
}

// apiError returns the {"error":{…}} of a JSON error response.
func (r labResponse) apiError(t *testing.T) labErrorDetail {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json: %s", ct, r.body)
	}
	var e struct {
		Error labErrorDetail `json:"error"`
	}
	r.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an API error: %s", r.body)
	}
	return e.Error
}

type labErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// labMock is a mock as the API returns it.
type labMock struct {
	ID          string            `json:"id"`
	Method      string            `json:"method"`
	PathPattern string            `json:"path_pattern"`
	PathRegex   string            `json:"path_regex,omitempty"`
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers"`
	Body        bodyText          `json:"body"`
	ContentType string            `json:"content_type"`
	Match       json.RawMessage   `json:"match,omitempty"`
	Priority    int               `json:"priority,omitempty"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
}

// bodyText reads a mock's body as the API shows it: a string as itself, a body given as a
// JSON value (shown as that value) as its compact JSON text.
type bodyText string

func (b *bodyText) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		*b = bodyText(s)
		return nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return err
	}
	*b = bodyText(buf.String())
	return nil
}

// createMock posts payload and expects 201.
func (l *labClient) createMock(payload string) labMock {
	l.t.Helper()
	return expectJSON[labMock](l, "POST", "/api/mocks", payload, 201, "mock")
}

func (l *labClient) listMocks() []labMock {
	l.t.Helper()
	return expectJSON[[]labMock](l, "GET", "/api/mocks", "", 200, "mocks")
}

// The mock API's routes: create, read, list in insertion order, partial update, delete, and
// JSON errors for unknown ids, empty ids, unknown API paths and wrong methods.
func TestMockAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)

		is.Equal(string(l.do("GET", "/api/mocks", "").body), `{"mocks":[]}`) // empty at start

		r := l.do("POST", "/api/mocks", `{"method":"get","path_pattern":"/users","status":201,"headers":{"X-A":"1"},"body":"hi","created_at":"2000-01-01T00:00:00Z"}`)
		is.Equal(r.status, 201)
		var created struct {
			Mock labMock `json:"mock"`
		}
		r.decode(t, &created)
		a := created.Mock
		is.Equal(len(a.ID), 10) // a random id of 10 hex characters
		is.Equal(r.header.Get("Location"), "/api/mocks/"+a.ID)
		is.Equal(a.Method, "GET") // stored upper-case
		is.Equal(a.PathPattern, "/users")
		is.Equal(a.Status, 201)
		is.Equal(a.Headers, map[string]string{"X-A": "1"})
		is.Equal(string(a.Body), "hi")
		is.Equal(a.ContentType, "application/json") // the default
		_, err := time.Parse(time.RFC3339, a.CreatedAt)
		is.NoErr(err)
		is.Equal(a.UpdatedAt, a.CreatedAt)
		is.True(a.CreatedAt != "2000-01-01T00:00:00Z") // a created_at sent is ignored
		var raw map[string]json.RawMessage
		r.decode(t, &raw)
		var fields map[string]json.RawMessage
		is.NoErr(json.Unmarshal(raw["mock"], &fields))
		is.Equal(len(fields), 10) // exactly the documented fields: the nine, and hits
		is.Equal(string(fields["hits"]), "0")

		b := l.createMock(`{"id":"b-2","method":"POST","path_pattern":"/users","body":{"a":1}}`)
		is.Equal(b.ID, "b-2")
		is.Equal(b.Body, bodyText(`{"a":1}`)) // a non-string body stays JSON (#15)
		var bRaw struct {
			Mock map[string]json.RawMessage `json:"mock"`
		}
		l.do("GET", "/api/mocks/b-2", "").decode(t, &bRaw)
		is.Equal(string(bRaw.Mock["body"]), `{"a":1}`)
		is.Equal(string(fields["body"]), `"hi"`)
		is.Equal(b.Headers, map[string]string{})
		c := l.createMock(`{"method":"DELETE","path_pattern":"/users/{id}","status":204}`)

		list := l.listMocks()
		is.Equal(len(list), 3)
		is.Equal([]string{list[0].ID, list[1].ID, list[2].ID}, []string{a.ID, b.ID, c.ID}) // insertion order

		r = l.do("GET", "/api/mocks/"+b.ID, "")
		is.Equal(r.status, 200)
		var got struct {
			Mock labMock `json:"mock"`
		}
		r.decode(t, &got)
		is.Equal(got.Mock, b)

		r = l.do("PATCH", "/api/mocks/"+a.ID, `{"body":"updated","id":"ignored"}`)
		is.Equal(r.status, 200)
		var upd struct {
			Mock labMock `json:"mock"`
		}
		r.decode(t, &upd)
		is.Equal(upd.Mock.ID, a.ID)
		is.Equal(string(upd.Mock.Body), "updated")
		is.Equal(upd.Mock.Status, 201)                            // kept
		is.Equal(upd.Mock.Headers, map[string]string{"X-A": "1"}) // kept
		is.Equal(upd.Mock.CreatedAt, a.CreatedAt)
		is.Equal(l.listMocks()[0].ID, a.ID) // an update keeps the position

		r = l.do("DELETE", "/api/mocks/"+b.ID, "")
		is.Equal(r.status, 200)
		is.Equal(string(r.body), `{"deleted":true,"id":"b-2"}`)
		is.Equal(len(l.listMocks()), 2)

		for _, tc := range []struct {
			method, target, body string
			status               int
			code, allow          string
		}{
			{"GET", "/api/mocks/b-2", "", 404, "not_found", ""},
			{"PATCH", "/api/mocks/b-2", `{"body":"x"}`, 404, "not_found", ""},
			{"DELETE", "/api/mocks/b-2", "", 404, "not_found", ""},
			{"GET", "/api/mocks/", "", 404, "not_found", ""},
			{"DELETE", "/api/mocks/", "", 404, "not_found", ""},
			{"GET", "/api/nothing-here", "", 404, "not_found", ""},
			{"PATCH", "/api/mocks", `{}`, 405, "method_not_allowed", "GET, HEAD, POST, DELETE"},
			{"PUT", "/api/mocks", "", 405, "method_not_allowed", "GET, HEAD, POST, DELETE"},
			{"POST", "/api/mocks/" + a.ID, `{}`, 405, "method_not_allowed", "GET, HEAD, PUT, DELETE, PATCH"},
		} {
			r := l.do(tc.method, tc.target, tc.body)
			is.Equal(r.status, tc.status) // status of tc
			e := r.apiError(t)
			is.Equal(e.Code, tc.code)
			if tc.code == "not_found" && strings.HasPrefix(tc.target, "/api/mocks/b") {
				is.Equal(e.Message, "mock not found")
			}
			is.Equal(r.header.Get("Allow"), tc.allow)
		}
		is.Equal(len(l.listMocks()), 2) // nothing above changed the mocks
	})
}

// Every invalid mock payload is refused with its status, code and a message, and never
// crashes or changes anything; duplicates are 409 and the route limit 413.
func TestMockAPIValidation(t *testing.T) {
	bigBody := strings.Repeat("x", 262145)
	cases := []struct {
		name, payload string
		status        int
		code, msg     string
	}{
		{"invalid json", `{"method":`, 400, "invalid_json", "body must be valid json"},
		{"not an object", `["GET","/x"]`, 400, "invalid_json", "top-level json must be an object"},
		{"a string", `"GET /x"`, 400, "invalid_json", "top-level json must be an object"},
		{"not utf-8", "{\"method\":\"GET\",\"path_pattern\":\"/\xff\"}", 400, "invalid_json", "body must be utf-8"},
		{"empty body", ``, 400, "invalid_mock", ""},
		{"method missing", `{"path_pattern":"/x"}`, 400, "invalid_mock", ""},
		{"method a number", `{"method":1,"path_pattern":"/x"}`, 400, "invalid_mock", ""},
		{"method unknown", `{"method":"TRACE","path_pattern":"/x"}`, 400, "invalid_mock", ""},
		{"method HEAD", `{"method":"HEAD","path_pattern":"/x"}`, 400, "invalid_mock", ""},
		{"path missing", `{"method":"GET"}`, 400, "invalid_mock", "path_pattern must start with /"},
		{"path a number", `{"method":"GET","path_pattern":7}`, 400, "invalid_mock", ""},
		{"path without slash", `{"method":"GET","path_pattern":"x"}`, 400, "invalid_mock", "path_pattern must start with /"},
		{"path with a query", `{"method":"GET","path_pattern":"/x?a=1"}`, 400, "invalid_mock", ""},
		{"path with a space", `{"method":"GET","path_pattern":"/x y"}`, 400, "invalid_mock", ""},
		{"path with a double star", `{"method":"GET","path_pattern":"/a/**/x"}`, 400, "invalid_mock", "path_pattern must not use ** (at byte 3): * matches within one segment; end the pattern in /* for everything below a prefix, or use path_regex"},
		{"status abc", `{"method":"GET","path_pattern":"/x","status":"abc"}`, 400, "invalid_mock", "status must be an integer"},
		{"status a fraction", `{"method":"GET","path_pattern":"/x","status":200.5}`, 400, "invalid_mock", "status must be an integer"},
		{"status a bool", `{"method":"GET","path_pattern":"/x","status":true}`, 400, "invalid_mock", "status must be an integer"},
		{"status an object", `{"method":"GET","path_pattern":"/x","status":{}}`, 400, "invalid_mock", "status must be an integer"},
		{"status 1xx", `{"method":"GET","path_pattern":"/x","status":101}`, 400, "invalid_mock", ""},
		{"status 600", `{"method":"GET","path_pattern":"/x","status":600}`, 400, "invalid_mock", ""},
		{"status huge", `{"method":"GET","path_pattern":"/x","status":1e300}`, 400, "invalid_mock", ""},
		{"status negative", `{"method":"GET","path_pattern":"/x","status":-200}`, 400, "invalid_mock", ""},
		{"headers a string", `{"method":"GET","path_pattern":"/x","headers":"X-A: 1"}`, 400, "invalid_mock", "headers must be an object"},
		{"headers a list", `{"method":"GET","path_pattern":"/x","headers":[["X-A","1"]]}`, 400, "invalid_mock", "headers must be an object"},
		{"header value a number", `{"method":"GET","path_pattern":"/x","headers":{"X-A":1}}`, 400, "invalid_mock", ""},
		{"header value null", `{"method":"GET","path_pattern":"/x","headers":{"X-A":null}}`, 400, "invalid_mock", ""},
		{"header name not a token", `{"method":"GET","path_pattern":"/x","headers":{"X A":"1"}}`, 400, "invalid_mock", ""},
		{"header name empty", `{"method":"GET","path_pattern":"/x","headers":{"":"1"}}`, 400, "invalid_mock", ""},
		{"header value with CRLF", `{"method":"GET","path_pattern":"/x","headers":{"X-A":"1\r\nSet-Cookie: evil=1"}}`, 400, "invalid_mock", ""},
		{"header value with LF", `{"method":"GET","path_pattern":"/x","headers":{"X-A":"1\nX-B: 2"}}`, 400, "invalid_mock", ""},
		{"header value with NUL", `{"method":"GET","path_pattern":"/x","headers":{"X-A":"\u0000"}}`, 400, "invalid_mock", ""},
		{"header Content-Length", `{"method":"GET","path_pattern":"/x","headers":{"Content-Length":"0"}}`, 400, "invalid_mock", ""},
		{"header Transfer-Encoding", `{"method":"GET","path_pattern":"/x","headers":{"transfer-encoding":"chunked"}}`, 400, "invalid_mock", ""},
		{"header Connection", `{"method":"GET","path_pattern":"/x","headers":{"Connection":"close"}}`, 400, "invalid_mock", ""},
		{"header repeated in another case", `{"method":"GET","path_pattern":"/x","headers":{"X-A":"1","x-a":"2"}}`, 400, "invalid_mock", ""},
		{"body too large", `{"method":"GET","path_pattern":"/x","body":"` + bigBody + `"}`, 400, "invalid_mock", "body exceeds max mock body size"},
		{"content_type empty", `{"method":"GET","path_pattern":"/x","content_type":""}`, 400, "invalid_mock", "content_type must be a non-empty string"},
		{"content_type a number", `{"method":"GET","path_pattern":"/x","content_type":5}`, 400, "invalid_mock", "content_type must be a non-empty string"},
		{"content_type with CRLF", `{"method":"GET","path_pattern":"/x","content_type":"text/plain\r\nX: 1"}`, 400, "invalid_mock", ""},
		{"id a number", `{"id":5,"method":"GET","path_pattern":"/x"}`, 400, "invalid_mock", ""},
		{"id with a slash", `{"id":"a/b","method":"GET","path_pattern":"/x"}`, 400, "invalid_mock", ""},
		{"id too long", `{"id":"` + strings.Repeat("a", 65) + `","method":"GET","path_pattern":"/x"}`, 400, "invalid_mock", ""},
		{"duplicate method and path", `{"method":"get","path_pattern":"/taken"}`, 409, "duplicate_mock", "method/path already exists"},
		{"duplicate equivalent pattern", `{"method":"GET","path_pattern":"/things/{other}"}`, 409, "duplicate_mock", "method/path already exists"},
		{"duplicate id", `{"id":"first","method":"GET","path_pattern":"/fresh"}`, 409, "duplicate_mock", "mock id already exists"},
	}
	for _, p := range []string{"/", "/healthz", "/metrics", "/_metrics", "/dashboard", "/playground", "/submit",
		"/stream", "/static/x", "/api/events/x", "/api/mocks", "/echo/x", "/*", "/{any}", "/static/*"} {
		cases = append(cases, struct {
			name, payload string
			status        int
			code, msg     string
		}{"reserved " + p, `{"method":"GET","path_pattern":"` + p + `"}`, 403, "invalid_mock", "path_pattern is reserved"})
	}
	puts := []struct {
		name, payload string
		status        int
		code          string
	}{
		{"update invalid json", `{`, 400, "invalid_json"},
		{"update bad status", `{"status":"abc"}`, 400, "invalid_mock"},
		{"update header with CRLF", `{"headers":{"X":"a\r\nb"}}`, 400, "invalid_mock"},
		{"update headers not an object", `{"headers":1}`, 400, "invalid_mock"},
		{"update reserved path", `{"path_pattern":"/healthz"}`, 403, "invalid_mock"},
		{"update onto another mock", `{"path_pattern":"/things/{id}"}`, 409, "duplicate_mock"},
	}
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--max-mock-routes", "3")
		l := newLabClient(t, s)
		first := l.createMock(`{"id":"first","method":"GET","path_pattern":"/taken"}`)
		l.createMock(`{"method":"GET","path_pattern":"/things/{id}"}`)
		for _, tc := range cases {
			r := l.do("POST", "/api/mocks", tc.payload)
			if r.status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
				continue
			}
			e := r.apiError(t)
			is.Equal(e.Code, tc.code) // code of the case
			if tc.msg != "" {
				is.Equal(e.Message, tc.msg) // message of the case
			}
		}
		for _, tc := range puts {
			r := l.do("PATCH", "/api/mocks/"+first.ID, tc.payload)
			if r.status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
				continue
			}
			is.Equal(r.apiError(t).Code, tc.code) // code of the update case
		}
		is.Equal(len(l.listMocks()), 2) // nothing invalid was stored
		var m struct {
			Mock labMock `json:"mock"`
		}
		l.do("GET", "/api/mocks/first", "").decode(t, &m)
		is.Equal(m.Mock, first) // failed updates changed nothing

		l.createMock(`{"method":"PUT","path_pattern":"/third"}`)
		r := l.do("POST", "/api/mocks", `{"method":"PUT","path_pattern":"/fourth"}`)
		is.Equal(r.status, 413) // past --max-mock-routes
		e := r.apiError(t)
		is.Equal(e.Code, "mock_limit")
		is.Equal(e.Message, "max mock routes reached")
		is.True(l.do("DELETE", "/api/mocks/first", "").status == 200)
		l.createMock(`{"method":"PUT","path_pattern":"/fourth"}`) // room again after a delete

		is.Equal(l.do("GET", "/healthz", "").status, 200) // still serving
	})
}

// A created mock is served with its status, headers and body; HEAD, the query string,
// parameters, wildcards and precedence behave as documented; updates and deletes take
// effect at once.
func TestMockServing(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		users := l.createMock(`{"method":"GET","path_pattern":"/users","status":201,"headers":{"X-Mock-Server":"custom","Cache-Control":"no-store"},"body":"[{\"id\":1}]"}`)
		l.createMock(`{"method":"GET","path_pattern":"/users/{id}","body":"one","content_type":"text/plain; charset=utf-8"}`)
		l.createMock(`{"method":"GET","path_pattern":"/users/me","body":"me"}`)
		l.createMock(`{"method":"GET","path_pattern":"/media/*","body":"asset"}`)
		l.createMock(`{"method":"GET","path_pattern":"/media/{kind}/logo","body":"logo"}`)
		l.createMock(`{"method":"POST","path_pattern":"/users","status":202,"body":"accepted"}`)
		l.createMock(`{"method":"DELETE","path_pattern":"/users/{id}","status":204,"body":"ignored"}`)
		l.createMock(`{"method":"PUT","path_pattern":"/legacy","status":304,"body":"ignored"}`)
		l.createMock(`{"method":"GET","path_pattern":"/typed","headers":{"content-type":"text/csv"},"content_type":"text/plain"}`)

		for _, tc := range []struct {
			method, target string
			status         int
			body           string
			headers        map[string]string
		}{
			{"GET", "/users", 201, `[{"id":1}]`, map[string]string{"X-Mock-Server": "custom", "Cache-Control": "no-store",
				"Content-Type": "application/json", "Content-Length": "10"}},
			{"GET", "/users?page=2&sort=desc", 201, `[{"id":1}]`, nil},
			{"HEAD", "/users", 201, "", map[string]string{"Content-Length": "10", "X-Mock-Server": "custom"}},
			{"GET", "/users/42", 200, "one", map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
			{"GET", "/users/me", 200, "me", nil},
			{"GET", "/media/img/logo", 200, "logo", nil},
			{"GET", "/media/img/other.png", 200, "asset", nil},
			{"GET", "/media", 200, "asset", nil},
			{"POST", "/users", 202, "accepted", nil},
			{"DELETE", "/users/42", 204, "", map[string]string{"Content-Type": "", "Content-Length": ""}},
			{"PUT", "/legacy", 304, "", map[string]string{"Content-Type": ""}},
			{"GET", "/typed", 200, "", map[string]string{"Content-Type": "text/csv", "Content-Length": "0"}},
			{"GET", "/users/42/more", 404, "Not Found", nil},
			{"PATCH", "/users", 405, "Method Not Allowed", map[string]string{"Allow": "GET, HEAD, POST"}},
		} {
			r := l.do(tc.method, tc.target, "")
			if r.status != tc.status || string(r.body) != tc.body {
				t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.target, r.status, r.body, tc.status, tc.body)
			}
			for k, v := range tc.headers {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s %s: %s %q, want %q", tc.method, tc.target, k, got, v)
				}
			}
			is.True(len(r.header.Values("Content-Type")) <= 1) // never two Content-Types
		}

		is.Equal(l.do("PATCH", "/api/mocks/"+users.ID, `{"status":203,"body":"changed"}`).status, 200)
		r := l.do("GET", "/users", "")
		is.Equal(r.status, 203) // the update serves at once
		is.Equal(string(r.body), "changed")
		is.Equal(l.do("DELETE", "/api/mocks/"+users.ID, "").status, 200)
		r = l.do("GET", "/users", "")
		is.Equal(r.status, 404) // the delete serves at once
	})
}

// Mocks answer cross-origin requests from allowed origins, preflights included; other
// origins get no CORS headers.
func TestMockCORS(t *testing.T) {
	const app = "http://localhost:5173"
	eachEngine(t, func(t *testing.T, engine string) {
		for _, origins := range []string{app + ",https://other.example", "*"} {
			t.Run(origins, func(t *testing.T) {
				is := is.New(t)
				s := testkit.Start(t, run, engine, "--access-log=false", "--cors-origins", origins)
				l := newLabClient(t, s)
				l.createMock(`{"method":"GET","path_pattern":"/cors/{id}","body":"c"}`)
				l.createMock(`{"method":"POST","path_pattern":"/cors/{id}","status":201}`)
				wantOrigin := app
				if origins == "*" {
					wantOrigin = "*"
				}

				r := l.do("GET", "/cors/1", "", "Origin: "+app)
				is.Equal(r.status, 200)
				is.Equal(r.header.Get("Access-Control-Allow-Origin"), wantOrigin)
				is.Equal(r.header.Get("Vary"), "Origin")

				r = l.do("OPTIONS", "/cors/1", "", "Origin: "+app, "Access-Control-Request-Method: POST",
					"Access-Control-Request-Headers: content-type,x-requested-with")
				is.Equal(r.status, 204)
				is.Equal(r.header.Get("Access-Control-Allow-Origin"), wantOrigin)
				is.Equal(r.header.Get("Access-Control-Allow-Methods"), "GET, HEAD, POST")
				is.Equal(r.header.Get("Access-Control-Allow-Headers"), "content-type, x-requested-with")
				is.Equal(r.header.Get("Access-Control-Max-Age"), "600")
				is.Equal(len(r.body), 0)

				r = l.do("OPTIONS", "/cors/1", "", "Origin: "+app, "Access-Control-Request-Method: DELETE")
				is.Equal(r.status, 405) // no DELETE mock: no preflight
				is.Equal(r.header.Get("Access-Control-Allow-Origin"), "")

				if origins != "*" {
					r = l.do("GET", "/cors/1", "", "Origin: https://evil.example")
					is.Equal(r.status, 200)
					is.Equal(r.header.Get("Access-Control-Allow-Origin"), "") // not allowed
					r = l.do("OPTIONS", "/cors/1", "", "Origin: https://evil.example", "Access-Control-Request-Method: GET")
					is.Equal(r.status, 405)
					is.Equal(r.header.Get("Access-Control-Allow-Origin"), "")
				}
				r = l.do("GET", "/healthz", "", "Origin: "+app)
				is.Equal(r.header.Get("Access-Control-Allow-Origin"), "") // only mocks get CORS
			})
		}
	})
}

// Without --cors-origins no response carries CORS headers.
func TestMockCORSOff(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/nocors","body":"c"}`)
		r := l.do("GET", "/nocors", "", "Origin: http://localhost:5173")
		is.Equal(r.status, 200)
		is.Equal(r.header.Get("Access-Control-Allow-Origin"), "")
		is.Equal(r.header.Get("Vary"), "")
		r = l.do("OPTIONS", "/nocors", "", "Origin: http://localhost:5173", "Access-Control-Request-Method: GET")
		is.Equal(r.status, 405)
	})
}

// Hostile bytes in a mock request path or in the API body never crash the server or break
// the response framing.
func TestMockHostileRequests(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/h/{id}","body":"h"}`)
		for _, raw := range []string{
			"GET /h/%00 HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET /h/" + strings.Repeat("a", 4000) + " HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET /h/x?%%%%&&== HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET http://x/h/abs HTTP/1.1\r\nHost: x\r\n\r\n",
			"HEAD /h/1 HTTP/1.0\r\n\r\n",
		} {
			res := testkit.RoundTrip(t, s, raw, []string{strings.SplitN(raw, " ", 2)[0]}, false)
			is.NoErr(res.Err)
			is.Equal(res.Resps[0].StatusCode, 200) // mock served
		}
		for _, tc := range []struct{ body, code, names string }{
			{"\x00\x01\x02", "invalid_json", "json"},
			{`{"method":"GET","path_pattern":"/\u0000"}`, "invalid_mock", "path_pattern"},
			{strings.Repeat("[", 100000), "invalid_json", "json"},
			{`{"method":"GET","path_pattern":"/x","headers":{"a":{"b":{"c":[]}}}}`, "invalid_mock", "header"},
			{fmt.Sprintf(`{"method":"GET","path_pattern":"/x","status":%s}`, strings.Repeat("9", 400)), "invalid_mock", "status"},
		} {
			r := l.do("POST", "/api/mocks", tc.body)
			is.Equal(r.status, 400) // refused
			e := r.apiError(t)
			is.Equal(e.Code, tc.code)
			is.True(strings.Contains(e.Message, tc.names)) // the message names what is wrong
		}
		is.Equal(l.do("GET", "/h/ok", "").status, 200) // still serving
		is.True(bytes.Equal(l.do("GET", "/h/ok", "").body, []byte("h")))
	})
}
