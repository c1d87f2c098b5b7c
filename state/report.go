package state

import (
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Running a scenario (spec §5.2, §5.3), without I/O. The runner (features)
// does the sending; everything it decides is here, as pure functions:
//
//	plan, err := actor.StartRun(ctx, scenarioID, seed) // scenario copy, run id, seed
//	for plan.Next() {
//		req := plan.Request()     // publish scenario.step.started, sleep req.Delay
//		view, latencyMS := send(req) // NewResponseView(…), or TargetNotFoundView, DispatchErrorView
//		counts := count(plan.Step().Expect.Calls) // only for a step with expect.calls (CountCalls)
//		res := plan.Record(view, latencyMS, counts...) // chaos, assertions; publish scenario.step.completed
//	}
//	report := plan.Report(time.Now(), durationMS)
//	report, err = actor.AddRun(ctx, scenarioID, report) // durable when it returns
//
// The CLI, which runs a scenario file locally without an actor, uses
// NewRunPlan with a run id of its own.

// MaxReportBodyBytes bounds each body kept in a run report (the request body,
// the response body, and the actual value of body_contains assertions), so
// that stored runs stay bounded. Assertions are evaluated on the whole body;
// a longer body is cut at a UTF-8 boundary and ends with TruncatedMark.
const MaxReportBodyBytes = 16 << 10

// TruncatedMark ends a body that was cut to MaxReportBodyBytes.
const TruncatedMark = "…[truncated]"

// Assertion types (spec §5.2 step 7).
const (
	AssertStatus       = "status"
	AssertBodyContains = "body_contains"
	AssertHeaderEquals = "header_equals"
	AssertMaxLatency   = "max_latency_ms"
	// AssertCalls is ours (issue #14): an expect.calls item (calls.go).
	AssertCalls = "calls"
)

// Step and run statuses.
const (
	StatusPass = "pass"
	StatusFail = "fail"
	// StatusSkip is a step not sent because its skip_if held (issue #18); it counts
	// neither as passed nor as failed.
	StatusSkip = "skip"
	// StatusRetry is how runners show a failed attempt that RunPlan.Retrying says will be
	// run again; no stored result has it.
	StatusRetry = "retry"
)

// ResponseView is what a step's assertions see (spec §5.2 step 6): the
// status, the headers with lower-case names, and the body as text. Chaos
// changes the view only, never the real response.
type ResponseView struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"` // lower-case names; never nil when made by NewResponseView
	Body    string            `json:"body"`
}

// NewResponseView builds a view from a response: header names are
// lower-cased, repeated fields (or names differing only in case) are joined
// with ", ", and the body becomes text with invalid UTF-8 replaced by
// U+FFFD. headers (net/http's Header has this type) and body are not
// retained.
func NewResponseView(status int, headers map[string][]string, body []byte) ResponseView {
	v := ResponseView{Status: status, Headers: make(map[string]string, len(headers)), Body: strings.ToValidUTF8(string(body), "\uFFFD")}
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		for _, val := range headers[name] {
			v.AddHeader(name, val)
		}
	}
	return v
}

// AddHeader adds a header field to the view, lower-casing its name and
// joining a repeated name's values with ", ".
func (v *ResponseView) AddHeader(name, value string) {
	if v.Headers == nil {
		v.Headers = make(map[string]string)
	}
	name = strings.ToLower(name)
	if old, ok := v.Headers[name]; ok {
		value = old + ", " + value
	}
	v.Headers[name] = value
}

// clone returns a copy of v whose header names are lower-cased and whose map
// is its own.
func (v ResponseView) clone() ResponseView {
	out := ResponseView{Status: v.Status, Headers: make(map[string]string, len(v.Headers)), Body: v.Body}
	for _, k := range slices.Sorted(maps.Keys(v.Headers)) {
		out.AddHeader(k, v.Headers[k])
	}
	return out
}

// TargetNotFoundView is the response view of a step whose target_id names
// no target (spec §5.2 step 4): 404 with a target_not_found JSON error.
func TargetNotFoundView() ResponseView {
	return ResponseView{Status: 404, Headers: map[string]string{"content-type": "application/json"},
		Body: `{"error":{"code":"target_not_found","message":"target not found"}}`}
}

// DispatchErrorView is the response view of a step whose request failed
// (spec §5.2 step 4): 502 with the text "target dispatch error: <err>".
func DispatchErrorView(err error) ResponseView {
	msg := "unknown error"
	if err != nil {
		msg = err.Error()
	}
	return ResponseView{Status: 502, Headers: map[string]string{"content-type": "text/plain; charset=utf-8"},
		Body: dispatchErrorPrefix + msg}
}

// dispatchErrorPrefix starts the body of a DispatchErrorView.
const dispatchErrorPrefix = "target dispatch error: "

// AssertionResult is one evaluated assertion (spec §5.2 step 7). Expected and
// Actual are JSON: for status a list of ints and an int; for body_contains
// the token and the body; for header_equals {name: expected} and {name:
// actual}; for max_latency_ms the limit and the latency, as numbers; for calls
// the item (its query and bound, CallExpect's JSON) and the count (null when
// there was none).
type AssertionResult struct {
	Type     string          `json:"type"`
	Passed   bool            `json:"passed"`
	Expected json.RawMessage `json:"expected"`
	Actual   json.RawMessage `json:"actual"`
}

// EvaluateStep evaluates step's assertions against view (after chaos) and the
// latency, in the spec's order: status, each body_contains token, each
// header_equals pair (names in sorted order; a missing header reads as ""),
// max_latency_ms; then ours, each expect.calls item against calls[i], what
// the runner counted for it (a missing one fails as not counted).
// failureReason is the first failure's message ("" when passed):
//
//	status expected [201] got 503
//	body missing token: X
//	header k expected v got a
//	latency 12.3ms exceeded 10.0ms
//	calls POST /orders expected at least 1 got 0
//
// Numbers in the latency message are written as Python writes floats (10.0,
// 12.345), the latency rounded to 3 decimals as in the report. A latency that
// is NaN or negative counts as 0. view's header names should be lower-case
// (NewResponseView makes them so); other names are found case-insensitively.
// A nil step has no assertions and passes. It is pure.
func EvaluateStep(step *Step, view ResponseView, latencyMS float64, calls ...CallCount) (assertions []AssertionResult, failureReason string, passed bool) {
	return evaluateStep(step, view, sanitizeLatency(latencyMS), view.Body, calls)
}

// evaluateStep is EvaluateStep with the text reported as body_contains'
// actual value given separately (the report keeps a truncated body).
func evaluateStep(step *Step, view ResponseView, latencyMS float64, shownBody string, calls []CallCount) ([]AssertionResult, string, bool) {
	if step == nil {
		return []AssertionResult{}, "", true
	}
	x := &step.Expect
	out := make([]AssertionResult, 0, x.assertionCount())
	var reason string
	fail := func(msg string) {
		if reason == "" {
			reason = msg
		}
	}
	allowed := x.Status
	if len(allowed) == 0 {
		allowed = []int{200}
	}
	ok := x.AnyStatus || slices.Contains(allowed, view.Status)
	out = append(out, AssertionResult{Type: AssertStatus, Passed: ok, Expected: toJSON(allowed), Actual: toJSON(view.Status)})
	if !ok {
		fail("status expected " + pyIntList(allowed) + " got " + strconv.Itoa(view.Status))
	}
	var bodyJSON json.RawMessage
	for _, token := range x.BodyContains {
		ok := strings.Contains(view.Body, token)
		if bodyJSON == nil {
			bodyJSON = toJSON(shownBody)
		}
		out = append(out, AssertionResult{Type: AssertBodyContains, Passed: ok, Expected: toJSON(token), Actual: bodyJSON})
		if !ok {
			fail("body missing token: " + token)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(x.HeaderEquals)) {
		want := x.HeaderEquals[name]
		got := headerValue(view.Headers, name)
		ok := got == want
		out = append(out, AssertionResult{Type: AssertHeaderEquals, Passed: ok,
			Expected: toJSON(map[string]string{name: want}), Actual: toJSON(map[string]string{name: got})})
		if !ok {
			fail("header " + name + " expected " + want + " got " + got)
		}
	}
	if x.MaxLatencyMS != nil {
		limit := float64(*x.MaxLatencyMS)
		shown := RoundMS(latencyMS)
		ok := latencyMS <= limit
		out = append(out, AssertionResult{Type: AssertMaxLatency, Passed: ok, Expected: toJSON(limit), Actual: toJSON(shown)})
		if !ok {
			fail("latency " + pyFloat(shown) + "ms exceeded " + pyFloat(limit) + "ms")
		}
	}
	for i := range x.Calls {
		var got *CallCount
		if i < len(calls) {
			got = &calls[i]
		}
		r, msg := evaluateCall(&x.Calls[i], got)
		out = append(out, r)
		if msg != "" {
			fail(msg)
		}
	}
	return out, reason, reason == ""
}

// headerValue returns h[name], or the value of a name equal to it
// case-insensitively, or "".
func headerValue(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if strings.EqualFold(k, name) {
			return h[k]
		}
	}
	return ""
}

// toJSON marshals values that cannot fail to marshal (ints, finite floats,
// strings, string maps).
func toJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// pyIntList writes a list of ints as Python's str() does: [200, 201].
func pyIntList(list []int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(v))
	}
	b.WriteByte(']')
	return b.String()
}

// pyFloat writes f as Python's repr() does: the shortest text that reads back
// as f, always with a decimal point or an exponent (10.0, 12.3, 1e-05,
// 1e+16).
func pyFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// RoundMS rounds a latency in milliseconds to three decimals (the microsecond), as every
// report, metric and proxy answer shows latencies.
func RoundMS(ms float64) float64 { return math.Round(ms*1000) / 1000 }

// maxLatencyMS bounds a latency so that every report marshals (JSON has no
// infinity).
const maxLatencyMS = 1e12

// sanitizeLatency maps NaN and negative latencies to 0 and caps the rest.
func sanitizeLatency(ms float64) float64 {
	switch {
	case !(ms > 0): // NaN, 0 or negative
		return 0
	case ms > maxLatencyMS:
		return maxLatencyMS
	}
	return ms
}

// truncateText cuts s to at most limit bytes at a UTF-8 boundary, then
// appends TruncatedMark; a shorter s is returned as is.
func truncateText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + TruncatedMark
}

// OptString is a string written to JSON as null when empty (and read back
// from null as "").
type OptString string

// MarshalJSON writes "" as null.
func (s OptString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// UnmarshalJSON reads null as "".
func (s *OptString) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*s = ""
		return nil
	}
	var v string
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*s = OptString(v)
	return nil
}

// StepRequest is the request a step sends (spec §5.2 step 3).
type StepRequest struct {
	Method string
	// Target is the request target as the step gives it: the path with its
	// query ("/users?x=1"). It is a valid origin-form target (validated).
	Target string
	// Path is Target without the query, as the report shows it.
	Path string
	// Headers have lower-case names. A local step gets host: localhost when
	// it names no host. A target step never carries a host header (the
	// original forwarded host: localhost upstream, spec §15.4 #32): the
	// client derives it from the target's base_url. The map is the caller's.
	Headers map[string]string
	Body    string
	// TargetID is LocalTarget or the id of a target.
	TargetID string
	// Delay is how long to sleep before sending (delay_ms); latency excludes it.
	Delay time.Duration
}

// IsLocal reports whether the request goes to this server rather than to a
// target.
func (r StepRequest) IsLocal() bool { return r.TargetID == LocalTarget }

// NewStepRequest builds the request step st sends.
func NewStepRequest(st *Step) StepRequest {
	if st == nil {
		return StepRequest{}
	}
	r := StepRequest{Method: st.Method, Target: st.Path, Path: st.Path, Body: st.Body, TargetID: st.TargetID,
		Delay: time.Duration(st.DelayMS) * time.Millisecond, Headers: make(map[string]string, len(st.Headers)+1)}
	if i := strings.IndexByte(r.Path, '?'); i >= 0 {
		r.Path = r.Path[:i]
	}
	if r.Path == "" {
		r.Path = "/"
	}
	for k, v := range st.Headers {
		r.Headers[strings.ToLower(k)] = v
	}
	if r.IsLocal() {
		if _, ok := r.Headers["host"]; !ok {
			r.Headers["host"] = "localhost"
		}
	} else {
		delete(r.Headers, "host")
	}
	return r
}

// RequestReport is a step request as a run report shows it (spec §5.3).
// Credentials (authorization, cookie and proxy-authorization values) are
// shown as [redacted]: reports are stored and readable by viewers.
type RequestReport struct {
	Method   string            `json:"method"`
	Path     string            `json:"path"` // without the query
	Headers  map[string]string `json:"headers"`
	Body     string            `json:"body"`
	TargetID string            `json:"target_id"`
}

func newRequestReport(r StepRequest) RequestReport {
	h := make(map[string]string, len(r.Headers))
	for k, v := range r.Headers {
		if isSensitiveHeader(k) {
			v = Redacted
		}
		h[k] = v
	}
	return RequestReport{Method: r.Method, Path: r.Path, Headers: h, Body: truncateText(r.Body, MaxReportBodyBytes), TargetID: r.TargetID}
}

// StepResult is one step of a run report (spec §5.3).
type StepResult struct {
	StepID        string            `json:"step_id"`
	Status        string            `json:"status"` // StatusPass or StatusFail
	Request       RequestReport     `json:"request"`
	Response      ResponseView      `json:"response"` // the view after chaos
	Assertions    []AssertionResult `json:"assertions"`
	LatencyMS     float64           `json:"latency_ms"` // rounded to 3 decimals
	TraceID       string            `json:"trace_id"`   // X-Request-ID of the real response
	FailureReason OptString         `json:"failure_reason"`
	ChaosApplied  bool              `json:"chaos_applied"`
	// Chaos says what the applied chaos did; absent when none applied.
	Chaos *ChaosReport `json:"chaos,omitempty"`
	// Captures are the variables the step captured (issue #18), secret values shown as
	// SecretMask; Attempts counts its runs when it was retried. Both absent when unset.
	Captures map[string]string `json:"captures,omitempty"`
	Attempts int               `json:"attempts,omitempty"`
}

// RunSummary counts a run's steps.
type RunSummary struct {
	Passed     int     `json:"passed"`
	Failed     int     `json:"failed"`
	DurationMS float64 `json:"duration_ms"`
}

// RunAnalysis is the report's diagnosis (spec §5.3).
type RunAnalysis struct {
	RootCauseSummary       string  `json:"root_cause_summary"`
	FailingStepID          string  `json:"failing_step_id"`
	FailingStepReason      string  `json:"failing_step_reason"`
	LatencyBottleneckRoute string  `json:"latency_bottleneck_route"`
	LatencyBottleneckMS    float64 `json:"latency_bottleneck_ms"`
	ReliabilityScore       int     `json:"reliability_score"`
	SuggestedNextAction    string  `json:"suggested_next_action"`
	Status                 string  `json:"status"`
}

// RunReport is a finished run (spec §5.3). Its JSON fields are exactly
// run_id, scenario_id, started_at, finished_at, seed, status, step_results,
// summary, failed_assertions and analysis. A RunReport returned by the Actor
// shares its slices and maps with the stored one: treat it as read-only.
type RunReport struct {
	RunID            string       `json:"run_id"`
	ScenarioID       string       `json:"scenario_id"`
	StartedAt        string       `json:"started_at"`
	FinishedAt       string       `json:"finished_at"`
	Seed             int64        `json:"seed"`
	Status           string       `json:"status"`
	StepResults      []StepResult `json:"step_results"`
	Summary          RunSummary   `json:"summary"`
	FailedAssertions int          `json:"failed_assertions"`
	Analysis         RunAnalysis  `json:"analysis"`
}

// The suggested next actions (spec §5.3), chosen by the first failure
// reason.
const (
	ActionStatus  = "Check routing and target health: the response status drifted from what the step expects."
	ActionLatency = "Isolate the slow dependency behind this step and give it a fallback, or raise its latency budget if the budget is wrong."
	ActionHeader  = "Check header normalization in middleware: the target and the local handlers disagree on a response header."
	ActionOther   = "Inspect the trace and the response payload to find the deterministic failure source."
	// ActionCalls is ours, for a first failure of an expect.calls assertion.
	ActionCalls   = "Check which requests reached the server (POST /api/requests/find with the step's query): the traffic the step caused is not what it expects."
	ActionPass    = "Increase chaos severity or tighten assertions to probe further."
	RootCausePass = "No assertion failures detected."
)

// RunMeta is what BuildReport needs besides the step results.
type RunMeta struct {
	RunID      string
	ScenarioID string
	Seed       int64
	StartedAt  time.Time
	FinishedAt time.Time
	// DurationMS is the run's duration in milliseconds (rounded to 3
	// decimals in the report).
	DurationMS float64
}

// BuildReport computes a run report from its step results: the summary, the
// failed assertions (counted over failed steps), the status (pass when no
// step failed) and the analysis:
//
//   - root_cause_summary: "No assertion failures detected." or "Step <id>
//     failed: <reason>" for the first failed step;
//   - latency_bottleneck_*: the first step with the highest latency ("METHOD
//     path", path without query);
//   - reliability_score: clamp(100 − 25·failed_steps − 5·failed_assertions −
//     min(20, floor(max_latency_ms/100)), 0, 100);
//   - suggested_next_action: by the first failure reason, "status expected"
//     → ActionStatus, else "latency" → ActionLatency, else "header" →
//     ActionHeader, else ActionOther; ActionPass for a passed run. Ours comes
//     first: a reason of an expect.calls assertion ("calls …", which no
//     reason of the spec's starts with) → ActionCalls, whatever its path says.
//
// steps is copied, not retained. It is pure.
func BuildReport(meta RunMeta, steps []StepResult) RunReport {
	r := RunReport{
		RunID: meta.RunID, ScenarioID: meta.ScenarioID, Seed: meta.Seed,
		StartedAt: FormatTime(meta.StartedAt), FinishedAt: FormatTime(meta.FinishedAt),
		StepResults: slices.Clone(steps),
	}
	if r.StepResults == nil {
		r.StepResults = []StepResult{}
	}
	var failed *StepResult
	var bottleneck *StepResult
	for i := range r.StepResults {
		s := &r.StepResults[i]
		if s.Status == StatusSkip {
			continue
		}
		if s.Status == StatusFail {
			r.Summary.Failed++
			for _, a := range s.Assertions {
				if !a.Passed {
					r.FailedAssertions++
				}
			}
			if failed == nil {
				failed = s
			}
		} else {
			r.Summary.Passed++
		}
		if bottleneck == nil || s.LatencyMS > bottleneck.LatencyMS {
			bottleneck = s
		}
	}
	r.Summary.DurationMS = RoundMS(sanitizeLatency(meta.DurationMS))
	r.Status = StatusPass
	if r.Summary.Failed > 0 {
		r.Status = StatusFail
	}
	a := &r.Analysis
	a.Status = r.Status
	maxLatency := 0.0
	if bottleneck != nil {
		maxLatency = sanitizeLatency(bottleneck.LatencyMS)
		a.LatencyBottleneckRoute = bottleneck.Request.Method + " " + bottleneck.Request.Path
	}
	a.LatencyBottleneckMS = RoundMS(maxLatency)
	a.ReliabilityScore = reliabilityScore(r.Summary.Failed, r.FailedAssertions, maxLatency)
	if failed == nil {
		a.RootCauseSummary = RootCausePass
		a.SuggestedNextAction = ActionPass
		return r
	}
	reason := string(failed.FailureReason)
	a.FailingStepID = failed.StepID
	a.FailingStepReason = reason
	a.RootCauseSummary = "Step " + failed.StepID + " failed: " + reason
	switch {
	case strings.HasPrefix(reason, AssertCalls+" "):
		a.SuggestedNextAction = ActionCalls
	case strings.Contains(reason, "status expected"):
		a.SuggestedNextAction = ActionStatus
	case strings.Contains(reason, "latency"):
		a.SuggestedNextAction = ActionLatency
	case strings.Contains(reason, "header"):
		a.SuggestedNextAction = ActionHeader
	default:
		a.SuggestedNextAction = ActionOther
	}
	return r
}

// reliabilityScore is clamp(100 − 25·failedSteps − 5·failedAssertions −
// min(20, floor(maxLatencyMS/100)), 0, 100).
func reliabilityScore(failedSteps, failedAssertions int, maxLatencyMS float64) int {
	penalty := 20
	if l := math.Floor(sanitizeLatency(maxLatencyMS) / 100); l < 20 {
		penalty = int(l)
	}
	// Bound the counts so that the arithmetic cannot overflow.
	failedSteps = min(max(failedSteps, 0), 1000)
	failedAssertions = min(max(failedAssertions, 0), 100000)
	return min(max(100-25*failedSteps-5*failedAssertions-penalty, 0), 100)
}

// RunPlan is one run of a scenario in progress: it hands out the steps in
// order, records their outcomes (chaos, assertions) and builds the report.
// It does no I/O and never reads the clock. It is owned by one goroutine
// (the runner's).
type RunPlan struct {
	// RunID is the run's id (14 hex characters from Actor.StartRun).
	RunID string
	// Scenario is the scenario as it was when the run started. Read-only: it
	// shares its steps with the stored scenario.
	Scenario Scenario
	// Seed is the chaos seed.
	Seed int64
	// StartedAt is when the run started.
	StartedAt time.Time
	// OnWire says the runner can have the server carry a wire chaos mode out on a local
	// step's request (the server's own runner can; a run from the command line cannot, and
	// its report says so): see WireChaos.
	OnWire bool

	cur     int // index of the step being run, or -1
	next    int // index of the next step to hand out
	stopped bool
	results []StepResult
	flow    runFlow // variables, retries and repeats (scenario_run.go)
}

// NewRunPlan starts a run of sc (which should be normalized, as every stored
// or decoded scenario is).
func NewRunPlan(sc Scenario, runID string, seed int64, startedAt time.Time) *RunPlan {
	return &RunPlan{RunID: runID, Scenario: sc, Seed: seed, StartedAt: startedAt, cur: -1,
		results: make([]StepResult, 0, len(sc.Steps)), flow: newRunFlow(sc, Variables{})}
}

// Next moves to the next step and reports whether there is one to run. It
// returns false once every step has run, or after a failed step when the
// scenario stops on failure. A step handed out and never recorded is skipped.
// A step to retry or repeat (issue #18) is handed out again; a step whose
// skip_if holds is recorded as skipped and passed over.
func (p *RunPlan) Next() bool {
	if !p.stopped && p.flow.again {
		p.flow.again = false
		p.cur = p.flow.againIndex
		return true
	}
	for !p.stopped && p.next < len(p.Scenario.Steps) {
		p.cur = p.next
		p.next++
		p.flow.attempt, p.flow.iteration = 1, 1
		if p.skipCurrent() {
			continue
		}
		return true
	}
	p.cur = -1
	return false
}

// Index returns the 0-based index of the current step, or -1.
func (p *RunPlan) Index() int { return p.cur }

// Step returns the current step (zero when there is none) with its variables
// expanded. Its maps may be shared with the scenario: read-only.
func (p *RunPlan) Step() Step {
	if p.cur < 0 {
		return Step{}
	}
	return p.resolvedStep()
}

// Request returns the request the current step sends (zero when there is
// none), its variables expanded; a retry waits retry.interval_ms instead of
// delay_ms. Its Headers map is a fresh one.
func (p *RunPlan) Request() StepRequest {
	if p.cur < 0 {
		return StepRequest{}
	}
	st := p.resolvedStep()
	r := NewStepRequest(&st)
	if p.flow.attempt > 1 && st.Retry != nil {
		r.Delay = time.Duration(st.Retry.IntervalMS) * time.Millisecond
	}
	return r
}

// Record records the current step's response and returns its result. view is
// the real response (it is copied, never modified); its x-request-id header
// becomes the trace id, so add one to the view when the response had none.
// latencyMS is measured around the dispatch only (not the delay). calls are
// the counts of the step's expect.calls, in order, taken once its response
// was answered (none for a step without them). Chaos is decided by
// ChaosDecision(Seed, step.Chaos, index) and applied to the copy; then the
// assertions are evaluated (EvaluateStep). Bodies kept in the result are cut
// to MaxReportBodyBytes. Without a current step it returns a zero StepResult
// and records nothing.
func (p *RunPlan) Record(view ResponseView, latencyMS float64, calls ...CallCount) StepResult {
	if p.cur < 0 {
		return StepResult{}
	}
	i := p.cur
	resolved := p.resolvedStep()
	st := &resolved
	v := view.clone()
	trace := v.Headers["x-request-id"]
	applied, draw := ChaosDecision(p.Seed, st.Chaos, i)
	var chaos *ChaosReport
	if applied {
		chaos = &ChaosReport{Mode: st.Chaos.Mode, Simulated: st.Chaos.Simulated(), Draw: draw}
		if d, ok := p.wireChaos(); ok {
			chaos.Decision, chaos.Observed = d.AppendJSON(nil), observedBy(v)
			if !p.OnWire {
				chaos.Observed = notOnWire
			}
		}
		ApplyChaos(&v, st.Chaos.Mode)
	}
	latency := sanitizeLatency(latencyMS)
	shown := truncateText(v.Body, MaxReportBodyBytes)
	assertions, reason, passed := evaluateStep(st, v, latency, shown, calls)
	res := StepResult{
		StepID: st.ID, Status: StatusPass, Request: newRequestReport(NewStepRequest(st)),
		Assertions: assertions, LatencyMS: RoundMS(latency), TraceID: trace,
		FailureReason: OptString(reason), ChaosApplied: applied, Chaos: chaos,
	}
	if !p.checkCurrent(st, &v, latency, &res) {
		passed = false
	}
	v.Body = shown
	res.Response = v
	if !passed {
		res.Status = StatusFail
	}
	if !p.finishCurrent(&res) {
		return res // retried: handed out again by Next
	}
	if !passed && p.Scenario.Defaults.StopOnFail {
		p.stopped = true
	}
	p.results = append(p.results, res)
	p.cur = -1
	return res
}

// Results returns the results recorded so far (shared: read-only).
func (p *RunPlan) Results() []StepResult { return p.results }

// Report builds the run's report (BuildReport) from the results recorded so
// far.
func (p *RunPlan) Report(finishedAt time.Time, durationMS float64) RunReport {
	return BuildReport(RunMeta{RunID: p.RunID, ScenarioID: p.Scenario.ID, Seed: p.Seed,
		StartedAt: p.StartedAt, FinishedAt: finishedAt, DurationMS: durationMS}, p.results)
}
