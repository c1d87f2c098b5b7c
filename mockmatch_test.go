package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/cli"
	"ownhttp/internal/testkit"
)

// Issue #14 (its first part): mocks match on query, headers, cookies and the body through
// their "match" criteria; mocks on one route coexist when their criteria differ, the one
// asking more of a request first; a mock without criteria takes what the others leave; a
// bad criterion is a 400 naming its field; criteria survive a restart.
func TestMockCriteria(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		stateFile := filepath.Join(t.TempDir(), "state.json")
		s := startWithStateFile(t, engine, stateFile)
		l := newLabClient(t, s)
		open := l.createMock(`{"method":"GET","path_pattern":"/orders","body":"open orders",
			"match":{"query":{"status":"open"}}}`)
		l.createMock(`{"method":"GET","path_pattern":"/orders","body":"acme open orders",
			"match":{"query":{"status":"open"},"headers":{"X-Tenant":{"equals":"ACME","case_insensitive":true}}}}`)
		l.createMock(`{"method":"GET","path_pattern":"/orders","body":"all orders"}`)
		l.createMock(`{"method":"POST","path_pattern":"/orders/{id}/items","status":201,"body":"added",
			"match":{"body":[{"json_path":"$.qty","matches":"^[1-9][0-9]*$"},{"json_path":"$.debug","absent":true}]}}`)
		l.createMock(`{"method":"GET","path_pattern":"/me","body":"signed in","match":{"cookies":{"session":{"absent":false}}}}`)
		l.createMock(`{"method":"POST","path_pattern":"/login","body":"welcome","match":{"form":{"user":"ada"}}}`)

		check := func() {
			t.Helper()
			for _, tc := range []struct {
				method, target, body string
				headers              []string
				status               int
				want                 string
			}{
				{"GET", "/orders?status=open", "", []string{"X-Tenant: acme"}, 200, "acme open orders"},
				{"GET", "/orders?status=open", "", nil, 200, "open orders"},
				{"GET", "/orders?status=closed", "", nil, 200, "all orders"},
				{"GET", "/orders", "", []string{"X-Tenant: acme"}, 200, "all orders"},
				{"HEAD", "/orders?status=open", "", nil, 200, ""},
				{"POST", "/orders/7/items", `{"qty":3}`, []string{"Content-Type: application/json"}, 201, "added"},
				{"POST", "/orders/7/items", `{"qty":0}`, nil, 404, ""},
				{"POST", "/orders/7/items", `{"qty":3,"debug":true}`, nil, 404, ""},
				{"POST", "/orders/7/items", `not json`, nil, 404, ""},
				{"GET", "/me", "", []string{"Cookie: theme=dark; session=abc"}, 200, "signed in"},
				{"GET", "/me", "", []string{"Cookie: theme=dark"}, 404, ""},
				{"POST", "/login", "user=ada&pass=x", []string{"Content-Type: application/x-www-form-urlencoded"}, 200, "welcome"},
				{"POST", "/login", "user=bob", []string{"Content-Type: application/x-www-form-urlencoded"}, 404, ""},
			} {
				r := l.do(tc.method, tc.target, tc.body, tc.headers...)
				if r.status != tc.status || tc.status == 200 && tc.method != "HEAD" && string(r.body) != tc.want || tc.status == 201 && string(r.body) != tc.want {
					t.Errorf("%s %s %s %v: %d %q, want %d %q", tc.method, tc.target, tc.body, tc.headers, r.status, r.body, tc.status, tc.want)
				}
			}
		}
		check()

		// The criteria are part of the mock's JSON, compact, and of the duplicate rule.
		var got struct {
			Mock struct {
				Match json.RawMessage `json:"match"`
			} `json:"mock"`
		}
		l.do("GET", "/api/mocks/"+open.ID, "").decode(t, &got)
		is.Equal(string(got.Mock.Match), `{"query":{"status":"open"}}`)
		r := l.do("POST", "/api/mocks", `{"method":"GET","path_pattern":"/orders","match":{ "query" : {"status":"open"} }}`)
		is.Equal(r.status, 409) // the same route and the same criteria
		is.Equal(l.do("POST", "/api/mocks", `{"method":"GET","path_pattern":"/orders","match":{"query":{"status":"draft"}}}`).status, 201)

		// A bad criterion is a 400 naming the field.
		for payload, field := range map[string]string{
			`{"method":"GET","path_pattern":"/x","match":{"query":{"q":{"matches":"(a"}}}}`:   "match.query.q.matches",
			`{"method":"GET","path_pattern":"/x","match":{"querry":{}}}`:                      "match.querry",
			`{"method":"GET","path_pattern":"/x","match":{"body":{"json_path":"$.a["}}}`:      "match.body.json_path",
			`{"method":"GET","path_pattern":"/x","match":{"headers":{"X":{"equalz":"1"}}}}`:   "match.headers.X.equalz",
			`{"method":"GET","path_pattern":"/x","match":"nope"}`:                             "match",
			`{"method":"GET","path_pattern":"/x","match":{"body":{"equals":"a","absent":1}}}`: "match.body",
		} {
			r := l.do("POST", "/api/mocks", payload)
			is.Equal(r.status, 400)
			e := r.apiError(t)
			is.Equal(e.Code, "invalid_mock")
			if !strings.HasPrefix(e.Message, field) {
				t.Errorf("%s: message %q, want it to start with %q", payload, e.Message, field)
			}
		}

		// The criteria are stored with the mock.
		is.NoErr(s.Stop(t))
		s = startWithStateFile(t, engine, stateFile)
		l = newLabClient(t, s)
		check()
	})
}

// A request no mock matched is answered with the mocks that came closest and why (#14):
// when a mock with its method is on the path and its criteria failed, or when the client
// asks for JSON; other 404s stay plain.
func TestNearMiss(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		open := l.createMock(`{"method":"GET","path_pattern":"/orders","body":"open","match":{"query":{"status":"open"},"headers":{"X-Tenant":"acme"}}}`)
		l.createMock(`{"method":"GET","path_pattern":"/orders/{id}","body":"one"}`)
		l.createMock(`{"method":"POST","path_pattern":"/orders","status":201,"match":{"body":{"json_path":"$.qty"}}}`)

		type nearMiss struct {
			ID     string `json:"id"`
			Method string `json:"method"`
			Missed int    `json:"missed"`
			Checks []struct {
				Field    string `json:"field"`
				Expected string `json:"expected"`
				Actual   string `json:"actual"`
				Matched  bool   `json:"matched"`
			} `json:"checks"`
		}
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
			NearMisses []nearMiss `json:"near_misses"`
		}
		r := l.do("GET", "/orders?status=closed", "", "X-Tenant: acme")
		is.Equal(r.status, 404)
		is.Equal(r.header.Get("Content-Type"), "application/json")
		r.decode(t, &body)
		is.Equal(body.Error.Code, "no_mock_matched")
		is.Equal(body.Error.Message, "no mock matched GET /orders?status=closed")
		is.Equal(len(body.NearMisses), 2) // the GET mock first (one miss), then the POST one
		first := body.NearMisses[0]
		is.Equal(first.ID, open.ID)
		is.Equal(first.Missed, 1)
		var fields []string
		for _, c := range first.Checks {
			fields = append(fields, c.Field)
			if c.Field == "query.status" {
				is.Equal(c.Expected, `equals "open"`)
				is.Equal(c.Actual, "closed")
				is.True(!c.Matched)
			}
		}
		is.Equal(fields, []string{"method", "path", "query.status", "headers.X-Tenant"})
		is.Equal(body.NearMisses[1].Method, "POST")

		// Another method's mock on the path: a near miss only for a client that asks for JSON.
		is.Equal(string(l.do("POST", "/orders/7", "").body), "Not Found")
		r = l.do("POST", "/orders/7", "", "Accept: application/json")
		is.Equal(r.status, 404)
		body.NearMisses = nil
		r.decode(t, &body)
		is.Equal(len(body.NearMisses), 1)
		is.Equal(body.NearMisses[0].Checks[0].Matched, false) // the method

		// No mock on the path: the plain 404, JSON asked for or not.
		r = l.do("GET", "/nothing/here", "", "Accept: application/json")
		is.Equal(r.status, 404)
		is.Equal(string(r.body), "Not Found")

		// A PUT whose mock's criteria fail is a near miss too, not the fallback's 405; a PUT
		// no PUT mock is on keeps the 405, JSON asked for or not.
		l.createMock(`{"method":"PUT","path_pattern":"/orders/{id}","match":{"headers":{"If-Match":{"absent":false}}}}`)
		r = l.do("PUT", "/orders/7", "")
		is.Equal(r.status, 404)
		r.decode(t, &body)
		is.Equal(body.Error.Code, "no_mock_matched")
		is.Equal(body.NearMisses[0].Method, "PUT")
		is.Equal(l.do("PUT", "/orders/7", "", "If-Match: *").status, 200)
		is.Equal(l.do("PUT", "/orders", "", "Accept: application/json").status, 405)
		is.Equal(l.do("DELETE", "/orders/7", "", "Accept: application/json").status, 405)
	})
}

// Verification (#14): POST /api/requests/count and /find answer from the journal with the
// mocks' criteria language; DELETE /api/history starts the count again; a bad query is a
// 400 naming its field.
func TestRequestsCountAndFind(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"POST","path_pattern":"/orders","status":201}`)
		l.createMock(`{"method":"GET","path_pattern":"/orders/{id}"}`)
		for _, tc := range []struct{ method, target, body, header string }{
			{"POST", "/orders", `{"sku":"A","qty":1}`, "X-Tenant: acme"},
			{"POST", "/orders", `{"sku":"B","qty":2}`, "X-Tenant: acme"},
			{"POST", "/orders", `{"sku":"A","qty":3}`, "X-Tenant: other"},
			{"GET", "/orders/1?expand=items", "", "X-Tenant: acme"},
			{"GET", "/orders/2", "", "X-Tenant: acme"},
		} {
			l.do(tc.method, tc.target, tc.body, tc.header)
		}
		count := func(query string) int {
			t.Helper()
			var got struct {
				Count int `json:"count"`
			}
			r := l.do("POST", "/api/requests/count", query)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", query, r.status, r.body)
			}
			r.decode(t, &got)
			return got.Count
		}
		is.Equal(count(`{"method":"POST","path_pattern":"/orders"}`), 3)
		is.Equal(count(`{"method":"POST","path_pattern":"/orders","match":{"headers":{"x-tenant":"acme"}}}`), 2)
		is.Equal(count(`{"path_pattern":"/orders","match":{"body":{"json_path":"$.sku","equals":"A"}}}`), 2)
		is.Equal(count(`{"method":"GET","path_pattern":"/orders/{id}","match":{"query":{"expand":{"absent":false}}}}`), 1)
		is.Equal(count(`{"method":"any","path_pattern":"/orders/*"}`), 5)
		is.Equal(count(`{"method":"DELETE"}`), 0)

		var found struct {
			Count    int `json:"count"`
			Requests []struct {
				Method string `json:"method"`
				Path   string `json:"path"`
			} `json:"requests"`
		}
		l.do("POST", "/api/requests/find", `{"method":"GET","path_pattern":"/orders/{id}"}`).decode(t, &found)
		is.Equal(found.Count, 2)
		is.Equal(found.Requests[0].Path, "/orders/1") // oldest first
		is.Equal(found.Requests[1].Path, "/orders/2")

		r := l.do("POST", "/api/requests/count", `{"method":"GET","match":{"query":{"a":{"matches":"("}}}}`)
		is.Equal(r.status, 400)
		e := r.apiError(t)
		is.Equal(e.Code, "invalid_criteria")
		is.True(strings.HasPrefix(e.Message, "match.query.a.matches"))
		is.Equal(l.do("POST", "/api/requests/count", `{"metod":"GET"}`).status, 400)

		is.Equal(l.do("DELETE", "/api/history", "").status, 200)
		is.Equal(count(`{"method":"POST","path_pattern":"/orders"}`), 0)
	})
}

// ownhttp verify checks a count of journal requests for CI: exit 0 when it holds, 3 when it
// does not, 2 on a bad command line.
func TestVerifyCommand(t *testing.T) {
	is := is.New(t)
	s := testkit.Start(t, run, "epoll", "--access-log=false")
	l := newLabClient(t, s)
	l.createMock(`{"method":"POST","path_pattern":"/orders","status":201}`)
	for _, sku := range []string{"A", "B", "A"} {
		is.Equal(l.do("POST", "/orders", `{"sku":"`+sku+`"}`).status, 201)
	}
	verify := func(args ...string) (string, error) {
		var out, errOut strings.Builder
		err := run(t.Context(), append([]string{"verify", "--server", s.URL()}, args...), &out, &errOut, nil)
		return out.String() + errOut.String(), err
	}
	out, err := verify("--method", "POST", "--path", "/orders", "--count", "3")
	is.NoErr(err)
	is.True(strings.HasPrefix(out, "ok: 3 matching requests, expected exactly 3"))
	_, err = verify("--method", "POST", "--path", "/orders", "--match", `{"body":{"json_path":"$.sku","equals":"A"}}`, "--at-least", "2")
	is.NoErr(err)
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "m.json", `{"body":{"json_path":"$.sku","equals":"B"}}`)
	out, err = verify("--path", "/orders", "--match", "@"+filepath.Join(dir, "m.json"), "--at-most", "0")
	is.Equal(err, cli.ExitCode(3))
	is.True(strings.HasPrefix(out, "FAILED: 1 matching requests, expected at most 0"))
	out, err = verify("--path-regex", "/ord(er)?s", "--count", "3")
	is.NoErr(err)
	is.True(strings.HasPrefix(out, "ok: 3 matching requests"))
	_, err = verify("--count", "1", "--at-least", "1")
	var usage cli.UsageError
	is.True(errors.As(err, &usage))
	_, err = verify("--path", "/orders", "--path-regex", "/orders", "--count", "1")
	is.True(errors.As(err, &usage))
	out, err = verify("--match", `{"query":{"a":{"matches":"("}}}`, "--count", "0")
	is.True(err != nil)
	is.True(strings.Contains(out, "invalid_criteria") || strings.Contains(out, "match.query.a.matches"))
}

// Priority and ANY over the wire (#14): a priority-1 wildcard answers before an exact
// path; an ANY mock answers every method; priority shows in the mock's JSON.
func TestMockPriorityAndAnyWire(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/maint/status","body":"fine"}`)
		m := l.createMock(`{"method":"ANY","path_pattern":"/maint/*","status":503,"body":"down for maintenance","priority":1}`)
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			r := l.do(method, "/maint/status", "")
			is.Equal(r.status, 503)
			is.Equal(string(r.body), "down for maintenance")
		}
		var got struct {
			Mock struct {
				Method   string `json:"method"`
				Priority int    `json:"priority"`
			} `json:"mock"`
		}
		l.do("GET", "/api/mocks/"+m.ID, "").decode(t, &got)
		is.Equal(got.Mock.Method, "ANY")
		is.Equal(got.Mock.Priority, 1)
		is.Equal(l.do("PATCH", "/api/mocks/"+m.ID, `{"priority":9}`).status, 200)
		is.Equal(string(l.do("GET", "/maint/status", "").body), "fine") // now after the exact path
		is.Equal(l.do("POST", "/maint/status", "").status, 503)         // still the only POST
		is.Equal(l.do("POST", "/api/mocks", `{"method":"GET","path_pattern":"/x","priority":0}`).status, 400)
	})
}

// GET /api/requests/unmatched lists the requests no mock answered, with their near misses
// against the mocks as they are now (#14).
func TestRequestsUnmatched(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/orders","match":{"query":{"status":"open"}}}`)
		l.do("GET", "/orders?status=closed", "")
		l.do("GET", "/nowhere", "")
		l.do("GET", "/orders?status=open", "") // matched: not listed
		l.do("GET", "/api/nothing", "")        // an API 404: not a mock's business
		var got struct {
			Count    int `json:"count"`
			Requests []struct {
				Request struct {
					Path      string `json:"path"`
					Unmatched bool   `json:"unmatched"`
				} `json:"request"`
				NearMisses []struct {
					PathPattern string `json:"path_pattern"`
					Missed      int    `json:"missed"`
				} `json:"near_misses"`
			} `json:"requests"`
		}
		l.do("GET", "/api/requests/unmatched", "").decode(t, &got)
		is.Equal(got.Count, 2)
		is.Equal(got.Requests[0].Request.Path, "/orders")
		is.True(got.Requests[0].Request.Unmatched)
		is.Equal(len(got.Requests[0].NearMisses), 1)
		is.Equal(got.Requests[0].NearMisses[0].Missed, 1)
		is.Equal(got.Requests[1].Request.Path, "/nowhere")
		is.Equal(len(got.Requests[1].NearMisses), 0)
		l.do("GET", "/api/requests/unmatched?limit=1", "").decode(t, &got)
		is.Equal(got.Count, 1)
		is.Equal(got.Requests[0].Request.Path, "/nowhere") // the newest
		is.Equal(l.do("GET", "/api/requests/unmatched?limit=0", "").status, 400)
	})
}

// Each mock reports its hits and last_hit_at; an update keeps them, DELETE /api/history
// zeroes them (#14).
func TestMockHits(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		a := l.createMock(`{"method":"GET","path_pattern":"/a","match":{"query":{"v":"1"}}}`)
		b := l.createMock(`{"method":"GET","path_pattern":"/a"}`)
		for _, target := range []string{"/a?v=1", "/a?v=1", "/a", "/a?v=1"} {
			is.Equal(l.do("GET", target, "").status, 200)
		}
		type hits struct {
			Mock struct {
				Hits      int    `json:"hits"`
				LastHitAt string `json:"last_hit_at"`
			} `json:"mock"`
		}
		get := func(id string) hits {
			var h hits
			l.do("GET", "/api/mocks/"+id, "").decode(t, &h)
			return h
		}
		is.Equal(get(a.ID).Mock.Hits, 3)
		is.Equal(get(b.ID).Mock.Hits, 1)
		_, err := time.Parse(time.RFC3339, get(a.ID).Mock.LastHitAt)
		is.NoErr(err)
		is.Equal(l.do("PATCH", "/api/mocks/"+a.ID, `{"status":202}`).status, 200)
		is.Equal(get(a.ID).Mock.Hits, 3) // an update keeps the count
		is.Equal(l.do("DELETE", "/api/history", "").status, 200)
		is.Equal(get(a.ID).Mock.Hits, 0)
		is.Equal(get(a.ID).Mock.LastHitAt, "")
	})
}

// Path forms beyond {name} and a final /*: {name:regex} segments, * within a path and
// path_regex, in their precedence order, with errors naming the field and position (#14).
func TestMockPathForms(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/users/{id}","body":"any user"}`)
		l.createMock(`{"method":"GET","path_pattern":"/users/{id:[0-9]+}","body":"numeric user"}`)
		l.createMock(`{"method":"GET","path_pattern":"/users/me","body":"me"}`)
		l.createMock(`{"method":"GET","path_pattern":"/docs/*/raw","body":"raw file"}`)
		l.createMock(`{"method":"GET","path_pattern":"/img/*.png","content_type":"image/png","body":"png"}`)
		l.createMock(`{"method":"GET","path_regex":"/v[0-9]+/(users|orders)/.*","body":"versioned"}`)
		l.createMock(`{"method":"GET","path_pattern":"/v1/users/*","body":"v1 users"}`)
		for path, want := range map[string]string{
			"/users/me":          "me",           // exact first
			"/users/42":          "numeric user", // a regex segment before a plain parameter
			"/users/bob":         "any user",
			"/docs/a.txt/raw":    "raw file",
			"/img/cat.png":       "png",
			"/v1/users/7":        "v1 users",  // a pattern before a regex
			"/v2/orders/7/items": "versioned", // the regex
		} {
			r := l.do("GET", path, "")
			is.Equal(r.status, 200)
			is.Equal(string(r.body), want)
		}
		for _, path := range []string{"/docs/a/b/raw", "/img/a/b.png", "/img/cat.jpg", "/v2/carts/7", "/x/v2/users/1"} {
			is.Equal(l.do("GET", path, "").status, 404) // * stays within its segment; the regex is whole
		}
		// A near miss names a regex mock by its regex.
		l.createMock(`{"method":"POST","path_regex":"/hooks/[a-z]+","match":{"headers":{"X-Sig":{"absent":false}}}}`)
		var miss struct {
			NearMisses []struct {
				PathRegex string `json:"path_regex"`
			} `json:"near_misses"`
		}
		r := l.do("POST", "/hooks/github", "")
		is.Equal(r.status, 404)
		r.decode(t, &miss)
		is.Equal(len(miss.NearMisses), 1)
		is.Equal(miss.NearMisses[0].PathRegex, "/hooks/[a-z]+")
		// Errors name the field and where.
		for payload, want := range map[string]string{
			`{"method":"GET","path_pattern":"/u/{id:[0-9+}"}`:        "path_pattern parameter id has an invalid regex at byte 7: missing closing ]",
			`{"method":"GET","path_regex":"/u/(a"}`:                  "path_regex is an invalid regex: missing closing )",
			`{"method":"GET","path_pattern":"/u/**"}`:                "path_pattern must not use ** (at byte 3)",
			`{"method":"GET","path_pattern":"/u","path_regex":"/u"}`: "give path_pattern or path_regex, not both",
			`{"method":"GET","path_regex":"/api/.*"}`:                "path_regex can match a reserved path",
		} {
			r := l.do("POST", "/api/mocks", payload)
			is.True(r.status == 400 || r.status == 403)
			is.True(strings.Contains(string(r.body), want))
		}
		// Switching a mock from a pattern to a regex and back.
		m := l.createMock(`{"method":"DELETE","path_pattern":"/sw/{x}"}`)
		is.Equal(l.do("PATCH", "/api/mocks/"+m.ID, `{"path_regex":"/sw/[0-9]+"}`).status, 200)
		is.Equal(l.do("DELETE", "/sw/a", "").status, 405) // no DELETE mock serves it now: the fallback
		is.Equal(l.do("DELETE", "/sw/1", "").status, 200)
		is.Equal(l.do("PATCH", "/api/mocks/"+m.ID, `{"path_pattern":"/sw/{x}"}`).status, 200)
		is.Equal(l.do("DELETE", "/sw/a", "").status, 200)
		// Verification takes the same path forms.
		var count struct {
			Count int `json:"count"`
		}
		l.do("POST", "/api/requests/count", `{"path_regex":"/users/[0-9]+"}`).decode(t, &count)
		is.Equal(count.Count, 1)
		l.do("POST", "/api/requests/count", `{"path_pattern":"/img/*.png"}`).decode(t, &count)
		is.Equal(count.Count, 1)
	})
}
