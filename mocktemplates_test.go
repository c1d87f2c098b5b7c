package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// Templated mocks over the wire (#15): values from the request (path parameter, query,
// header, a JSON path into the body), a templated status and header, compile errors naming
// field, line and column, and render errors as a 500 naming the mock.
func TestMockTemplatesWire(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		is.Equal(l.do("POST", "/api/mocks", `{"id":"order","method":"POST","path_pattern":"/users/{id}/orders","template":true,
			"status":"{{#if request.query.dry}}200{{else}}201{{/if}}",
			"headers":{"Location":"/users/{{request.path.id}}/orders/{{jsonPath request.body '$.sku'}}"},
			"body":{"user":"{{request.path.id}}","sku":"{{jsonPath request.body '$.sku'}}","tenant":"{{request.headers.X-Tenant}}"}}`).status, 201)
		r := l.do("POST", "/users/ada/orders", `{"sku":"A-1","qty":2}`, "X-Tenant: acme")
		is.Equal(r.status, 201)
		is.Equal(r.header.Get("Location"), "/users/ada/orders/A-1")
		is.Equal(string(r.body), `{"user":"ada","sku":"A-1","tenant":"acme"}`)
		is.Equal(l.do("POST", "/users/bob/orders?dry=1", `{"sku":"B"}`).status, 200)

		// A syntax error is a 400 naming the field, line and column.
		r = l.do("POST", "/api/mocks", `{"method":"GET","path_pattern":"/t","template":true,"body":"line one\n{{#each request.query.a}}x"}`)
		is.Equal(r.status, 400)
		is.True(strings.Contains(string(r.body), "body: line 2, column"))
		// Without "template": true the text is sent as it is.
		l.createMock(`{"method":"GET","path_pattern":"/plain","body":"{{request.path}}","content_type":"text/plain"}`)
		is.Equal(string(l.do("GET", "/plain", "").body), "{{request.path}}")

		// A render error is a 500 naming the mock; the server goes on.
		is.Equal(l.do("POST", "/api/mocks", `{"id":"bad","method":"GET","path_pattern":"/bad","template":true,"status":"{{request.query.code}}"}`).status, 201)
		r = l.do("GET", "/bad?code=abc", "")
		is.Equal(r.status, 500)
		is.True(strings.Contains(string(r.body), `"code":"template_error"`))
		is.True(strings.Contains(string(r.body), "mock bad: status"))
		is.Equal(l.do("GET", "/bad?code=418", "").status, 418)
	})
}

// Two servers started with the same seed answer the same requests byte for byte, Date and
// X-Request-ID aside; another seed gives other random values (#15).
func TestMockTemplatesDeterministic(t *testing.T) {
	is := is.New(t)
	mocks := []string{
		`{"id":"rnd","method":"GET","path_pattern":"/rnd/{n}","template":true,"content_type":"text/plain",
		  "body":"{{randomValue type='UUID'}} {{randomInt lower=1 upper=1000}} {{randomValue length=12 type='ALPHANUMERIC'}} {{pickRandom 'a' 'b' 'c'}} {{request.path.n}}"}`,
		`{"id":"seq","method":"GET","path_pattern":"/seq","template":true,"after_last":"loop","responses":[
		  {"body":"first {{randomValue type='HEXADECIMAL' length=8}}","content_type":"text/plain"},
		  {"body":"second {{randomInt lower=0 upper=9}}","content_type":"text/plain"}]}`,
	}
	answers := func(engine string, seed string) string {
		s := testkit.Start(t, run, engine, "--access-log=false", "--seed", seed)
		l := newLabClient(t, s)
		for _, m := range mocks {
			l.createMock(m)
		}
		var b strings.Builder
		for i := range 6 {
			for _, path := range []string{"/rnd/" + string(rune('a'+i)), "/seq"} {
				c := s.Dial(t)
				testkit.SendRaw(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false)
				ex := testkit.ReadResponses(c, []string{"GET"}, false)
				c.Close()
				is.NoErr(ex.Err)
				b.Write(stripVolatile(ex.Raw))
			}
		}
		return b.String()
	}
	a := answers("epoll", "42")
	is.Equal(answers("threadpool", "42"), a) // same seed: byte for byte, on either engine
	is.True(answers("epoll", "43") != a)     // another seed: other values
	is.True(strings.Contains(a, "HTTP/1.1 200 OK"))
	uuid := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)
	is.Equal(len(uuid.FindAllString(a, -1)), 6) // a fresh UUID per hit
	seen := map[string]bool{}
	for _, u := range uuid.FindAllString(a, -1) {
		seen[u] = true
	}
	is.Equal(len(seen), 6)
}

var volatileHeader = regexp.MustCompile(`(?m)^(Date|X-Request-Id|X-Request-ID): [^\r\n]*\r\n`)

// stripVolatile removes Date and X-Request-ID from a raw response.
func stripVolatile(raw []byte) []byte {
	return volatileHeader.ReplaceAll(raw, nil)
}
