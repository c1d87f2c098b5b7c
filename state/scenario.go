package state

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"ownhttp/mock"
)

// Error codes of scenarios and runs (spec §5.1, §5.3, §5.4).
const (
	CodeInvalidScenario   = "invalid_scenario"
	CodeScenarioTooLarge  = "scenario_too_large"
	CodeDuplicateScenario = "duplicate_scenario"
	CodeDuplicateRun      = "duplicate_run"
	CodeInvalidSeed       = "invalid_seed"
)

// Scenario and run defaults that are not configuration.
const (
	// DefaultChaosSeed is the seed of a run that names none (spec §0.2).
	DefaultChaosSeed = 1337
	// DefaultRunsLimit is how many runs GET …/runs returns without ?limit=.
	DefaultRunsLimit = 20
	// LocalTarget is the target_id of steps dispatched to this server.
	LocalTarget = "local"
)

// Chaos modes (spec §5.2 step 6).
const (
	ChaosNone       = "none"
	ChaosStatusFlip = "status_flip"
	ChaosDropBody   = "drop_body"
	ChaosFixedError = "fixed_error"
)

// Limits on scenario fields that are ours (the spec has none). They keep a
// stored scenario bounded and every step's request well formed.
const (
	maxScenarioNameLen = 256
	maxStepIDLen       = 128
	maxStepNameLen     = 256
	maxStepPathLen     = 2048
	maxStatusCodes     = 100
)

const (
	msgScenarioNF   = "scenario not found"
	msgRunNF        = "run not found"
	msgScenarioDup  = "scenario already exists"
	msgScenarioMax  = "max scenarios reached"
	msgStepMethod   = "invalid method (allowed: GET, POST, PUT, PATCH, DELETE)"
	msgStepPath     = "path must start with /"
	msgStepPathChar = "path must be printable ASCII without spaces or #"
	msgSeed         = "seed must be integer"
)

// Scenario is a stored scenario (spec §5.1), always in normalized form:
// every step field is filled in. Its JSON form has exactly the fields id,
// name, description, defaults, steps, created_at and updated_at.
//
// A Scenario returned by the Actor shares its Steps (and their maps and
// slices) with the stored one: treat it as read-only.
type Scenario struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"` // trimmed
	Description string           `json:"description"`
	Defaults    ScenarioDefaults `json:"defaults"`
	Steps       []Step           `json:"steps"`
	// Vars are the scenario's own variables (issue #18), the defaults of a run's; nil when
	// there are none, and then absent from the JSON.
	Vars      map[string]string `json:"vars,omitempty"`
	CreatedAt string            `json:"created_at"`
	UpdatedAt string            `json:"updated_at"`
}

// ScenarioDefaults are the run options of a scenario. DecodeScenario sets
// StopOnFail to true when the payload does not say otherwise; a Scenario
// built in Go gets what it says.
type ScenarioDefaults struct {
	StopOnFail bool `json:"stop_on_fail"`
}

// Step is one request of a scenario and what its response must satisfy.
type Step struct {
	ID       string            `json:"id"`        // default "step-<n>"; unique in its scenario
	Name     string            `json:"name"`      // default "Step <n>"
	Method   string            `json:"method"`    // GET, POST, PUT, PATCH or DELETE
	Path     string            `json:"path"`      // request target: "/path?query", trimmed
	TargetID string            `json:"target_id"` // LocalTarget (default) or a target id
	Headers  map[string]string `json:"headers"`   // lower-case names; never nil
	Body     string            `json:"body"`
	DelayMS  int64             `json:"delay_ms"` // 0..MaxStepDelay in ms
	Chaos    *Chaos            `json:"chaos"`    // nil: no chaos
	Expect   Expect            `json:"expect"`

	// Issue #18, each absent from the JSON when unset so that a scenario without them
	// reads as the original's (scenario_check.go, scenario_vars.go).
	Captures []Capture  `json:"captures,omitempty"` // values kept for later steps
	Retry    *Retry     `json:"retry,omitempty"`    // run again while its checks fail
	Repeat   int        `json:"repeat,omitempty"`   // run this many times (0 and 1: once)
	SkipIf   *Assertion `json:"skip_if,omitempty"`  // not run when it holds (on variables)
	// Include makes the step stand for another file's steps; ExpandIncludes replaces it.
	// Such a step has no request of its own and is never run.
	Include *Include `json:"include,omitempty"`
	// Scope lists the includes a step came through, outermost first (set by
	// ExpandIncludes): its variables are looked up, and its captures stored, there.
	Scope []IncludeScope `json:"scope,omitempty"`
}

// Chaos describes the fault a step may inject. The original's modes (ChaosStatusFlip,
// ChaosDropBody, ChaosFixedError) are simulated: they change the step's view of the
// response, not the response. Any other mode is a wire fault's kind (package mock's Plan:
// "reset", "drip", …) with its parameters in Params: a local step then asks the server to
// carry that fault out on the step's own request, on the wire (see RunPlan.WireChaos).
type Chaos struct {
	Enabled     bool    `json:"enabled"`
	Mode        string  `json:"mode"`        // ChaosNone, a simulated mode, or a wire fault's kind
	Probability float64 `json:"probability"` // 0..1
	SeedOffset  int64   `json:"seed_offset"`
	// Params are a wire fault's parameters ({"after_bytes": 512}); absent for the others.
	Params json.RawMessage `json:"params,omitempty"`

	wire *mock.Plan // the wire fault, compiled from Mode and Params; nil for the others
}

// Simulated reports whether the mode only changes the step's view of the response.
func (c *Chaos) Simulated() bool {
	switch c.Mode {
	case ChaosStatusFlip, ChaosDropBody, ChaosFixedError:
		return true
	}
	return false
}

// Expect lists a step's assertions.
type Expect struct {
	Status       []int             `json:"status"`        // allowed statuses, never empty (default [200])
	BodyContains []string          `json:"body_contains"` // never nil
	HeaderEquals map[string]string `json:"header_equals"` // lower-case names; never nil
	MaxLatencyMS *int64            `json:"max_latency_ms"`
	// Calls assert on how many journal requests meet a query (calls.go); nil when there
	// are none, and then absent from the JSON, so that a scenario without them reads as
	// the original's.
	Calls []CallExpect `json:"calls,omitempty"`
	// Assert are predicates on queries of the response (issue #18, scenario_check.go); nil
	// when there are none, and then absent from the JSON.
	Assert []Assertion `json:"assert,omitempty"`
	// AnyStatus accepts every status (a Hurl entry without "HTTP <status>", or "HTTP *"):
	// the status assertion then always passes. Absent from the JSON when false.
	AnyStatus bool `json:"any_status,omitempty"`
}

// assertionCount is the spec's count: 1 (status) + len(body_contains) +
// len(header_equals) + 1 if max_latency_ms; plus ours, len(calls).
func (e *Expect) assertionCount() int {
	n := 1 + len(e.BodyContains) + len(e.HeaderEquals) + len(e.Calls) + len(e.Assert)
	if e.MaxLatencyMS != nil {
		n++
	}
	return n
}

// ScenarioLimits bound a scenario's size. Zero fields take the defaults
// (50 steps, 20 assertions per step, 30 s of delay per step).
type ScenarioLimits struct {
	MaxSteps      int
	MaxAssertions int
	MaxStepDelay  time.Duration
}

func (l ScenarioLimits) withDefaults() ScenarioLimits {
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxAssertions <= 0 {
		l.MaxAssertions = DefaultMaxAssertions
	}
	if l.MaxStepDelay <= 0 {
		l.MaxStepDelay = DefaultMaxStepDelay
	}
	return l
}

// noScenarioLimits lifts every bound of ScenarioLimits, for loading a stored
// scenario: limits bound what the API creates, not what was accepted before.
func noScenarioLimits() ScenarioLimits {
	return ScenarioLimits{MaxSteps: math.MaxInt, MaxAssertions: math.MaxInt, MaxStepDelay: math.MaxInt64}
}

func invalidScenario(msg string) *Error { return newErr(KindInvalid, CodeInvalidScenario, msg) }

// stepErr is an invalid_scenario error about step n (1-based): "step n: msg".
func stepErr(n int, msg string) *Error {
	return invalidScenario("step " + strconv.Itoa(n) + ": " + msg)
}

// normalizeScenario validates a scenario built in Go (or decoded) and fills
// its defaults, exactly as DecodeScenario does; it is idempotent. It does not
// modify the maps or slices of sc: normalized steps get fresh ones.
func normalizeScenario(sc *Scenario, lim ScenarioLimits) *Error {
	if e := normalizeName(sc); e != nil {
		return e
	}
	if e := checkStepCount(len(sc.Steps), lim); e != nil {
		return e
	}
	steps := make([]Step, len(sc.Steps))
	for i := range sc.Steps {
		steps[i] = sc.Steps[i]
		if e := normalizeStep(&steps[i], i+1, lim); e != nil {
			return e
		}
	}
	sc.Steps = steps
	if e := checkStepIDs(sc.Steps); e != nil {
		return e
	}
	return checkScenarioID(sc.ID)
}

func normalizeName(sc *Scenario) *Error {
	sc.Name = strings.TrimSpace(sc.Name)
	if sc.Name == "" {
		return invalidScenario("scenario name is required")
	}
	if len(sc.Name) > maxScenarioNameLen {
		return invalidScenario("scenario name must be at most 256 bytes")
	}
	return nil
}

func checkStepCount(n int, lim ScenarioLimits) *Error {
	if n == 0 {
		return invalidScenario("scenario must contain at least one step")
	}
	if n > lim.MaxSteps {
		return newErr(KindTooLarge, CodeScenarioTooLarge, "scenario has too many steps")
	}
	return nil
}

func checkScenarioID(id string) *Error {
	if id == "" {
		return nil
	}
	if !validID(id) {
		return invalidScenario("id must be " + idRule)
	}
	if id == "runs" {
		return invalidScenario("id runs is reserved")
	}
	return nil
}

// checkStepIDs reports the first step whose id repeats an earlier one.
func checkStepIDs(steps []Step) *Error {
	seen := make(map[string]int, len(steps))
	for i, st := range steps {
		if j, dup := seen[st.ID]; dup {
			return stepErr(i+1, fmt.Sprintf("id %q is already used by step %d", st.ID, j))
		}
		seen[st.ID] = i + 1
	}
	return nil
}

// decodeStep type-checks step n's object into a Step whose values are not

// normalizeStep validates step n's values and fills its defaults. It
// replaces the step's maps and slices with fresh ones (the input's are only
// read). Order: method, path, headers, delay_ms, chaos, expect, assertion
// count, id, name, target_id.
func normalizeStep(st *Step, n int, lim ScenarioLimits) *Error {
	if st.Include != nil {
		return normalizeIncludeStep(st, n)
	}
	if e := normalizeFlow(st, n); e != nil {
		return e
	}
	st.Method = strings.ToUpper(st.Method)
	if !slices.Contains(scenarioMethods, st.Method) {
		return stepErr(n, msgStepMethod)
	}
	st.Path = strings.TrimSpace(st.Path)
	if !strings.HasPrefix(st.Path, "/") {
		return stepErr(n, msgStepPath)
	}
	if !validRequestTarget(st.Path) {
		return stepErr(n, msgStepPathChar)
	}
	if len(st.Path) > maxStepPathLen {
		return stepErr(n, "path must be at most 2048 bytes")
	}
	headers, e := normalizeHeaderMap(st.Headers, n, "headers")
	if e != nil {
		return e
	}
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		switch name {
		case "content-length", "transfer-encoding", "connection":
			return stepErr(n, "header "+name+" is managed by the runner")
		}
		if v := headers[name]; !validFieldValue(v) || len(v) > maxHeaderValLen {
			return stepErr(n, "header values must not contain control characters and must be at most 8192 bytes")
		}
	}
	st.Headers = headers
	if st.DelayMS < 0 {
		return stepErr(n, "delay_ms must be >= 0")
	}
	if maxMS := lim.MaxStepDelay.Milliseconds(); st.DelayMS > maxMS {
		return stepErr(n, "delay_ms must be <= "+strconv.FormatInt(maxMS, 10))
	}
	if st.Chaos != nil {
		c := *st.Chaos
		if c.Mode == "" {
			c.Mode = ChaosNone
		}
		switch c.Mode {
		case ChaosNone, ChaosStatusFlip, ChaosDropBody, ChaosFixedError:
			if len(c.Params) > 0 {
				return stepErr(n, "chaos.params are for wire fault modes only")
			}
		default:
			plan, e := compileWireChaos(c.Mode, c.Params)
			if e != "" {
				return stepErr(n, e)
			}
			c.wire = plan
		}
		if !(c.Probability >= 0 && c.Probability <= 1) { // NaN fails too
			return stepErr(n, "probability must be between 0 and 1")
		}
		st.Chaos = &c
	}
	if e := normalizeExpect(&st.Expect, n); e != nil {
		return e
	}
	if st.Expect.assertionCount() > lim.MaxAssertions {
		return newErr(KindTooLarge, CodeScenarioTooLarge, "step "+strconv.Itoa(n)+": too many assertions")
	}
	if st.ID == "" {
		st.ID = "step-" + strconv.Itoa(n)
	}
	if len(st.ID) > maxStepIDLen || !validFieldValue(st.ID) {
		return stepErr(n, "id must be at most 128 bytes, without control characters")
	}
	if st.Name == "" {
		st.Name = "Step " + strconv.Itoa(n)
	}
	if len(st.Name) > maxStepNameLen || !validFieldValue(st.Name) {
		return stepErr(n, "name must be at most 256 bytes, without control characters")
	}
	if st.TargetID == "" || strings.EqualFold(st.TargetID, LocalTarget) {
		st.TargetID = LocalTarget // "LOCAL" too: no target can have that id
	}
	if st.TargetID != LocalTarget && !validID(st.TargetID) {
		return stepErr(n, "target_id must be local or a target id ("+idRule+")")
	}
	return nil
}

func normalizeExpect(x *Expect, n int) *Error {
	if len(x.Status) == 0 {
		if x.Status != nil {
			return stepErr(n, "status list cannot be empty")
		}
		x.Status = []int{200}
	} else {
		if len(x.Status) > maxStatusCodes {
			return stepErr(n, "expect.status may list at most 100 codes")
		}
		for _, s := range x.Status {
			if s < 100 || s > 599 {
				return stepErr(n, "expect.status values must be between 100 and 599")
			}
		}
		x.Status = slices.Clone(x.Status)
	}
	x.BodyContains = slices.Clone(x.BodyContains)
	if x.BodyContains == nil {
		x.BodyContains = []string{}
	}
	he, e := normalizeHeaderMap(x.HeaderEquals, n, "header_equals")
	if e != nil {
		return e
	}
	x.HeaderEquals = he
	if x.MaxLatencyMS != nil {
		if *x.MaxLatencyMS < 0 {
			return stepErr(n, "max_latency_ms must be >= 0")
		}
		v := *x.MaxLatencyMS
		x.MaxLatencyMS = &v
	}
	calls, e := normalizeCalls(x.Calls, n)
	if e != nil {
		return e
	}
	x.Calls = calls
	return nil
}

// normalizeHeaderMap returns a fresh map with lower-cased names, checking
// that every name is a token and that no two names differ only in case.
// what names the field in messages ("headers" or "header_equals").
func normalizeHeaderMap(in map[string]string, n int, what string) (map[string]string, *Error) {
	out := make(map[string]string, len(in))
	if len(in) > maxMockHeaders {
		return nil, stepErr(n, what+" may hold at most 64 entries")
	}
	for _, k := range slices.Sorted(maps.Keys(in)) {
		if !isToken(k) || len(k) > maxHeaderNameLen {
			return nil, stepErr(n, what+" names must be tokens (RFC 9110) of at most 256 characters")
		}
		lower := strings.ToLower(k)
		if _, dup := out[lower]; dup {
			return nil, stepErr(n, what+" must not repeat a name (names are case-insensitive)")
		}
		out[lower] = in[k]
	}
	return out, nil
}

// scenarioMethods are the methods a step may use.
var scenarioMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// ---- Model ----

// Scenarios returns the scenarios in insertion order (shared, never
// modified).
func (m *Model) Scenarios() []*Scenario { return m.scenarios }

// Scenario returns the scenario with the given id.
func (m *Model) Scenario(id string) (*Scenario, bool) {
	sc, ok := m.scenByID[id]
	return sc, ok
}

// CreateScenario validates sc (as DecodeScenario does; a decoded scenario
// passes unchanged) and stores it with created_at = updated_at = now and a
// random 12-hex id unless it names one. Errors: invalid_scenario and
// scenario_too_large as in DecodeScenario; duplicate_scenario (KindConflict)
// "scenario already exists" for a used id or name (names compared trimmed and
// case-insensitively); scenario_too_large "max scenarios reached" at
// MaxScenarios; KindInternal if the random source fails.
func (m *Model) CreateScenario(sc Scenario, now time.Time) (*Scenario, *Error) {
	ts := FormatTime(now)
	return m.insertScenario(sc, ts, ts, true)
}

// insertScenario validates sc and appends it. create applies the configured
// limits (ScenarioLimits, MaxScenarios): they bound what the API creates, and
// the loader inserts stored scenarios without them.
func (m *Model) insertScenario(sc Scenario, createdAt, updatedAt string, create bool) (*Scenario, *Error) {
	lim := noScenarioLimits()
	if create {
		lim = m.cfg.ScenarioLimits()
	}
	if e := normalizeScenario(&sc, lim); e != nil {
		return nil, e
	}
	if n := hasInclude(&sc); n > 0 && create {
		return nil, errIncludeOnServer(n)
	}
	if e := m.scenarioConflict(&sc, ""); e != nil {
		return nil, e
	}
	if create && len(m.scenarios) >= m.cfg.MaxScenarios {
		return nil, newErr(KindTooLarge, CodeScenarioTooLarge, msgScenarioMax)
	}
	if sc.ID == "" {
		id, e := m.randomID(6, func(id string) bool { _, used := m.scenByID[id]; return used }, "scenario")
		if e != nil {
			return nil, e
		}
		sc.ID = id
	}
	sc.CreatedAt, sc.UpdatedAt = createdAt, updatedAt
	x := &sc
	list := make([]*Scenario, len(m.scenarios), len(m.scenarios)+1)
	copy(list, m.scenarios)
	m.scenarios = append(list, x)
	m.scenByID[x.ID] = x
	return x, nil
}

// scenarioConflict reports a used id, or a name used by a scenario other than
// self.
func (m *Model) scenarioConflict(sc *Scenario, self string) *Error {
	if sc.ID != "" && sc.ID != self {
		if _, dup := m.scenByID[sc.ID]; dup {
			return newErr(KindConflict, CodeDuplicateScenario, msgScenarioDup)
		}
	}
	for _, x := range m.scenarios {
		if x.ID != self && strings.EqualFold(x.Name, sc.Name) {
			return newErr(KindConflict, CodeDuplicateScenario, msgScenarioDup)
		}
	}
	return nil
}

// ReplaceScenario replaces the scenario id with sc in full (PUT): the id
// stays id whatever sc says, created_at and the position are kept, updated_at
// becomes now, and its runs are kept. Errors: not_found "scenario not found",
// and those of CreateScenario except the limit.
func (m *Model) ReplaceScenario(id string, sc Scenario, now time.Time) (*Scenario, *Error) {
	old, ok := m.scenByID[id]
	if !ok {
		return nil, newErr(KindNotFound, CodeNotFound, msgScenarioNF)
	}
	sc.ID = id
	if e := normalizeScenario(&sc, m.cfg.ScenarioLimits()); e != nil {
		return nil, e
	}
	if n := hasInclude(&sc); n > 0 {
		return nil, errIncludeOnServer(n)
	}
	if e := m.scenarioConflict(&sc, id); e != nil {
		return nil, e
	}
	sc.CreatedAt, sc.UpdatedAt = old.CreatedAt, FormatTime(now)
	x := &sc
	list := make([]*Scenario, len(m.scenarios))
	for i, y := range m.scenarios {
		if y == old {
			y = x
		}
		list[i] = y
	}
	m.scenarios = list
	m.scenByID[id] = x
	return x, nil
}

// DeleteScenario removes a scenario and all its runs. Error: not_found
// "scenario not found".
func (m *Model) DeleteScenario(id string) *Error {
	old, ok := m.scenByID[id]
	if !ok {
		return newErr(KindNotFound, CodeNotFound, msgScenarioNF)
	}
	list := make([]*Scenario, 0, len(m.scenarios))
	for _, y := range m.scenarios {
		if y != old {
			list = append(list, y)
		}
	}
	m.scenarios = list
	delete(m.scenByID, id)
	for _, r := range m.runs[id] {
		delete(m.runByID, r.RunID)
	}
	delete(m.runs, id)
	return nil
}

// NewRunID returns 14 random hex characters not used by a stored run.
func (m *Model) NewRunID() (string, *Error) {
	return m.randomID(7, func(id string) bool { _, used := m.runByID[id]; return used }, "run")
}

// AddRun stores a finished run of scenario scenarioID (its ScenarioID is set
// to that) as the newest; when the scenario already has MaxRunsPerScenario
// runs, the oldest is dropped. An empty RunID gets a new one. Errors:
// not_found "scenario not found" (deleted during the run), duplicate_run
// (KindConflict) for a stored run id, invalid_scenario for a run id that
// cannot be used in a URL.
func (m *Model) AddRun(scenarioID string, r RunReport) (*RunReport, *Error) {
	if _, ok := m.scenByID[scenarioID]; !ok {
		return nil, newErr(KindNotFound, CodeNotFound, msgScenarioNF)
	}
	if r.RunID == "" {
		id, e := m.NewRunID()
		if e != nil {
			return nil, e
		}
		r.RunID = id
	}
	if !validID(r.RunID) {
		return nil, invalidScenario("run_id must be " + idRule)
	}
	if _, dup := m.runByID[r.RunID]; dup {
		return nil, newErr(KindConflict, CodeDuplicateRun, "run already exists")
	}
	r.ScenarioID = scenarioID
	if r.StepResults == nil {
		r.StepResults = []StepResult{}
	}
	// JSON has no NaN or infinity: keep every stored run encodable.
	if !sanitizedFloats(&r) {
		steps := slices.Clone(r.StepResults)
		for i := range steps {
			steps[i].LatencyMS = sanitizeLatency(steps[i].LatencyMS)
		}
		r.StepResults = steps
		r.Summary.DurationMS = sanitizeLatency(r.Summary.DurationMS)
		r.Analysis.LatencyBottleneckMS = sanitizeLatency(r.Analysis.LatencyBottleneckMS)
	}
	x := &r
	list := m.runs[scenarioID]
	if len(list) >= m.cfg.MaxRunsPerScenario {
		drop := len(list) - m.cfg.MaxRunsPerScenario + 1
		for _, old := range list[:drop] {
			delete(m.runByID, old.RunID)
		}
		list = append(list[:0:0], list[drop:]...) // a fresh array: do not pin the dropped runs
	}
	m.runs[scenarioID] = append(list, x)
	m.runByID[x.RunID] = x
	return x, nil
}

// sanitizedFloats reports whether every float of r is already what
// sanitizeLatency makes it.
func sanitizedFloats(r *RunReport) bool {
	ok := func(f float64) bool { return f == sanitizeLatency(f) }
	for i := range r.StepResults {
		if !ok(r.StepResults[i].LatencyMS) {
			return false
		}
	}
	return ok(r.Summary.DurationMS) && ok(r.Analysis.LatencyBottleneckMS)
}

// Runs returns the newest max(1, limit) runs of a scenario, newest first
// (empty for an unknown scenario).
func (m *Model) Runs(scenarioID string, limit int) []*RunReport {
	limit = max(limit, 1)
	list := m.runs[scenarioID]
	out := make([]*RunReport, 0, min(limit, len(list)))
	for i := len(list) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, list[i])
	}
	return out
}

// RunByID returns a stored run by id.
func (m *Model) RunByID(runID string) (*RunReport, bool) {
	r, ok := m.runByID[runID]
	return r, ok
}

// allRuns returns every stored run in a fresh slice: by scenario in
// scenario order, oldest first within each (the file order).
func (m *Model) allRuns() []*RunReport {
	n := 0
	for _, list := range m.runs {
		n += len(list)
	}
	out := make([]*RunReport, 0, n)
	for _, sc := range m.scenarios {
		out = append(out, m.runs[sc.ID]...)
	}
	return out
}
