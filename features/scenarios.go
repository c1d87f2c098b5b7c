package features

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"ownhttp/conn"
	"ownhttp/state"
)

// Scenario API and the runner (issue #5, spec §5).
//
// The CRUD and run-history handlers call the state actor inside x.Go, as every admin API
// does. A run is different: it lasts as long as its steps (their delays, their requests), so
// it runs on a goroutine of its own, never on an event loop and never on the offload pool —
// a run holding an offload worker could starve replay and the other APIs, and a run whose
// local steps need a threadpool worker could deadlock. Runs are bounded by runSlots
// (Config.MaxConcurrentRuns, default 4); past it a run is refused at once with 503
// too_many_runs and Retry-After. The reply is completed through conn.Exchange.Defer.
//
// Local steps are real requests to this server (sendToSelf), so they show up in history,
// metrics and live events like any request, marked with the run and step ids (the
// X-Scenario-Run-ID and X-Scenario-Step-ID headers, honoured only on a request that also
// carries the X-Ownhttp-Self marker; see markScenarioStep). They carry the caller's
// Authorization unless the step sets its own; the report never shows it (state builds the
// report from the step as stored). A request to self, or through the proxy (a target step
// whose target points back at this server), cannot start a run (508 loop_detected, see
// fromSelf), so a step that runs its own scenario — or any other — fails with that status
// instead of recursing or waiting for a run slot held by its own run.
//
// A step's expect.calls (issue #14) are counted once its response is in, over the journal
// after the barrier of journal.go: the step's own request, and what it caused while it was
// answered, are in the count, deterministically (countCalls).

// Error codes of this file.
const (
	codeTooManyRuns  = "too_many_runs"
	codeInvalidLimit = "invalid_limit"
)

// Headers of the run endpoint's response, and of the step requests a run sends to self.
const (
	hdrScenarioRunID  = "X-Scenario-Run-ID"
	hdrScenarioSeed   = "X-Scenario-Seed"
	hdrScenarioID     = "X-Scenario-ID"
	hdrScenarioStatus = "X-Scenario-Status"
	hdrScenarioStepID = "X-Scenario-Step-ID"
)

// Bounds of the run and step ids a request to self may tag itself with (state's run ids are
// 14 hex characters; step ids at most 128 bytes).
const (
	maxTagRunIDLen  = 64
	maxTagStepIDLen = 128
)

// defaultMaxConcurrentRuns applies when Config.MaxConcurrentRuns is not positive.
const defaultMaxConcurrentRuns = 4

// markScenarioStep tags x with the run and step ids its request carries. Serve calls it only
// for requests that carry the self marker, so ordinary requests pay nothing (no allocation).
// Ids that are empty, too long or not printable ASCII are ignored.
func markScenarioStep(x *conn.Exchange) {
	run := x.Req.Header("x-scenario-run-id")
	if !validTag(run, maxTagRunIDLen) {
		return
	}
	step := x.Req.Header("x-scenario-step-id")
	if !validTag(step, maxTagStepIDLen) {
		step = nil
	}
	x.Tags = conn.Tags{RunID: string(run), StepID: string(step)}
}

func validTag(v []byte, max int) bool {
	if len(v) == 0 || len(v) > max {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// runSlots is the bounded run pool: one token per run executing. Its channel is never
// blocked on: a run that finds no free slot is refused.
type runSlots chan struct{}

func newRunSlots(n int) runSlots {
	if n <= 0 {
		n = defaultMaxConcurrentRuns
	}
	return make(runSlots, n)
}

// tryAcquire takes a slot if one is free.
func (s runSlots) tryAcquire() bool {
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

// release returns a slot taken by tryAcquire.
func (s runSlots) release() { <-s }

// ---- CRUD ----

type scenarioListBody struct {
	Scenarios []state.Scenario `json:"scenarios"`
}

type scenarioBody struct {
	Scenario state.Scenario `json:"scenario"`
}

type scenarioDeletedBody struct {
	Deleted bool   `json:"deleted"`
	ID      string `json:"id"`
}

type runBody struct {
	Run state.RunReport `json:"run"`
}

type runListBody struct {
	Runs []state.RunReport `json:"runs"`
}

// scenarioList is GET /api/scenarios: 200 {"scenarios":[…]} in insertion order.
func (a *App) scenarioList(x *conn.Exchange, _ *params) {
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		list, err := st.ListScenarios(ctx)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, scenarioListBody{Scenarios: list})
	})
}

// scenarioCreate is POST /api/scenarios: 201 {"scenario":…} in normalized form. Errors
// (state.DecodeScenario, Actor.CreateScenario): 400 invalid_json or invalid_scenario, 409
// duplicate_scenario, 413 scenario_too_large.
func (a *App) scenarioCreate(x *conn.Exchange, _ *params) {
	payload := append([]byte(nil), x.Body...)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		sc, e := state.DecodeScenario(payload, st.ScenarioLimits())
		if e != nil {
			answerErr(r, e)
			return
		}
		created, err := st.CreateScenario(ctx, sc)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 201, scenarioBody{Scenario: created})
	})
}

// scenarioGet is GET /api/scenarios/{id}: 200 {"scenario":…}, or 404 not_found.
func (a *App) scenarioGet(x *conn.Exchange, p *params) {
	id := string(p[0])
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		sc, err := st.GetScenario(ctx, id)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, scenarioBody{Scenario: sc})
	})
}

// scenarioReplace is PUT /api/scenarios/{id}: a full replacement (name and steps are
// required again; the id comes from the URL, created_at and the runs are kept). 200
// {"scenario":…}, or the errors of scenarioCreate, or 404 not_found.
func (a *App) scenarioReplace(x *conn.Exchange, p *params) {
	id := string(p[0])
	payload := append([]byte(nil), x.Body...)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		sc, e := state.DecodeScenario(payload, st.ScenarioLimits())
		if e != nil {
			answerErr(r, e)
			return
		}
		replaced, err := st.ReplaceScenario(ctx, id, sc)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, scenarioBody{Scenario: replaced})
	})
}

// scenarioDelete is DELETE /api/scenarios/{id}: 200 {"deleted":true,"id":…} (its runs go
// too), or 404 not_found.
func (a *App) scenarioDelete(x *conn.Exchange, p *params) {
	id := string(p[0])
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		if err := st.DeleteScenario(ctx, id); err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, scenarioDeletedBody{Deleted: true, ID: id})
	})
}

// scenarioRuns is GET /api/scenarios/{id}/runs?limit=N: 200 {"runs":[…]}, the newest
// max(1, N) runs first (N defaults to 20); an unknown scenario has none. A limit that is not
// an integer is 400 invalid_limit "limit must be integer".
func (a *App) scenarioRuns(x *conn.Exchange, p *params) {
	limit, ok := parseRunsLimit(string(x.Req.Query))
	if !ok {
		writeErr(x, labErr(state.KindInvalid, codeInvalidLimit, "limit must be integer"))
		return
	}
	id := string(p[0])
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		runs, err := st.Runs(ctx, id, limit)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, runListBody{Runs: runs})
	})
}

// parseRunsLimit reads the limit parameter of a raw query string: state.DefaultRunsLimit
// when absent; otherwise a decimal integer, surrounding spaces allowed (as Python's int()),
// saturated to the int32 range and raised to at least 1. ok is false for anything else,
// including a limit whose escaping is malformed. Other parameters are ignored.
func parseRunsLimit(rawQuery string) (limit int, ok bool) {
	limit = state.DefaultRunsLimit
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		rawKey, rawVal, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil || key != "limit" {
			continue
		}
		val, err := url.QueryUnescape(rawVal)
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, false
		}
		limit = int(min(max(n, 1), math.MaxInt32))
	}
	return limit, true
}

// scenarioRunStore is POST /api/scenarios/{id}/runs (issue #18): it stores a run made
// elsewhere — ownhttp scenario run sends each run it finishes — as the scenario's newest, and
// publishes its events (scenario.run.started, a scenario.step.completed per step,
// scenario.run.completed) so that the tower's timeline shows it as it shows the server's own
// runs. The body is the run report (state.DecodeRunReport). 201 {"run": …} as stored; 400
// invalid_json or invalid_scenario, 404 not_found, 409 duplicate_run.
func (a *App) scenarioRunStore(x *conn.Exchange, p *params) {
	id := string(p[0])
	payload := append([]byte(nil), x.Body...)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		report, e := state.DecodeRunReport(payload)
		if e != nil {
			answerErr(r, e)
			return
		}
		stored, err := st.AddRun(ctx, id, report)
		if err != nil {
			answerErr(r, err)
			return
		}
		st.Publish("scenario.run.started", "", runStartedEvent{ScenarioID: id, RunID: stored.RunID, Seed: stored.Seed})
		for _, res := range stored.StepResults {
			st.Publish("scenario.step.completed", res.TraceID, stepCompletedEvent{ScenarioID: id, RunID: stored.RunID,
				StepID: res.StepID, Status: res.Status, FailureReason: res.FailureReason, LatencyMS: res.LatencyMS,
				TargetID: res.Request.TargetID})
		}
		st.Publish("scenario.run.completed", "", runCompletedEvent{ScenarioID: id, RunID: stored.RunID,
			Status: stored.Status, Summary: stored.Summary, Seed: stored.Seed})
		answerJSON(r, 201, runBody{Run: stored})
	})
}

// historySecrets is POST /api/history/secrets (issue #18): {"values": ["…", …]} are shown
// as *** in every request recorded from now on (history, live events, the journal). The
// command line sends the values of a run's secret variables before the requests that may
// hold them. 200 {"registered": N}; 400 invalid_json or invalid_request. The values are kept in memory only.
func (a *App) historySecrets(x *conn.Exchange, _ *params) {
	payload := append([]byte(nil), x.Body...)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		var body struct {
			Values []string `json:"values"`
		}
		if _, e := state.DecodeJSONObject(payload); e != nil {
			answerErr(r, e)
			return
		}
		if err := json.Unmarshal(payload, &body); err != nil {
			answerErr(r, labErr(state.KindInvalid, state.CodeInvalidRequest, "values must be a list of strings"))
			return
		}
		if err := a.registerSecrets(ctx, st, body.Values); err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, struct {
			Registered int `json:"registered"`
		}{len(body.Values)})
	})
}

// registerSecrets makes history (the state actor) and the access log mask values.
func (a *App) registerSecrets(ctx context.Context, st *state.Actor, values []string) error {
	all, err := st.AddHistorySecrets(ctx, values)
	if err != nil {
		return err
	}
	pairs := make([]string, 0, 2*len(all))
	for _, v := range all {
		pairs = append(pairs, v, state.SecretMask)
	}
	if len(pairs) > 0 {
		a.logSecrets.Store(strings.NewReplacer(pairs...))
	}
	return nil
}

// scenarioRunGet is GET /api/scenarios/runs/{run_id}: 200 {"run":…}, or 404 not_found "run
// not found".
func (a *App) scenarioRunGet(x *conn.Exchange, p *params) {
	id := string(p[0])
	har := queryValue(x.Req.Query, "format") == "har"
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		run, err := st.GetRun(ctx, id)
		if err != nil {
			answerErr(r, err)
			return
		}
		if har {
			answerHAR(r, a.runHAR(st, run), "run-"+run.RunID+".har")
			return
		}
		answerJSON(r, 200, runBody{Run: run})
	})
}

// ---- Runs ----

// runJob is what a run needs from its request, copied before the handler returns.
type runJob struct {
	scenarioID string
	body       []byte // the run request's body ({"seed": N} or empty)
	auth       string // the caller's Authorization, for local steps; never stored
}

// runOutcome is a run's answer: the report (status 200) or an error.
type runOutcome struct {
	report state.RunReport
	err    error
}

// scenarioRun is POST /api/scenarios/{id}/run (spec §5.2, §5.3): it runs the scenario and
// answers 200 {"run": report} with the headers X-Scenario-Run-ID, X-Scenario-Seed,
// X-Scenario-ID and X-Scenario-Status. The body may be empty or {"seed": N} (default
// Config.DefaultChaosSeed). Errors: 508 loop_detected for a request this server sent, to
// itself or through its proxy (a step cannot start a run), 503 too_many_runs (with Retry-After) when
// MaxConcurrentRuns runs are executing, 400 invalid_json or invalid_seed, 404 not_found.
// The run is stored in the scenario's history once done; a scenario deleted during its run
// still gets its report, which is not stored. A client that goes away does not stop its run.
func (a *App) scenarioRun(x *conn.Exchange, p *params) {
	if fromSelf(x) {
		writeErr(x, loopErr("a request sent by this server to itself cannot start a scenario run"))
		return
	}
	if a.cfg.State == nil {
		writeErr(x, labErr(state.KindUnavailable, state.CodeUnavailable, "the state service is not running"))
		return
	}
	if !a.runSlots.tryAcquire() {
		x.Header("Retry-After", "1")
		writeErr(x, labErr(state.KindUnavailable, codeTooManyRuns, "too many scenario runs in progress"))
		return
	}
	job := runJob{scenarioID: string(p[0]), body: append([]byte(nil), x.Body...),
		auth: string(x.Req.Header("authorization"))}
	d := x.Defer()
	go func() {
		out := a.executeRunGuarded(job)
		// The slot is free before the answer leaves: a client that starts its next run on
		// receiving this one's report never finds its own finished run in the way.
		a.runSlots.release()
		d.Done(func(r *conn.Reply) { answerRun(r, out) })
	}()
}

// executeRunGuarded is executeRun with a panic turned into a 500 and a log line.
func (a *App) executeRunGuarded(job runJob) (out runOutcome) {
	defer func() {
		if p := recover(); p != nil {
			a.cfg.Logger.Error("scenario_run_panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out = runOutcome{err: labErr(state.KindInternal, state.CodeInternal, "the run failed")}
		}
	}()
	return a.executeRun(job)
}

// answerRun fills the run endpoint's reply.
func answerRun(r *conn.Reply, out runOutcome) {
	if out.err != nil {
		answerErr(r, out.err)
		return
	}
	rep := out.report
	r.Header(hdrScenarioRunID, rep.RunID)
	r.Header(hdrScenarioSeed, strconv.FormatInt(rep.Seed, 10))
	r.Header(hdrScenarioID, rep.ScenarioID)
	r.Header(hdrScenarioStatus, rep.Status)
	answerJSON(r, 200, runBody{Run: rep})
}

// Event payloads of a run (spec §6.2), each with the run id as well so that concurrent runs
// can be told apart.
type runStartedEvent struct {
	ScenarioID string `json:"scenario_id"`
	RunID      string `json:"run_id"`
	Seed       int64  `json:"seed"`
}

type stepStartedEvent struct {
	ScenarioID string `json:"scenario_id"`
	RunID      string `json:"run_id"`
	StepID     string `json:"step_id"`
	TargetID   string `json:"target_id"`
}

type stepCompletedEvent struct {
	ScenarioID    string          `json:"scenario_id"`
	RunID         string          `json:"run_id"`
	StepID        string          `json:"step_id"`
	Status        string          `json:"status"`
	FailureReason state.OptString `json:"failure_reason"`
	LatencyMS     float64         `json:"latency_ms"`
	TargetID      string          `json:"target_id"`
}

type runCompletedEvent struct {
	ScenarioID string           `json:"scenario_id"`
	RunID      string           `json:"run_id"`
	Status     string           `json:"status"`
	Summary    state.RunSummary `json:"summary"`
	Seed       int64            `json:"seed"`
}

// executeRun runs job's scenario to the end and stores the run. It blocks for as long as
// the run lasts: call it on a run goroutine only. It stops early (the report then holds the
// steps that ran) when the state actor stops, i.e. when the server shuts down.
func (a *App) executeRun(job runJob) runOutcome {
	st := a.cfg.State
	seed, hasSeed, vars, e := state.DecodeRunOptions(job.body)
	if e != nil {
		return runOutcome{err: e}
	}
	if !hasSeed {
		seed = a.cfg.DefaultChaosSeed
	}
	ctx, cancel := context.WithCancel(a.lifetime())
	defer cancel()
	go func() { // the run's stop path: the server shutting down stops the actor
		select {
		case <-st.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	callCtx, callCancel := context.WithTimeout(ctx, stateTimeout)
	plan, err := st.StartRun(callCtx, job.scenarioID, seed)
	callCancel()
	if err != nil {
		return runOutcome{err: err}
	}
	plan.OnWire = true // this runner's local steps are requests to this server
	plan.SetVariables(vars)
	scenarioID := plan.Scenario.ID
	st.Publish("scenario.run.started", "", runStartedEvent{ScenarioID: scenarioID, RunID: plan.RunID, Seed: seed})
	begin := time.Now()
	for plan.Next() {
		req := plan.Request()
		stepID := plan.Step().ID
		st.Publish("scenario.step.started", "", stepStartedEvent{ScenarioID: scenarioID, RunID: plan.RunID,
			StepID: stepID, TargetID: req.TargetID})
		if !sleepCtx(ctx, req.Delay) {
			break
		}
		if secrets := plan.Secrets(); len(secrets) > 0 { // before history records the request
			callCtx, callCancel := context.WithTimeout(ctx, stateTimeout)
			err := a.registerSecrets(callCtx, st, secrets)
			callCancel()
			if err != nil {
				break // the actor stopped: the server is shutting down
			}
		}
		ticket := ""
		if d, ok := plan.WireChaos(); ok {
			ticket = a.tickets.issue(d, wireSource{kind: "scenario", id: plan.RunID, route: stepID, seed: seed})
		}
		view, latencyMS := a.dispatchStep(ctx, plan.RunID, stepID, req, job.auth, ticket)
		a.tickets.drop(ticket)
		res := plan.Record(view, latencyMS, a.countCalls(ctx, st, plan.Step().Expect.Calls)...)
		if plan.Retrying() {
			res.Status = state.StatusRetry // an attempt; the step runs again
		}
		st.Publish("scenario.step.completed", res.TraceID, stepCompletedEvent{ScenarioID: scenarioID,
			RunID: plan.RunID, StepID: res.StepID, Status: res.Status, FailureReason: res.FailureReason,
			LatencyMS: res.LatencyMS, TargetID: req.TargetID})
		a.logStep(plan, res)
	}
	elapsed := time.Since(begin)
	report := plan.Report(begin.Add(elapsed), ms(elapsed))
	callCtx, callCancel = context.WithTimeout(ctx, stateTimeout)
	stored, err := st.AddRun(callCtx, scenarioID, report)
	callCancel()
	switch {
	case err == nil:
		report = stored
	case state.KindOf(err) == state.KindNotFound:
		// The scenario was deleted during the run: the caller still gets the report.
	default:
		a.cfg.Logger.Warn("scenario_run_not_stored", "scenario_id", scenarioID, "run_id", report.RunID,
			"error", err.Error())
	}
	st.Publish("scenario.run.completed", "", runCompletedEvent{ScenarioID: scenarioID, RunID: report.RunID,
		Status: report.Status, Summary: report.Summary, Seed: report.Seed})
	return runOutcome{report: report}
}

// countCalls counts a step's expect.calls once its response has been answered: over the
// journal as it stands after the barrier (journal.go), so the step's own request and what it
// caused while it was answered are counted, deterministically. nil for a step without
// calls; when the journal cannot be read (the server is stopping), each count says why.
func (a *App) countCalls(ctx context.Context, st *state.Actor, calls []state.CallExpect) []state.CallCount {
	if len(calls) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	h, err := a.journal(ctx, st)
	if err != nil {
		_, _, msg := statusOf(err)
		out := make([]state.CallCount, len(calls))
		for i := range out {
			out[i].Err = msg
		}
		return out
	}
	return state.CountCalls(h, calls)
}

// sleepCtx waits d, or less when ctx ends first (then it reports false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// logStep writes the access-log-style line of a finished step (spec §10), with the access
// log.
func (a *App) logStep(plan *state.RunPlan, res state.StepResult) {
	if !a.cfg.AccessLog {
		return
	}
	failed := 0
	for _, as := range res.Assertions {
		if !as.Passed {
			failed++
		}
	}
	a.cfg.Logger.LogAttrs(context.Background(), slog.LevelInfo, "scenario_step",
		slog.String("scenario_id", plan.Scenario.ID),
		slog.String("run_id", plan.RunID),
		slog.String("step_id", res.StepID),
		slog.Int("assertion_fail_count", failed),
		slog.Bool("chaos_applied", res.ChaosApplied),
		slog.String("scenario_seed", strconv.FormatInt(plan.Seed, 10)),
	)
}

// dispatchStep sends one step's request and returns the response view and the latency of
// the dispatch alone (not the delay). Failures become views (state.TargetNotFoundView,
// state.DispatchErrorView, or an error view with the failure's status), never errors.
func (a *App) dispatchStep(ctx context.Context, runID, stepID string, req state.StepRequest, callerAuth, ticket string) (state.ResponseView, float64) {
	if req.IsLocal() {
		sreq := localStepRequest(runID, stepID, req, callerAuth)
		if ticket != "" {
			sreq.header.Set(chaosTicketHeader, ticket)
		}
		begin := time.Now()
		res, err := a.sendToSelf(sreq)
		latency := ms(time.Since(begin))
		if err != nil {
			return state.DispatchErrorView(errors.New(clientErrorText(err))), latency
		}
		view := state.ResponseView{Status: res.Status, Headers: make(map[string]string, len(res.Headers)), Body: res.Body}
		for k, v := range res.Headers {
			view.AddHeader(k, v)
		}
		return view, latency
	}
	t, ok := a.cfg.State.TargetSnapshot().Target(req.TargetID)
	if !ok {
		return state.TargetNotFoundView(), 0
	}
	header := make(http.Header, len(req.Headers))
	for k, v := range req.Headers {
		header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	begin := time.Now()
	res, err := a.proxyDo(ctx, t, req.Method, req.Target, header, []byte(req.Body), t.Timeout())
	latency := ms(time.Since(begin))
	if err != nil {
		return targetErrorView(err), latency
	}
	view := state.NewResponseView(res.Status, res.Header, res.Body)
	if view.Headers["x-request-id"] == "" && res.TraceID != "" {
		view.AddHeader("x-request-id", res.TraceID)
	}
	return view, latency
}

// localStepRequest builds the request to self of a local step: the step's headers (its host
// becomes the Host header), the caller's Authorization unless the step sets its own, and the
// run and step ids that mark the request in history and events (they override the step's
// own headers of those names).
func localStepRequest(runID, stepID string, req state.StepRequest, callerAuth string) selfRequest {
	h := make(http.Header, len(req.Headers)+3)
	host := ""
	for k, v := range req.Headers {
		if k == "host" {
			host = v
			continue
		}
		h[http.CanonicalHeaderKey(k)] = []string{v}
	}
	if _, own := req.Headers["authorization"]; !own && callerAuth != "" {
		h.Set("Authorization", callerAuth)
	}
	h.Set(hdrScenarioRunID, runID)
	h.Set(hdrScenarioStepID, stepID)
	return selfRequest{method: req.Method, target: req.Target, header: h, body: req.Body, host: host}
}

// targetErrorView is the view of a target step whose proxying failed: an upstream failure
// or timeout (a status of 500 or more) reads as the spec's "target dispatch error" with that
// status; a refusal (a forbidden or disabled target) as a JSON error with its status; an
// error that is not a product error as a 502.
func targetErrorView(err error) state.ResponseView {
	var se *state.Error
	if !errors.As(err, &se) {
		return state.DispatchErrorView(err)
	}
	status, code, msg := statusOf(err)
	if status >= 500 {
		v := state.DispatchErrorView(errors.New(msg))
		v.Status = status
		return v
	}
	return state.ResponseView{Status: status, Headers: map[string]string{"content-type": jsonType}, Body: string(errorJSON(code, msg))}
}
