package features

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/conn"
	"ownhttp/proto"
	"ownhttp/state"
)

func TestParseRunsLimit(t *testing.T) {
	for _, tc := range []struct {
		query string
		limit int
		ok    bool
	}{
		{"", state.DefaultRunsLimit, true},
		{"limit=5", 5, true},
		{"limit=%205%20", 5, true}, // spaces around, as Python's int() allows
		{"limit=+7", 7, true},
		{"limit=0", 1, true},
		{"limit=-3", 1, true},
		{"other=x&limit=2", 2, true},
		{"limit=99999999999999999999", 2147483647, true},
		{"limit=-99999999999999999999", 1, true},
		{"lim%69t=3", 3, true}, // an escaped key is still the key
		{"other=%zz&limit=4", 4, true},
	} {
		t.Run(tc.query, func(t *testing.T) {
			is := is.New(t)
			limit, ok := parseRunsLimit(tc.query)
			is.Equal(ok, tc.ok)
			is.Equal(limit, tc.limit)
		})
	}
}

// Hostile limits are refused, never defaulted and never a panic.
func TestParseRunsLimitHostile(t *testing.T) {
	for _, q := range []string{"limit=", "limit", "limit=abc", "limit=1.5", "limit=5x", "limit=%zz",
		"limit=0x10", "limit=1e3", "limit=%00", "limit=\u0661", "limit=5&limit=x"} {
		t.Run(q, func(t *testing.T) {
			_, ok := parseRunsLimit(q)
			is.New(t).True(!ok)
		})
	}
}

func TestRunSlots(t *testing.T) {
	is := is.New(t)
	is.Equal(cap(newRunSlots(0)), defaultMaxConcurrentRuns)
	is.Equal(cap(newRunSlots(-1)), defaultMaxConcurrentRuns)
	s := newRunSlots(2)
	is.True(s.tryAcquire())
	is.True(s.tryAcquire())
	is.True(!s.tryAcquire()) // full: refused, not waited for
	s.release()
	is.True(s.tryAcquire())
}

// scTagRecorder records the tags of finished exchanges.
type scTagRecorder struct{ tags []conn.Tags }

func (r *scTagRecorder) Done(c *conn.Completed) { r.tags = append(r.tags, c.Tags) }

// Only a request to self is tagged with the run and step ids it carries; bad ids are ignored.
func TestMarkScenarioStep(t *testing.T) {
	long := strings.Repeat("a", maxTagRunIDLen+1)
	for _, tc := range []struct {
		name    string
		headers string
		want    conn.Tags
	}{
		{"a step request", "X-Ownhttp-Self: 1\r\nX-Scenario-Run-ID: 0123456789abcd\r\nX-Scenario-Step-ID: step-1\r\n",
			conn.Tags{RunID: "0123456789abcd", StepID: "step-1"}},
		{"names in any case", "x-ownhttp-self: 1\r\nx-scenario-run-id: r1\r\nX-SCENARIO-STEP-ID: s\r\n",
			conn.Tags{RunID: "r1", StepID: "s"}},
		{"no self marker", "X-Scenario-Run-ID: r1\r\nX-Scenario-Step-ID: s\r\n", conn.Tags{}},
		{"no run id", "X-Ownhttp-Self: 1\r\nX-Scenario-Step-ID: s\r\n", conn.Tags{}},
		{"empty run id", "X-Ownhttp-Self: 1\r\nX-Scenario-Run-ID: \r\n", conn.Tags{}},
		{"run id too long", "X-Ownhttp-Self: 1\r\nX-Scenario-Run-ID: " + long + "\r\n", conn.Tags{}},
		{"run id with a space", "X-Ownhttp-Self: 1\r\nX-Scenario-Run-ID: a b\r\n", conn.Tags{}},
		{"run id not ASCII", "X-Ownhttp-Self: 1\r\nX-Scenario-Run-ID: r\xc3\xa9\r\n", conn.Tags{}},
		{"bad step id dropped", "X-Ownhttp-Self: 1\r\nX-Scenario-Run-ID: r1\r\nX-Scenario-Step-ID: " +
			strings.Repeat("s", maxTagStepIDLen+1) + "\r\n", conn.Tags{RunID: "r1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			app := New(Config{})
			rec := &scTagRecorder{}
			srv := &conn.Server{Handler: app, Offload: mkNoOffload{}}
			srv.Defaults()
			date := &proto.DateCache{}
			date.Update(time.Unix(0, 0))
			c := conn.New(srv, &mkTransport{}, mkOwner{}, rec, date, nil, netip.MustParseAddrPort("127.0.0.1:1"), 1, false, time.Unix(0, 0))
			c.OnData([]byte(mkReq("GET", "/healthz", tc.headers)), time.Unix(1, 0))
			is.Equal(len(rec.tags), 1)
			is.Equal(rec.tags[0], tc.want)
		})
	}
}

// The run endpoint refuses inline, without starting anything: a request to self (508), no
// state (503), every run slot taken (503 too_many_runs with Retry-After).
func TestScenarioRunRefusals(t *testing.T) {
	is := is.New(t)
	a := mkActor(t, state.Config{})
	full := New(Config{State: a, MaxConcurrentRuns: 1})
	is.True(full.runSlots.tryAcquire())
	for _, tc := range []struct {
		name   string
		app    *App
		raw    string
		status int
		code   string
	}{
		{"request to self", New(Config{State: a}), mkReq("POST", "/api/scenarios/s/run", "X-Ownhttp-Self: 1\r\n"), 508, codeLoop},
		{"no state", New(Config{}), mkReq("POST", "/api/scenarios/s/run"), 503, state.CodeUnavailable},
		{"no free slot", full, mkReq("POST", "/api/scenarios/s/run"), 503, codeTooManyRuns},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			resp, body := mkServe(t, tc.app, tc.raw)
			is.Equal(resp.StatusCode, tc.status)
			is.Equal(resp.Header.Get("Content-Type"), jsonType)
			var e errorBody
			is.NoErr(json.Unmarshal([]byte(body), &e))
			is.Equal(e.Error.Code, tc.code)
			if tc.code == codeTooManyRuns {
				is.Equal(resp.Header.Get("Retry-After"), "1")
			}
		})
	}
}

func TestLocalStepRequest(t *testing.T) {
	for _, tc := range []struct {
		name       string
		headers    map[string]string
		callerAuth string
		wantAuth   string
		wantHost   string
	}{
		{"caller's authorization", map[string]string{"host": "localhost"}, "Bearer caller", "Bearer caller", "localhost"},
		{"the step's own wins", map[string]string{"authorization": "Bearer step", "host": "localhost"}, "Bearer caller", "Bearer step", "localhost"},
		{"none at all", map[string]string{"host": "api.local"}, "", "", "api.local"},
		{"the step's ids cannot be forged", map[string]string{"x-scenario-run-id": "forged", "x-scenario-step-id": "forged"}, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			req := state.StepRequest{Method: "POST", Target: "/p?q=1", Path: "/p", Headers: tc.headers, Body: "b", TargetID: state.LocalTarget}
			sr := localStepRequest("run1", "step-1", req, tc.callerAuth)
			is.Equal(sr.method, "POST")
			is.Equal(sr.target, "/p?q=1")
			is.Equal(sr.body, "b")
			is.Equal(sr.host, tc.wantHost)
			is.Equal(sr.header.Get("Authorization"), tc.wantAuth)
			is.Equal(sr.header.Values("X-Scenario-Run-Id"), []string{"run1"})
			is.Equal(sr.header.Values("X-Scenario-Step-Id"), []string{"step-1"})
			_, hasHost := sr.header["Host"]
			is.True(!hasHost) // the host goes in the request's Host, not the header map
		})
	}
}

func TestTargetErrorView(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"plain error", errors.New("dial refused"), 502, "target dispatch error: dial refused"},
		{"forbidden", labErr(state.KindForbidden, "target_forbidden", "address not allowed"), 403,
			`{"error":{"code":"target_forbidden","message":"address not allowed"}}`},
		{"disabled", labErr(state.KindInvalid, "target_disabled", "target is disabled"), 400,
			`{"error":{"code":"target_disabled","message":"target is disabled"}}`},
		{"internal", labErr(state.KindInternal, "internal", "boom"), 500, "target dispatch error: boom"},
		{"unavailable", labErr(state.KindUnavailable, "unavailable", "later"), 503, "target dispatch error: later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			v := targetErrorView(tc.err)
			is.Equal(v.Status, tc.status)
			is.Equal(v.Body, tc.body)
			is.True(v.Headers["content-type"] != "")
		})
	}
}

// scSeen is a request the fixture server received.
type scSeen struct {
	method, path, host, auth, self, runID, stepID, body string
}

// scFixture stands in for the server itself (Config.SelfURL): it records each request and
// answers /ok with 200 "hello" and /created with 201, both with an X-Request-ID.
type scFixture struct {
	mu   sync.Mutex
	seen []scSeen
}

func (f *scFixture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, scSeen{method: r.Method, path: r.URL.RequestURI(), host: r.Host,
		auth: r.Header.Get("Authorization"), self: r.Header.Get("X-Ownhttp-Self"),
		runID: r.Header.Get("X-Scenario-Run-ID"), stepID: r.Header.Get("X-Scenario-Step-ID"), body: string(b)})
	n := len(f.seen)
	f.mu.Unlock()
	w.Header().Set("X-Request-ID", strings.Repeat("0", 15)+string(rune('0'+n)))
	switch r.URL.Path {
	case "/ok":
		w.Write([]byte("hello"))
	case "/created":
		w.WriteHeader(201)
	default:
		w.WriteHeader(404)
	}
}

func (f *scFixture) requests() []scSeen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]scSeen(nil), f.seen...)
}

// scCreate decodes and stores a scenario or fails the test.
func scCreate(t *testing.T, a *state.Actor, payload string) state.Scenario {
	t.Helper()
	sc, e := state.DecodeScenario([]byte(payload), a.ScenarioLimits())
	if e != nil {
		t.Fatalf("decode: %v", e)
	}
	created, err := a.CreateScenario(context.Background(), sc)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	return created
}

// scEvents waits (bounded) until the actor holds at least n events of the given types.
func scEvents(t *testing.T, a *state.Actor, n int, topics ...string) []state.Event {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		page, err := a.Events(context.Background(), 0, 1000, topics)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) >= n {
			return page.Events
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events of %v, want %d", len(page.Events), topics, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var scRunTopics = []string{"scenario.run.started", "scenario.step.started", "scenario.step.completed", "scenario.run.completed"}

// A run sends its local steps to the server (here a fixture standing in for it) marked as
// requests to self with the run and step ids, with the caller's Authorization unless the step
// has its own and with the step's host; an unknown target is a 404 view; the run is stored
// and its events published in order.
func TestExecuteRun(t *testing.T) {
	is := is.New(t)
	fx := &scFixture{}
	srv := httptest.NewServer(fx)
	defer srv.Close()
	a := mkActor(t, state.Config{})
	app := New(Config{State: a, SelfURL: func() string { return srv.URL }, DefaultChaosSeed: 42})
	sc := scCreate(t, a, `{"id":"sc1","name":"Local","steps":[
		{"method":"GET","path":"/ok?x=1","expect":{"body_contains":["hello"]}},
		{"id":"own-auth","method":"POST","path":"/created","body":"data","headers":{"Authorization":"Bearer step"},"expect":{"status":201}},
		{"method":"GET","path":"/x","target_id":"nope","expect":{"status":404,"body_contains":["target_not_found"]}}]}`)

	out := app.executeRun(runJob{scenarioID: sc.ID, auth: "Bearer caller"})
	is.NoErr(out.err)
	rep := out.report
	is.Equal(rep.Status, state.StatusPass)
	is.Equal(rep.Seed, int64(42)) // the configured default seed
	is.Equal(len(rep.RunID), 14)
	is.Equal(len(rep.StepResults), 3)

	seen := fx.requests()
	is.Equal(len(seen), 2) // the target step never reached the server
	is.Equal(seen[0], scSeen{method: "GET", path: "/ok?x=1", host: "localhost", auth: "Bearer caller", self: "1",
		runID: rep.RunID, stepID: "step-1"})
	is.Equal(seen[1], scSeen{method: "POST", path: "/created", host: "localhost", auth: "Bearer step", self: "1",
		runID: rep.RunID, stepID: "own-auth", body: "data"})

	is.Equal(rep.StepResults[0].TraceID, "0000000000000001") // the response's X-Request-ID
	is.Equal(rep.StepResults[0].Request.Path, "/ok")
	_, shown := rep.StepResults[0].Request.Headers["authorization"]
	is.True(!shown)                                                               // the caller's credential is never in the report
	is.Equal(rep.StepResults[1].Request.Headers["authorization"], state.Redacted) // the step's own is redacted
	is.Equal(rep.StepResults[2].Response.Status, 404)

	stored, err := a.GetRun(context.Background(), rep.RunID)
	is.NoErr(err)
	is.Equal(stored.RunID, rep.RunID)
	is.Equal(len(stored.StepResults), 3)

	evs := scEvents(t, a, 8, scRunTopics...)
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	is.Equal(types, []string{"scenario.run.started",
		"scenario.step.started", "scenario.step.completed",
		"scenario.step.started", "scenario.step.completed",
		"scenario.step.started", "scenario.step.completed",
		"scenario.run.completed"})
	is.Equal(evs[2].TraceID, "0000000000000001")
	is.Equal(string(evs[0].Payload), `{"scenario_id":"sc1","run_id":"`+rep.RunID+`","seed":42}`)
	is.Equal(string(evs[2].Payload), `{"scenario_id":"sc1","run_id":"`+rep.RunID+
		`","step_id":"step-1","status":"pass","failure_reason":null,"latency_ms":`+
		string(mustJSON(t, rep.StepResults[0].LatencyMS))+`,"target_id":"local"}`)
	var done runCompletedEvent
	is.NoErr(json.Unmarshal(evs[7].Payload, &done))
	is.Equal(done, runCompletedEvent{ScenarioID: "sc1", RunID: rep.RunID, Status: "pass", Summary: rep.Summary, Seed: 42})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A run's errors: a bad seed or body, an unknown scenario; a step that cannot reach the
// server is a 502 view, and stop_on_fail stops after it.
func TestExecuteRunErrors(t *testing.T) {
	a := mkActor(t, state.Config{})
	scCreate(t, a, `{"id":"sc1","name":"One","steps":[{"method":"GET","path":"/a"},{"method":"GET","path":"/b"}]}`)
	app := New(Config{State: a, SelfURL: func() string { return "http://127.0.0.1:1" }})
	for _, tc := range []struct {
		name, id, body string
		code           string
	}{
		{"seed not integer", "sc1", `{"seed":"x"}`, state.CodeInvalidSeed},
		{"seed fraction", "sc1", `{"seed":1.5}`, state.CodeInvalidSeed},
		{"body not an object", "sc1", `[1]`, state.CodeInvalidJSON},
		{"body not JSON", "sc1", `{`, state.CodeInvalidJSON},
		{"unknown scenario", "nope", ``, state.CodeNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			out := app.executeRun(runJob{scenarioID: tc.id, body: []byte(tc.body)})
			var se *state.Error
			is.True(errors.As(out.err, &se))
			is.Equal(se.Code, tc.code)
		})
	}
	t.Run("unreachable server", func(t *testing.T) {
		is := is.New(t)
		out := app.executeRun(runJob{scenarioID: "sc1", body: []byte(`{"seed":"7"}`)})
		is.NoErr(out.err)
		is.Equal(out.report.Seed, int64(7))
		is.Equal(out.report.Status, state.StatusFail)
		is.Equal(len(out.report.StepResults), 1) // stop_on_fail
		is.Equal(out.report.StepResults[0].Response.Status, 502)
		is.True(strings.HasPrefix(out.report.StepResults[0].Response.Body, "target dispatch error: "))
	})
}

// A run waiting in a step's delay stops when the state actor stops (server shutdown): its
// goroutine has a stop path.
func TestExecuteRunStopsWithActor(t *testing.T) {
	is := is.New(t)
	a, stop := startActor(t, state.Config{})
	scCreate(t, a, `{"id":"slow","name":"Slow","steps":[{"method":"GET","path":"/a","delay_ms":30000},{"method":"GET","path":"/b"}]}`)
	app := New(Config{State: a, SelfURL: func() string { return "http://127.0.0.1:1" }})
	done := make(chan runOutcome, 1)
	go func() { done <- app.executeRun(runJob{scenarioID: "slow"}) }()
	scEvents(t, a, 1, "scenario.step.started")
	stop()
	select {
	case out := <-done:
		is.NoErr(out.err)
		is.Equal(len(out.report.StepResults), 0) // stopped in the first delay
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop with the actor")
	}
}

// A scenario deleted while it runs still gets its report; the run is not stored.
func TestExecuteRunScenarioDeleted(t *testing.T) {
	is := is.New(t)
	a := mkActor(t, state.Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.DeleteScenario(r.Context(), "doomed"); err != nil {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	scCreate(t, a, `{"id":"doomed","name":"Doomed","steps":[{"method":"DELETE","path":"/self"}]}`)
	app := New(Config{State: a, SelfURL: func() string { return srv.URL }})
	out := app.executeRun(runJob{scenarioID: "doomed"})
	is.NoErr(out.err)
	is.Equal(out.report.Status, state.StatusPass)
	is.Equal(out.report.ScenarioID, "doomed")
	_, err := a.GetRun(context.Background(), out.report.RunID)
	is.Equal(state.KindOf(err), state.KindNotFound)
}
