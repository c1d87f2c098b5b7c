package state

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// A step's expect.calls (issue #14) decode to compact, sorted queries with one bound, and
// their JSON is the query's members and the bound.
func TestDecodeCalls(t *testing.T) {
	is := is.New(t)
	st := step(t, `"expect":{"status":201,"calls":[
		{"method":"post","path_pattern":"/orders","match":{ "body" : {"json_path":"$.sku","equals":"A"}},"at_least":1},
		{"count":0},
		{"path_pattern":"/orders/{id}","at_most":2.0,"count":null}]}`)
	calls := st.Expect.Calls
	is.Equal(len(calls), 3)
	is.Equal(string(calls[0].Query), `{"match":{"body":{"json_path":"$.sku","equals":"A"}},"method":"POST","path_pattern":"/orders"}`)
	is.Equal(calls[0].Bound, CallsAtLeast)
	is.Equal(calls[0].N, 1)
	is.Equal(string(calls[1].Query), `{}`)
	is.Equal(calls[1].Bound, CallsExactly)
	is.Equal(calls[2].Bound, CallsAtMost) // a null bound is absent
	is.Equal(calls[2].N, 2)
	is.Equal(calls[0].Label(), "POST /orders")
	is.Equal(calls[1].Label(), "ANY /*")
	is.Equal(calls[1].Expected(), "exactly 0")
	is.Equal(calls[0].Expected(), "at least 1")
	is.Equal(calls[2].Expected(), "at most 2")
	is.Equal(st.Expect.assertionCount(), 4)

	data := mustJSONBytes(t, st.Expect)
	is.Equal(string(data), `{"status":[201],"body_contains":[],"header_equals":{},"max_latency_ms":null,"calls":[`+
		`{"at_least":1,"match":{"body":{"json_path":"$.sku","equals":"A"}},"method":"POST","path_pattern":"/orders"},`+
		`{"count":0},{"at_most":2,"path_pattern":"/orders/{id}"}]}`)

	// The stored form decodes to itself: strictly (the API) and as a stored scenario is
	// loaded (scenarioFromObject, not strict).
	sc := decodeScenario(t, stepBody(`"expect":`+string(data)))
	is.Equal(string(mustJSONBytes(t, sc.Steps[0].Expect)), string(data))
	obj, e := DecodeJSONObject(mustJSONBytes(t, sc))
	is.True(e == nil)
	loaded, e := scenarioFromObject(obj, noScenarioLimits(), false)
	is.True(e == nil)
	is.Equal(string(mustJSONBytes(t, loaded.Steps[0].Expect)), string(data))

	// A step without calls has none, and its JSON has no calls key: the original's shape.
	plain := step(t, `"expect":{"status":200}`)
	is.Equal(plain.Expect.Calls, []CallExpect(nil))
	is.True(!strings.Contains(string(mustJSONBytes(t, plain)), "calls"))
	is.Equal(step(t, `"expect":{"calls":[]}`).Expect.Calls, []CallExpect(nil))
	is.Equal(step(t, `"expect":{"calls":null}`).Expect.Calls, []CallExpect(nil))
}

func TestDecodeCallsErrors(t *testing.T) {
	tests := []struct {
		calls string
		kind  Kind
		msg   string
	}{
		{`{}`, KindInvalid, "step 1: expect.calls must be a list"},
		{`"x"`, KindInvalid, "step 1: expect.calls must be a list"},
		{`[{"count":1},5]`, KindInvalid, "step 1: expect.calls[1] must be an object"},
		{`[{"count":1},{"method":"POST","cuont":1}]`, KindInvalid, `step 1: unknown field "expect.calls[1].cuont"`},
		{`[{"path":"/orders","count":1}]`, KindInvalid, `step 1: unknown field "expect.calls[0].path"`},
		{`[{"method":"POST"}]`, KindInvalid, "step 1: expect.calls[0] must have exactly one of count, at_least or at_most"},
		{`[{"method":"POST","count":null}]`, KindInvalid, "step 1: expect.calls[0] must have exactly one of count, at_least or at_most"},
		{`[{"count":1,"at_most":2}]`, KindInvalid, "step 1: expect.calls[0] must have exactly one of count, at_least or at_most"},
		{`[{"count":-1}]`, KindInvalid, "step 1: expect.calls[0].count must be between 0 and 1000000000"},
		{`[{"at_least":1000000001}]`, KindInvalid, "step 1: expect.calls[0].at_least must be between 0 and 1000000000"},
		{`[{"at_most":1e400}]`, KindInvalid, "step 1: expect.calls[0].at_most must be between 0 and 1000000000"},
		{`[{"count":1.5}]`, KindInvalid, "step 1: expect.calls[0].count must be an integer"},
		{`[{"count":"1"}]`, KindInvalid, "step 1: expect.calls[0].count must be an integer"},
		{`[{"count":true}]`, KindInvalid, "step 1: expect.calls[0].count must be an integer"},
		{`[{"method":"FETCH","count":1}]`, KindInvalid, "step 1: expect.calls[0].method must be one of GET, HEAD, POST, PUT, PATCH, DELETE or ANY"},
		{`[{"method":7,"count":1}]`, KindInvalid, "step 1: expect.calls[0].method must be one of GET, HEAD, POST, PUT, PATCH, DELETE or ANY"},
		{`[{"path_pattern":"orders","count":1}]`, KindInvalid, "step 1: expect.calls[0].path_pattern must start with /"},
		{`[{"match":{"querry":{}},"count":1}]`, KindInvalid, `step 1: expect.calls[0].match.querry: unknown field`},
		{`[{"count":0},{"match":{"query":{"a":{"matches":"("}}},"count":1}]`, KindInvalid, "step 1: expect.calls[1].match.query.a.matches: invalid regex"},
		{`[{"match":[],"count":1}]`, KindInvalid, "step 1: expect.calls[0].match"},
		// Each item is an assertion: 1 (status) + 20 is one past the default limit.
		{`[` + strings.TrimSuffix(strings.Repeat(`{"count":1},`, 20), ",") + `]`, KindTooLarge, "step 1: too many assertions"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			is := is.New(t)
			_, e := DecodeScenario([]byte(stepBody(`"expect":{"calls":`+tt.calls+`}`)), ScenarioLimits{})
			if e == nil {
				t.Fatalf("%s: accepted", tt.calls)
			}
			is.Equal(e.Kind, tt.kind)
			want := CodeInvalidScenario
			if tt.kind == KindTooLarge {
				want = CodeScenarioTooLarge
			}
			is.Equal(e.Code, want)
			if !strings.HasPrefix(e.Message, tt.msg) {
				t.Errorf("message %q, want it to start with %q", e.Message, tt.msg)
			}
		})
	}
	// At the limit: 1 (status) + 19 calls.
	_, e := DecodeScenario([]byte(stepBody(`"expect":{"calls":[`+strings.TrimSuffix(strings.Repeat(`{"count":1},`, 19), ",")+`]}`)), ScenarioLimits{})
	if e != nil {
		t.Fatalf("19 calls: %v", e)
	}
}

// Calls built in Go are validated and normalized as decoded ones are.
func TestNormalizeCallsOfGoValues(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	sc := Scenario{Name: "go", Steps: []Step{{Method: "GET", Path: "/", Expect: Expect{Calls: []CallExpect{
		{Query: json.RawMessage(`{"method":"get", "path_pattern":"/a"}`), Bound: CallsAtMost, N: 3},
		{Bound: CallsExactly},
	}}}}}
	x, e := m.CreateScenario(sc, t0)
	is.True(e == nil)
	is.Equal(string(x.Steps[0].Expect.Calls[0].Query), `{"method":"GET","path_pattern":"/a"}`)
	is.Equal(string(x.Steps[0].Expect.Calls[1].Query), `{}`)
	is.Equal(string(sc.Steps[0].Expect.Calls[0].Query), `{"method":"get", "path_pattern":"/a"}`) // the caller's
	for _, tt := range []struct {
		call CallExpect
		msg  string
	}{
		{CallExpect{}, "step 1: expect.calls[0] must have exactly one of count, at_least or at_most"},
		{CallExpect{Bound: "more_than"}, "step 1: expect.calls[0] must have exactly one of count, at_least or at_most"},
		{CallExpect{Bound: CallsAtLeast, N: -1}, "step 1: expect.calls[0].at_least must be between 0 and 1000000000"},
		{CallExpect{Bound: CallsAtLeast, Query: json.RawMessage(`[1]`)}, "step 1: expect.calls[0] query must be an object"},
		{CallExpect{Bound: CallsAtLeast, Query: json.RawMessage(`{"x":1}`)}, `step 1: unknown field "expect.calls[0].x"`},
	} {
		_, e := m.CreateScenario(Scenario{Name: "bad", Steps: []Step{{Method: "GET", Path: "/", Expect: Expect{Calls: []CallExpect{tt.call}}}}}, t0)
		is.True(e != nil)
		is.Equal(e.Message, tt.msg)
	}
}

// journal is a small history: three POST /orders (two for sku A) and a GET.
func journal() []HistoryEntry {
	post := func(body string) HistoryEntry {
		return HistoryEntry{Method: "POST", Path: "/orders", ReplayInput: &ReplayInput{Method: "POST", Path: "/orders",
			RawTarget: "/orders", Headers: map[string]string{"content-type": "application/json"}, Body: body}}
	}
	return []HistoryEntry{post(`{"sku":"A"}`), post(`{"sku":"B"}`), post(`{"sku":"A"}`),
		{Method: "GET", Path: "/orders/7", ReplayInput: &ReplayInput{Method: "GET", Path: "/orders/7", RawTarget: "/orders/7?x=1"}}}
}

func TestCountCalls(t *testing.T) {
	is := is.New(t)
	st := step(t, `"expect":{"calls":[
		{"method":"POST","path_pattern":"/orders","count":3},
		{"path_pattern":"/orders","match":{"body":{"json_path":"$.sku","equals":"A"}},"count":2},
		{"method":"GET","path_pattern":"/orders/{id}","match":{"query":{"x":"1"}},"count":1},
		{"method":"DELETE","count":0},
		{"count":4}]}`)
	is.Equal(CountCalls(journal(), st.Expect.Calls), []CallCount{{N: 3}, {N: 2}, {N: 1}, {N: 0}, {N: 4}})
	is.Equal(CountCalls(nil, st.Expect.Calls), []CallCount{{}, {}, {}, {}, {}})
	// Whatever the query language takes, a call takes: a path regex too.
	re := step(t, `"expect":{"calls":[{"path_regex":"/orders/[0-9]+","count":1}]}`)
	is.Equal(CountCalls(journal(), re.Expect.Calls), []CallCount{{N: 1}})
	is.Equal(re.Expect.Calls[0].Label(), "ANY /orders/[0-9]+")
	q, e := st.Expect.Calls[0].RequestQuery()
	is.True(e == nil)
	is.Equal(q.Count(journal()), 3)
	// A call built in Go and never normalized is compiled when counted.
	raw := CallExpect{Query: json.RawMessage(`{"method":"GET"}`), Bound: CallsExactly, N: 1}
	is.Equal(CountCalls(journal(), []CallExpect{raw}), []CallCount{{N: 1}})
	bad := CallExpect{Query: json.RawMessage(`{"method":"FETCH"}`), Bound: CallsExactly}
	is.Equal(CountCalls(journal(), []CallExpect{bad})[0].Err, "method must be one of GET, HEAD, POST, PUT, PATCH, DELETE or ANY")
}

func TestEvaluateCalls(t *testing.T) {
	view := ResponseView{Status: 201, Body: "created"}
	calls := `"calls":[{"method":"POST","path_pattern":"/orders","at_least":1},{"path_pattern":"/status","count":2},{"at_most":0}]`
	tests := []struct {
		name    string
		expect  string
		counts  []CallCount
		reason  string
		results []string
	}{
		{"every bound holds", `"status":201,` + calls, []CallCount{{N: 1}, {N: 2}, {N: 0}}, "",
			[]string{"status:true", "calls:true", "calls:true", "calls:true"}},
		{"at least", `"status":201,` + calls, []CallCount{{N: 0}, {N: 2}, {N: 0}}, "calls POST /orders expected at least 1 got 0",
			[]string{"status:true", "calls:false", "calls:true", "calls:true"}},
		{"exactly", `"status":201,` + calls, []CallCount{{N: 5}, {N: 1}, {N: 0}}, "calls ANY /status expected exactly 2 got 1",
			[]string{"status:true", "calls:true", "calls:false", "calls:true"}},
		{"at most", `"status":201,` + calls, []CallCount{{N: 5}, {N: 2}, {N: 1}}, "calls ANY /* expected at most 0 got 1",
			[]string{"status:true", "calls:true", "calls:true", "calls:false"}},
		{"calls come after the spec's assertions", `"status":200,"max_latency_ms":100,` + calls, []CallCount{{N: 0}, {N: 2}, {N: 0}},
			"status expected [200] got 201", []string{"status:false", "max_latency_ms:true", "calls:false", "calls:true", "calls:true"}},
		{"no count", `"status":201,` + calls, []CallCount{{N: 1}, {Err: "connection refused"}, {N: 0}}, "calls ANY /status: no count: connection refused",
			[]string{"status:true", "calls:true", "calls:false", "calls:true"}},
		{"missing counts fail", `"status":201,` + calls, []CallCount{{N: 1}}, "calls ANY /status: no count: not counted",
			[]string{"status:true", "calls:true", "calls:false", "calls:false"}},
		{"counts of a step without calls are ignored", `"status":201`, []CallCount{{N: 1}}, "", []string{"status:true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			as, reason, passed := EvaluateStep(step(t, `"expect":{`+tt.expect+`}`), view, 1, tt.counts...)
			is.Equal(reason, tt.reason)
			is.Equal(passed, tt.reason == "")
			var got []string
			for _, a := range as {
				got = append(got, fmt.Sprintf("%s:%v", a.Type, a.Passed))
			}
			is.Equal(got, tt.results)
		})
	}

	is := is.New(t)
	// expected is the item (query and bound), actual the count, or null without one.
	as, _, _ := EvaluateStep(step(t, `"expect":{"status":201,`+calls+`}`), view, 1, CallCount{N: 0}, CallCount{Err: "x"})
	is.Equal(string(mustJSONBytes(t, as[1:])), `[{"type":"calls","passed":false,"expected":{"at_least":1,"method":"POST","path_pattern":"/orders"},"actual":0},`+
		`{"type":"calls","passed":false,"expected":{"count":2,"path_pattern":"/status"},"actual":null},`+
		`{"type":"calls","passed":false,"expected":{"at_most":0},"actual":null}]`)
}

// A run whose first failure is a calls assertion suggests looking at the requests, even
// when its path reads like another kind of failure.
func TestRunPlanCalls(t *testing.T) {
	is := is.New(t)
	sc := decodeScenario(t, `{"name":"c","defaults":{"stop_on_fail":false},"steps":[
		{"id":"one","method":"POST","path":"/status","expect":{"status":201,"calls":[{"method":"POST","path_pattern":"/status","count":1}]}},
		{"id":"two","method":"GET","path":"/"}]}`)
	p := NewRunPlan(sc, "r", 1, t0)
	is.True(p.Next())
	res := p.Record(ResponseView{Status: 201}, 1, CallCount{N: 2})
	is.Equal(res.Status, StatusFail)
	is.Equal(string(res.FailureReason), "calls POST /status expected exactly 1 got 2")
	is.True(p.Next())
	p.Record(ResponseView{Status: 200}, 1) // a step without calls records as before
	r := p.Report(t0, 2)
	is.Equal(r.Summary.Failed, 1)
	is.Equal(r.FailedAssertions, 1)
	is.Equal(r.Analysis.SuggestedNextAction, ActionCalls)
	is.Equal(r.Analysis.RootCauseSummary, "Step one failed: calls POST /status expected exactly 1 got 2")

	// Only a reason that starts with "calls " is one.
	is.Equal(BuildReport(RunMeta{}, []StepResult{result("a", StatusFail, "body missing token: calls ", 1, 1)}).Analysis.SuggestedNextAction, ActionOther)
}

// TestDecodeCallsHostile feeds wrong types to every place of a calls item: each is a clean
// invalid_scenario error (or, for values a key accepts, a success), never a panic.
func TestDecodeCallsHostile(t *testing.T) {
	values := []string{`null`, `true`, `0`, `-1`, `1.5`, `1e999`, `"x"`, `""`, `"/"`, `[]`, `[null]`, `{}`, `{"a":{}}`, `[[[[[]]]]]`}
	for _, v := range values {
		for _, calls := range []string{
			`[` + v + `]`, v,
			`[{"count":` + v + `}]`,
			`[{"method":` + v + `,"count":1}]`,
			`[{"path_pattern":` + v + `,"count":1}]`,
			`[{"match":` + v + `,"count":1}]`,
			`[{"match":{"body":` + v + `},"count":1}]`,
		} {
			sc, e := DecodeScenario([]byte(stepBody(`"expect":{"calls":`+calls+`}`)), ScenarioLimits{})
			if e != nil {
				if e.Kind != KindInvalid || e.Code != CodeInvalidScenario || !strings.HasPrefix(e.Message, "step 1: ") {
					t.Errorf("%s: bad error %#v", calls, e)
				}
				continue
			}
			for _, c := range sc.Steps[0].Expect.Calls {
				if c.query == nil || (c.Bound != CallsExactly && c.Bound != CallsAtLeast && c.Bound != CallsAtMost) {
					t.Errorf("%s: accepted but not normalized: %+v", calls, c)
				}
			}
		}
	}
}
