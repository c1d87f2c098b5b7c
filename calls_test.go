package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// Verification in scenarios (issue #14): a step's expect.calls asserts on how many requests
// in the journal meet a query, counted once the step's response is in. The count must hold
// the step's own request (and what the step caused) every time, on both engines, from the
// server's runner and from the command line: each test repeats its run many times.

// callsRepeat is how many times each test runs its scenario (go test -count=N multiplies it).
const callsRepeat = 25

// callsScenario is a scenario that clears the journal, then POSTs an order for sku A (to a
// mock answering 201) and asserts that the journal holds want such requests; a last step
// sends an order through the proxy, to the target "self" (this server), and asserts on both
// orders: the request the step caused is counted too.
func callsScenario(name string, want int) string {
	return fmt.Sprintf(`{"name":%q,"steps":[
		{"id":"clear","method":"DELETE","path":"/api/history"},
		{"id":"order","method":"POST","path":"/orders","headers":{"content-type":"application/json"},"body":{"sku":"A"},
		 "expect":{"status":201,"calls":[
			{"method":"POST","path_pattern":"/orders","match":{"body":{"json_path":"$.sku","equals":"A"}},"count":%d},
			{"method":"GET","path_pattern":"/orders","at_most":0}]}},
		{"id":"caused","method":"POST","path":"/orders","target_id":"self","headers":{"content-type":"application/json"},
		 "body":{"sku":"B"},
		 "expect":{"status":201,"calls":[{"method":"POST","path_pattern":"/orders","count":2},
			{"path_pattern":"/orders","match":{"body":{"json_path":"$.sku","equals":"B"}},"at_least":1}]}}]}`, name, want)
}

// The server's runner: a step that POSTs to a mock and asserts a count of 1 passes, every
// time; one asserting 2 fails with the reason; the stored scenario keeps the calls; a
// misspelt bound is a 400 naming its place.
func TestScenarioCalls(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		dir := t.TempDir()
		s := scServer(t, engine, dir, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"POST","path_pattern":"/orders","status":201,"body":"created"}`)
		is.Equal(l.do("POST", "/api/targets", `{"id":"self","name":"self","base_url":"`+s.URL()+`"}`).status, 201)

		pass := l.scCreate(callsScenario("pass", 1))
		var stored struct {
			Expect json.RawMessage `json:"expect"`
		}
		is.NoErr(json.Unmarshal(pass.Steps[1], &stored))
		is.Equal(string(stored.Expect), `{"status":[201],"body_contains":[],"header_equals":{},"max_latency_ms":null,"calls":[`+
			`{"count":1,"match":{"body":{"json_path":"$.sku","equals":"A"}},"method":"POST","path_pattern":"/orders"},`+
			`{"at_most":0,"method":"GET","path_pattern":"/orders"}]}`)
		is.NoErr(json.Unmarshal(pass.Steps[0], &stored))
		is.True(!strings.Contains(string(stored.Expect), "calls")) // a step without calls reads as before

		for i := range callsRepeat {
			rep, _ := l.scRun(pass.ID, "")
			if rep.Status != "pass" {
				t.Fatalf("run %d: %s: %+v", i, rep.Analysis.RootCauseSummary, rep.StepResults)
			}
		}
		rep, _ := l.scRun(pass.ID, "")
		is.Equal(len(rep.StepResults), 3)
		var types []string
		for _, a := range rep.StepResults[1].Assertions {
			types = append(types, fmt.Sprintf("%s:%v", a.Type, a.Passed))
		}
		is.Equal(types, []string{"status:true", "calls:true", "calls:true"})

		fail := l.scCreate(callsScenario("fail", 2))
		for i := range callsRepeat {
			rep, _ := l.scRun(fail.ID, "")
			if rep.Status != "fail" || rep.Analysis.FailingStepID != "order" {
				t.Fatalf("run %d: %s %s", i, rep.Status, rep.Analysis.RootCauseSummary)
			}
			is.Equal(rep.Analysis.FailingStepReason, "calls POST /orders expected exactly 2 got 1")
			is.True(strings.HasPrefix(rep.Analysis.SuggestedNextAction, "Check which requests reached the server"))
		}

		// The report's assertion: the item as expected, the count as actual.
		r := l.do("POST", "/api/scenarios/"+fail.ID+"/run", "")
		var run struct {
			Run struct {
				StepResults []struct {
					Assertions []struct {
						Type     string          `json:"type"`
						Passed   bool            `json:"passed"`
						Expected json.RawMessage `json:"expected"`
						Actual   json.RawMessage `json:"actual"`
					} `json:"assertions"`
				} `json:"step_results"`
			} `json:"run"`
		}
		r.decode(t, &run)
		a := run.Run.StepResults[1].Assertions[1]
		is.Equal(a.Type, "calls")
		is.True(!a.Passed)
		is.Equal(string(a.Expected), `{"count":2,"match":{"body":{"json_path":"$.sku","equals":"A"}},"method":"POST","path_pattern":"/orders"}`)
		is.Equal(string(a.Actual), "1")

		// The calls survive a restart as they were stored.
		is.NoErr(s.Stop(t))
		l = newLabClient(t, scServer(t, engine, dir, "--access-log=false"))
		var again struct {
			Scenario scScenario `json:"scenario"`
		}
		l.do("GET", "/api/scenarios/"+pass.ID, "").decode(t, &again)
		is.Equal(string(again.Scenario.Steps[1]), string(pass.Steps[1]))

		// Strict decoding names the field with its place.
		for payload, msg := range map[string]string{
			`{"name":"bad","steps":[{"method":"GET","path":"/","expect":{"calls":[{"count":1},{"method":"POST","cuont":1}]}}]}`:             `step 1: unknown field "expect.calls[1].cuont"`,
			`{"name":"bad","steps":[{"method":"GET","path":"/","expect":{"calls":[{"count":1,"at_most":1}]}}]}`:                             "step 1: expect.calls[0] must have exactly one of count, at_least or at_most",
			`{"name":"bad","steps":[{"method":"GET","path":"/","expect":{"calls":[{"match":{"query":{"a":{"matches":"("}}},"count":1}]}}]}`: "step 1: expect.calls[0].match.query.a.matches: invalid regex",
		} {
			r := l.do("POST", "/api/scenarios", payload)
			is.Equal(r.status, 400)
			e := r.apiError(t)
			is.Equal(e.Code, "invalid_scenario")
			if !strings.HasPrefix(e.Message, msg) {
				t.Errorf("%s: %q, want %q", payload, e.Message, msg)
			}
		}
	})
}

// The command line's runner counts through POST /api/requests/count: the same scenario
// passes with a count of 1 and fails with 2, every time.
func TestScenarioRunCalls(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, base := startLabServer(t, engine, "--access-log=false")
		status, _, _ := apiCall(t, base, "POST", "/api/mocks", "", `{"method":"POST","path_pattern":"/orders","status":201}`)
		is.Equal(status, 201)
		status, _, _ = apiCall(t, base, "POST", "/api/targets", "", `{"id":"self","name":"self","base_url":"`+base+`"}`)
		is.Equal(status, 201)
		pass := writeScenario(t, callsScenario("pass", 1))
		fail := writeScenario(t, callsScenario("fail", 2))
		for i := range callsRepeat {
			res := runCLI(t, context.Background(), "scenario", "run", pass, "--base-url", base)
			if res.code != 0 {
				t.Fatalf("run %d: exit %d\n%s%s", i, res.code, res.stdout, res.stderr)
			}
			res = runCLI(t, context.Background(), "scenario", "run", fail, "--base-url", base)
			if res.code != 3 || !strings.Contains(res.stdout, "\n      reason: calls POST /orders expected exactly 2 got 1\n") {
				t.Fatalf("run %d: exit %d\n%s%s", i, res.code, res.stdout, res.stderr)
			}
		}

		// A count the server refuses is a failed assertion saying why.
		_, guarded := startLabServer(t, engine, "--access-log=false", "--demo-token", "s3cret")
		status, _, _ = apiCall(t, guarded, "POST", "/api/mocks", "s3cret", `{"method":"POST","path_pattern":"/orders","status":201}`)
		is.Equal(status, 201)
		one := writeScenario(t, `{"name":"one","steps":[{"id":"order","method":"POST","path":"/orders","expect":{"status":201,"calls":[{"path_pattern":"/orders","at_least":1}]}}]}`)
		res := runCLI(t, context.Background(), "scenario", "run", one, "--base-url", guarded)
		is.Equal(res.code, 3)
		is.True(strings.Contains(res.stdout, "reason: calls ANY /orders: no count: POST /api/requests/count answered 401 "))
		res = runCLI(t, context.Background(), "scenario", "run", one, "--base-url", guarded, "--token", "s3cret")
		is.Equal(res.code, 0)

		// A misspelt bound is an invalid scenario (exit 2), named with its place.
		bad := writeScenario(t, `{"name":"bad","steps":[{"method":"GET","path":"/","expect":{"calls":[{"cuont":1}]}}]}`)
		res = runCLI(t, context.Background(), "scenario", "run", bad, "--base-url", base)
		is.Equal(res.code, 2)
		is.True(strings.Contains(res.stderr, `step 1: unknown field "expect.calls[0].cuont"`))
	})
}

// POST /api/requests/count answers once the journal holds every request answered before it.
// The hardest case is a count pipelined behind the request it counts: the server reads both
// in one go, answers the order at once and hands the count to a worker while the order's
// record is still in the loop's batch. On another connection, right after: the same.
func TestRequestsCountSeesEachRequest(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"POST","path_pattern":"/orders","status":201}`)
		const query = `{"method":"POST","path_pattern":"/orders"}`
		order := "POST /orders HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}"
		count := fmt.Sprintf("POST /api/requests/count HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(query), query)
		c := s.Dial(t)
		defer c.Close()
		var got struct {
			Count int `json:"count"`
		}
		for i := 1; i <= 8*callsRepeat; i++ {
			testkit.SendRaw(c, order+count, false) // one write: pipelined
			ex := testkit.ReadResponses(c, []string{"POST", "POST"}, false)
			if ex.Err != nil || ex.Resps[0].StatusCode != 201 || ex.Resps[1].StatusCode != 200 {
				t.Fatalf("order %d: %v %s", i, ex.Err, ex.Raw)
			}
			if err := json.Unmarshal([]byte(ex.Bodies[1]), &got); err != nil || got.Count != i {
				t.Fatalf("after %d orders the journal counts %d (%v)", i, got.Count, err)
			}
		}
		other := newLabClient(t, s) // another connection
		for i := 1; i <= 2*callsRepeat; i++ {
			if r := l.do("POST", "/orders", `{}`); r.status != 201 {
				t.Fatalf("order: %d", r.status)
			}
			other.do("POST", "/api/requests/count", query).decode(t, &got)
			if want := 8*callsRepeat + i; got.Count != want {
				t.Fatalf("the journal counts %d, want %d", got.Count, want)
			}
		}
	})
}
