package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

func step(t *testing.T, members string) *Step {
	t.Helper()
	sc := decodeScenario(t, stepBody(members))
	return &sc.Steps[0]
}

func TestEvaluateStep(t *testing.T) {
	view := ResponseView{Status: 503, Headers: map[string]string{"x-mock-server": "custom", "x-b": "b"}, Body: `{"name":"Demo User"}`}
	tests := []struct {
		name    string
		step    string
		latency float64
		reason  string
		// assertions as "type:passed", in order
		results []string
	}{
		{"default status 200", `"expect":{}`, 1, "status expected [200] got 503", []string{"status:false"}},
		{"status list", `"expect":{"status":[200,201]}`, 1, "status expected [200, 201] got 503", []string{"status:false"}},
		{"status ok", `"expect":{"status":[503]}`, 1, "", []string{"status:true"}},
		{"body token", `"expect":{"status":503,"body_contains":["Demo User","zz"]}`, 1, "body missing token: zz",
			[]string{"status:true", "body_contains:true", "body_contains:false"}},
		{"header mismatch", `"expect":{"status":503,"header_equals":{"X-Mock-Server":"other"}}`, 1, "header x-mock-server expected other got custom",
			[]string{"status:true", "header_equals:false"}},
		{"missing header reads empty", `"expect":{"status":503,"header_equals":{"x-none":"v"}}`, 1, "header x-none expected v got ",
			[]string{"status:true", "header_equals:false"}},
		{"latency", `"expect":{"status":503,"max_latency_ms":10}`, 12.3, "latency 12.3ms exceeded 10.0ms",
			[]string{"status:true", "max_latency_ms:false"}},
		{"latency rounded to 3 decimals", `"expect":{"status":503,"max_latency_ms":0}`, 0.0216789, "latency 0.022ms exceeded 0.0ms",
			[]string{"status:true", "max_latency_ms:false"}},
		{"latency at the limit passes", `"expect":{"status":503,"max_latency_ms":10}`, 10, "", []string{"status:true", "max_latency_ms:true"}},
		{"NaN latency counts as 0", `"expect":{"status":503,"max_latency_ms":0}`, math.NaN(), "", []string{"status:true", "max_latency_ms:true"}},
		{"first failure wins", `"expect":{"status":200,"body_contains":["zz"],"header_equals":{"x-b":"c"},"max_latency_ms":1}`, 5,
			"status expected [200] got 503", []string{"status:false", "body_contains:false", "header_equals:false", "max_latency_ms:false"}},
		{"header order is sorted", `"expect":{"status":503,"header_equals":{"x-z":"1","x-a":"1"}}`, 1, "header x-a expected 1 got ",
			[]string{"status:true", "header_equals:false", "header_equals:false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			as, reason, passed := EvaluateStep(step(t, tt.step), view, tt.latency)
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
	// The recorded expected/actual values (spec §5.2 step 7).
	as, _, _ := EvaluateStep(step(t, `"expect":{"status":[201],"body_contains":["x"],"header_equals":{"x-b":"b"},"max_latency_ms":500}`), view, 12.34567)
	is.Equal(string(mustJSONBytes(t, as)), `[{"type":"status","passed":false,"expected":[201],"actual":503},`+
		`{"type":"body_contains","passed":false,"expected":"x","actual":"{\"name\":\"Demo User\"}"},`+
		`{"type":"header_equals","passed":true,"expected":{"x-b":"b"},"actual":{"x-b":"b"}},`+
		`{"type":"max_latency_ms","passed":true,"expected":500,"actual":12.346}]`)
	// Header names of a hand-made view are matched case-insensitively.
	_, reason, _ := EvaluateStep(step(t, `"expect":{"header_equals":{"x-a":"1"}}`), ResponseView{Status: 200, Headers: map[string]string{"X-A": "1"}}, 0)
	is.Equal(reason, "")
	as, reason, passed := EvaluateStep(nil, view, 1)
	is.Equal(len(as), 0)
	is.Equal(reason, "")
	is.True(passed)
}

func mustJSONBytes(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPyFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{10, "10.0"}, {12.3, "12.3"}, {0, "0.0"}, {0.021, "0.021"}, {500, "500.0"}, {1e-5, "1e-05"},
		{0.0001, "0.0001"}, {1e16, "1e+16"}, {123456789012345, "123456789012345.0"}, {-2.5, "-2.5"},
	}
	for _, tt := range tests {
		if got := pyFloat(tt.f); got != tt.want {
			t.Errorf("pyFloat(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestReliabilityScore(t *testing.T) {
	tests := []struct {
		failedSteps, failedAssertions int
		maxLatency                    float64
		want                          int
	}{
		{0, 0, 0, 100},
		{0, 0, 99.999, 100},
		{0, 0, 100, 99},
		{0, 0, 1999.9, 81},
		{0, 0, 2000, 80},
		{0, 0, 1e9, 80}, // the latency penalty is capped at 20
		{1, 1, 0.021, 70},
		{1, 3, 250, 58},
		{3, 5, 0, 0},
		{4, 0, 0, 0},             // clamped at 0
		{1000000, 1 << 40, 0, 0}, // no overflow
		{0, 0, math.NaN(), 100},
		{0, 0, -5, 100},
		{0, 0, math.Inf(1), 80},
	}
	for _, tt := range tests {
		if got := reliabilityScore(tt.failedSteps, tt.failedAssertions, tt.maxLatency); got != tt.want {
			t.Errorf("reliabilityScore(%d, %d, %v) = %d, want %d", tt.failedSteps, tt.failedAssertions, tt.maxLatency, got, tt.want)
		}
	}
}

func result(id, status, reason string, latency float64, failedAssertions int) StepResult {
	r := StepResult{StepID: id, Status: status, FailureReason: OptString(reason), LatencyMS: latency,
		Request: RequestReport{Method: "GET", Path: "/" + id}}
	for range failedAssertions {
		r.Assertions = append(r.Assertions, AssertionResult{Type: AssertStatus, Passed: false})
	}
	r.Assertions = append(r.Assertions, AssertionResult{Type: AssertStatus, Passed: true})
	return r
}

func TestBuildReport(t *testing.T) {
	meta := RunMeta{RunID: "r", ScenarioID: "s", Seed: 5, StartedAt: t0, FinishedAt: t0.Add(time.Second), DurationMS: 1.23456}
	tests := []struct {
		name   string
		steps  []StepResult
		status string
		action string
		score  int
		failed int
		route  string
	}{
		{"pass", []StepResult{result("a", StatusPass, "", 150, 0), result("b", StatusPass, "", 20, 0)}, StatusPass, ActionPass, 99, 0, "GET /a"},
		{"status", []StepResult{result("a", StatusFail, "status expected [201] got 503", 1, 2)}, StatusFail, ActionStatus, 65, 2, "GET /a"},
		{"latency", []StepResult{result("a", StatusFail, "latency 12.3ms exceeded 10.0ms", 12.3, 1)}, StatusFail, ActionLatency, 70, 1, "GET /a"},
		{"header", []StepResult{result("a", StatusFail, "header k expected v got a", 1, 1)}, StatusFail, ActionHeader, 70, 1, "GET /a"},
		{"other", []StepResult{result("a", StatusFail, "body missing token: zz", 1, 1)}, StatusFail, ActionOther, 70, 1, "GET /a"},
		{"first failure decides; failed assertions summed",
			[]StepResult{result("a", StatusPass, "", 5, 0), result("b", StatusFail, "header k expected v got a", 300, 1),
				result("c", StatusFail, "status expected [200] got 500", 300, 3)},
			StatusFail, ActionHeader, 100 - 50 - 20 - 3, 4, "GET /b"},
		{"no steps", nil, StatusPass, ActionPass, 100, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			r := BuildReport(meta, tt.steps)
			is.Equal(r.Status, tt.status)
			is.Equal(r.Analysis.Status, tt.status)
			is.Equal(r.Analysis.SuggestedNextAction, tt.action)
			is.Equal(r.Analysis.ReliabilityScore, tt.score)
			is.Equal(r.FailedAssertions, tt.failed)
			is.Equal(r.Analysis.LatencyBottleneckRoute, tt.route)
			is.Equal(r.Summary.DurationMS, 1.235)
			is.Equal(r.StartedAt, "2026-11-26T10:00:00Z")
			is.Equal(r.FinishedAt, "2026-11-26T10:00:01Z")
			if tt.status == StatusPass {
				is.Equal(r.Analysis.RootCauseSummary, "No assertion failures detected.")
				is.Equal(r.Analysis.FailingStepID, "")
				return
			}
			var first StepResult
			for _, s := range tt.steps {
				if s.Status == StatusFail {
					first = s
					break
				}
			}
			is.Equal(r.Analysis.FailingStepID, first.StepID)
			is.Equal(r.Analysis.FailingStepReason, string(first.FailureReason))
			is.Equal(r.Analysis.RootCauseSummary, "Step "+first.StepID+" failed: "+string(first.FailureReason))
		})
	}
}

func TestReportJSONShape(t *testing.T) {
	is := is.New(t)
	sc := decodeScenario(t, userLifecycle)
	sc.ID = "sc1"
	p := NewRunPlan(sc, "4c8aa00dca0e40", 5, t0)
	for p.Next() {
		v := NewResponseView(201, map[string][]string{"Content-Type": {"application/json"}, "X-Request-ID": {"51cf8316f81b4b66"}}, []byte("hi"))
		p.Record(v, 0.021)
	}
	data := mustJSONBytes(t, p.Report(t0, 0.087))
	is.Equal(keysOf(t, data), []string{"analysis", "failed_assertions", "finished_at", "run_id", "scenario_id", "seed", "started_at", "status", "step_results", "summary"})
	var r struct {
		StepResults []json.RawMessage `json:"step_results"`
		Summary     json.RawMessage   `json:"summary"`
		Analysis    json.RawMessage   `json:"analysis"`
	}
	is.NoErr(json.Unmarshal(data, &r))
	is.Equal(len(r.StepResults), 1) // step 1 fails (no "mock" in "hi") and stops the run
	is.Equal(keysOf(t, r.StepResults[0]), []string{"assertions", "chaos_applied", "failure_reason", "latency_ms", "request", "response", "status", "step_id", "trace_id"})
	is.Equal(keysOf(t, r.Summary), []string{"duration_ms", "failed", "passed"})
	is.Equal(keysOf(t, r.Analysis), []string{"failing_step_id", "failing_step_reason", "latency_bottleneck_ms", "latency_bottleneck_route",
		"reliability_score", "root_cause_summary", "status", "suggested_next_action"})
	var sr struct {
		Request  json.RawMessage `json:"request"`
		Response json.RawMessage `json:"response"`
		Reason   *string         `json:"failure_reason"`
		Trace    string          `json:"trace_id"`
	}
	is.NoErr(json.Unmarshal(r.StepResults[0], &sr))
	is.Equal(keysOf(t, sr.Request), []string{"body", "headers", "method", "path", "target_id"})
	is.Equal(keysOf(t, sr.Response), []string{"body", "headers", "status"})
	is.Equal(*sr.Reason, "body missing token: mock")
	is.Equal(sr.Trace, "51cf8316f81b4b66")

	// A passed step writes failure_reason as null.
	is.True(strings.Contains(string(mustJSONBytes(t, StepResult{})), `"failure_reason":null`))
	var back StepResult
	is.NoErr(json.Unmarshal([]byte(`{"failure_reason":null}`), &back))
	is.Equal(back.FailureReason, OptString(""))
	is.True(json.Unmarshal([]byte(`{"failure_reason":5}`), &back) != nil)
}

func TestRunPlan(t *testing.T) {
	is := is.New(t)
	sc := decodeScenario(t, `{"name":"p","defaults":{"stop_on_fail":false},"steps":[
		{"id":"one","method":"post","path":"/a?x=1","headers":{"Authorization":"Bearer s","X-A":"1"},"body":"b","delay_ms":20,
		 "expect":{"status":201}},
		{"id":"two","method":"GET","path":"/t","target_id":"t1","headers":{"host":"evil"},
		 "chaos":{"enabled":true,"mode":"fixed_error","probability":1},"expect":{"status":500,"body_contains":["chaos"]}},
		{"id":"three","method":"GET","path":"/"}]}`)
	sc.ID = "s"
	p := NewRunPlan(sc, "run1", 9, t0)
	is.Equal(p.Index(), -1)
	is.Equal(p.Request(), StepRequest{})
	is.Equal(p.Record(ResponseView{}, 1), StepResult{}) // nothing to record yet

	is.True(p.Next())
	is.Equal(p.Index(), 0)
	is.Equal(p.Step().ID, "one")
	req := p.Request()
	is.Equal(req, StepRequest{Method: "POST", Target: "/a?x=1", Path: "/a", Body: "b", TargetID: LocalTarget, Delay: 20 * time.Millisecond,
		Headers: map[string]string{"authorization": "Bearer s", "x-a": "1", "host": "localhost"}})
	is.True(req.IsLocal())
	req.Headers["x-a"] = "changed" // the caller's map
	real := ResponseView{Status: 200, Headers: map[string]string{"X-Request-ID": "tr1"}, Body: "ok"}
	res := p.Record(real, 3.14159)
	is.Equal(real.Headers, map[string]string{"X-Request-ID": "tr1"}) // the caller's view is not modified
	is.Equal(res.Status, StatusFail)
	is.Equal(string(res.FailureReason), "status expected [201] got 200")
	is.Equal(res.TraceID, "tr1")
	is.Equal(res.LatencyMS, 3.142)
	is.Equal(res.Request.Headers["authorization"], Redacted) // no credentials in reports
	is.Equal(res.Request.Headers["x-a"], "1")
	is.Equal(res.Request.Path, "/a")
	is.True(!res.ChaosApplied)

	is.True(p.Next()) // stop_on_fail is false: go on
	req = p.Request()
	is.True(!req.IsLocal())
	is.Equal(req.Headers, map[string]string{}) // a target step never forwards a host header
	res = p.Record(ResponseView{Status: 200, Body: "fine"}, 1)
	is.True(res.ChaosApplied)
	is.Equal(res.Response, ResponseView{Status: 500, Headers: map[string]string{"content-type": "text/plain; charset=utf-8"}, Body: "chaos injected error"})
	is.Equal(res.Status, StatusPass)

	is.True(p.Next())
	p.Record(TargetNotFoundView(), 1)
	is.True(!p.Next())
	is.True(!p.Next())
	r := p.Report(t0.Add(time.Second), 30)
	is.Equal(r.Summary, RunSummary{Passed: 1, Failed: 2, DurationMS: 30})
	is.Equal(r.RunID, "run1")
	is.Equal(r.ScenarioID, "s")
	is.Equal(r.Seed, int64(9))
	is.Equal(len(p.Results()), 3)

	// stop_on_fail (the default) ends the run at the first failure.
	sc = decodeScenario(t, `{"name":"q","steps":[{"method":"GET","path":"/"},{"method":"GET","path":"/"}]}`)
	p = NewRunPlan(sc, "run2", 1, t0)
	is.True(p.Next())
	p.Record(DispatchErrorView(errors.New("connection refused")), 1)
	is.True(!p.Next())
	r = p.Report(t0, 1)
	is.Equal(len(r.StepResults), 1)
	is.Equal(r.StepResults[0].Response.Body, "target dispatch error: connection refused")
	is.Equal(r.StepResults[0].Response.Status, 502)

	// A step handed out and never recorded is skipped.
	p = NewRunPlan(sc, "run3", 1, t0)
	is.True(p.Next())
	is.True(p.Next())
	p.Record(ResponseView{Status: 200}, 1)
	is.Equal(p.Results()[0].StepID, "step-2")
}

func TestRunPlanTruncatesBodies(t *testing.T) {
	is := is.New(t)
	long := strings.Repeat("é", MaxReportBodyBytes) // 2 bytes each
	sc := decodeScenario(t, fmt.Sprintf(`{"name":"t","steps":[{"method":"POST","path":"/","body":%q,"expect":{"body_contains":["end"]}}]}`, long))
	p := NewRunPlan(sc, "r", 1, t0)
	p.Next()
	res := p.Record(ResponseView{Status: 200, Body: long + "end"}, 1)
	is.Equal(res.Status, StatusPass) // evaluated on the whole body
	is.True(strings.HasSuffix(res.Response.Body, TruncatedMark))
	is.True(len(res.Response.Body) <= MaxReportBodyBytes+len(TruncatedMark))
	is.True(strings.HasPrefix(res.Response.Body, "éé"))
	is.Equal(strings.ToValidUTF8(res.Response.Body, "?"), res.Response.Body) // cut at a rune boundary
	is.Equal(res.Request.Body, res.Response.Body[:len(res.Request.Body)])
	var actual string
	is.NoErr(json.Unmarshal(res.Assertions[1].Actual, &actual))
	is.Equal(actual, res.Response.Body)
	is.Equal(truncateText("short", 10), "short")
}

func TestNewResponseView(t *testing.T) {
	is := is.New(t)
	v := NewResponseView(200, map[string][]string{"Set-Cookie": {"a=1", "b=2"}, "X-A": {"1"}, "x-a": {"2"}}, []byte("ok\xff"))
	is.Equal(v.Headers, map[string]string{"set-cookie": "a=1, b=2", "x-a": "1, 2"})
	is.Equal(v.Body, "ok\uFFFD")
	var w ResponseView
	w.AddHeader("X-Request-ID", "t")
	is.Equal(w.Headers, map[string]string{"x-request-id": "t"})
	is.Equal(TargetNotFoundView().Status, 404)
	is.Equal(DispatchErrorView(nil).Body, "target dispatch error: unknown error")
}

// fakeResponses gives a fixed response per step index, as a fake server
// would.
func fakeResponse(i int) (ResponseView, float64) {
	statuses := []int{200, 201, 404, 500, 201, 200}
	return ResponseView{Status: statuses[i%len(statuses)],
		Headers: map[string]string{"x-request-id": fmt.Sprintf("trace%d", i), "x-mock-server": "custom"},
		Body:    `{"id":101,"name":"Demo User"}`}, float64(i) * 37.5
}

// runWithSeed runs sc against the fake responses and returns the report's
// JSON without its run id and times.
func runWithSeed(t *testing.T, sc Scenario, seed int64, runID string, start time.Time) (string, []bool) {
	t.Helper()
	p := NewRunPlan(sc, runID, seed, start)
	var chaos []bool
	for p.Next() {
		v, latency := fakeResponse(p.Index())
		chaos = append(chaos, p.Record(v, latency).ChaosApplied)
	}
	r := p.Report(start.Add(time.Minute), 42)
	r.RunID, r.StartedAt, r.FinishedAt = "", "", ""
	return string(mustJSONBytes(t, r)), chaos
}

func TestRunDeterminism(t *testing.T) {
	sc := decodeScenario(t, `{"name":"det","defaults":{"stop_on_fail":false},"steps":[
		{"method":"GET","path":"/a","chaos":{"enabled":true,"mode":"status_flip","probability":0.5,"seed_offset":7},
		 "expect":{"status":[200,201],"body_contains":["Demo"],"max_latency_ms":100}},
		{"method":"GET","path":"/b","chaos":{"enabled":true,"mode":"drop_body","probability":0.5},
		 "expect":{"status":201,"body_contains":["Demo User"]}},
		{"method":"GET","path":"/c","chaos":{"enabled":true,"mode":"fixed_error","probability":0.3,"seed_offset":-3},
		 "expect":{"status":404,"header_equals":{"x-mock-server":"custom"}}},
		{"method":"GET","path":"/d","chaos":{"enabled":true,"mode":"none","probability":0.9},"expect":{"status":500}},
		{"method":"GET","path":"/e","chaos":{"enabled":true,"mode":"status_flip","probability":0.5,"seed_offset":100}}]}`)
	sc.ID = "det"
	patterns := map[string]bool{}
	for seed := int64(0); seed < 100; seed++ {
		first, chaos := runWithSeed(t, sc, seed, "run-a", t0)
		// Same scenario, same seed, same responses: the same report, whatever
		// the run id and the clock.
		second, _ := runWithSeed(t, sc, seed, "run-b", t0.Add(time.Hour))
		if first != second {
			t.Fatalf("seed %d: reports differ:\n%s\n%s", seed, first, second)
		}
		patterns[fmt.Sprint(chaos)] = true
	}
	// Different seeds make different chaos decisions somewhere.
	if len(patterns) < 2 {
		t.Fatalf("100 seeds gave %d chaos pattern(s)", len(patterns))
	}
}
