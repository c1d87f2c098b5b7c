package state

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Flow of a scenario (issue #18): per-step captures, retry, repeat, skip_if and include.
//
//	{"id": "poll", "method": "GET", "path": "/jobs/{{job_id}}",
//	 "retry": {"count": 10, "interval_ms": 200},
//	 "expect": {"assert": [{"jsonpath": "$.state", "op": "==", "value": "done"}]}}
//	{"id": "login", "include": {"file": "login.json", "vars": {"user": "ann"}}}
//
// retry runs a step whose checks fail again, at most count more times (0 to 1000),
// interval_ms (0 to 60000) apart; only its last attempt is in the report. repeat (1 to
// 1000) runs a step that many times, each a result of its own named "<id>#<k>". skip_if is
// an assertion on variables only (the capture query); when it holds the step is not sent
// and its result has status "skip". include stands for the steps of another scenario file,
// read by ExpandIncludes (the command line does; the server reads no files and refuses a
// scenario that still holds one): their ids become "<include id>.<id>", their captures are
// stored as "<include id>.<name>" (later steps read {{login.token}}), and inside them
// {{name}} finds the include's vars first, then the include's own captures, then the
// run's variables.

// maxIncludeDepth bounds how deep includes nest.
const maxIncludeDepth = 8

// Keys of the objects of the flow.
var (
	retryKeys   = []string{"count", "interval_ms"}
	includeKeys = []string{"file", "vars"}
)

// decodeFlow decodes step n's captures, retry, repeat, skip_if, include and scope.
func decodeFlow(obj map[string]json.RawMessage, st *Step, n int, strict bool) *Error {
	var e *Error
	if raw, ok := present(obj, "captures"); ok {
		if st.Captures, e = decodeCaptures(raw, n); e != nil {
			return e
		}
	}
	if raw, ok := present(obj, "retry"); ok {
		r, ok := decodeObject(raw)
		if !ok {
			return stepErr(n, "retry must be an object")
		}
		if msg := unknownField(r, "retry.", retryKeys); strict && msg != "" {
			return stepErr(n, msg)
		}
		st.Retry = &Retry{}
		if raw, ok := present(r, "count"); ok {
			v, _, ok := decodeIntSat(raw)
			if !ok {
				return stepErr(n, "retry.count must be an integer")
			}
			st.Retry.Count = clampInt(v)
		}
		if raw, ok := present(r, "interval_ms"); ok {
			if st.Retry.IntervalMS, _, ok = decodeIntSat(raw); !ok {
				return stepErr(n, "retry.interval_ms must be an integer")
			}
		}
	}
	if raw, ok := present(obj, "repeat"); ok {
		v, _, ok := decodeIntSat(raw)
		if !ok {
			return stepErr(n, "repeat must be an integer")
		}
		st.Repeat = clampInt(v)
	}
	if raw, ok := present(obj, "skip_if"); ok {
		a, e := decodeAssertion(raw, n, "skip_if")
		if e != nil {
			return e
		}
		st.SkipIf = &a
	}
	if raw, ok := present(obj, "include"); ok {
		inc := &Include{}
		if s, isStr := decodeString(raw); isStr {
			inc.File = s
		} else {
			o, ok := decodeObject(raw)
			if !ok {
				return stepErr(n, "include must be a file name or an object")
			}
			if msg := unknownField(o, "include.", includeKeys); strict && msg != "" {
				return stepErr(n, msg)
			}
			if inc.File, ok = decodeString(o["file"]); !ok {
				return stepErr(n, "include.file must be a string")
			}
			if raw, ok := present(o, "vars"); ok {
				var msg string
				if inc.Vars, msg = decodeVars(raw, "include.vars"); msg != "" {
					return stepErr(n, msg)
				}
			}
		}
		st.Include = inc
	}
	if raw, ok := present(obj, "scope"); ok {
		if json.Unmarshal(raw, &st.Scope) != nil {
			return stepErr(n, "scope must be a list of {namespace, params}")
		}
	}
	return nil
}

// decodeVars decodes an object of variables; field names it in messages.
func decodeVars(raw json.RawMessage, field string) (map[string]string, string) {
	obj, ok := decodeObject(raw)
	if !ok {
		return nil, field + " must be an object"
	}
	out := make(map[string]string, len(obj))
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !validVariableName(k) {
			return nil, field + " names must be variable names (letters, digits, _ and -, at most 128 bytes)"
		}
		s, ok := decodeScalarText(obj[k])
		if !ok {
			return nil, field + "." + k + " must be a string, a number or a boolean"
		}
		out[k] = s
	}
	if len(out) > maxVariables {
		return nil, field + " may hold at most 10000 variables"
	}
	return out, ""
}

// normalizeFlow validates the flow fields of a step that sends a request.
func normalizeFlow(st *Step, n int) *Error {
	for i := range st.Captures {
		c := &st.Captures[i]
		if !validVariableName(c.Name) {
			return stepErr(n, "captures["+strconv.Itoa(i)+"].name must be a variable name (letters, digits, _ and -, at most 128 bytes)")
		}
		if msg := c.Query.compile(); msg != "" {
			return stepErr(n, "captures["+strconv.Itoa(i)+"]."+c.Query.Kind+": "+msg)
		}
	}
	if len(st.Captures) > maxChecksPerStep {
		return stepErr(n, "captures may hold at most 100 items")
	}
	st.Captures = slices.Clone(st.Captures)
	asserts := slices.Clone(st.Expect.Assert)
	for i := range asserts {
		a := &asserts[i]
		if msg := a.Query.compile(); msg != "" {
			return stepErr(n, "expect.assert["+strconv.Itoa(i)+"]."+a.Query.Kind+": "+msg)
		}
		if msg := a.normalize(); msg != "" {
			return stepErr(n, "expect.assert["+strconv.Itoa(i)+"]."+msg)
		}
	}
	st.Expect.Assert = asserts
	if r := st.Retry; r != nil {
		if r.Count < 0 || r.Count > maxRetryCount {
			return stepErr(n, "retry.count must be between 0 and 1000")
		}
		if r.IntervalMS < 0 || r.IntervalMS > maxRetryInterval {
			return stepErr(n, "retry.interval_ms must be between 0 and 60000")
		}
		c := *r
		st.Retry = &c
	}
	if st.Repeat < 0 || st.Repeat > maxRepeat {
		return stepErr(n, "repeat must be between 1 and 1000")
	}
	if st.SkipIf != nil {
		a := *st.SkipIf
		if a.Query.Kind != QueryCapture {
			return stepErr(n, "skip_if may only read variables (the capture query)")
		}
		if msg := a.Query.compile(); msg != "" {
			return stepErr(n, "skip_if."+a.Query.Kind+": "+msg)
		}
		if msg := a.normalize(); msg != "" {
			return stepErr(n, "skip_if."+msg)
		}
		st.SkipIf = &a
	}
	if len(st.Scope) > maxIncludeDepth {
		return stepErr(n, "scope may nest at most 8 includes")
	}
	st.Scope = slices.Clone(st.Scope)
	return nil
}

// normalizeIncludeStep validates a step that includes another file: it has an id (the
// namespace, default step-<n>) and a file, and nothing of a request.
func normalizeIncludeStep(st *Step, n int) *Error {
	if st.Method != "" || st.Path != "" || st.Body != "" || len(st.Headers) > 0 || len(st.Captures) > 0 ||
		st.Retry != nil || st.Repeat != 0 || st.SkipIf != nil || st.Chaos != nil || st.TargetID != "" {
		return stepErr(n, "a step with include has only id, name and include")
	}
	if strings.TrimSpace(st.Include.File) == "" {
		return stepErr(n, "include.file must not be empty")
	}
	inc := *st.Include
	inc.Vars = maps.Clone(inc.Vars)
	for k := range inc.Vars {
		if !validVariableName(k) {
			return stepErr(n, "include.vars names must be variable names (letters, digits, _ and -)")
		}
	}
	st.Include = &inc
	if st.ID == "" {
		st.ID = "step-" + strconv.Itoa(n)
	}
	if !validVariableName(st.ID) {
		return stepErr(n, "the id of a step with include names its namespace: letters, digits, _ and -")
	}
	if st.Name == "" {
		st.Name = "Step " + strconv.Itoa(n)
	}
	st.Headers = map[string]string{}
	st.Expect = Expect{Status: []int{200}, BodyContains: []string{}, HeaderEquals: map[string]string{}}
	return nil
}

// hasInclude reports the first step (1-based) that still includes a file, or 0.
func hasInclude(sc *Scenario) int {
	for i := range sc.Steps {
		if sc.Steps[i].Include != nil {
			return i + 1
		}
	}
	return 0
}

// errIncludeOnServer refuses a scenario with include on the server, which reads no files.
func errIncludeOnServer(n int) *Error {
	return stepErr(n, "include is expanded by ownhttp scenario run; the server reads no files")
}

// ExpandIncludes returns sc with every include step replaced by the steps of the scenario
// load returns for its file (load reads and decodes it, relative to the including file).
// Included steps get the ids "<include id>.<id>" and the include's scope (see the flow
// comment above); a scenario included from an included one nests. Errors: an include
// nested deeper than 8, a file including itself (directly or not), what load returns, and
// too many steps in all (lim.MaxSteps) — each naming the include step.
func ExpandIncludes(sc Scenario, lim ScenarioLimits, load func(from, file string) (Scenario, string, error)) (Scenario, *Error) {
	lim = lim.withDefaults()
	steps, e := expandSteps(sc.Steps, nil, []string{""}, lim, load)
	if e != nil {
		return sc, e
	}
	if e := checkStepCount(len(steps), lim); e != nil {
		return sc, e
	}
	sc.Steps = steps
	if e := checkStepIDs(sc.Steps); e != nil {
		return sc, e
	}
	return sc, nil
}

// expandSteps expands the includes of steps, which came through scope; files is the chain
// of files being expanded (the innermost last; "" is the top scenario, whose name the
// loader knows).
func expandSteps(steps []Step, scope []IncludeScope, files []string, lim ScenarioLimits,
	load func(from, file string) (Scenario, string, error)) ([]Step, *Error) {
	out := make([]Step, 0, len(steps))
	for i, st := range steps {
		if st.Include == nil {
			out = append(out, st)
			continue
		}
		where := "step " + strconv.Itoa(i+1) + " (" + st.ID + ")"
		if len(scope) >= maxIncludeDepth {
			return nil, invalidScenario(where + ": include nests deeper than 8")
		}
		inner, name, err := load(files[len(files)-1], st.Include.File)
		if err != nil {
			return nil, invalidScenario(where + ": include " + strconv.Quote(st.Include.File) + ": " + err.Error())
		}
		if slices.Contains(files, name) {
			return nil, invalidScenario(where + ": include " + strconv.Quote(st.Include.File) + " includes itself")
		}
		ns := st.ID
		if len(scope) > 0 {
			ns = scope[len(scope)-1].Namespace + "." + st.ID
		}
		innerScope := append(slices.Clone(scope), IncludeScope{Namespace: ns, Params: st.Include.Vars})
		for k, v := range inner.Vars { // the included file's own vars are defaults of its parameters
			if _, given := st.Include.Vars[k]; !given {
				if innerScope[len(innerScope)-1].Params == nil {
					innerScope[len(innerScope)-1].Params = map[string]string{}
				}
				innerScope[len(innerScope)-1].Params[k] = v
			}
		}
		own := slices.Clone(inner.Steps)
		for j := range own {
			own[j].Scope = nil // a file's steps get their scope from how they are included
		}
		expanded, e := expandSteps(own, innerScope, append(files, name), lim, load)
		if e != nil {
			return nil, e
		}
		for _, x := range expanded {
			x.ID = st.ID + "." + x.ID
			if len(x.Scope) == 0 {
				x.Scope = innerScope
			}
			out = append(out, x)
		}
		if len(out) > lim.MaxSteps {
			return nil, newErr(KindTooLarge, CodeScenarioTooLarge, where+": scenario has too many steps once included")
		}
	}
	return out, nil
}

// DecodeRunReport decodes a run report made elsewhere (the command line's, for POST
// /api/scenarios/{id}/runs): the JSON of a RunReport, no unknown field, statuses "pass" or
// "fail" ("skip" too for a step), bodies cut to MaxReportBodyBytes. The scenario id is the
// caller's to set (AddRun does); the run id is checked by AddRun. Errors: invalid_json,
// invalid_scenario naming the field.
func DecodeRunReport(body []byte) (RunReport, *Error) {
	var r RunReport
	if _, e := DecodeJSONObject(body); e != nil {
		return r, e
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, invalidScenario("run report: " + strings.TrimPrefix(err.Error(), "json: "))
	}
	if r.Status != StatusPass && r.Status != StatusFail {
		return r, invalidScenario("run report: status must be pass or fail")
	}
	for i := range r.StepResults {
		s := &r.StepResults[i]
		if s.Status != StatusPass && s.Status != StatusFail && s.Status != StatusSkip {
			return r, invalidScenario("run report: step_results[" + strconv.Itoa(i) + "].status must be pass, fail or skip")
		}
		s.Request.Body = truncateText(s.Request.Body, MaxReportBodyBytes)
		s.Response.Body = truncateText(s.Response.Body, MaxReportBodyBytes)
	}
	return r, nil
}
