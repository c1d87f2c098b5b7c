package cli

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"ownhttp/state"

	"ownhttp/internal/atomicfile"
)

// localRunner runs a scenario from the CLI.
type localRunner struct {
	client  *cliClient
	vars    state.Variables                           // the run's variables
	onPlan  func(*state.RunPlan)                      // called with the plan before its first step; may be nil
	onStart func(state.Step)                          // before a step's delay; may be nil
	onEnd   func(state.StepRequest, state.StepResult) // after a step; may be nil

	registered []string // the secret values the server was given
}

// run runs every step of sc in order with the given seed and returns the report. It returns
// an error only when the server cannot be reached at all (or ctx ends): a step whose request
// fails under way is a failed step (502 "target dispatch error: …").
func (r *localRunner) run(ctx context.Context, sc state.Scenario, seed int64) (state.RunReport, error) {
	started := time.Now()
	plan := state.NewRunPlan(sc, randomHex(7), seed, started.UTC())
	plan.SetVariables(r.vars)
	if r.onPlan != nil {
		r.onPlan(plan)
	}
	shown := 0 // results shown so far: Next records skipped steps itself
	showSkipped := func() {
		for _, res := range plan.Results()[shown:] {
			if res.Status == state.StatusSkip && r.onEnd != nil {
				r.onEnd(state.StepRequest{Method: res.Request.Method, Path: res.Request.Path, TargetID: res.Request.TargetID}, res)
			}
		}
		shown = len(plan.Results())
	}
	for plan.Next() {
		showSkipped()
		st := plan.Step()
		req := plan.Request()
		if r.onStart != nil {
			r.onStart(st)
		}
		if err := r.wait(ctx, req.Delay); err != nil {
			return state.RunReport{}, err
		}
		r.registerSecrets(ctx, plan.Secrets())
		var view state.ResponseView
		var latencyMS float64
		var err error
		if req.IsLocal() {
			view, latencyMS, err = r.sendLocal(ctx, &st, req)
		} else {
			view, latencyMS, err = r.sendTarget(ctx, req)
		}
		if err != nil {
			return state.RunReport{}, err
		}
		if view.Headers["x-request-id"] == "" {
			view.AddHeader("x-request-id", randomHex(8))
		}
		counts, err := r.countCalls(ctx, st.Expect.Calls)
		if err != nil {
			return state.RunReport{}, err
		}
		res := plan.Record(view, latencyMS, counts...)
		if plan.Retrying() {
			res.Status = state.StatusRetry
		}
		if r.onEnd != nil {
			r.onEnd(req, res)
		}
	}
	showSkipped()
	finished := time.Now()
	return plan.Report(finished.UTC(), msSince(started, finished)), nil
}

// registerSecrets sends the run's secret values to the server once they change (POST
// /api/history/secrets), so that its history shows them as ***. A server that refuses (an
// older one) keeps them: the report and every line printed mask them anyway.
func (r *localRunner) registerSecrets(ctx context.Context, secrets []string) {
	if len(secrets) == 0 || slices.Equal(secrets, r.registered) {
		return
	}
	payload, err := json.Marshal(map[string][]string{"values": secrets})
	if err != nil {
		return
	}
	if status, _, err := r.client.api(ctx, http.MethodPost, "/api/history/secrets", payload); err == nil && status == http.StatusOK {
		r.registered = secrets
	}
}

// wait sleeps a step's delay, or less if ctx ends (its error is returned).
func (r *localRunner) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendLocal sends a local step to the server: the step's method, raw path and body, its
// headers (the runner's default "host: localhost" is dropped: the request names the server
// it goes to, unless the step sets Host itself), and the token unless the step sets its own
// Authorization. latency covers the request and reading the response.
func (r *localRunner) sendLocal(ctx context.Context, st *state.Step, req state.StepRequest) (state.ResponseView, float64, error) {
	h := make(http.Header, len(req.Headers))
	host := ""
	for k, v := range req.Headers {
		if k == "host" {
			if _, own := stepHeader(st, "host"); own {
				host = v
			}
			continue
		}
		h[http.CanonicalHeaderKey(k)] = []string{v}
	}
	hr, err := r.client.newRequest(ctx, req.Method, req.Target, h, []byte(req.Body))
	if err != nil {
		return state.DispatchErrorView(err), 0, nil
	}
	if host != "" {
		hr.Host = host
	}
	start := time.Now()
	resp, body, err := r.client.do(hr)
	latency := msSince(start, time.Now())
	if err != nil {
		return sent(ctx, err, latency)
	}
	return state.NewResponseView(resp.StatusCode, resp.Header, body), latency, nil
}

// countCalls counts a step's expect.calls once its response has been read: one POST
// /api/requests/count per item, its query as the body. The server answers a count only
// once its history holds every request it answered before (its journal barrier), so the
// step's own request is counted. A server out of reach (or the end of ctx) stops the run
// (err); any other failure, or an error answer, is that item's missing count.
func (r *localRunner) countCalls(ctx context.Context, calls []state.CallExpect) ([]state.CallCount, error) {
	if len(calls) == 0 {
		return nil, nil
	}
	out := make([]state.CallCount, len(calls))
	for i := range calls {
		query := []byte(calls[i].Query)
		if len(query) == 0 {
			query = []byte("{}")
		}
		status, body, err := r.client.api(ctx, http.MethodPost, "/api/requests/count", query)
		if err != nil {
			if unreachable(err) || ctx.Err() != nil {
				return nil, err
			}
			out[i].Err = rootCause(err)
			continue
		}
		var got struct {
			Count *int `json:"count"`
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		switch {
		case json.Unmarshal(body, &got) != nil:
			out[i].Err = fmt.Sprintf("POST /api/requests/count answered %d with no JSON", status)
		case status != http.StatusOK:
			out[i].Err = fmt.Sprintf("POST /api/requests/count answered %d %s: %s", status, got.Error.Code, got.Error.Message)
		case got.Count == nil:
			out[i].Err = "POST /api/requests/count answered no count"
		default:
			out[i].N = *got.Count
		}
	}
	return out, nil
}

// sent is what a step's request came to when the client failed: a server out of reach, or
// the end of ctx, stops the run (err); any other failure is a dispatch-error view for the
// step.
func sent(ctx context.Context, err error, latency float64) (state.ResponseView, float64, error) {
	if unreachable(err) || ctx.Err() != nil {
		return state.ResponseView{}, 0, err
	}
	return state.DispatchErrorView(errors.New(rootCause(err))), latency, nil
}

// stepHeader returns the step's own value of a header (names compared case-insensitively).
func stepHeader(st *state.Step, name string) (string, bool) {
	for k, v := range st.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// proxyCall is the body of POST /api/proxy/request.
type proxyCall struct {
	TargetID string            `json:"target_id"`
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	Headers  map[string]string `json:"headers"`
	Body     string            `json:"body"`
}

// proxyAnswer is the 200 answer of POST /api/proxy/request (spec §7.2). Header values may be
// strings or lists of strings.
type proxyAnswer struct {
	Response struct {
		Status  int                        `json:"status"`
		Headers map[string]json.RawMessage `json:"headers"`
		Body    string                     `json:"body"`
	} `json:"response"`
	TraceID string `json:"trace_id"`
}

// sendTarget sends a target step through the server's proxy. The upstream response becomes
// the view, its trace id the proxy's; an error answer of the proxy itself (unknown target:
// 404 target_not_found, 400, 501…) is the view as it is.
func (r *localRunner) sendTarget(ctx context.Context, req state.StepRequest) (state.ResponseView, float64, error) {
	payload, err := json.Marshal(proxyCall{TargetID: req.TargetID, Method: req.Method, Path: req.Target,
		Headers: req.Headers, Body: req.Body})
	if err != nil {
		return state.DispatchErrorView(err), 0, nil
	}
	hr, err := r.client.newRequest(ctx, http.MethodPost, "/api/proxy/request",
		http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, payload)
	if err != nil {
		return state.DispatchErrorView(err), 0, nil
	}
	start := time.Now()
	resp, body, err := r.client.do(hr)
	latency := msSince(start, time.Now())
	if err != nil {
		return sent(ctx, err, latency)
	}
	if resp.StatusCode != http.StatusOK {
		return state.NewResponseView(resp.StatusCode, resp.Header, body), latency, nil
	}
	ans, err := decodeProxyAnswer(body)
	if err != nil {
		return state.DispatchErrorView(fmt.Errorf("proxy answer: %v", err)), latency, nil
	}
	view := state.ResponseView{Status: ans.Response.Status, Headers: map[string]string{}, Body: ans.Response.Body}
	for _, k := range slices.Sorted(maps.Keys(ans.Response.Headers)) {
		view.AddHeader(k, headerText(ans.Response.Headers[k]))
	}
	if view.Headers["x-request-id"] == "" && ans.TraceID != "" {
		view.AddHeader("x-request-id", ans.TraceID)
	}
	return view, latency, nil
}

func decodeProxyAnswer(body []byte) (proxyAnswer, error) {
	var ans proxyAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return ans, err
	}
	if ans.Response.Status < 100 || ans.Response.Status > 999 {
		return ans, fmt.Errorf("no response status")
	}
	return ans, nil
}

// headerText renders a header value given as a JSON string or list of strings ("a, b").
func headerText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, ", ")
	}
	return string(raw)
}

// msSince is the time from start to end in milliseconds.
func msSince(start, end time.Time) float64 {
	return float64(end.Sub(start).Nanoseconds()) / 1e6
}

// pyFloat writes f as the original's Python did (12.3, 10.0): the shortest text that reads
// back as f, with a decimal point.
func pyFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "0.0"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// passFail is PASS or FAIL for a step or run status (SKIP and RETRY for those of a step).
func passFail(status string) string {
	switch status {
	case state.StatusPass:
		return "PASS"
	case state.StatusSkip:
		return "SKIP"
	case state.StatusRetry:
		return "RETRY"
	}
	return "FAIL"
}

// writeProgress writes the line of a finished step:
//
//	PASS create-user-mock  POST /api/mocks  201  3.2ms
//	FAIL request-user      POST /api/users  503  52.0ms  status expected [201] got 503
func writeProgress(w io.Writer, req state.StepRequest, res state.StepResult) {
	line := fmt.Sprintf("%s %-16s %-6s %-24s %3d  %sms", passFail(res.Status), res.StepID, req.Method,
		targetLabel(req), res.Response.Status, strconv.FormatFloat(res.LatencyMS, 'f', 1, 64))
	if res.FailureReason != "" {
		line += "  " + string(res.FailureReason)
	}
	fmt.Fprintln(w, line)
}

// targetLabel is the step's path, prefixed with its target when it is not local.
func targetLabel(req state.StepRequest) string {
	if req.IsLocal() {
		return req.Path
	}
	return req.TargetID + ":" + req.Path
}

// writeStepEnd writes the --live line of a finished step (spec §5.5).
func writeStepEnd(w io.Writer, res state.StepResult) {
	line := fmt.Sprintf("STEP END step=%s status=%s latency_ms=%s", res.StepID, res.Status, pyFloat(res.LatencyMS))
	if res.TraceID != "" {
		line += " trace=" + res.TraceID
	}
	if res.FailureReason != "" {
		line += " reason=" + string(res.FailureReason)
	}
	fmt.Fprintln(w, line)
}

// writeRunSummary writes a report as the original's CLI did (spec §5.5):
//
//	Run: 0f3c… | Scenario: sc1 | Seed: 42
//	Status: pass | Passed: 2 | Failed: 0 | Duration: 61.2ms
//	------------------------------------------------------------------------
//	PASS create-user-mock latency=3.1ms trace=…
//	FAIL request-user latency=52.0ms trace=…
//	      reason: status expected [201] got 503
func writeRunSummary(w io.Writer, r state.RunReport) {
	fmt.Fprintf(w, "Run: %s | Scenario: %s | Seed: %d\n", r.RunID, r.ScenarioID, r.Seed)
	fmt.Fprintf(w, "Status: %s | Passed: %d | Failed: %d | Duration: %sms\n", r.Status, r.Summary.Passed,
		r.Summary.Failed, pyFloat(r.Summary.DurationMS))
	fmt.Fprintln(w, strings.Repeat("-", 72))
	for _, s := range r.StepResults {
		fmt.Fprintf(w, "%s %-12s latency=%sms trace=%s\n", passFail(s.Status), s.StepID, pyFloat(s.LatencyMS), s.TraceID)
		if s.FailureReason != "" {
			fmt.Fprintf(w, "      reason: %s\n", s.FailureReason)
		}
	}
}

// writeJSONOut writes v as indented JSON and a newline.
func writeJSONOut(w io.Writer, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		b = []byte(`{"error":"report could not be encoded"}`)
	}
	w.Write(append(b, '\n'))
}

// JUnit XML (the schema Jenkins, GitLab and GitHub reporters read): one testsuite per
// scenario, one testcase per step; a failed step has a failure element with its reason and
// the failed assertions; steps not run after a failure (stop_on_fail) are skipped.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	ID         string          `xml:"id,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// junitSeconds writes milliseconds as seconds with 3 decimals.
func junitSeconds(ms float64) string { return strconv.FormatFloat(ms/1000, 'f', 3, 64) }

// junitSuiteOf turns a run of sc into a JUnit testsuite: a testcase per step result (a
// repeated step has one per repetition; a skipped step's is skipped), and one skipped
// testcase per step that did not run.
func junitSuiteOf(sc state.Scenario, r state.RunReport) junitSuite {
	suite := junitSuite{Name: sc.Name, ID: sc.ID, Time: junitSeconds(r.Summary.DurationMS),
		Timestamp: strings.TrimSuffix(r.StartedAt, "Z"),
		Properties: []junitProperty{{"run_id", r.RunID}, {"scenario_id", r.ScenarioID},
			{"seed", strconv.FormatInt(r.Seed, 10)}, {"status", r.Status}}}
	ran := make(map[string]bool, len(r.StepResults))
	for _, res := range r.StepResults {
		id, _, _ := strings.Cut(res.StepID, "#")
		ran[id] = true
	}
	results := r.StepResults
	for _, st := range sc.Steps {
		name := func(id string) string {
			if st.Name != "" && st.Name != st.ID {
				return id + " (" + st.Name + ")"
			}
			return id
		}
		if !ran[st.ID] {
			suite.Cases = append(suite.Cases, junitCase{Name: name(st.ID), ClassName: sc.Name, Time: "0.000",
				Skipped: &junitSkipped{Message: "not run: an earlier step failed (stop_on_fail)"}})
			suite.Skipped++
			continue
		}
		for len(results) > 0 {
			res := results[0]
			if id, _, _ := strings.Cut(res.StepID, "#"); id != st.ID {
				break
			}
			results = results[1:]
			c := junitCase{Name: name(res.StepID), ClassName: sc.Name, Time: junitSeconds(res.LatencyMS)}
			switch res.Status {
			case state.StatusSkip:
				c.Skipped = &junitSkipped{Message: string(res.FailureReason)}
				suite.Skipped++
			case state.StatusFail:
				c.Failure = &junitFailure{Message: string(res.FailureReason), Type: "assertion", Text: failedAssertions(res)}
				suite.Failures++
			}
			c.SystemOut = fmt.Sprintf("%s %s -> %d trace=%s chaos_applied=%v", res.Request.Method,
				res.Request.Path, res.Response.Status, res.TraceID, res.ChaosApplied)
			suite.Cases = append(suite.Cases, c)
		}
	}
	suite.Tests = len(suite.Cases)
	return suite
}

// buildJUnit turns runs into one JUnit document, a testsuite per run.
func buildJUnit(runs []fileRun) junitSuites {
	doc := junitSuites{Name: "ownhttp scenarios"}
	total := 0.0
	for _, fr := range runs {
		s := junitSuiteOf(fr.scenario, fr.report)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
		total += fr.report.Summary.DurationMS
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = junitSeconds(total)
	return doc
}

// failedAssertions lists a step's failed assertions, one per line.
func failedAssertions(res state.StepResult) string {
	var b strings.Builder
	for _, a := range res.Assertions {
		if !a.Passed {
			fmt.Fprintf(&b, "%s: expected %s, actual %s\n", a.Type, a.Expected, clip(string(a.Actual), 512))
		}
	}
	return b.String()
}

// clip cuts s to n bytes at a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// writeJUnitFile writes the JUnit report of runs atomically (a temporary file renamed).
func writeJUnitFile(path string, runs []fileRun) error {
	b, err := xml.MarshalIndent(buildJUnit(runs), "", "  ")
	if err != nil {
		return err
	}
	b = append([]byte(xml.Header), append(b, '\n')...)
	return atomicfile.Write(path, b, 0o644)
}
