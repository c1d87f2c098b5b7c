package state

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// DecodeScenario decodes and validates a POST or PUT /api/scenarios body (or
// a scenario file of the CLI) and returns the normalized scenario, with ID
// empty unless the payload names one, and no timestamps (the Model stamps
// them). It never panics. An unknown key, at any level (scenario, defaults, step, chaos,
// expect, an expect.calls item), is an invalid_scenario error naming it: `unknown field
// "stpes"`, `unknown field "defaults.x"`, `step 2: unknown field "expct"`, `step 2: unknown
// field "expect.stauts"`, `step 1: unknown field "expect.calls[1].cuont"`.
// The keys the API returns (created_at, updated_at) are accepted and ignored. Scenarios
// loaded from a state file are decoded without that check (scenarioFromObject with strict
// false): unknown keys there are ignored.
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
//   - the id, if given, is 1 to 64 letters, digits, '.', '_' or '-', not . or .. (it is
//     used in URLs), and not "runs" (GET /api/scenarios/runs/{run_id}).
//   - a step's target_id "local" (any case, stored as "local") or absent means this
//     server; anything else names a target.
//   - expect.calls is a list of request queries (DecodeRequestQuery's language), each with
//     exactly one of count, at_least or at_most, an integer from 0 to 1e9; a bad query is
//     named with its place (`step 1: expect.calls[0].match.query.a.matches: …`). A calls
//     item is checked strictly even in a stored scenario: the query language refuses
//     unknown keys itself.
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
	return scenarioFromObject(obj, limits.withDefaults(), true)
}

// The keys each object of a scenario may hold (see DecodeScenario).
var (
	scenarioKeys = []string{"id", "name", "description", "defaults", "steps", "vars", "created_at", "updated_at"}
	defaultsKeys = []string{"stop_on_fail"}
	stepKeys     = []string{"id", "name", "method", "path", "target_id", "headers", "body", "delay_ms", "chaos", "expect",
		"captures", "retry", "repeat", "skip_if", "include", "scope"}
	chaosKeys  = []string{"enabled", "mode", "probability", "seed_offset", "params"}
	expectKeys = []string{"status", "body_contains", "header_equals", "max_latency_ms", "calls", "assert", "any_status"}
)

// scenarioFromObject decodes a scenario object; lim has its defaults. With strict, a key
// that is not one of the known keys of its object is an error.
func scenarioFromObject(obj map[string]json.RawMessage, lim ScenarioLimits, strict bool) (Scenario, *Error) {
	var sc Scenario
	if strict {
		if msg := unknownField(obj, "", scenarioKeys); msg != "" {
			return sc, invalidScenario(msg)
		}
	}
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
		if strict {
			if msg := unknownField(d, "defaults.", defaultsKeys); msg != "" {
				return sc, invalidScenario(msg)
			}
		}
		if raw, ok := present(d, "stop_on_fail"); ok {
			b, ok := decodeBool(raw)
			if !ok {
				return sc, invalidScenario("defaults.stop_on_fail must be a boolean")
			}
			sc.Defaults.StopOnFail = b
		}
	}
	if raw, ok := present(obj, "vars"); ok {
		vars, msg := decodeVars(raw, "vars")
		if msg != "" {
			return sc, invalidScenario(msg)
		}
		sc.Vars = vars
	}
	sc.Steps = make([]Step, 0, len(steps))
	for i, raw := range steps {
		st, e := decodeStep(raw, i+1, strict)
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

// decodeStep type-checks step n's object into a Step whose values are not
// yet validated (normalizeStep does that). With strict, unknown keys are errors.
func decodeStep(raw json.RawMessage, n int, strict bool) (Step, *Error) {
	var st Step
	obj, ok := decodeObject(raw)
	if !ok {
		return st, invalidScenario("step " + strconv.Itoa(n) + " must be an object")
	}
	if strict {
		if msg := unknownField(obj, "", stepKeys); msg != "" {
			return st, stepErr(n, msg)
		}
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
		if st.Chaos, e = decodeChaos(raw, n, strict); e != nil {
			return st, e
		}
	}
	if raw, ok := present(obj, "expect"); ok {
		if st.Expect, e = decodeExpect(raw, n, strict); e != nil {
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
	return st, decodeFlow(obj, &st, n, strict)
}

func decodeChaos(raw json.RawMessage, n int, strict bool) (*Chaos, *Error) {
	obj, ok := decodeObject(raw)
	if !ok {
		return nil, stepErr(n, "chaos must be an object")
	}
	if strict {
		if msg := unknownField(obj, "chaos.", chaosKeys); msg != "" {
			return nil, stepErr(n, msg)
		}
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
	if raw, ok := present(obj, "params"); ok {
		if firstByte(raw) != '{' {
			return nil, stepErr(n, "chaos.params must be an object")
		}
		c.Params = raw
	}
	return c, nil
}

func decodeExpect(raw json.RawMessage, n int, strict bool) (Expect, *Error) {
	var x Expect
	obj, ok := decodeObject(raw)
	if !ok {
		return x, stepErr(n, "expect must be an object")
	}
	if strict {
		if msg := unknownField(obj, "expect.", expectKeys); msg != "" {
			return x, stepErr(n, msg)
		}
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
	if raw, ok := present(obj, "calls"); ok {
		var e *Error
		if x.Calls, e = decodeCalls(raw, n); e != nil {
			return x, e
		}
	}
	if raw, ok := present(obj, "any_status"); ok {
		if x.AnyStatus, ok = decodeBool(raw); !ok {
			return x, stepErr(n, "expect.any_status must be a boolean")
		}
	}
	if raw, ok := present(obj, "assert"); ok {
		var e *Error
		if x.Assert, e = decodeAssertions(raw, n, "expect.assert"); e != nil {
			return x, e
		}
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
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		s, ok := decodeScalarText(obj[k])
		if !ok {
			return nil, stepErr(n, msgVal)
		}
		out[k] = s
	}
	return out, nil
}

// DecodeRunRequest decodes the optional body of POST /api/scenarios/{id}/run:
// {"seed": N}. An empty body, an absent seed or a null seed give
// hasSeed=false (the caller uses its default, normally DefaultChaosSeed). A
// seed is an integral JSON number or a string holding a decimal integer (the
// original used int()); anything else is invalid_seed "seed must be integer".
// A body that is not a JSON object is invalid_json; any key other than seed,
// vars and secrets is invalid_request `unknown field "…"`. Use DecodeRunOptions
// for the variables.
func DecodeRunRequest(body []byte) (seed int64, hasSeed bool, err *Error) {
	seed, hasSeed, _, err = DecodeRunOptions(body)
	return seed, hasSeed, err
}

// DecodeRunOptions is DecodeRunRequest with the run's variables (issue #18): "vars" and
// "secrets", objects of variable names to strings, numbers or booleans; the secrets'
// values are shown as *** in the report and in history. Errors name the field
// (invalid_request).
func DecodeRunOptions(body []byte) (seed int64, hasSeed bool, vars Variables, err *Error) {
	obj, e := DecodeJSONObject(body)
	if e != nil {
		return 0, false, vars, e
	}
	if msg := UnknownField(obj, "seed", "vars", "secrets"); msg != "" {
		return 0, false, vars, newErr(KindInvalid, CodeInvalidRequest, msg)
	}
	vars = Variables{Values: map[string]string{}, Secret: map[string]bool{}}
	for _, key := range []string{"vars", "secrets"} {
		raw, ok := present(obj, key)
		if !ok {
			continue
		}
		values, msg := decodeVars(raw, key)
		if msg != "" {
			return 0, false, vars, newErr(KindInvalid, CodeInvalidRequest, msg)
		}
		for k, v := range values {
			vars.Values[k] = v
			vars.Secret[k] = key == "secrets"
		}
	}
	raw, ok := present(obj, "seed")
	if !ok {
		return 0, false, vars, nil
	}
	v, exact, ok := decodeIntOrString(raw)
	if !ok || !exact {
		return 0, false, vars, newErr(KindInvalid, CodeInvalidSeed, msgSeed)
	}
	return v, true, vars, nil
}
