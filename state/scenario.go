package state

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
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
	CreatedAt   string           `json:"created_at"`
	UpdatedAt   string           `json:"updated_at"`
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
}

// Chaos describes the fault a step may inject into its response view.
type Chaos struct {
	Enabled     bool    `json:"enabled"`
	Mode        string  `json:"mode"`        // ChaosNone, ChaosStatusFlip, ChaosDropBody or ChaosFixedError
	Probability float64 `json:"probability"` // 0..1
	SeedOffset  int64   `json:"seed_offset"`
}

// Expect lists a step's assertions.
type Expect struct {
	Status       []int             `json:"status"`        // allowed statuses, never empty (default [200])
	BodyContains []string          `json:"body_contains"` // never nil
	HeaderEquals map[string]string `json:"header_equals"` // lower-case names; never nil
	MaxLatencyMS *int64            `json:"max_latency_ms"`
}

// assertionCount is the spec's count: 1 (status) + len(body_contains) +
// len(header_equals) + 1 if max_latency_ms.
func (e *Expect) assertionCount() int {
	n := 1 + len(e.BodyContains) + len(e.HeaderEquals)
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

func invalidScenario(msg string) *Error { return newErr(KindInvalid, CodeInvalidScenario, msg) }

// stepErr is an invalid_scenario error about step n (1-based): "step n: msg".
func stepErr(n int, msg string) *Error {
	return invalidScenario("step " + strconv.Itoa(n) + ": " + msg)
}

// DecodeScenario decodes and validates a POST or PUT /api/scenarios body (or
// a scenario file of the CLI) and returns the normalized scenario, with ID
// empty unless the payload names one, and no timestamps (the Model stamps
// them). It never panics. Unknown keys are ignored.
//
// Errors: invalid_json for a body that is not a UTF-8 JSON object;
// invalid_scenario (KindInvalid) with the spec's messages ("step N: …", N
// counted from 1) for every wrong type or value; scenario_too_large
// (KindTooLarge) for more than MaxSteps steps or more than MaxAssertions
// assertions in a step.
//
// Types (the spec's rules, with our fixes):
//   - null counts as absent (the default applies) everywhere except for the
//     numbers delay_ms, probability, seed_offset and expect.status, which must
//     be numbers when present: {"delay_ms": null} is an error.
//   - integers are JSON numbers with an integral value (5, 5.0); strings
//     holding numbers ("5") are errors.
//   - header values, header_equals values and body_contains items may be
//     strings, numbers or booleans; numbers and booleans become their JSON
//     text ("5", "true"). null, objects and arrays are errors.
//   - body is a string kept verbatim, or any other JSON value kept as its
//     compact JSON text.
//   - the id, if given, is 1 to 64 letters, digits, '.', '_' or '-' (it is
//     used in URLs), and not "runs" (GET /api/scenarios/runs/{run_id}).
//
// Step methods are GET, POST, PUT, PATCH (our addition) and DELETE. A step
// path must start with / and be a valid request target: printable ASCII with
// no spaces or #, at most 2048 bytes. Step header names must be RFC 9110
// tokens, unique case-insensitively; Content-Length, Transfer-Encoding and
// Connection are refused (the runner frames the request). Step ids must be
// unique within the scenario.
func DecodeScenario(body []byte, limits ScenarioLimits) (Scenario, *Error) {
	obj, e := DecodeJSONObject(body)
	if e != nil {
		return Scenario{}, e
	}
	return scenarioFromObject(obj, limits.withDefaults())
}

// scenarioFromObject decodes a scenario object; lim has its defaults.
func scenarioFromObject(obj map[string]json.RawMessage, lim ScenarioLimits) (Scenario, *Error) {
	var sc Scenario
	if raw, ok := present(obj, "name"); ok {
		s, ok := decodeString(raw)
		if !ok {
			return sc, invalidScenario("name must be a string")
		}
		sc.Name = s
	}
	if e := normalizeName(&sc); e != nil {
		return sc, e
	}
	if raw, ok := present(obj, "description"); ok {
		s, ok := decodeString(raw)
		if !ok {
			return sc, invalidScenario("description must be a string")
		}
		sc.Description = s
	}
	var steps []json.RawMessage
	if raw, ok := obj["steps"]; ok {
		list, ok := decodeArray(raw)
		if !ok {
			return sc, invalidScenario("steps must be a list")
		}
		steps = list
	}
	if e := checkStepCount(len(steps), lim); e != nil {
		return sc, e
	}
	sc.Defaults.StopOnFail = true
	if raw, ok := present(obj, "defaults"); ok {
		d, ok := decodeObject(raw)
		if !ok {
			return sc, invalidScenario("defaults must be an object")
		}
		if raw, ok := present(d, "stop_on_fail"); ok {
			b, ok := decodeBool(raw)
			if !ok {
				return sc, invalidScenario("defaults.stop_on_fail must be a boolean")
			}
			sc.Defaults.StopOnFail = b
		}
	}
	sc.Steps = make([]Step, 0, len(steps))
	for i, raw := range steps {
		st, e := decodeStep(raw, i+1)
		if e != nil {
			return sc, e
		}
		if e := normalizeStep(&st, i+1, lim); e != nil {
			return sc, e
		}
		sc.Steps = append(sc.Steps, st)
	}
	if e := checkStepIDs(sc.Steps); e != nil {
		return sc, e
	}
	if raw, ok := present(obj, "id"); ok {
		s, ok := decodeString(raw)
		if !ok {
			return sc, invalidScenario("id must be a string")
		}
		sc.ID = s
	}
	return sc, checkScenarioID(sc.ID)
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
		return invalidScenario("id must be 1 to 64 letters, digits, '.', '_' or '-'")
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
// yet validated (normalizeStep does that).
func decodeStep(raw json.RawMessage, n int) (Step, *Error) {
	var st Step
	obj, ok := decodeObject(raw)
	if !ok {
		return st, invalidScenario("step " + strconv.Itoa(n) + " must be an object")
	}
	str := func(key, msg string) (string, *Error) {
		raw, ok := present(obj, key)
		if !ok {
			return "", nil
		}
		s, ok := decodeString(raw)
		if !ok {
			return "", stepErr(n, msg)
		}
		return s, nil
	}
	var e *Error
	if st.Method, e = str("method", msgStepMethod); e != nil {
		return st, e
	}
	if st.Path, e = str("path", msgStepPath); e != nil {
		return st, e
	}
	if raw, ok := present(obj, "headers"); ok {
		if st.Headers, e = decodeTextMap(raw, n, "headers must be an object", "header values must be strings, numbers or booleans"); e != nil {
			return st, e
		}
	}
	if raw, ok := present(obj, "body"); ok {
		if st.Body, ok = decodeBodyText(raw); !ok {
			return st, stepErr(n, "body must be valid json")
		}
	}
	if raw, ok := obj["delay_ms"]; ok {
		if st.DelayMS, _, ok = decodeIntSat(raw); !ok {
			return st, stepErr(n, "delay_ms must be an integer")
		}
	}
	if raw, ok := present(obj, "chaos"); ok {
		if st.Chaos, e = decodeChaos(raw, n); e != nil {
			return st, e
		}
	}
	if raw, ok := present(obj, "expect"); ok {
		if st.Expect, e = decodeExpect(raw, n); e != nil {
			return st, e
		}
	}
	if st.ID, e = str("id", "id must be a string"); e != nil {
		return st, e
	}
	if st.Name, e = str("name", "name must be a string"); e != nil {
		return st, e
	}
	if st.TargetID, e = str("target_id", "target_id must be a string"); e != nil {
		return st, e
	}
	return st, nil
}

func decodeChaos(raw json.RawMessage, n int) (*Chaos, *Error) {
	obj, ok := decodeObject(raw)
	if !ok {
		return nil, stepErr(n, "chaos must be an object")
	}
	c := &Chaos{Mode: ChaosNone}
	if raw, ok := present(obj, "enabled"); ok {
		if c.Enabled, ok = decodeBool(raw); !ok {
			return nil, stepErr(n, "chaos.enabled must be a boolean")
		}
	}
	if raw, ok := present(obj, "mode"); ok {
		if c.Mode, ok = decodeString(raw); !ok || c.Mode == "" {
			return nil, stepErr(n, "invalid chaos mode")
		}
	}
	if raw, ok := obj["probability"]; ok {
		if c.Probability, ok = decodeFloat(raw); !ok {
			return nil, stepErr(n, "probability must be a number")
		}
	}
	if raw, ok := obj["seed_offset"]; ok {
		if c.SeedOffset, ok = decodeInt(raw); !ok {
			return nil, stepErr(n, "seed_offset must be an integer")
		}
	}
	return c, nil
}

func decodeExpect(raw json.RawMessage, n int) (Expect, *Error) {
	var x Expect
	obj, ok := decodeObject(raw)
	if !ok {
		return x, stepErr(n, "expect must be an object")
	}
	const msgStatus = "expect.status must be an integer or a list of integers"
	if raw, ok := obj["status"]; ok {
		if list, isList := decodeArray(raw); isList {
			x.Status = make([]int, 0, len(list))
			for _, item := range list {
				v, _, ok := decodeIntSat(item)
				if !ok {
					return x, stepErr(n, msgStatus)
				}
				x.Status = append(x.Status, clampInt(v))
			}
			if len(x.Status) == 0 {
				return x, stepErr(n, "status list cannot be empty")
			}
		} else {
			v, _, ok := decodeIntSat(raw)
			if !ok {
				return x, stepErr(n, msgStatus)
			}
			x.Status = []int{clampInt(v)}
		}
	}
	if raw, ok := present(obj, "body_contains"); ok {
		list, ok := decodeArray(raw)
		if !ok {
			return x, stepErr(n, "body_contains must be a list")
		}
		x.BodyContains = make([]string, 0, len(list))
		for _, item := range list {
			s, ok := decodeScalarText(item)
			if !ok {
				return x, stepErr(n, "body_contains items must be strings, numbers or booleans")
			}
			x.BodyContains = append(x.BodyContains, s)
		}
	}
	if raw, ok := present(obj, "header_equals"); ok {
		var e *Error
		if x.HeaderEquals, e = decodeTextMap(raw, n, "header_equals must be an object", "header_equals values must be strings, numbers or booleans"); e != nil {
			return x, e
		}
	}
	if raw, ok := present(obj, "max_latency_ms"); ok {
		v, _, ok := decodeIntSat(raw)
		if !ok {
			return x, stepErr(n, "max_latency_ms must be an integer or null")
		}
		x.MaxLatencyMS = &v
	}
	return x, nil
}

// decodeTextMap decodes an object whose values are strings, numbers or
// booleans (converted to text).
func decodeTextMap(raw json.RawMessage, n int, msgObj, msgVal string) (map[string]string, *Error) {
	obj, ok := decodeObject(raw)
	if !ok {
		return nil, stepErr(n, msgObj)
	}
	out := make(map[string]string, len(obj))
	for _, k := range sortedKeys(obj) {
		s, ok := decodeScalarText(obj[k])
		if !ok {
			return nil, stepErr(n, msgVal)
		}
		out[k] = s
	}
	return out, nil
}

// normalizeStep validates step n's values and fills its defaults. It
// replaces the step's maps and slices with fresh ones (the input's are only
// read). Order: method, path, headers, delay_ms, chaos, expect, assertion
// count, id, name, target_id.
func normalizeStep(st *Step, n int, lim ScenarioLimits) *Error {
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
	for _, name := range sortedKeys(headers) {
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
		default:
			return stepErr(n, "invalid chaos mode")
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
	if st.TargetID == "" {
		st.TargetID = LocalTarget
	}
	if st.TargetID != LocalTarget && !validID(st.TargetID) {
		return stepErr(n, "target_id must be local or a target id (1 to 64 letters, digits, '.', '_' or '-')")
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
	for _, k := range sortedKeys(in) {
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

// validRequestTarget reports whether s can be sent as an origin-form request
// target: printable ASCII without spaces or '#'.
func validRequestTarget(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

// DecodeRunRequest decodes the optional body of POST /api/scenarios/{id}/run:
// {"seed": N}. An empty body, an absent seed or a null seed give
// hasSeed=false (the caller uses its default, normally DefaultChaosSeed). A
// seed is an integral JSON number or a string holding a decimal integer (the
// original used int()); anything else is invalid_seed "seed must be integer".
// A body that is not a JSON object is invalid_json.
func DecodeRunRequest(body []byte) (seed int64, hasSeed bool, err *Error) {
	obj, e := DecodeJSONObject(body)
	if e != nil {
		return 0, false, e
	}
	raw, ok := present(obj, "seed")
	if !ok {
		return 0, false, nil
	}
	if s, isStr := decodeString(raw); isStr {
		v, perr := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if perr != nil {
			return 0, false, newErr(KindInvalid, CodeInvalidSeed, msgSeed)
		}
		return v, true, nil
	}
	v, ok := decodeInt(raw)
	if !ok {
		return 0, false, newErr(KindInvalid, CodeInvalidSeed, msgSeed)
	}
	return v, true, nil
}

// ---- JSON helpers shared by the scenario and target decoders ----

// present returns obj[key] when it exists and is not null.
func present(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := obj[key]
	if !ok || isNull(bytes.TrimSpace(raw)) {
		return nil, false
	}
	return raw, true
}

// firstByte returns the first non-space byte of raw, or 0.
func firstByte(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func decodeString(raw json.RawMessage) (string, bool) {
	var s string
	if firstByte(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func decodeBool(raw json.RawMessage) (bool, bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func decodeObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if firstByte(raw) != '{' || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

func decodeArray(raw json.RawMessage) ([]json.RawMessage, bool) {
	var list []json.RawMessage
	if firstByte(raw) != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	if list == nil {
		list = []json.RawMessage{}
	}
	return list, true
}

// decodeNumber returns the literal of a JSON number, or false.
func decodeNumber(raw json.RawMessage) (string, bool) {
	c := firstByte(raw)
	if c != '-' && (c < '0' || c > '9') {
		return "", false
	}
	var num json.Number
	if json.Unmarshal(raw, &num) != nil {
		return "", false
	}
	return num.String(), true
}

// decodeInt accepts a JSON number with an integral value that fits in an
// int64 (5, 5.0, 5e2).
func decodeInt(raw json.RawMessage) (int64, bool) {
	v, exact, ok := decodeIntSat(raw)
	return v, ok && exact
}

// decodeIntSat accepts a JSON number with an integral value; one beyond the
// int64 range saturates (exact is false), so that range checks report it as
// too large rather than as not an integer.
func decodeIntSat(raw json.RawMessage) (v int64, exact, ok bool) {
	lit, ok := decodeNumber(raw)
	if !ok {
		return 0, false, false
	}
	if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return v, true, true
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, false, false // a fraction, or a number too close to 0
	}
	switch {
	case f < -(1 << 63):
		return math.MinInt64, false, true
	case f >= 1<<63:
		return math.MaxInt64, false, true
	}
	return int64(f), true, true
}

// decodeFloat accepts any finite JSON number.
func decodeFloat(raw json.RawMessage) (float64, bool) {
	lit, ok := decodeNumber(raw)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// decodeScalarText converts a string, number or boolean to text: a string
// as is, a number or boolean as its JSON literal.
func decodeScalarText(raw json.RawMessage) (string, bool) {
	if s, ok := decodeString(raw); ok {
		return s, true
	}
	if b, ok := decodeBool(raw); ok {
		return strconv.FormatBool(b), true
	}
	return decodeNumber(raw)
}

// decodeBodyText returns a string value verbatim, or any other JSON value as
// its compact JSON text.
func decodeBodyText(raw json.RawMessage) (string, bool) {
	if firstByte(raw) == '"' {
		return decodeString(raw)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return "", false
	}
	return buf.String(), true
}

// clampInt converts v to int, mapping values beyond ±1e9 to -1 so that a
// conversion can never wrap into a valid range.
func clampInt(v int64) int {
	if v < -1e9 || v > 1e9 {
		return -1
	}
	return int(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

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
	return m.insertScenario(sc, ts, ts)
}

func (m *Model) insertScenario(sc Scenario, createdAt, updatedAt string) (*Scenario, *Error) {
	if e := normalizeScenario(&sc, m.cfg.ScenarioLimits()); e != nil {
		return nil, e
	}
	if e := m.scenarioConflict(&sc, ""); e != nil {
		return nil, e
	}
	if len(m.scenarios) >= m.cfg.MaxScenarios {
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
		return nil, invalidScenario("run_id must be 1 to 64 letters, digits, '.', '_' or '-'")
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

// ---- Actor ----

// ScenarioLimits returns the limits to pass to DecodeScenario. It never
// blocks.
func (a *Actor) ScenarioLimits() ScenarioLimits { return a.cfg.ScenarioLimits() }

// ListScenarios returns the scenarios in insertion order (never nil).
func (a *Actor) ListScenarios(ctx context.Context) ([]Scenario, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) ([]Scenario, *Error, bool) {
		out := make([]Scenario, len(m.scenarios))
		for i, sc := range m.scenarios {
			out[i] = *sc
		}
		return out, nil, false
	})
}

// GetScenario returns a scenario by id (not_found "scenario not found").
func (a *Actor) GetScenario(ctx context.Context, id string) (Scenario, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) (Scenario, *Error, bool) {
		sc, ok := m.scenByID[id]
		if !ok {
			return Scenario{}, newErr(KindNotFound, CodeNotFound, msgScenarioNF), false
		}
		return *sc, nil, false
	})
}

// CreateScenario stores a scenario (see Model.CreateScenario); pass the
// result of DecodeScenario. With a ScenarioFile it returns only once the
// scenario is on disk; if that write fails the error is KindInternal
// persist_failed and the scenario stays in memory, saved by the next
// successful write.
func (a *Actor) CreateScenario(ctx context.Context, sc Scenario) (Scenario, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, now time.Time) (Scenario, *Error, bool) {
		x, e := m.CreateScenario(sc, now)
		if e != nil {
			return Scenario{}, e, false
		}
		return *x, nil, true
	})
}

// ReplaceScenario replaces a scenario in full (PUT; see
// Model.ReplaceScenario); durability as for CreateScenario.
func (a *Actor) ReplaceScenario(ctx context.Context, id string, sc Scenario) (Scenario, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, now time.Time) (Scenario, *Error, bool) {
		x, e := m.ReplaceScenario(id, sc, now)
		if e != nil {
			return Scenario{}, e, false
		}
		return *x, nil, true
	})
}

// DeleteScenario removes a scenario and its runs (not_found if absent);
// durability as for CreateScenario.
func (a *Actor) DeleteScenario(ctx context.Context, id string) error {
	_, err := callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) (struct{}, *Error, bool) {
		if e := m.DeleteScenario(id); e != nil {
			return struct{}{}, e, false
		}
		return struct{}{}, nil, true
	})
	return err
}

// StartRun prepares a run of a scenario: a copy of the scenario as it is now,
// a new 14-hex run id and the start time, with the given seed (callers use
// DefaultChaosSeed, or their configured default, when the request names
// none). Nothing is stored until AddRun. Error: not_found "scenario not
// found".
func (a *Actor) StartRun(ctx context.Context, scenarioID string, seed int64) (*RunPlan, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, now time.Time) (*RunPlan, *Error, bool) {
		sc, ok := m.scenByID[scenarioID]
		if !ok {
			return nil, newErr(KindNotFound, CodeNotFound, msgScenarioNF), false
		}
		id, e := m.NewRunID()
		if e != nil {
			return nil, e, false
		}
		return NewRunPlan(*sc, id, seed, now), nil, false
	})
}

// AddRun stores a finished run (see Model.AddRun) and returns it as stored.
// With a ScenarioFile it returns only once the run is on disk (persist_failed
// as for CreateScenario). A run of a scenario deleted meanwhile is not
// stored (not_found); the caller may still show its report. The stored run
// shares report's slices and maps: neither the caller nor anyone else may
// modify them afterwards. A report that cannot be encoded as JSON (an
// assertion's Expected or Actual that is not valid JSON) is refused with
// KindInvalid before it reaches the actor.
func (a *Actor) AddRun(ctx context.Context, scenarioID string, report RunReport) (RunReport, error) {
	for _, st := range report.StepResults {
		for _, as := range st.Assertions {
			if as.Expected != nil && !json.Valid(as.Expected) || as.Actual != nil && !json.Valid(as.Actual) {
				return RunReport{}, invalidScenario("run report: assertion values must be valid JSON")
			}
		}
	}
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) (RunReport, *Error, bool) {
		r, e := m.AddRun(scenarioID, report)
		if e != nil {
			return RunReport{}, e, false
		}
		return *r, nil, true
	})
}

// Runs returns the newest max(1, limit) runs of a scenario, newest first;
// an unknown scenario has none (never nil).
func (a *Actor) Runs(ctx context.Context, scenarioID string, limit int) ([]RunReport, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) ([]RunReport, *Error, bool) {
		list := m.Runs(scenarioID, limit)
		out := make([]RunReport, len(list))
		for i, r := range list {
			out[i] = *r
		}
		return out, nil, false
	})
}

// GetRun returns a stored run by id (not_found "run not found").
func (a *Actor) GetRun(ctx context.Context, runID string) (RunReport, error) {
	return callIn(ctx, a, fileScenarios, func(m *Model, _ time.Time) (RunReport, *Error, bool) {
		r, ok := m.runByID[runID]
		if !ok {
			return RunReport{}, newErr(KindNotFound, CodeNotFound, msgRunNF), false
		}
		return *r, nil, false
	})
}
