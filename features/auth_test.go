package features

import (
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/conn"
	"ownhttp/proto"
	"ownhttp/state"
)

const authTestToken = "s3cret-Demo_token.42"

// authExchange builds an exchange for the guard alone: a request with the given path, query
// and header fields (name, value pairs).
func authExchange(path, query string, fields ...string) *conn.Exchange {
	req := &proto.Request{Method: proto.MethodGET, Path: []byte(path)}
	if query != "" {
		req.Query = []byte(query)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		req.Headers = append(req.Headers, proto.Header{Name: []byte(fields[i]), Value: []byte(fields[i+1])})
	}
	return &conn.Exchange{Req: req}
}

// Which paths the guard covers: the API families, exactly, and nothing else.
func TestGuardedPath(t *testing.T) {
	for _, tc := range []struct {
		path    string
		guarded bool
	}{
		{"/api/mocks", true},
		{"/api/mocks/abc", true},
		{"/api/history", true},
		{"/api/replay/0123456789abcdef", true},
		{"/api/playground/state", true},
		{"/api/playground/request", true},
		{"/api/scenarios", true},
		{"/api/scenarios/sc1/run", true},
		{"/api/scenarios/runs/r1", true},
		{"/api/targets", true},
		{"/api/targets/t1", true},
		{"/api/proxy/request", true},
		{"/api/events/snapshot", true},
		{"/api/events/stream", true},
		{"/api/events/live-mode", true},
		{"/api/incidents/start", true},
		{"/api/metrics/trends", true},
		{"/api/mocks/", true},
		{"/api/mocks//x", true},
		// public
		{"/api/users", false}, // a mock outside the families (spec §8.3: mocks are public)
		{"/api/mocksx", false},
		{"/api/", false},
		{"/api//mocks", false}, // no route serves it: 404
		{"/", false},
		{"/healthz", false},
		{"/_metrics", false},
		{"/metrics", false},
		{"/playground", false},
		{"/dashboard", false},
		{"/static/app.js", false},
		{"/users", false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			is := is.New(t)
			app := New(Config{DemoToken: authTestToken, RequireDemoToken: true})
			x := authExchange(tc.path, "")
			is.Equal(app.guard(x), tc.guarded) // guarded
		})
	}
}

// Hostile spellings of API paths: whatever the router sends to an API handler, the guard
// covers (both match raw bytes, without decoding).
func TestGuardedPathHostile(t *testing.T) {
	app := New(Config{DemoToken: authTestToken})
	for _, path := range []string{"/API/mocks", "/%61pi/mocks", "//api/mocks", "/api", "api/mocks",
		"/api/Mocks", "/api/mocks%2f", "*", ""} {
		t.Run(path, func(t *testing.T) {
			is := is.New(t)
			var p params
			rt := app.routes.match([]byte(path), &p)
			guarded := app.guard(authExchange(path, ""))
			if rt != nil && rt.api {
				is.True(guarded) // an API route is always guarded
			}
		})
	}
}

// Every route of the table under /api/ is guarded and every other route is public, so a
// route added later cannot be left open by mistake.
func TestRouteTableGuarded(t *testing.T) {
	is := is.New(t)
	app := New(Config{DemoToken: authTestToken, CodeCrafters: true})
	var all []*route
	for _, rt := range app.routes.exact {
		all = append(all, rt)
	}
	all = append(all, app.routes.patterns...)
	is.True(len(all) > 20) // the whole table
	for _, rt := range all {
		path := rt.pattern
		for _, seg := range rt.segs {
			if strings.HasPrefix(seg, "{") || seg == "*" {
				path = strings.Replace(path, seg, "x", 1)
			}
		}
		guarded := app.guard(authExchange(path, ""))
		if guarded != strings.HasPrefix(rt.pattern, apiPrefix) {
			t.Errorf("route %s: guarded=%v", rt.pattern, guarded)
		}
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		value, token string
		ok           bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER abc", "abc", true},
		{"Bearer    abc  ", "abc", true},
		{"Bearer a b", "a b", true}, // compared as a whole: cannot match a token without a space
	} {
		t.Run(tc.value, func(t *testing.T) {
			is := is.New(t)
			tok, ok := bearerToken([]byte(tc.value))
			is.Equal(ok, tc.ok)
			is.Equal(string(tok), tc.token)
		})
	}
}

func TestBearerTokenHostile(t *testing.T) {
	for _, v := range []string{"", "Bearer", "Bearer ", "Bearer     ", "Bearerabc", "Basic abc",
		"Token abc", "Bearer\tabc", "Bearer\x00abc", "Bëarer abc", "bearer:abc", "Bearer\r\nabc"} {
		t.Run(v, func(t *testing.T) {
			is := is.New(t)
			tok, ok := bearerToken([]byte(v))
			is.True(!ok) // no token
			is.Equal(len(tok), 0)
		})
	}
}

func TestQueryToken(t *testing.T) {
	for _, tc := range []struct {
		query, token string
		ok           bool
	}{
		{"token=abc", "abc", true},
		{"since_id=4&token=abc&limit=2", "abc", true},
		{"token=a%2Bb%20c", "a+b c", true},
		{"token=a+b", "a b", true},
		{"token=first&token=second", "first", true},
		{"xtoken=abc&token=def", "def", true},
		{"Token=abc", "", false}, // the name is case-sensitive
		{"token=", "", false},
		{"token", "", false},
		{"", "", false},
		{"token=%zz", "", false},
		{"token=abc%", "", false},
		{"token=abc%4", "", false},
		{"token=" + strings.Repeat("a", maxQueryToken+1), "", false}, // too long for the stack buffer
	} {
		t.Run(tc.query, func(t *testing.T) {
			is := is.New(t)
			var buf [maxQueryToken]byte
			tok, ok := queryToken([]byte(tc.query), buf[:0])
			is.Equal(ok, tc.ok)
			if ok {
				is.Equal(string(tok), tc.token)
			}
		})
	}
}

// The comparison accepts exactly the demo token: not a prefix, not an extension, not another
// case; and with no demo token configured, nothing.
func TestTokenMatches(t *testing.T) {
	long := strings.Repeat("L", 300) // longer than the stack buffer of tokenMatches
	for _, tc := range []struct {
		name, demo, got string
		ok              bool
	}{
		{"exact", authTestToken, authTestToken, true},
		{"long exact", long, long, true},
		{"prefix", authTestToken, authTestToken[:5], false},
		{"extension", authTestToken, authTestToken + "x", false},
		{"case", authTestToken, strings.ToUpper(authTestToken), false},
		{"empty", authTestToken, "", false},
		{"long vs short", long, authTestToken, false},
		{"no demo token", "", "", false},
		{"no demo token, any token", "", "anything", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			app := New(Config{DemoToken: tc.demo, RequireDemoToken: true})
			is.Equal(app.tokenMatches([]byte(tc.got)), tc.ok)
		})
	}
}

// Through a whole connection: the guard on and off, with and without the token, on guarded
// and public routes.
func TestGuardServe(t *testing.T) {
	a := mkActor(t, state.Config{})
	mkAddMock(t, a, `{"method":"GET","path_pattern":"/users","body":"mocked"}`)
	on := New(Config{State: a, DemoToken: authTestToken, RequireDemoToken: true})
	onNoToken := New(Config{State: a, RequireDemoToken: true}) // nothing can match
	off := New(Config{State: a})
	bearer := "Authorization: Bearer " + authTestToken + "\r\n"
	for _, tc := range []struct {
		name string
		app  *App
		raw  string
		want int // 401, or 0 for "anything but 401"
	}{
		{"on: no token", on, mkReq("GET", "/api/mocks"), 401},
		{"on: wrong token", on, mkReq("GET", "/api/mocks", "Authorization: Bearer nope\r\n"), 401},
		{"on: other scheme", on, mkReq("GET", "/api/mocks", "Authorization: Basic "+authTestToken+"\r\n"), 401},
		{"on: token", on, mkReq("GET", "/api/mocks", bearer), 0},
		{"on: lower-case scheme", on, mkReq("GET", "/api/mocks", "authorization: bearer "+authTestToken+"\r\n"), 0},
		{"on: HEAD without token", on, mkReq("HEAD", "/api/history"), 401},
		{"on: POST without token", on, mkReq("POST", "/api/mocks", "Content-Length: 2\r\n") + "{}", 401},
		{"on: query token on events", on, mkReq("GET", "/api/events/live-mode?token="+authTestToken), 0},
		{"on: wrong query token on events", on, mkReq("GET", "/api/events/live-mode?token=nope"), 401},
		{"on: query token elsewhere", on, mkReq("GET", "/api/mocks?token="+authTestToken), 401},
		{"on: unknown route in a family", on, mkReq("GET", "/api/mocks/a/b/c"), 401},
		{"on: public /", on, mkReq("GET", "/"), 0},
		{"on: public /healthz", on, mkReq("GET", "/healthz"), 0},
		{"on: public /_metrics", on, mkReq("GET", "/_metrics"), 0},
		{"on: public mock", on, mkReq("GET", "/users"), 0},
		{"on: public unknown api", on, mkReq("GET", "/api/nothing"), 0},
		{"on without demo token: token-less", onNoToken, mkReq("GET", "/api/mocks"), 401},
		{"on without demo token: empty bearer", onNoToken, mkReq("GET", "/api/mocks", "Authorization: Bearer \r\n"), 401},
		{"off: no token", off, mkReq("GET", "/api/mocks"), 0},
		{"off: wrong token", off, mkReq("GET", "/api/mocks", "Authorization: Bearer nope\r\n"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			resp, body := mkServe(t, tc.app, tc.raw)
			if tc.want == 0 {
				is.True(resp.StatusCode != 401) // passes the guard
				is.Equal(resp.Header.Get("WWW-Authenticate"), "")
				return
			}
			is.Equal(resp.StatusCode, 401)
			is.Equal(resp.Header.Get("WWW-Authenticate"), `Bearer realm="ownhttp"`)
			is.Equal(resp.Header.Get("Content-Type"), "application/json")
			if !strings.HasPrefix(tc.raw, "HEAD") {
				is.True(strings.HasPrefix(body, `{"error":{"code":"unauthorized","message":"`))
			}
		})
	}
}

// The guard allocates nothing: not on public paths, not when it lets a request through.
func TestGuardAllocs(t *testing.T) {
	app := New(Config{DemoToken: authTestToken, RequireDemoToken: true})
	long := New(Config{DemoToken: strings.Repeat("t", 100), RequireDemoToken: true})
	for _, tc := range []struct {
		name string
		app  *App
		x    *conn.Exchange
	}{
		{"public", app, authExchange("/healthz", "")},
		{"public api", app, authExchange("/api/users", "")},
		{"bearer", app, authExchange("/api/mocks", "", "Host", "x", "Authorization", "Bearer "+authTestToken)},
		{"bearer, 100-byte token", long, authExchange("/api/mocks", "", "Authorization", "Bearer "+strings.Repeat("t", 100))},
		{"query token", app, authExchange("/api/events/stream", "since_id=3&token="+authTestToken)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			is.True(!tc.app.guard(tc.x)) // let through
			allocs := testing.AllocsPerRun(1000, func() { tc.app.guard(tc.x) })
			is.Equal(allocs, 0.0) // allocations per guarded request
		})
	}
}

// With the guard on, a served mock and the home page still allocate nothing through the
// whole connection.
func TestGuardServeAllocs(t *testing.T) {
	a := mkActor(t, state.Config{})
	mkAddMock(t, a, `{"method":"GET","path_pattern":"/users/{id}","body":"user"}`)
	app := New(Config{State: a, DemoToken: authTestToken, RequireDemoToken: true})
	for _, tc := range []struct{ name, raw, want string }{
		{"mock", mkReq("GET", "/users/7"), "user"},
		{"home", mkReq("GET", "/"), "Hello World"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			c, tr := mkConn(app)
			req := []byte(tc.raw)
			now := time.Unix(1, 0)
			c.OnData(req, now)
			is.True(strings.HasSuffix(tr.out.String(), "\r\n\r\n"+tc.want)) // answered
			allocs := testing.AllocsPerRun(1000, func() {
				tr.out.Reset()
				c.OnData(req, now)
			})
			is.Equal(allocs, 0.0)
		})
	}
}
