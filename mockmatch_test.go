package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
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
