package state

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/mock"
)

// TestCreateMockValidation covers every validation error code and message,
// and every wrong JSON type (the hostile table).
func TestCreateMockValidation(t *testing.T) {
	big := strings.Repeat("x", DefaultMaxMockBodyBytes+1)
	tests := []struct {
		name, body string
		kind       Kind
		code, msg  string
	}{
		// method
		{"method missing", `{"path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, msgMethod},
		{"method unknown", `{"method":"TRACE","path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, msgMethod},
		{"method HEAD", `{"method":"HEAD","path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, msgMethod},
		{"method number", `{"method":5,"path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, msgMethod},
		{"method object", `{"method":{},"path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, msgMethod},
		// path_pattern
		{"path missing", `{"method":"GET"}`, KindInvalid, CodeInvalidMock, msgPathSlash},
		{"path relative", `{"method":"GET","path_pattern":"x"}`, KindInvalid, CodeInvalidMock, msgPathSlash},
		{"path number", `{"method":"GET","path_pattern":5}`, KindInvalid, CodeInvalidMock, msgPathSlash},
		{"path query", `{"method":"GET","path_pattern":"/x?a=1"}`, KindInvalid, CodeInvalidMock, "path_pattern must not contain a query string"},
		{"path fragment", `{"method":"GET","path_pattern":"/x#a"}`, KindInvalid, CodeInvalidMock, "path_pattern must not contain a fragment"},
		{"path space", `{"method":"GET","path_pattern":"/x y"}`, KindInvalid, CodeInvalidMock, "path_pattern must not contain whitespace or control characters"},
		{"path CR", `{"method":"GET","path_pattern":"/x\r"}`, KindInvalid, CodeInvalidMock, "path_pattern must not contain whitespace or control characters"},
		{"path too long", `{"method":"GET","path_pattern":"/` + strings.Repeat("a", 2048) + `"}`, KindInvalid, CodeInvalidMock, "path_pattern must be at most 2048 bytes"},
		{"path double star", `{"method":"GET","path_pattern":"/a/**/b"}`, KindInvalid, CodeInvalidMock, "path_pattern must not use ** (at byte 3): * matches within one segment; end the pattern in /* for everything below a prefix, or use path_regex"},
		{"path partial param", `{"method":"GET","path_pattern":"/a{id}"}`, KindInvalid, CodeInvalidMock, "path_pattern segments must be literal, a whole {name} or {name:regex} parameter, a glob, or a final * (a brace at byte 2)"},
		{"path param then text", `{"method":"GET","path_pattern":"/{id}.json"}`, KindInvalid, CodeInvalidMock, "path_pattern parameters must be whole segments (the segment at byte 1)"},
		{"path empty param", `{"method":"GET","path_pattern":"/{}"}`, KindInvalid, CodeInvalidMock, "path_pattern parameter names are letters, digits and _ (the parameter at byte 1)"},
		{"path bad param name", `{"method":"GET","path_pattern":"/x/{a-b}"}`, KindInvalid, CodeInvalidMock, "path_pattern parameter names are letters, digits and _ (the parameter at byte 3)"},
		{"path unclosed param", `{"method":"GET","path_pattern":"/x/{id"}`, KindInvalid, CodeInvalidMock, "path_pattern has a { without its } (the parameter at byte 3)"},
		{"path stray brace", `{"method":"GET","path_pattern":"/x/}"}`, KindInvalid, CodeInvalidMock, "path_pattern has a } without its { at byte 3"},
		{"path empty regex", `{"method":"GET","path_pattern":"/x/{id:}"}`, KindInvalid, CodeInvalidMock, "path_pattern parameter id has an empty regex (at byte 3)"},
		{"path bad regex", `{"method":"GET","path_pattern":"/x/{id:[0-9+}"}`, KindInvalid, CodeInvalidMock, "path_pattern parameter id has an invalid regex at byte 7: missing closing ]: `[0-9+`"},
		{"path regex bad", `{"method":"GET","path_regex":"/x/(a"}`, KindInvalid, CodeInvalidMock, "path_regex is an invalid regex: missing closing ): `/x/(a`"},
		{"path regex number", `{"method":"GET","path_regex":5}`, KindInvalid, CodeInvalidMock, "path_regex must be a string"},
		{"path regex empty", `{"method":"GET","path_regex":""}`, KindInvalid, CodeInvalidMock, "path_regex must be a non-empty RE2 regex"},
		{"path regex and pattern", `{"method":"GET","path_pattern":"/x","path_regex":"/y"}`, KindInvalid, CodeInvalidMock, msgPathBoth},
		{"path regex reserved", `{"method":"GET","path_regex":"/api/.*"}`, KindForbidden, CodeInvalidMock, msgReservedRegex},
		{"path reserved", `{"method":"GET","path_pattern":"/submit"}`, KindForbidden, CodeInvalidMock, msgReserved},
		{"path reserved by param", `{"method":"GET","path_pattern":"/{x}"}`, KindForbidden, CodeInvalidMock, msgReserved},
		// status
		{"status string", `{"method":"GET","path_pattern":"/x","status":"x"}`, KindInvalid, CodeInvalidMock, msgStatusInt},
		{"status fraction", `{"method":"GET","path_pattern":"/x","status":1.5}`, KindInvalid, CodeInvalidMock, msgStatusInt},
		{"status bool", `{"method":"GET","path_pattern":"/x","status":true}`, KindInvalid, CodeInvalidMock, msgStatusInt},
		{"status array", `{"method":"GET","path_pattern":"/x","status":[200]}`, KindInvalid, CodeInvalidMock, msgStatusInt},
		{"status fraction string", `{"method":"GET","path_pattern":"/x","status":"200.5"}`, KindInvalid, CodeInvalidMock, msgStatusInt},
		{"status 1xx", `{"method":"GET","path_pattern":"/x","status":101}`, KindInvalid, CodeInvalidMock, msgStatusRng},
		{"status 600", `{"method":"GET","path_pattern":"/x","status":600}`, KindInvalid, CodeInvalidMock, msgStatusRng},
		{"status negative", `{"method":"GET","path_pattern":"/x","status":-200}`, KindInvalid, CodeInvalidMock, msgStatusRng},
		{"status huge", `{"method":"GET","path_pattern":"/x","status":1e300}`, KindInvalid, CodeInvalidMock, msgStatusRng},
		{"status overflow", `{"method":"GET","path_pattern":"/x","status":1e400}`, KindInvalid, CodeInvalidMock, msgStatusRng},
		{"status wraps int32", `{"method":"GET","path_pattern":"/x","status":4294967496}`, KindInvalid, CodeInvalidMock, msgStatusRng},
		{"status huge string", `{"method":"GET","path_pattern":"/x","status":"99999999999999999999999"}`, KindInvalid, CodeInvalidMock, msgStatusRng},
		// headers
		{"headers array", `{"method":"GET","path_pattern":"/x","headers":[1]}`, KindInvalid, CodeInvalidMock, msgHeadersObj},
		{"headers string", `{"method":"GET","path_pattern":"/x","headers":"a"}`, KindInvalid, CodeInvalidMock, msgHeadersObj},
		{"header value number", `{"method":"GET","path_pattern":"/x","headers":{"a":1}}`, KindInvalid, CodeInvalidMock, msgHeaderStr},
		{"header value null", `{"method":"GET","path_pattern":"/x","headers":{"a":null}}`, KindInvalid, CodeInvalidMock, msgHeaderStr},
		{"header name space", `{"method":"GET","path_pattern":"/x","headers":{"a b":"1"}}`, KindInvalid, CodeInvalidMock, "header names must be tokens (RFC 9110) of at most 256 characters"},
		{"header name colon", `{"method":"GET","path_pattern":"/x","headers":{"a:b":"1"}}`, KindInvalid, CodeInvalidMock, "header names must be tokens (RFC 9110) of at most 256 characters"},
		{"header name empty", `{"method":"GET","path_pattern":"/x","headers":{"":"1"}}`, KindInvalid, CodeInvalidMock, "header names must be tokens (RFC 9110) of at most 256 characters"},
		{"header value CRLF", `{"method":"GET","path_pattern":"/x","headers":{"X-A":"1\r\nSet-Cookie: a"}}`, KindInvalid, CodeInvalidMock, "header values must not contain CR, LF, NUL or other control characters, and must be at most 8192 bytes"},
		{"header value NUL", `{"method":"GET","path_pattern":"/x","headers":{"X-A":"\u0000"}}`, KindInvalid, CodeInvalidMock, "header values must not contain CR, LF, NUL or other control characters, and must be at most 8192 bytes"},
		{"header value LF", `{"method":"GET","path_pattern":"/x","headers":{"X-A":"a\nb"}}`, KindInvalid, CodeInvalidMock, "header values must not contain CR, LF, NUL or other control characters, and must be at most 8192 bytes"},
		{"header content-length", `{"method":"GET","path_pattern":"/x","headers":{"Content-Length":"5"}}`, KindInvalid, CodeInvalidMock, "header content-length is managed by the server"},
		{"header transfer-encoding", `{"method":"GET","path_pattern":"/x","headers":{"transfer-ENCODING":"chunked"}}`, KindInvalid, CodeInvalidMock, "header transfer-encoding is managed by the server"},
		{"header connection", `{"method":"GET","path_pattern":"/x","headers":{"Connection":"close"}}`, KindInvalid, CodeInvalidMock, "header connection is managed by the server"},
		{"header keep-alive", `{"method":"GET","path_pattern":"/x","headers":{"Keep-Alive":"timeout=5"}}`, KindInvalid, CodeInvalidMock, "header keep-alive is managed by the server"},
		{"header date", `{"method":"GET","path_pattern":"/x","headers":{"DATE":"Thu, 01 Jan 1970 00:00:00 GMT"}}`, KindInvalid, CodeInvalidMock, "header date is managed by the server"},
		{"header server", `{"method":"GET","path_pattern":"/x","headers":{"Server":"nginx"}}`, KindInvalid, CodeInvalidMock, "header server is managed by the server"},
		{"header x-request-id", `{"method":"GET","path_pattern":"/x","headers":{"x-request-id":"1"}}`, KindInvalid, CodeInvalidMock, "header x-request-id is managed by the server"},
		{"header repeated by case", `{"method":"GET","path_pattern":"/x","headers":{"X-A":"1","x-a":"2"}}`, KindInvalid, CodeInvalidMock, "headers must not repeat a name (names are case-insensitive)"},
		{"content-type twice by case", `{"method":"GET","path_pattern":"/x","headers":{"Content-Type":"a/b","content-type":"c/d"}}`, KindInvalid, CodeInvalidMock, "headers must not repeat a name (names are case-insensitive)"},
		// body
		{"body too big", `{"method":"GET","path_pattern":"/x","body":"` + big + `"}`, KindInvalid, CodeInvalidMock, msgBodySize},
		// content_type
		{"content_type empty", `{"method":"GET","path_pattern":"/x","content_type":""}`, KindInvalid, CodeInvalidMock, msgCT},
		{"content_type blank", `{"method":"GET","path_pattern":"/x","content_type":"  "}`, KindInvalid, CodeInvalidMock, msgCT},
		{"content_type number", `{"method":"GET","path_pattern":"/x","content_type":5}`, KindInvalid, CodeInvalidMock, msgCT},
		{"content_type CRLF", `{"method":"GET","path_pattern":"/x","content_type":"a\r\nb"}`, KindInvalid, CodeInvalidMock, "content_type must not contain CR, LF, NUL or other control characters"},
		{"content-type header empty", `{"method":"GET","path_pattern":"/x","headers":{"Content-Type":""}}`, KindInvalid, CodeInvalidMock, msgCT},
		// id
		{"id number", `{"id":5,"method":"GET","path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, "id must be a string"},
		{"id with slash", `{"id":"a/b","method":"GET","path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."},
		{"id .", `{"id":".","method":"GET","path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."},
		{"id ..", `{"id":"..","method":"GET","path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."},
		{"id too long", `{"id":"` + strings.Repeat("a", 65) + `","method":"GET","path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."},
		{"id sources", `{"id":"sources","method":"GET","path_pattern":"/x"}`, KindInvalid, CodeInvalidMock, "id sources is reserved: GET /api/mocks/sources lists the mock files"},
		// unknown keys, reported in byte order
		{"unknown key", `{"method":"GET","path_pattern":"/x","staus":201}`, KindInvalid, CodeInvalidMock, `unknown field "staus"`},
		{"unknown keys", `{"zz":1,"method":"GET","path_pattern":"/x","b":[1],"a":null}`, KindInvalid, CodeInvalidMock, `unknown field "a"`},
		{"unknown long key", `{"` + strings.Repeat("k", 100) + `":1}`, KindInvalid, CodeInvalidMock, `unknown field "` + strings.Repeat("k", 64) + `…"`},
		// whole body
		{"not json", `{`, KindInvalid, CodeInvalidJSON, msgNotJSON},
		{"not object", `[]`, KindInvalid, CodeInvalidJSON, msgNotObject},
		{"not utf-8", "\xff", KindInvalid, CodeInvalidJSON, msgNotUTF8},
		{"empty body", ``, KindInvalid, CodeInvalidMock, msgMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			e := createErr(newTestModel(), tt.body)
			is.True(e != nil)
			is.Equal(e.Kind, tt.kind)
			is.Equal(e.Code, tt.code)
			is.Equal(e.Message, tt.msg)
		})
	}
}

func TestCreateMockAccepts(t *testing.T) {
	tests := []struct {
		name, body           string
		method, path, body2  string
		status               int
		contentType          string
		headers              map[string]string
		headerLines          string
		noBody, wantBodyByte bool
	}{
		{name: "defaults", body: `{"method":"get","path_pattern":"/users"}`,
			method: "GET", path: "/users", status: 200, contentType: "application/json", headers: map[string]string{},
			headerLines: "Content-Type: application/json\r\n"},
		{name: "patch accepted", body: `{"method":"Patch","path_pattern":"/u","status":"201","body":"hi"}`,
			method: "PATCH", path: "/u", status: 201, body2: "hi", contentType: "application/json", headers: map[string]string{},
			headerLines: "Content-Type: application/json\r\n", wantBodyByte: true},
		{name: "integral float status", body: `{"method":"POST","path_pattern":"/u","status":2.01e2}`,
			method: "POST", path: "/u", status: 201, contentType: "application/json", headers: map[string]string{},
			headerLines: "Content-Type: application/json\r\n"},
		{name: "non-string body is compact json", body: `{"method":"PUT","path_pattern":"/u","body":{ "a" : [1, 2.50] }}`,
			method: "PUT", path: "/u", status: 200, body2: `{"a":[1,2.50]}`, contentType: "application/json", headers: map[string]string{},
			headerLines: "Content-Type: application/json\r\n", wantBodyByte: true},
		{name: "null fields are defaults", body: `{"method":"DELETE","path_pattern":"/u","status":null,"headers":null,"body":null,"content_type":null,"id":null}`,
			method: "DELETE", path: "/u", status: 200, contentType: "application/json", headers: map[string]string{},
			headerLines: "Content-Type: application/json\r\n"},
		{name: "headers sorted, content-type header wins and moves", body: `{"method":"GET","path_pattern":"/h","content_type":"text/plain","headers":{"x-b":"2","CONTENT-type":"text/html","X-A":"1"}}`,
			method: "GET", path: "/h", status: 200, contentType: "text/html", headers: map[string]string{"X-A": "1", "x-b": "2"},
			headerLines: "Content-Type: text/html\r\nX-A: 1\r\nx-b: 2\r\n"},
		{name: "204 keeps body but sends none", body: `{"method":"GET","path_pattern":"/n","status":204,"body":"ignored","headers":{"X-A":"1"}}`,
			method: "GET", path: "/n", status: 204, body2: "ignored", contentType: "application/json", headers: map[string]string{"X-A": "1"},
			headerLines: "X-A: 1\r\n", noBody: true},
		{name: "304 sends no body", body: `{"method":"GET","path_pattern":"/nm","status":304}`,
			method: "GET", path: "/nm", status: 304, contentType: "application/json", headers: map[string]string{},
			noBody: true},
		{name: "tab in header value", body: `{"method":"GET","path_pattern":"/t","headers":{"X-T":"a\tb"}}`,
			method: "GET", path: "/t", status: 200, contentType: "application/json", headers: map[string]string{"X-T": "a\tb"},
			headerLines: "Content-Type: application/json\r\nX-T: a\tb\r\n"},
		{name: "the timestamps the API returns are ignored", body: `{"method":"GET","path_pattern":"/k","created_at":"x","updated_at":5}`,
			method: "GET", path: "/k", status: 200, contentType: "application/json", headers: map[string]string{},
			headerLines: "Content-Type: application/json\r\n"},
		{name: "api without slash is not reserved", body: `{"method":"GET","path_pattern":"/api"}`,
			method: "GET", path: "/api", status: 200, contentType: "application/json", headers: map[string]string{},
			headerLines: "Content-Type: application/json\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			x := mustCreate(t, newTestModel(), tt.body)
			is.Equal(x.Method, tt.method)
			is.Equal(x.PathPattern, tt.path)
			is.Equal(x.Status, tt.status)
			is.Equal(x.Body, tt.body2)
			is.Equal(x.ContentType, tt.contentType)
			is.Equal(x.Headers, tt.headers)
			is.Equal(string(x.HeaderLines), tt.headerLines)
			is.Equal(x.NoBody, tt.noBody)
			is.Equal(len(x.BodyBytes) > 0, tt.wantBodyByte)
			is.Equal(x.CreatedAt, "2026-11-26T10:00:00Z")
			is.Equal(x.UpdatedAt, x.CreatedAt)
			is.Equal(len(x.ID), 10)
		})
	}
}

func TestMockJSONFields(t *testing.T) {
	is := is.New(t)
	x := mustCreate(t, newTestModel(), `{"id":"m1","method":"GET","path_pattern":"/a","body":"hi"}`)
	data, err := json.Marshal(x)
	is.NoErr(err)
	is.Equal(keysOf(t, data), []string{"body", "content_type", "created_at", "headers", "id", "method", "path_pattern", "status", "updated_at"})
	is.True(strings.Contains(string(data), `"headers":{}`)) // never null
}

func TestMockIDsAreRandomHexAndDeterministic(t *testing.T) {
	is := is.New(t)
	m := newTestModel() // countingReader: bytes 00 01 02 …
	a := mustCreate(t, m, mockJSON("GET", "/a"))
	b := mustCreate(t, m, mockJSON("GET", "/b"))
	is.Equal(a.ID, "0001020304")
	is.Equal(b.ID, "0506070809")
}

func TestMockConflictsAndLimit(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	mustCreate(t, m, `{"id":"one","method":"GET","path_pattern":"/a/{id}"}`)

	e := createErr(m, `{"method":"get","path_pattern":"/a/{id}"}`)
	is.Equal(*e, Error{Kind: KindConflict, Code: CodeDuplicateMock, Message: msgDupPath})
	e = createErr(m, `{"method":"GET","path_pattern":"/a/{other}"}`) // same paths, other name
	is.Equal(e.Message, msgDupPath)
	e = createErr(m, `{"id":"one","method":"POST","path_pattern":"/b"}`)
	is.Equal(*e, Error{Kind: KindConflict, Code: CodeDuplicateMock, Message: msgDupID})
	is.True(createErr(m, `{"method":"POST","path_pattern":"/a/{id}"}`) == nil) // other method is fine

	m = NewModel(Config{MaxMocks: 2, Rand: &countingReader{}})
	mustCreate(t, m, mockJSON("GET", "/1"))
	mustCreate(t, m, mockJSON("GET", "/2"))
	e = createErr(m, mockJSON("GET", "/3"))
	is.Equal(*e, Error{Kind: KindTooLarge, Code: CodeMockLimit, Message: msgLimit})
}

func TestUpdateMockRevalidatesMergedMock(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{MaxMockBodyBytes: 10, Rand: &countingReader{}})
	x := mustCreate(t, m, `{"id":"m1","method":"GET","path_pattern":"/a","status":201,"headers":{"X-A":"1"},"body":"hi"}`)
	mustCreate(t, m, `{"id":"m2","method":"GET","path_pattern":"/b"}`)
	later := t0.Add(90 * 1e9)

	update := func(id, body string) (*Mock, *Error) {
		in, e := DecodeMockInput([]byte(body))
		if e != nil {
			return nil, e
		}
		return m.UpdateMock(id, in, later)
	}

	// A body-only update is size-checked (the original skipped it).
	_, e := update("m1", `{"body":"01234567890"}`)
	is.Equal(e.Message, msgBodySize)
	// Header-only update with a bad header is invalid_mock, not a 500.
	_, e = update("m1", `{"headers":{"X-Bad":"a\r\nb"}}`)
	is.Equal(e.Code, CodeInvalidMock)
	_, e = update("m1", `{"content_type":""}`)
	is.Equal(e.Message, msgCT)
	_, e = update("m1", `{"path_pattern":"/b"}`)
	is.Equal(e.Kind, KindConflict)
	_, e = update("m1", `{"path_pattern":"/static/x"}`)
	is.Equal(e.Kind, KindForbidden)
	_, e = update("nope", `{}`)
	is.Equal(*e, Error{Kind: KindNotFound, Code: CodeNotFound, Message: msgMockNF})

	// Failed updates changed nothing.
	cur, _ := m.Mock("m1")
	is.Equal(cur, x)

	y, e := update("m1", `{"status":202,"id":"ignored"}`)
	is.True(e == nil)
	is.Equal(y.ID, "m1")
	is.Equal(y.Status, 202)
	is.Equal(y.Body, "hi")                             // kept
	is.Equal(y.Headers, map[string]string{"X-A": "1"}) // kept
	is.Equal(y.CreatedAt, x.CreatedAt)
	is.Equal(y.UpdatedAt, "2026-11-26T10:01:30Z")
	is.Equal(m.Mocks()[0], y) // position kept

	y, e = update("m1", `{"headers":null}`) // null headers means none
	is.True(e == nil)
	is.Equal(y.Headers, map[string]string{})
	is.Equal(string(y.HeaderLines), "Content-Type: application/json\r\n")

	// Updating a mock to its own path is not a conflict with itself.
	_, e = update("m1", `{"path_pattern":"/a"}`)
	is.True(e == nil)
}

func TestDeleteMock(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	mustCreate(t, m, `{"id":"a","method":"GET","path_pattern":"/a"}`)
	mustCreate(t, m, `{"id":"b","method":"GET","path_pattern":"/b"}`)
	before := m.Mocks()
	is.True(m.DeleteMock("a") == nil)
	is.Equal(len(m.Mocks()), 1)
	is.Equal(m.Mocks()[0].ID, "b")
	is.Equal(len(before), 2) // slices handed out earlier are not modified
	e := m.DeleteMock("a")
	is.Equal(e.Kind, KindNotFound)
	is.True(createErr(m, mockJSON("GET", "/a")) == nil) // path free again
}

func TestReservedPatterns(t *testing.T) {
	tests := []struct {
		pattern  string
		reserved bool
	}{
		{"/", true},
		{"/submit", true},
		{"/stream", true},
		{"/_metrics", true},
		{"/metrics", true},
		{"/healthz", true},
		{"/playground", true},
		{"/playground-minimal", true},
		{"/dashboard", true},
		{"/openapi.json", true},
		{"/user-agent", true},
		{"/static/app.js", true},
		{"/static/", true},
		{"/echo/hi", true},
		{"/files/a.txt", true},
		{"/api/mocks", true},
		{"/api/anything/else", false}, // only the built-in API families are reserved
		{"/api/users", false},         // the original project's scenario files mock such paths
		{"/api/mocks/{id}", true},
		{"/api/", false},
		// patterns that could match a reserved path
		{"/*", true},
		{"/{x}", true},          // could be /submit
		{"/echo/{x}", true},     // always under /echo/
		{"/{x}/{y}", true},      // could be /api/x
		{"/{x}/y", true},        // could be /api/y
		{"/api/*", true},        // /api/x
		{"/{x}/*", true},        // /api/x
		{"/static/{f}/*", true}, // under /static/
		{"/{x}/y/{z}", true},    // /api/y/z
		{"/*/y", true},          // /api/y
		{"/{x:s.*}", true},      // /submit, /stream
		{"/{x:[a-z]+}/mocks/*", true},
		{"/sub*", true},   // /submit
		{"/*.json", true}, // /openapi.json
		{"/api/mock*/x", true},
		{"/e*/x", true}, // /echo/x
		// not reserved
		{"/api", false},
		{"/static", false},
		{"/echo", false},
		{"/files", false},
		{"/submit/x", false},
		{"/submitx", false},
		{"/users", false},
		{"/users/{id}", false},
		{"/users/*", false},
		{"/API/x", false},
		{"/x/{y}/*", false},
		{"//", false},
		{"/playground/x", false},
		{"/{x:[0-9]+}", false},
		{"/{x:[0-9]+}/*", false},
		{"/*.png", false},
		{"/api/v*/x", false},
		{"/x*/*", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			is := is.New(t)
			p, e := compilePath(tt.pattern, false)
			is.True(e == nil)
			is.Equal(reserved(p), tt.reserved)
			if !tt.reserved {
				notReservedOnSamples(is, p)
			}
		})
	}
}

// notReservedOnSamples cross-checks a path found not reserved on concrete paths: none of
// the reserved paths, nor a path under a reserved prefix, may match.
func notReservedOnSamples(is *is.I, p *mock.Path) {
	for _, r := range reservedExact {
		is.True(!p.Match([]byte(r)))
	}
	for _, r := range reservedPrefixes {
		is.True(!p.Match([]byte(r + "x")))
		is.True(!p.Match([]byte(r + "x/y")))
	}
}

func TestReservedRegexes(t *testing.T) {
	tests := []struct {
		regex    string
		reserved bool
	}{
		{"/.*", true},                // matches / itself
		{"/api/.*", true},            // /api/mocks
		{"/api/[a-z]+/[0-9]+", true}, // /api/mocks/1
		{"/(static|assets)/x", true}, // under /static/
		{"/a|/submit", true},         // an alternative is reserved
		{"/ap(i|x)/mocks/z", true},   // the NFA follows both branches
		{"/echo/.+", true},           // under /echo/
		{"(?i)/ECHO/x", true},        // case folding is followed
		{"/api/mocks", true},         // exact
		{"/api/users/[0-9]+", false}, // the original's scenario paths stay free
		{"/v[0-9]+/users", false},    // a version prefix
		{"/api/v[0-9]+/.*", false},   // not a built-in family
		{"/[0-9]+", false},           // digits only: no reserved path
		{"/echo", false},             // the family's root is not reserved
		{"/files\\.txt", false},      // a literal dot
		{"/orders/[^/]+/items", false},
	}
	for _, tt := range tests {
		t.Run(tt.regex, func(t *testing.T) {
			is := is.New(t)
			p, e := compilePath(tt.regex, true)
			is.True(e == nil)
			is.Equal(reserved(p), tt.reserved)
			if !tt.reserved {
				notReservedOnSamples(is, p)
			}
		})
	}
}

// reservedPath is the plain definition: is this concrete path reserved?
func reservedPath(path string) bool {
	for _, r := range reservedExact {
		if path == r {
			return true
		}
	}
	for _, r := range reservedPrefixes {
		if strings.HasPrefix(path, r) {
			return true
		}
	}
	return false
}

// instances returns concrete paths a pattern of literal, "{p}", "{p:regex}" and glob
// segments and an optional final "*" matches, filling each parameter with every value in
// fill that its regex or glob accepts, and the
// wildcard with every tail in tails.
func instances(text string, fill, tails []string) []string {
	parts := strings.Split(text[1:], "/")
	wildcard := parts[len(parts)-1] == "*"
	if wildcard {
		parts = parts[:len(parts)-1]
	}
	paths := []string{""}
	for _, part := range parts {
		var values []string
		switch {
		case strings.HasPrefix(part, "{"):
			_, expr, constrained := strings.Cut(part[1:len(part)-1], ":")
			re := regexp.MustCompile("^(?:" + expr + ")$")
			for _, f := range fill {
				if !constrained || re.MatchString(f) {
					values = append(values, f)
				}
			}
		case strings.Contains(part, "*"):
			re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(part), `\*`, ".*") + "$")
			for _, f := range fill {
				if re.MatchString(f) {
					values = append(values, f)
				}
			}
		default:
			values = []string{part}
		}
		var next []string
		for _, prefix := range paths {
			for _, v := range values {
				next = append(next, prefix+"/"+v)
			}
		}
		paths = next
	}
	if !wildcard {
		return paths
	}
	var out []string
	for _, prefix := range paths {
		for _, tail := range tails {
			if prefix == "" && tail == "" {
				continue
			}
			out = append(out, prefix+tail)
		}
	}
	return out
}

// TestReservedAgreesWithConcretePaths checks reserved against brute force: a pattern is
// reserved exactly when one of its instances (with parameters and globs drawn from every
// reserved segment and a neutral value) is.
func TestReservedAgreesWithConcretePaths(t *testing.T) {
	fill := []string{"zz", "7"} // a neutral value, one for digits, then every reserved segment
	for _, r := range append(reservedExact[:], reservedPrefixes[:]...) {
		for _, seg := range strings.Split(r, "/") {
			if seg != "" && !slices.Contains(fill, seg) {
				fill = append(fill, seg)
			}
		}
	}
	tails := []string{"", "/", "/zz", "/zz/yy", "/mocks"}
	literals := []string{"zz", "api", "echo", "submit", "mocks", "", "{p:[a-z]+}", "{p:[0-9]+}", "s*", "*s"}
	var patterns []string
	shapes := []string{"/%s", "/%s/%s", "/%s/%s/%s", "/%s/*", "/%s/%s/*"}
	for _, shape := range shapes {
		n := strings.Count(shape, "%s")
		var rec func(prefix []any)
		rec = func(prefix []any) {
			if len(prefix) == n {
				patterns = append(patterns, fmt.Sprintf(shape, prefix...))
				return
			}
			for _, l := range append([]string{"{p}"}, literals...) {
				rec(append(prefix, l))
			}
		}
		rec(nil)
	}
	patterns = append(patterns, "/*")
	for _, text := range patterns {
		p, e := compilePath(text, false)
		if e != nil {
			t.Fatalf("%s: %v", text, e)
		}
		want := false
		for _, path := range instances(text, fill, tails) {
			if !p.Match([]byte(path)) {
				t.Fatalf("%s does not match its instance %q", text, path)
			}
			if reservedPath(path) {
				want = true
			}
		}
		if got := reserved(p); got != want {
			t.Errorf("%s: reserved() = %v, brute force says %v", text, got, want)
		}
	}
}

// FuzzCreateMock: no input may panic, and every failure is an *Error with a
// known kind and code.
func FuzzCreateMock(f *testing.F) {
	f.Add([]byte(`{"method":"GET","path_pattern":"/a/{x}/*","status":"201","headers":{"X":"1"},"body":[1]}`))
	f.Add([]byte(`{"status":1e400,"headers":{"a":null}}`))
	f.Add([]byte("\xff"))
	f.Add([]byte(`{"method":"POST","path_regex":"/j/(?P<id>[0-9]+)","responses":[{"status":202},{"body_base64":"AAE="}],"after_last":"loop","state":{"name":"s","requires":"a","sets":"b"}}`))
	f.Add([]byte(`{"method":"GET","path_pattern":"/t/{id:[a-z]+}","template":true,"seed":3,"status":"{{request.query.s}}","headers":{"X":"{{request.path.id}}"},"body":{"a":"{{jsonPath request.body '$.a'}}"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m := newTestModel()
		in, e := DecodeMockInput(body)
		if e == nil {
			var x *Mock
			x, e = m.CreateMock(in, t0)
			if e == nil {
				if _, ok := m.Snapshot().MatchMock([]byte(x.Method), []byte(x.PathPattern), nil); !ok && x.pat.Exact() {
					t.Fatalf("exact mock %s %s does not match its own path", x.Method, x.PathPattern)
				}
				if strings.ContainsAny(string(x.HeaderLines), "\x00") || strings.Count(string(x.HeaderLines), "\n") != strings.Count(string(x.HeaderLines), "\r\n") {
					t.Fatalf("unsafe header lines %q", x.HeaderLines)
				}
				// What the mock's JSON says makes the same mock again.
				b, err := json.Marshal(x)
				if err != nil {
					t.Fatalf("marshal: %v", err)
				}
				in2, e2 := DecodeMockInput(b)
				if e2 != nil {
					t.Fatalf("its own JSON %s does not decode: %v", b, e2)
				}
				y, e2 := newTestModel().CreateMock(in2, t0)
				if e2 != nil {
					t.Fatalf("its own JSON %s does not make a mock: %v", b, e2)
				}
				if b2, _ := json.Marshal(y); string(b2) != string(b) {
					t.Fatalf("round trip:\n%s\n%s", b, b2)
				}
				return
			}
		}
		if e.Kind == 0 || e.Code == "" || e.Message == "" {
			t.Fatalf("incomplete error %#v", e)
		}
	})
}

func TestErrorHelpers(t *testing.T) {
	is := is.New(t)
	e := newErr(KindConflict, CodeDuplicateMock, msgDupID)
	is.Equal(e.Error(), "duplicate_mock: mock id already exists")
	is.Equal(KindOf(e), KindConflict)
	is.Equal(KindOf(fmt.Errorf("wrapped: %w", e)), KindConflict)
	is.Equal(KindOf(fmt.Errorf("plain")), KindInternal)
	is.Equal(KindOf(nil), Kind(0))
	is.Equal(KindTooLarge.String(), "too_large")
	is.Equal(Kind(99).String(), "unknown")
}

// Mocks on one route coexist when their criteria differ; the one with more criteria is
// tried first, then the older; a PATCH may change or clear the criteria; the same route
// with the same criteria (spelled differently) is a duplicate.
func TestMockCriteriaOrderAndDuplicates(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	create := func(body string) *Mock {
		t.Helper()
		x, e := m.CreateMock(decode(t, body), t0)
		if e != nil {
			t.Fatalf("%s: %v", body, e)
		}
		return x
	}
	plain := create(`{"method":"GET","path_pattern":"/p/{id}","body":"plain"}`)
	one := create(`{"method":"GET","path_pattern":"/p/{x}","body":"one","match":{"query":{"a":"1"}}}`)
	two := create(`{"method":"GET","path_pattern":"/p/{y}","body":"two","match":{"query":{"a":"1"},"headers":{"X":"y"}}}`)
	_, e := m.CreateMock(decode(t, `{"method":"GET","path_pattern":"/p/{z}","match":{"query": {"a" : "1"}}}`), t0)
	is.Equal(e.Code, CodeDuplicateMock)

	match := func(query string, headers ...mock.Header) string {
		r := &mock.Request{}
		r.Reset([]byte(query), headers, nil)
		x, ok := m.Snapshot().MatchMock([]byte("GET"), []byte("/p/9"), r)
		if !ok {
			return ""
		}
		return x.Body
	}
	is.Equal(match("a=1", mock.Header{Name: []byte("x"), Value: []byte("y")}), "two")
	is.Equal(match("a=1"), "one")
	is.Equal(match("a=2"), "plain")
	x, ok := m.Snapshot().MatchMock([]byte("GET"), []byte("/p/9"), nil) // nil: whatever the criteria
	is.True(ok)
	is.Equal(x.Body, "two")

	_, e = m.UpdateMock(two.ID, decode(t, `{"match":null}`), t0) // now the same route as plain
	is.Equal(e.Code, CodeDuplicateMock)
	_, e = m.UpdateMock(one.ID, decode(t, `{"match":{"query":{"a":"3"}}}`), t0)
	is.True(e == nil)
	is.Equal(match("a=1"), "plain")
	is.Equal(match("a=3"), "one")
	_, e = m.UpdateMock(plain.ID, decode(t, `{"body":"still plain"}`), t0) // other fields keep the criteria
	is.True(e == nil)
	got, _ := m.Mock(one.ID)
	is.Equal(string(got.Match), `{"query":{"a":"3"}}`)
}

// NearMisses ranks the mocks on a path by the conditions they failed, a wrong method
// counting as one, and says whether one had the request's method.
func TestNearMisses(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	for _, body := range []string{
		`{"id":"two","method":"GET","path_pattern":"/o/{id}","match":{"query":{"a":"1","b":"2"}}}`,
		`{"id":"one","method":"GET","path_pattern":"/o/7","match":{"query":{"a":"1"}}}`,
		`{"id":"post","method":"POST","path_pattern":"/o/{id}"}`,
		`{"id":"other","method":"GET","path_pattern":"/elsewhere"}`,
	} {
		_, e := m.CreateMock(decode(t, body), t0)
		is.True(e == nil)
	}
	r := &mock.Request{}
	r.Reset([]byte("a=9&b=2"), nil, nil)
	near, same := m.Snapshot().NearMisses([]byte("GET"), []byte("/o/7?a=9"), r, 3)
	is.True(same)
	var ids []string
	for _, n := range near {
		ids = append(ids, n.ID)
	}
	is.Equal(ids, []string{"one", "two", "post"}) // one miss each: exact before pattern, then the method
	is.Equal(near[0].Checks[2], mock.Check{Field: "query.a", Expected: `equals "1"`, Actual: "9", Matched: false})
	near, same = m.Snapshot().NearMisses([]byte("PUT"), []byte("/o/7"), nil, 1)
	is.True(!same)
	is.Equal(len(near), 1)
	near, _ = m.Snapshot().NearMisses([]byte("GET"), []byte("/none"), r, 3)
	is.Equal(len(near), 0)

	// As many misses: a mock of the request's method first, whatever the slot order.
	for _, body := range []string{
		`{"id":"g","method":"GET","path_pattern":"/q"}`,
		`{"id":"pc","method":"POST","path_pattern":"/q","match":{"query":{"a":"1"}}}`,
	} {
		_, e := m.CreateMock(decode(t, body), t0)
		is.True(e == nil)
	}
	r.Reset([]byte("a=2"), nil, nil)
	near, _ = m.Snapshot().NearMisses([]byte("POST"), []byte("/q"), r, 3)
	is.Equal(len(near), 2)
	is.Equal(near[0].ID, "pc")
	is.Equal(near[1].ID, "g")
}

// Priority comes first (1 is the highest), before exact-over-pattern and every other rule;
// among equals, a named method before ANY; ANY serves every method, HEAD included.
func TestMockPriorityAndAny(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	for _, body := range []string{
		`{"id":"exact","method":"GET","path_pattern":"/a/b"}`,
		`{"id":"pattern","method":"GET","path_pattern":"/a/{x}"}`,
		`{"id":"any","method":"any","path_pattern":"/a/{x}"}`,
		`{"id":"wild-first","method":"GET","path_pattern":"/w/*","priority":1}`,
		`{"id":"w-exact","method":"GET","path_pattern":"/w/x"}`,
		`{"id":"low","method":"GET","path_pattern":"/l/x","priority":9}`,
		`{"id":"l-pattern","method":"GET","path_pattern":"/l/{y}"}`,
	} {
		_, e := m.CreateMock(decode(t, body), t0)
		if e != nil {
			t.Fatalf("%s: %v", body, e)
		}
	}
	match := func(method, path string) string {
		x, ok := m.Snapshot().MatchMock([]byte(method), []byte(path), nil)
		if !ok {
			return ""
		}
		return x.ID
	}
	is.Equal(match("GET", "/a/b"), "exact")      // equal priority: exact first
	is.Equal(match("GET", "/a/c"), "pattern")    // a named method before ANY
	is.Equal(match("POST", "/a/c"), "any")       // ANY serves the other methods
	is.Equal(match("HEAD", "/a/c"), "pattern")   // HEAD is GET
	is.Equal(match("DELETE", "/a/b"), "any")     // exact is GET only
	is.Equal(match("GET", "/w/x"), "wild-first") // priority 1 beats an exact path
	is.Equal(match("GET", "/l/x"), "l-pattern")  // priority 9 loses to a default pattern
	is.Equal(match("GET", "/l/zz"), "l-pattern")
	x, _ := m.Mock("any")
	is.Equal(x.Method, "ANY")
	for body, msg := range map[string]string{
		`{"method":"GET","path_pattern":"/p","priority":0}`:      msgPriority,
		`{"method":"GET","path_pattern":"/p","priority":1001}`:   msgPriority,
		`{"method":"GET","path_pattern":"/p","priority":"high"}`: msgPriority,
		`{"method":"TRACE","path_pattern":"/p"}`:                 msgMethod,
	} {
		in, e := DecodeMockInput([]byte(body))
		if e == nil {
			_, e = m.CreateMock(in, t0)
		}
		is.True(e != nil)
		is.Equal(e.Message, msg)
	}
	near, same := m.Snapshot().NearMisses([]byte("PUT"), []byte("/a/c"), nil, 5)
	is.True(same) // ANY has PUT
	is.Equal(len(near), 2)
}
