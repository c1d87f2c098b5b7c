package main

import (
	"context"
	"encoding/json"
	"net/http"
	"ownhttp/internal/testkit"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// wireToken is the demo token of the guard's wire tests: distinctive, so that finding it in
// a log or in history is a leak.
const wireToken = "wire-S3cret-7f1d"

// guardedRoute is one request to a guarded API and the statuses it may get once past the
// guard (501 while its feature is still being built elsewhere).
type guardedRoute struct {
	method, target, body string
	want                 []int
}

// guardedRoutes covers every guarded route family of spec §8.3.
func guardedRoutes() []guardedRoute {
	return []guardedRoute{
		{"GET", "/api/mocks", "", []int{200}},
		{"POST", "/api/mocks", `{"method":"GET","path_pattern":"/guarded-mock","body":"m"}`, []int{201, 409}},
		{"PUT", "/api/mocks/nope", `{"body":"x"}`, []int{400}}, // a whole mock is required
		{"PATCH", "/api/mocks/nope", `{"body":"x"}`, []int{404}},
		{"DELETE", "/api/mocks/nope", "", []int{404}},
		{"GET", "/api/history", "", []int{200}},
		{"POST", "/api/replay/0000000000000000", "", []int{404}},
		{"GET", "/api/playground/state", "", []int{200}},
		{"POST", "/api/playground/request", `{"method":"GET","path":"/healthz"}`, []int{200}},
		{"GET", "/api/events/snapshot", "", []int{200}},
		{"GET", "/api/events/live-mode", "", []int{200}},
		{"HEAD", "/api/events/stream", "", []int{200}},
		{"GET", "/api/scenarios", "", []int{200, 501}},
		{"POST", "/api/scenarios", `{}`, []int{400, 501}},
		{"GET", "/api/scenarios/nope", "", []int{404, 501}},
		{"PUT", "/api/scenarios/nope", `{}`, []int{400, 404, 501}},
		{"DELETE", "/api/scenarios/nope", "", []int{404, 501}},
		{"POST", "/api/scenarios/nope/run", "", []int{404, 501}},
		{"GET", "/api/scenarios/nope/runs", "", []int{200, 501}},
		{"GET", "/api/scenarios/runs/nope", "", []int{404, 501}},
		{"GET", "/api/targets", "", []int{200, 501}},
		{"POST", "/api/targets", `{}`, []int{400, 501}},
		{"GET", "/api/targets/nope", "", []int{404, 501}},
		{"PUT", "/api/targets/nope", `{}`, []int{404, 501}},
		{"DELETE", "/api/targets/nope", "", []int{404, 501}},
		{"POST", "/api/proxy/request", `{}`, []int{400, 501}},
		{"GET", "/api/mocks/a/b/c", "", []int{404}}, // no route, but in the family
		{"DELETE", "/api/history", "", []int{200}},
		{"DELETE", "/api/mocks", "", []int{200}},
		{"POST", "/api/reset", "", []int{200}},
	}
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// With --demo-token every guarded route answers 401 without the token or with a wrong one,
// and serves with it; without a token configured, the same routes are open.
func TestDemoTokenGuard(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		_, on := startLabServer(t, engine, "--demo-token", wireToken)
		_, off := startLabServer(t, engine)
		for _, r := range guardedRoutes() {
			t.Run(r.method+" "+r.target, func(t *testing.T) {
				is := is.New(t)
				for _, token := range []string{"", "wrong", wireToken[:len(wireToken)-1], wireToken + "x", strings.ToUpper(wireToken)} {
					status, h, body := apiCall(t, on, r.method, r.target, token, r.body)
					is.Equal(status, 401) // refused
					is.Equal(h.Get("WWW-Authenticate"), `Bearer realm="ownhttp"`)
					is.Equal(h.Get("Content-Type"), "application/json")
					if r.method != "HEAD" {
						var e struct {
							Error struct{ Code, Message string }
						}
						is.NoErr(json.Unmarshal([]byte(body), &e))
						is.Equal(e.Error.Code, "unauthorized")
						is.True(e.Error.Message != "")
					}
				}
				status, h, _ := apiCall(t, on, r.method, r.target, wireToken, r.body)
				if !containsInt(r.want, status) {
					t.Errorf("with the token: status %d, want one of %v", status, r.want)
				}
				is.Equal(h.Get("WWW-Authenticate"), "")
				status, _, _ = apiCall(t, off, r.method, r.target, "", r.body)
				if !containsInt(r.want, status) {
					t.Errorf("guard off, no token: status %d, want one of %v", status, r.want)
				}
			})
		}
	})
}

// The public routes stay public with the guard on: pages, health, metrics, static files,
// served mocks, unknown paths.
func TestDemoTokenGuardPublic(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, base := startLabServer(t, engine, "--demo-token", wireToken)
		status, _, _ := apiCall(t, base, "POST", "/api/mocks", wireToken, `{"method":"GET","path_pattern":"/public-mock","body":"mocked"}`)
		is.Equal(status, 201) // created with the token
		for _, tc := range []struct {
			method, target string
			want           int // 0: anything but 401
			body           string
		}{
			{"GET", "/", 200, "Hello World"},
			{"HEAD", "/", 200, ""},
			{"GET", "/healthz", 200, `{"status":"ok"}`},
			{"GET", "/_metrics", 200, ""},
			{"GET", "/metrics", 200, ""},
			{"GET", "/public-mock", 200, "mocked"},
			{"GET", "/public-mock?token=whatever", 200, "mocked"},
			{"GET", "/playground", 0, ""},
			{"GET", "/dashboard", 0, ""},
			{"GET", "/static/app.css", 0, ""},
			{"GET", "/nowhere", 404, ""},
			{"GET", "/api/nowhere", 404, ""},
			{"GET", "/stream", 200, ""},
		} {
			status, h, body := apiCall(t, base, tc.method, tc.target, "", "")
			if tc.want == 0 {
				is.True(status != 401) // public
			} else {
				is.Equal(status, tc.want) // public route's status
			}
			is.Equal(h.Get("WWW-Authenticate"), "")
			if tc.body != "" {
				is.Equal(body, tc.body)
			}
		}
	})
}

// ?token= is accepted on /api/events/* only (EventSource cannot send headers).
func TestDemoTokenQuery(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		_, base := startLabServer(t, engine, "--demo-token", wireToken)
		for _, tc := range []struct {
			target string
			want   int
		}{
			{"/api/events/snapshot?token=" + wireToken, 200},
			{"/api/events/snapshot?since_id=0&token=" + wireToken + "&limit=5", 200},
			{"/api/events/live-mode?token=" + wireToken, 200},
			{"/api/events/snapshot?token=wrong", 401},
			{"/api/events/snapshot?token=", 401},
			{"/api/events/snapshot?TOKEN=" + wireToken, 401},
			{"/api/mocks?token=" + wireToken, 401},
			{"/api/history?token=" + wireToken, 401},
			{"/api/playground/state?token=" + wireToken, 401},
		} {
			t.Run(tc.target, func(t *testing.T) {
				is := is.New(t)
				status, _, _ := apiCall(t, base, "GET", tc.target, "", "")
				is.Equal(status, tc.want)
			})
		}
		t.Run("stream", func(t *testing.T) {
			is := is.New(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/events/stream?token="+wireToken, nil)
			is.NoErr(err)
			resp, err := http.DefaultClient.Do(req)
			is.NoErr(err)
			defer resp.Body.Close()
			is.Equal(resp.StatusCode, 200)
			is.Equal(resp.Header.Get("Content-Type"), "text/event-stream")
		})
	})
}

// Requests the server sends to itself are checked too: the playground's request carries the
// caller's Authorization, or its own.
func TestDemoTokenSelfRequests(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		_, base := startLabServer(t, engine, "--demo-token", wireToken)
		for _, tc := range []struct {
			name, payload string
			inner         int
		}{
			{"caller's token forwarded", `{"method":"GET","path":"/api/mocks"}`, 200},
			{"own wrong token", `{"method":"GET","path":"/api/mocks","headers":{"Authorization":"Bearer nope"}}`, 401},
			{"public path", `{"method":"GET","path":"/healthz"}`, 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				status, _, body := apiCall(t, base, "POST", "/api/playground/request", wireToken, tc.payload)
				is.Equal(status, 200)
				var res struct {
					Response struct{ Status int } `json:"response"`
				}
				is.NoErr(json.Unmarshal([]byte(body), &res))
				is.Equal(res.Response.Status, tc.inner) // the request to self's status
			})
		}
	})
}

// The token never reaches history or the log in clear: neither as a header nor as a query
// parameter, whether the request was refused or served.
func TestDemoTokenRedacted(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s, base := startLabServer(t, engine, "--demo-token", wireToken)
		apiCall(t, base, "GET", "/api/mocks?token="+wireToken+"&x=1", "", "")    // 401, token in the query
		apiCall(t, base, "GET", "/redact-probe?token="+wireToken, "", "")        // a public 404
		apiCall(t, base, "GET", "/api/mocks", wireToken, "")                     // 200, token in the header
		apiCall(t, base, "GET", "/api/events/snapshot?token="+wireToken, "", "") // 200, events are not in history
		var body string
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) { // history is written in batches: wait for ours
			_, _, body = apiCall(t, base, "GET", "/api/history", wireToken, "")
			if strings.Contains(body, "/redact-probe") && strings.Count(body, `"/api/mocks"`) >= 2 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		is.True(!strings.Contains(body, wireToken)) // never in history
		var h struct {
			History []struct {
				Path        string `json:"path"`
				ReplayInput struct {
					RawTarget string            `json:"raw_target"`
					Headers   map[string]string `json:"headers"`
				} `json:"replay_input"`
			} `json:"history"`
		}
		is.NoErr(json.Unmarshal([]byte(body), &h))
		targets := map[string]bool{}
		authorizations := 0
		for _, e := range h.History {
			targets[e.ReplayInput.RawTarget] = true
			if v, ok := e.ReplayInput.Headers["authorization"]; ok {
				is.Equal(v, "[redacted]") // header value redacted
				authorizations++
			}
			is.True(!strings.HasPrefix(e.Path, "/api/events/")) // event polling stays out of history
		}
		is.True(targets["/api/mocks?token=[redacted]&x=1"]) // query value redacted
		is.True(targets["/redact-probe?token=[redacted]"])
		is.True(authorizations >= 1)
		s.Stop(t) // every line logged is written
		logs := s.Logs.String()
		is.True(strings.Contains(logs, "path=/api/events/snapshot")) // the access log has the path…
		is.True(!strings.Contains(logs, wireToken))                  // …but never the token
	})
}

// The guard on a network address is not optional: the binary refuses to start with open
// admin APIs on a non-loopback --host (one line, exit 2).
func TestOpenAdminBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testkit.Binary(t)
	for _, args := range [][]string{
		{"--host", "0.0.0.0"},
		{"--host", "::"},
		{"--host", "0.0.0.0", "--require-demo-token"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			is := is.New(t)
			code, stdout, stderr := testkit.RunBinary(t, bin, args...)
			is.Equal(code, 2) // it did not start
			is.Equal(stdout, "")
			is.True(strings.HasPrefix(stderr, "ownhttp: "))
			is.Equal(strings.Count(stderr, "\n"), 1) // one line
			is.True(strings.Contains(stderr, "demo-token"))
		})
	}
}
