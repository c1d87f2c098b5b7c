package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// Wire tests of the target API (issue #5, spec §7.1 fixed) on both engines.

// labServer starts a server whose target and scenario files live in the test's temporary
// directory (the defaults are relative to the working directory, which is the repository).
func labServer(t *testing.T, engine string, args ...string) (*testkit.Server, *labClient) {
	t.Helper()
	dir := t.TempDir()
	all := append([]string{"--access-log=false", "--target-state-file", dir + "/targets.json",
		"--scenario-state-file", dir + "/scenarios.json"}, args...)
	s := testkit.Start(t, run, engine, all...)
	return s, newLabClient(t, s)
}

// labTarget is a target as the API returns it.
type labTarget struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	BaseURL   string `json:"base_url"`
	Enabled   bool   `json:"enabled"`
	TimeoutMS int    `json:"timeout_ms"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// createTarget posts payload and expects 201.
func (l *labClient) createTarget(payload string) labTarget {
	l.t.Helper()
	return expectJSON[labTarget](l, "POST", "/api/targets", payload, 201, "target")
}

func (l *labClient) listTargets() []labTarget {
	l.t.Helper()
	return expectJSON[[]labTarget](l, "GET", "/api/targets", "", 200, "targets")
}

var hex8 = regexp.MustCompile(`^[0-9a-f]{8}$`)

// Create, read, list, merge-update and delete; defaults; conflicts; JSON 404 and 405.
func TestTargetAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, l := labServer(t, engine)

		is.Equal(string(l.do("GET", "/api/targets", "").body), `{"targets":[]}`)

		r := l.do("POST", "/api/targets", `{"name":" fixture ","base_url":" http://127.0.0.1:9000 ","updated_at":"2000-01-01T00:00:00Z"}`)
		is.Equal(r.status, 201)
		var created struct {
			Target labTarget `json:"target"`
		}
		r.decode(t, &created)
		a := created.Target
		is.True(hex8.MatchString(a.ID)) // 8 random hex characters
		is.Equal(r.header.Get("Location"), "/api/targets/"+a.ID)
		is.Equal(a.Name, "fixture")                  // stored trimmed
		is.Equal(a.BaseURL, "http://127.0.0.1:9000") // stored trimmed
		is.Equal(a.Enabled, true)                    // default
		is.Equal(a.TimeoutMS, 5000)                  // default
		_, err := time.Parse(time.RFC3339, a.CreatedAt)
		is.NoErr(err)
		is.Equal(a.UpdatedAt, a.CreatedAt) // an updated_at sent is ignored
		var raw map[string]map[string]json.RawMessage
		r.decode(t, &raw)
		is.Equal(len(raw["target"]), 7) // exactly the documented fields

		b := l.createTarget(`{"id":"t-2","name":"Other","base_url":"https://example.test/api","enabled":false,"timeout_ms":60000}`)
		is.Equal(b, labTarget{ID: "t-2", Name: "Other", BaseURL: "https://example.test/api", Enabled: false,
			TimeoutMS: 60000, CreatedAt: b.CreatedAt, UpdatedAt: b.CreatedAt})

		list := l.listTargets()
		is.Equal(len(list), 2)
		is.Equal([]string{list[0].ID, list[1].ID}, []string{a.ID, "t-2"}) // insertion order

		r = l.do("GET", "/api/targets/t-2", "")
		is.Equal(r.status, 200)
		var got struct {
			Target labTarget `json:"target"`
		}
		r.decode(t, &got)
		is.Equal(got.Target, b)

		// Conflicts: a used id, a used name (trimmed, case-insensitive).
		for _, payload := range []string{
			`{"id":"t-2","name":"new","base_url":"http://h"}`,
			`{"name":"FIXTURE","base_url":"http://h"}`,
			`{"name":"  other\t","base_url":"http://h"}`,
		} {
			r = l.do("POST", "/api/targets", payload)
			is.Equal(r.status, 409)
			is.Equal(r.apiError(t), labErrorDetail{Code: "duplicate_target", Message: "target already exists"})
		}

		// PUT merges: absent fields keep their values, "id" is ignored.
		r = l.do("PUT", "/api/targets/"+a.ID, `{"id":"ignored","enabled":false,"timeout_ms":250}`)
		is.Equal(r.status, 200)
		var upd struct {
			Target labTarget `json:"target"`
		}
		r.decode(t, &upd)
		is.Equal(upd.Target.ID, a.ID)
		is.Equal(upd.Target.Name, "fixture")
		is.Equal(upd.Target.BaseURL, a.BaseURL)
		is.Equal(upd.Target.Enabled, false)
		is.Equal(upd.Target.TimeoutMS, 250)
		is.Equal(upd.Target.CreatedAt, a.CreatedAt)
		is.True(upd.Target.UpdatedAt >= a.CreatedAt)
		r = l.do("PUT", "/api/targets/"+a.ID, `{"name":"other"}`) // another target's name
		is.Equal(r.status, 409)
		is.Equal(r.apiError(t).Code, "duplicate_target")
		r = l.do("PUT", "/api/targets/"+a.ID, `{"name":"Fixture"}`) // its own name, recased
		is.Equal(r.status, 200)
		r = l.do("PUT", "/api/targets/"+a.ID, `{"base_url":"ftp://h"}`)
		is.Equal(r.status, 400)
		is.Equal(r.apiError(t), labErrorDetail{Code: "invalid_target", Message: "base_url must start with http:// or https://"})
		r = l.do("PUT", "/api/targets/nope", `{"name":"x"}`)
		is.Equal(r.status, 404)
		is.Equal(r.apiError(t), labErrorDetail{Code: "not_found", Message: "target not found"})

		r = l.do("DELETE", "/api/targets/"+a.ID, "")
		is.Equal(r.status, 200)
		is.Equal(string(r.body), fmt.Sprintf(`{"deleted":true,"id":%q}`, a.ID))
		for _, m := range []string{"GET", "DELETE"} {
			r = l.do(m, "/api/targets/"+a.ID, "")
			is.Equal(r.status, 404)
			is.Equal(r.apiError(t), labErrorDetail{Code: "not_found", Message: "target not found"})
		}
		is.Equal(len(l.listTargets()), 1)

		r = l.do("GET", "/api/targets/", "") // empty id
		is.Equal(r.status, 404)
		is.Equal(r.apiError(t).Code, "not_found")

		for _, tc := range []struct{ method, path, allow string }{
			{"PATCH", "/api/targets", "GET, HEAD, POST"},
			{"DELETE", "/api/targets", "GET, HEAD, POST"},
			{"POST", "/api/targets/t-2", "GET, HEAD, PUT, DELETE"},
			{"PATCH", "/api/targets/t-2", "GET, HEAD, PUT, DELETE"},
		} {
			r = l.do(tc.method, tc.path, "")
			is.Equal(r.status, 405)
			is.Equal(r.header.Get("Allow"), tc.allow)
			is.Equal(r.apiError(t).Code, "method_not_allowed")
		}
	})
}

// Targets survive a restart (they are durable when acknowledged).
func TestTargetPersistence(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	args := []string{"--access-log=false", "--target-state-file", dir + "/targets.json",
		"--scenario-state-file", dir + "/scenarios.json"}
	s := testkit.Start(t, run, "epoll", args...)
	l := newLabClient(t, s)
	a := l.createTarget(`{"id":"keep","name":"kept","base_url":"http://127.0.0.1:1","timeout_ms":42}`)
	is.NoErr(s.Stop(t))

	s2 := testkit.Start(t, run, "threadpool", args...)
	list := newLabClient(t, s2).listTargets()
	is.Equal(list, []labTarget{a})
}

// At --max-targets, creating one more is 413 target_limit.
func TestTargetLimit(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, l := labServer(t, engine, "--max-targets", "2")
		l.createTarget(`{"name":"a","base_url":"http://h"}`)
		l.createTarget(`{"name":"b","base_url":"http://h"}`)
		r := l.do("POST", "/api/targets", `{"name":"c","base_url":"http://h"}`)
		is.Equal(r.status, 413)
		is.Equal(r.apiError(t), labErrorDetail{Code: "target_limit", Message: "max targets reached"})
		is.Equal(len(l.listTargets()), 2)
	})
}

// Hostile target payloads: every one is a 400 with a JSON error, and nothing is stored.
func TestTargetAPIHostile(t *testing.T) {
	tests := []struct {
		payload string
		code    string
		message string // "" to skip
	}{
		{`not json`, "invalid_json", ""},
		{`[]`, "invalid_json", ""},
		{`"x"`, "invalid_json", ""},
		{"{\"name\":\"\xff\"}", "invalid_json", ""},
		{`{"base_url":"http://h"}`, "invalid_target", "name is required"},
		{`{"name":"   ","base_url":"http://h"}`, "invalid_target", "name is required"},
		{`{"name":12,"base_url":"http://h"}`, "invalid_target", "name must be a string"},
		{`{"name":"n"}`, "invalid_target", "base_url must start with http:// or https://"},
		{`{"name":"n","base_url":"ftp://h"}`, "invalid_target", "base_url must start with http:// or https://"},
		{`{"name":"n","base_url":"javascript:alert(1)"}`, "invalid_target", "base_url must start with http:// or https://"},
		{`{"name":"n","base_url":"http://"}`, "invalid_target", "base_url must include a host"},
		{`{"name":"n","base_url":"http://user:pw@h"}`, "invalid_target", "base_url must not contain user info"},
		{`{"name":"n","base_url":"http://h/?q=1"}`, "invalid_target", "base_url must not contain a query"},
		{`{"name":"n","base_url":"http://h/#f"}`, "invalid_target", "base_url must not contain a fragment"},
		{`{"name":"n","base_url":"http://h:99999"}`, "invalid_target", ""},
		{`{"name":"n","base_url":"http://h/a b"}`, "invalid_target", ""},
		{`{"name":"n","base_url":"http://h","timeout_ms":0}`, "invalid_target", "timeout_ms must be an integer between 1 and 60000"},
		{`{"name":"n","base_url":"http://h","timeout_ms":60001}`, "invalid_target", "timeout_ms must be an integer between 1 and 60000"},
		{`{"name":"n","base_url":"http://h","timeout_ms":"abc"}`, "invalid_target", "timeout_ms must be an integer between 1 and 60000"},
		{`{"name":"n","base_url":"http://h","timeout_ms":1.5}`, "invalid_target", "timeout_ms must be an integer between 1 and 60000"},
		{`{"name":"n","base_url":"http://h","enabled":"yes"}`, "invalid_target", "enabled must be a boolean"},
		{`{"id":"local","name":"n","base_url":"http://h"}`, "invalid_target", "id local is reserved"},
		{`{"id":"a/b","name":"n","base_url":"http://h"}`, "invalid_target", ""},
		{`{"id":7,"name":"n","base_url":"http://h"}`, "invalid_target", "id must be a string"},
		{`{"name":"` + strings.Repeat("n", 300) + `","base_url":"http://h"}`, "invalid_target", ""},
	}
	eachEngine(t, func(t *testing.T, engine string) {
		_, l := labServer(t, engine)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%.40q", tt.payload), func(t *testing.T) {
				is := is.New(t)
				r := l.do("POST", "/api/targets", tt.payload)
				is.Equal(r.status, 400)
				e := r.apiError(t)
				is.Equal(e.Code, tt.code)
				if tt.message != "" {
					is.Equal(e.Message, tt.message)
				}
			})
		}
		is.New(t).Equal(len(l.listTargets()), 0)
	})
}
