package features

import (
	"testing"

	"github.com/matryer/is"

	"ownhttp/conn"
	"ownhttp/proto"
)

// Which hosts name a server bound to 127.0.0.1 with two allowed hosts, and which do not:
// the hostile table is every way to smuggle a foreign name past the comparison.
func TestOwnHostLookup(t *testing.T) {
	h := newOwnHosts(&Config{BindHost: "127.0.0.1", AllowedHosts: []string{"Lab.Example.Test:9000", "[::2]", "", "bad/name"}})
	for _, tc := range []struct {
		authority string
		ok        bool
	}{
		{"localhost", true},
		{"localhost:8080", true},
		{"localhost:", true},
		{"LOCALHOST:8080", true},
		{"localhost.:8080", true},
		{"tower.localhost", true},
		{"a.b.localhost:1", true},
		{"127.0.0.1", true},
		{"127.0.0.1:8080", true},
		{"127.9.9.9:8080", true},
		{"[::1]:8080", true},
		{"[::ffff:127.0.0.1]", true},
		{"[0:0:0:0:0:0:0:1]", true},
		{"lab.example.test", true},
		{"lab.example.test:80", true},
		{"[::2]:443", true},
		{"[0::2]", true},
	} {
		if _, ok := h.lookup([]byte(tc.authority)); ok != tc.ok {
			t.Errorf("%q: %v, want %v", tc.authority, ok, tc.ok)
		}
	}
	for _, hostile := range []string{
		"", ":", ":8080", ".", "[", "[::1", "[]:80", "[zz]",
		"evil.example", "rebind.evil.example:8080", "localhost.evil.example", "evil-localhost",
		"xlocalhost", "localhost..", "localhost.:x.example", "localhost:80x", "[::1]x", "[::1]:8x", "127.0.0.1.evil.example",
		"sub.lab.example.test", "lab.example.test.evil", "example.test",
		"2130706433", "0x7f000001", "127.1", "[fe80::1%25eth0]", "[::2%25x]",
		"10.0.0.1", "[::3]", "bad/name", "0.0.0.0",
	} {
		if _, ok := h.lookup([]byte(hostile)); ok {
			t.Errorf("%q names this server", hostile)
		}
	}

	// A wildcard bind names itself and the loopback names; the redirect's set (no loopback
	// rule) names only what it was given.
	wild := newOwnHosts(&Config{BindHost: "0.0.0.0"})
	for _, a := range []string{"0.0.0.0:8080", "localhost", "127.0.0.1"} {
		if _, ok := wild.lookup([]byte(a)); !ok {
			t.Errorf("wildcard bind: %q does not name this server", a)
		}
	}
	r := newHostNames(false)
	r.addBind("127.0.0.1")
	for a, ok := range map[string]bool{"localhost": true, "127.0.0.1": true, "tower.localhost": false, "127.0.0.2": false} {
		if _, got := r.lookup([]byte(a)); got != ok {
			t.Errorf("redirect set: %q: %v, want %v", a, got, ok)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin, host string
		same         bool
	}{
		{"http://127.0.0.1:8080", "127.0.0.1:8080", true},
		{"HTTP://LocalHost:8080", "localhost:8080", true},
		{"https://127.0.0.1:8443", "127.0.0.1:8443", true},
		{"https://lab.example.test", "lab.example.test", true},
		{"https://lab.example.test", "lab.example.test:443", true},
		{"http://lab.example.test:80", "lab.example.test", true},
		{"http://127.0.0.1:8080", "127.0.0.1:8081", false},
		{"http://127.0.0.1:8080", "127.0.0.1", false},
		{"http://localhost:8080", "127.0.0.1:8080", false},
		{"http://lab.example.test", "lab.example.test:443", false},
		{"http://127.0.0.1:8080", "", false},
		{"null", "127.0.0.1:8080", false},
		{"", "127.0.0.1:8080", false},
		{"127.0.0.1:8080", "127.0.0.1:8080", false},
		{"http://127.0.0.1:8080/", "127.0.0.1:8080", false},
		{"http://user@127.0.0.1:8080", "127.0.0.1:8080", false},
		{"ftp://127.0.0.1:80", "127.0.0.1", false},
	} {
		if got := sameOrigin([]byte(tc.origin), []byte(tc.host)); got != tc.same {
			t.Errorf("origin %q, host %q: %v, want %v", tc.origin, tc.host, got, tc.same)
		}
	}
}

// originExchange is a request to path with the given header fields (name, value pairs).
func originExchange(method proto.Method, path, host string, fields ...string) *conn.Exchange {
	req := &proto.Request{Method: method, Path: []byte(path), Host: []byte(host)}
	for i := 0; i+1 < len(fields); i += 2 {
		req.Headers = append(req.Headers, proto.Header{Name: []byte(fields[i]), Value: []byte(fields[i+1])})
	}
	return &conn.Exchange{Req: req}
}

// The rules let this server's own requests through without allocating.
func TestOriginGateAllocs(t *testing.T) {
	app := New(Config{BindHost: "127.0.0.1", AllowedHosts: []string{"lab.example.test"}, CORSOrigins: []string{"*"}})
	var p params
	api := app.routes.match([]byte("/api/mocks"), &p)
	page := app.routes.match([]byte("/playground"), &p)
	for _, tc := range []struct {
		name string
		rt   *route
		x    *conn.Exchange
	}{
		{"page", page, originExchange(proto.MethodGET, "/playground", "localhost:8080")},
		{"read", api, originExchange(proto.MethodGET, "/api/mocks", "127.0.0.1:8080", "Origin", "http://evil.example")},
		{"tool", api, originExchange(proto.MethodPOST, "/api/mocks", "[::1]:8080")},
		{"allowed host", api, originExchange(proto.MethodPOST, "/api/mocks", "LAB.example.test")},
		{"own origin", api, originExchange(proto.MethodPOST, "/api/mocks", "127.0.0.1:8080",
			"Origin", "http://127.0.0.1:8080", "Sec-Fetch-Site", "same-origin")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			is.True(!app.gate(tc.x, tc.rt)) // let through
			allocs := testing.AllocsPerRun(1000, func() { app.gate(tc.x, tc.rt) })
			is.Equal(allocs, 0.0) // allocations per request
		})
	}
	// And they refuse what they must.
	is := is.New(t)
	is.True(app.gate(originExchange(proto.MethodGET, "/playground", "evil.example"), page))
	is.True(app.gate(originExchange(proto.MethodPOST, "/api/mocks", "localhost", "Origin", "null"), api))
	is.True(app.gate(originExchange(proto.MethodDELETE, "/api/mocks", "localhost", "Sec-Fetch-Site", "Cross-Site"), api))
}
