package state

import (
	"maps"
	"slices"
	"strconv"
)

// The part of a RunPlan that issue #18 adds: variables, captures, assertions with
// predicates, retries, repeats and skip_if. Record calls checkCurrent and finishCurrent;
// Next calls skipCurrent.

// runFlow is a run's variables and where it is in a step's retries and repeats.
type runFlow struct {
	vars       runVars
	attempt    int  // 1-based attempt of the current step
	iteration  int  // 1-based repetition of the current step
	again      bool // Next hands out againIndex once more
	againIndex int
	retrying   bool // the last result recorded is an attempt that will be retried
}

func newRunFlow(sc Scenario, given Variables) runFlow {
	return runFlow{vars: newRunVars(sc.Vars, given), attempt: 1, iteration: 1}
}

// SetVariables gives the run its variables (over the scenario's own vars). Call it before
// the first Next.
func (p *RunPlan) SetVariables(v Variables) {
	p.flow.vars = newRunVars(p.Scenario.Vars, v)
}

// Redact replaces every value of a secret variable in s by SecretMask: for what a runner
// logs or stores besides the step results (which Record redacts itself).
func (p *RunPlan) Redact(s string) string {
	return newSecretRedactor(p.flow.vars.secretValues()).text(s)
}

// Retrying reports whether the result Record returned last is a failed attempt of a step
// that will be run again (retry): it is not in the report, and runners show it as a retry.
func (p *RunPlan) Retrying() bool { return p.flow.retrying }

// Secrets returns the values of the run's secret variables so far (for redacting what a
// server keeps of the requests the run sends), longest first.
func (p *RunPlan) Secrets() []string { return p.flow.vars.secretValues() }

// lookupFor returns the variable lookup of a step.
func (p *RunPlan) lookupFor(st *Step) func(string) (string, bool) {
	scope := st.Scope
	return func(name string) (string, bool) { return p.flow.vars.lookup(scope, name) }
}

// resolvedStep returns the current step with its variables expanded in its path, header
// values, body, body_contains tokens and header_equals values; with repeat, its id is
// "<id>#<k>". Maps that change are fresh.
func (p *RunPlan) resolvedStep() Step {
	st := p.Scenario.Steps[p.cur]
	if st.Repeat > 1 {
		st.ID += "#" + strconv.Itoa(p.flow.iteration)
	}
	lookup := p.lookupFor(&st)
	st.Path = expandTemplate(st.Path, lookup, escapeTargetValue)
	st.Body = expandTemplate(st.Body, lookup, nil)
	if hasTemplate(maps.Values(st.Headers)) {
		h := make(map[string]string, len(st.Headers))
		for k, v := range st.Headers {
			h[k] = expandTemplate(v, lookup, escapeHeaderValue)
		}
		st.Headers = h
	}
	if hasTemplate(slices.Values(st.Expect.BodyContains)) {
		list := make([]string, len(st.Expect.BodyContains))
		for i, v := range st.Expect.BodyContains {
			list[i] = expandTemplate(v, lookup, nil)
		}
		st.Expect.BodyContains = list
	}
	if hasTemplate(maps.Values(st.Expect.HeaderEquals)) {
		h := make(map[string]string, len(st.Expect.HeaderEquals))
		for k, v := range st.Expect.HeaderEquals {
			h[k] = expandTemplate(v, lookup, nil)
		}
		st.Expect.HeaderEquals = h
	}
	return st
}

func hasTemplate(values func(func(string) bool)) bool {
	for v := range values {
		if len(v) > 3 && containsBraces(v) {
			return true
		}
	}
	return false
}

func containsBraces(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '{' && s[i+1] == '{' {
			return true
		}
	}
	return false
}

// skipCurrent reports whether the current step is passed over: an include step left
// unexpanded (it has no request), or a step whose skip_if holds, recorded as skipped.
func (p *RunPlan) skipCurrent() bool {
	st := &p.Scenario.Steps[p.cur]
	if st.Include != nil {
		return true
	}
	if st.SkipIf == nil {
		return false
	}
	lookup := p.lookupFor(st)
	in := checkInput{view: &ResponseView{}, lookup: lookup}
	_, expected := expandValue(st.SkipIf.Value, lookup)
	holds, _ := in.check(st.SkipIf, expected)
	if !holds {
		return false
	}
	res := StepResult{StepID: st.ID, Status: StatusSkip, Request: newRequestReport(NewStepRequest(st)),
		Response: ResponseView{Headers: map[string]string{}}, Assertions: []AssertionResult{},
		FailureReason: OptString("skipped: skip_if " + st.SkipIf.String() + " holds")}
	newSecretRedactor(p.flow.vars.secretValues()).result(&res)
	p.results = append(p.results, res)
	return true
}

// checkCurrent runs the step's captures (stored as variables for the steps after it) and
// then its assertions, on view (after chaos, the whole body) and the latency. Their results
// are added to res, the first failure's message becoming its reason when it has none. It
// reports whether every capture found a value and every assertion held.
func (p *RunPlan) checkCurrent(st *Step, view *ResponseView, latencyMS float64, res *StepResult) bool {
	if len(st.Captures) == 0 && len(st.Expect.Assert) == 0 {
		return true
	}
	lookup := p.lookupFor(st)
	in := checkInput{view: view, latencyMS: latencyMS, lookup: lookup}
	ok := true
	fail := func(msg string) {
		ok = false
		if res.FailureReason == "" {
			res.FailureReason = OptString(msg)
		}
	}
	for i := range st.Captures {
		c := &st.Captures[i]
		v, why := in.evaluate(&c.Query)
		if _, missing := v.(missingValue); missing {
			res.Assertions = append(res.Assertions, AssertionResult{Type: assertTypeCapture, Passed: false,
				Expected: toJSON(c), Actual: toJSON(nil)})
			fail("capture " + c.Name + ": " + c.Query.String() + " found " + shownText(v, why))
			continue
		}
		text := captureText(v)
		p.flow.vars.set(st.Scope, c.Name, text, c.Secret)
		if res.Captures == nil {
			res.Captures = map[string]string{}
		}
		res.Captures[c.Name] = text
	}
	for i := range st.Expect.Assert {
		a := &st.Expect.Assert[i]
		raw, expected := expandValue(a.Value, lookup)
		shown := *a
		shown.Value = raw
		holds, actual := in.check(&shown, expected)
		res.Assertions = append(res.Assertions, AssertionResult{Type: assertTypeAssert, Passed: holds,
			Expected: toJSON(shown), Actual: shownValue(actual)})
		if !holds {
			_, why := in.evaluate(&a.Query)
			fail("assert " + strconv.Itoa(i) + ": " + shown.String() + ": actual " + shownText(actual, why))
		}
	}
	return ok
}

// finishCurrent decides what follows a recorded attempt: a failed one with retries left is
// handed out again (it reports false: the result is not kept); otherwise the result gets
// its attempt count, is redacted, and a step with repeats left is handed out again.
func (p *RunPlan) finishCurrent(res *StepResult) bool {
	st := &p.Scenario.Steps[p.cur]
	redactor := newSecretRedactor(p.flow.vars.secretValues())
	redactor.result(res)
	p.flow.retrying = false
	if res.Status == StatusFail && st.Retry != nil && p.flow.attempt <= st.Retry.Count {
		p.flow.retrying = true
		p.flow.attempt++
		p.flow.again, p.flow.againIndex = true, p.cur
		res.Attempts = p.flow.attempt - 1
		p.cur = -1
		return false
	}
	if p.flow.attempt > 1 {
		res.Attempts = p.flow.attempt
	}
	if st.Repeat > 1 && p.flow.iteration < st.Repeat && (res.Status != StatusFail || !p.Scenario.Defaults.StopOnFail) {
		p.flow.iteration++
		p.flow.attempt = 1
		p.flow.again, p.flow.againIndex = true, p.cur
	}
	return true
}
