package state

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// checkView is the response every predicate and capture case reads.
var checkView = ResponseView{Status: 201, Headers: map[string]string{
	"content-type": "application/json; charset=utf-8",
	"location":     "/users/42",
	"x-count":      "7",
	"set-cookie":   "theme=light, session=abc123; Path=/; HttpOnly",
}, Body: `{"id":42,"name":"Ann","ratio":0.5,"ok":true,"none":null,"tags":["a","b"],"empty":[],"obj":{"k":1},"blank":"","job":"token=XYZ-9"}`}

// runAssertion decodes an assertion (its JSON) and evaluates it on checkView with a
// latency of 12.5 ms and the variables v=hello, n=5.
func runAssertion(t *testing.T, src string) (bool, string) {
	t.Helper()
	a, e := decodeAssertion(json.RawMessage(src), 1, "a")
	if e != nil {
		t.Fatalf("%s: %v", src, e.Message)
	}
	vars := map[string]string{"v": "hello", "n": "5"}
	lookup := func(n string) (string, bool) { x, ok := vars[n]; return x, ok }
	view := checkView
	in := checkInput{view: &view, latencyMS: 12.5, lookup: lookup}
	_, expected := expandValue(a.Value, lookup)
	holds, actual := in.check(&a, expected)
	return holds, string(shownValue(actual))
}

func TestPredicates(t *testing.T) {
	for _, tc := range []struct {
		assertion string
		holds     bool
	}{
		// ==, != on every JSON type and on text sources.
		{`{"jsonpath":"$.id","op":"==","value":42}`, true},
		{`{"jsonpath":"$.id","op":"==","value":42.0}`, true},
		{`{"jsonpath":"$.id","op":"==","value":"42"}`, false}, // typed, as Hurl
		{`{"jsonpath":"$.name","op":"==","value":"Ann"}`, true},
		{`{"jsonpath":"$.ok","op":"==","value":true}`, true},
		{`{"jsonpath":"$.none","op":"==","value":null}`, true},
		{`{"jsonpath":"$.tags","op":"==","value":["a","b"]}`, true},
		{`{"jsonpath":"$.obj","op":"==","value":{"k":1}}`, true},
		{`{"jsonpath":"$.name","op":"!=","value":"Bob"}`, true},
		{`{"jsonpath":"$.missing","op":"!=","value":"Bob"}`, false}, // nothing found fails every predicate but exists
		{`{"header":"X-Count","op":"==","value":7}`, true},          // a header compares as a number with a number
		{`{"header":"x-count","op":"==","value":"7"}`, true},
		{`{"status":true,"op":"==","value":201}`, true},
		{`{"capture":"v","op":"==","value":"hello"}`, true},
		{`{"jsonpath":"$.name","op":"==","value":"{{missing}}"}`, false},
		{`{"capture":"v","op":"==","value":"{{v}}"}`, true}, // expected values expand variables
		// Orderings, numbers and strings.
		{`{"status":true,"op":"<","value":300}`, true},
		{`{"status":true,"op":"<=","value":201}`, true},
		{`{"status":true,"op":">","value":201}`, false},
		{`{"status":true,"op":">=","value":200}`, true},
		{`{"jsonpath":"$.ratio","op":"<","value":1}`, true},
		{`{"jsonpath":"$.name","op":">","value":"Al"}`, true},
		{`{"jsonpath":"$.name","op":"<","value":3}`, false}, // a string is not ordered with a number
		{`{"duration":true,"op":"<","value":1000}`, true},
		{`{"duration":true,"op":">=","value":13}`, false},
		{`{"capture":"n","op":">","value":4}`, true},
		// Text predicates.
		{`{"header":"content-type","op":"contains","value":"json"}`, true},
		{`{"jsonpath":"$.tags","op":"contains","value":"b"}`, true}, // a list contains an item
		{`{"jsonpath":"$.tags","op":"contains","value":"c"}`, false},
		{`{"body":true,"op":"contains","value":"\"Ann\""}`, true},
		{`{"header":"location","op":"starts_with","value":"/users/"}`, true},
		{`{"header":"location","op":"ends_with","value":"/42"}`, true},
		{`{"jsonpath":"$.id","op":"starts_with","value":"4"}`, false}, // a number is not text
		{`{"header":"location","op":"matches","value":"^/users/\\d+$"}`, true},
		{`{"jsonpath":"$.name","op":"matches","value":"^b"}`, false},
		{`{"capture":"v","op":"matches","value":"{{v}}"}`, true}, // a regex with variables compiles when run
		// exists, is_empty, count.
		{`{"jsonpath":"$.none","op":"exists"}`, true}, // null is a value
		{`{"jsonpath":"$.missing","op":"exists"}`, false},
		{`{"header":"x-nope","op":"exists"}`, false},
		{`{"cookie":"session","op":"exists"}`, true},
		{`{"capture":"nope","op":"exists"}`, false},
		{`{"jsonpath":"$.empty","op":"is_empty"}`, true},
		{`{"jsonpath":"$.blank","op":"is_empty"}`, true},
		{`{"jsonpath":"$.tags","op":"is_empty"}`, false},
		{`{"jsonpath":"$.tags","op":"count","value":2}`, true},
		{`{"jsonpath":"$.tags[*]","op":"count","value":2}`, true}, // a wildcard's selection is a list
		{`{"jsonpath":"$.obj","op":"count","value":1}`, true},
		{`{"jsonpath":"$.name","op":"count","value":3}`, false},
		// Type checks.
		{`{"jsonpath":"$.name","op":"is_string"}`, true},
		{`{"jsonpath":"$.id","op":"is_string"}`, false},
		{`{"jsonpath":"$.id","op":"is_number"}`, true},
		{`{"jsonpath":"$.id","op":"is_integer"}`, true},
		{`{"jsonpath":"$.ratio","op":"is_integer"}`, false},
		{`{"jsonpath":"$.ratio","op":"is_float"}`, true},
		{`{"jsonpath":"$.ok","op":"is_boolean"}`, true},
		{`{"jsonpath":"$.none","op":"is_null"}`, true},
		{`{"jsonpath":"$.tags","op":"is_list"}`, true},
		{`{"jsonpath":"$.obj","op":"is_object"}`, true},
		{`{"jsonpath":"$.obj","op":"is_collection"}`, true},
		{`{"jsonpath":"$.name","op":"is_collection"}`, false},
		// Every predicate negates.
		{`{"jsonpath":"$.id","op":"==","value":42,"not":true}`, false},
		{`{"jsonpath":"$.missing","op":"exists","not":true}`, true},
		{`{"header":"location","op":"contains","value":"x","not":true}`, true},
		{`{"jsonpath":"$.name","op":"is_number","not":true}`, true},
		{`{"jsonpath":"$.tags","op":"count","value":3,"not":true}`, true},
	} {
		t.Run(tc.assertion, func(t *testing.T) {
			holds, actual := runAssertion(t, tc.assertion)
			if holds != tc.holds {
				t.Fatalf("holds = %v, want %v (actual %s)", holds, tc.holds, actual)
			}
		})
	}
}

func TestCaptureKinds(t *testing.T) {
	for _, tc := range []struct {
		capture, want string
	}{
		{`{"name":"x","jsonpath":"$.id"}`, "42"},
		{`{"name":"x","jsonpath":"$.name"}`, "Ann"},
		{`{"name":"x","jsonpath":"$.tags"}`, `["a","b"]`},
		{`{"name":"x","header":"Location"}`, "/users/42"},
		{`{"name":"x","regex":"token=([A-Z]+)"}`, "XYZ"},
		{`{"name":"x","regex":"\"id\":\\d+"}`, `"id":42`}, // no group: the whole match
		{`{"name":"x","status":true}`, "201"},
		{`{"name":"x","cookie":"session"}`, "abc123"},
		{`{"name":"x","cookie":"theme"}`, "light"},
		{`{"name":"x","body":true}`, checkView.Body},
		{`{"name":"x","capture":"v"}`, "hello"},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			is := is.New(t)
			sc := decodeScenario(t, `{"name":"c","vars":{"v":"hello"},"steps":[{"method":"GET","path":"/","expect":{"status":201},"captures":[`+tc.capture+`]},
				{"method":"GET","path":"/next/{{x}}"}]}`)
			p := NewRunPlan(sc, "r", 1, t0)
			is.True(p.Next())
			res := p.Record(checkView, 1)
			is.Equal(string(res.FailureReason), "")
			is.Equal(res.Captures["x"], tc.want)
			is.True(p.Next())
			is.Equal(p.Request().Target, "/next/"+escapeTargetValue(tc.want)) // a value in a path is escaped
		})
	}
	// A capture that finds nothing fails its step, saying what and where.
	for _, tc := range []struct{ capture, reason string }{
		{`{"name":"x","jsonpath":"$.nope"}`, `capture x: jsonpath "$.nope" found nothing (nothing selected)`},
		{`{"name":"x","header":"x-nope"}`, `capture x: header "x-nope" found nothing (no header x-nope)`},
		{`{"name":"x","regex":"zzz(\\d)"}`, `capture x: regex "zzz(\\d)" found nothing (the body does not match)`},
		{`{"name":"x","cookie":"nope"}`, `capture x: cookie "nope" found nothing (no cookie nope)`},
		{`{"name":"x","capture":"nope"}`, `capture x: capture "nope" found nothing (no variable nope)`},
	} {
		t.Run("missing "+tc.capture, func(t *testing.T) {
			is := is.New(t)
			p := NewRunPlan(decodeScenario(t, `{"name":"c","steps":[{"method":"GET","path":"/","expect":{"status":201},"captures":[`+tc.capture+`]}]}`), "r", 1, t0)
			is.True(p.Next())
			res := p.Record(checkView, 1)
			is.Equal(res.Status, StatusFail)
			is.Equal(string(res.FailureReason), tc.reason)
		})
	}
}

func TestCheckDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ step, msg string }{
		{`"captures":{}`, "step 1: captures must be a list"},
		{`"captures":[{"name":"a b","status":true}]`, "step 1: captures[0].name must be a variable name (letters, digits, _ and -, at most 128 bytes)"},
		{`"captures":[{"name":"a"}]`, "step 1: captures[0] must have exactly one query (jsonpath, header, regex, cookie, capture, status, body, duration)"},
		{`"captures":[{"name":"a","status":true,"body":true}]`, "step 1: captures[0] must have exactly one query (jsonpath, header, regex, cookie, capture, status, body, duration)"},
		{`"captures":[{"name":"a","duration":true}]`, "step 1: captures[0]: duration cannot be captured"},
		{`"captures":[{"name":"a","jsonpath":"id"}]`, `step 1: captures[0].jsonpath: json_path "id": at 0: must start with $`},
		{`"captures":[{"name":"a","regex":"("}]`, "step 1: captures[0].regex: regex: error parsing regexp: missing closing ): `(`"},
		{`"captures":[{"name":"a","status":false}]`, "step 1: captures[0].status must be true"},
		{`"captures":[{"name":"a","status":true,"secrit":true}]`, `step 1: unknown field "captures[0].secrit"`},
		{`"expect":{"assert":[{"status":true,"op":"~"}]}`, "step 1: expect.assert[0].op must be one of " + opList()},
		{`"expect":{"assert":[{"status":true,"op":"=="}]}`, "step 1: expect.assert[0].value is required by =="},
		{`"expect":{"assert":[{"status":true,"op":"exists","value":1}]}`, "step 1: expect.assert[0].value: exists takes no value"},
		{`"expect":{"assert":[{"body":true,"op":"matches","value":"("}]}`, "step 1: expect.assert[0].value: invalid regex: error parsing regexp: missing closing ): `(`"},
		{`"expect":{"assert":[{"body":true,"op":"starts_with","value":1}]}`, "step 1: expect.assert[0].value: starts_with takes a string"},
		{`"expect":{"assert":[{"body":true,"op":"count","value":1.5}]}`, "step 1: expect.assert[0].value: count takes an integer"},
		{`"expect":{"assert":[{"body":true,"op":"<","value":[1]}]}`, "step 1: expect.assert[0].value: < compares with a number or a string"},
		{`"expect":{"assert":[{"header":"a b","op":"exists"}]}`, "step 1: expect.assert[0].header: header must be a header name (an RFC 9110 token)"},
		{`"expect":{"assert":[{"status":true,"op":"exists","nto":true}]}`, `step 1: unknown field "expect.assert[0].nto"`},
		{`"retry":{"count":-1}`, "step 1: retry.count must be between 0 and 1000"},
		{`"retry":{"count":1,"interval_ms":60001}`, "step 1: retry.interval_ms must be between 0 and 60000"},
		{`"retry":{"cuont":1}`, `step 1: unknown field "retry.cuont"`},
		{`"repeat":1001`, "step 1: repeat must be between 1 and 1000"},
		{`"skip_if":{"status":true,"op":"exists"}`, "step 1: skip_if may only read variables (the capture query)"},
	} {
		t.Run(tc.step, func(t *testing.T) {
			_, e := DecodeScenario([]byte(`{"name":"x","steps":[{"method":"GET","path":"/",`+tc.step+`}]}`), ScenarioLimits{})
			if e == nil || e.Message != tc.msg {
				t.Fatalf("error = %v, want %q", e, tc.msg)
			}
		})
	}
}

func TestRunFlowRetryRepeatSkip(t *testing.T) {
	is := is.New(t)
	sc := decodeScenario(t, `{"name":"flow","vars":{"env":"prod"},"steps":[
		{"id":"create","method":"POST","path":"/jobs","expect":{"status":201},"captures":[{"name":"job","jsonpath":"$.id"}]},
		{"id":"poll","method":"GET","path":"/jobs/{{job}}","retry":{"count":3,"interval_ms":250},
		 "expect":{"assert":[{"jsonpath":"$.state","op":"==","value":"done"}]}},
		{"id":"twice","method":"GET","path":"/ping","repeat":2},
		{"id":"only-dev","method":"GET","path":"/debug","skip_if":{"capture":"env","op":"==","value":"prod"}},
		{"id":"last","method":"GET","path":"/users/{{job}}?x={{job}}"}]}`)
	p := NewRunPlan(sc, "r", 1, t0)
	is.True(p.Next())
	p.Record(ResponseView{Status: 201, Body: `{"id":"j 1"}`}, 1)
	var delays []time.Duration
	for _, state := range []string{"queued", "running", "done"} {
		is.True(p.Next())
		req := p.Request()
		is.Equal(req.Target, "/jobs/j%201")
		delays = append(delays, req.Delay)
		res := p.Record(ResponseView{Status: 200, Body: `{"state":"` + state + `"}`}, 1)
		is.Equal(res.Status == StatusPass, state == "done")
		is.Equal(p.Retrying(), state != "done") // the failed attempts run again
	}
	is.Equal(delays, []time.Duration{0, 250 * time.Millisecond, 250 * time.Millisecond})
	for range 2 {
		is.True(p.Next())
		p.Record(ResponseView{Status: 200}, 1)
	}
	is.True(p.Next()) // only-dev is skipped
	is.Equal(p.Step().ID, "last")
	is.Equal(p.Request().Target, "/users/j%201?x=j%201")
	p.Record(ResponseView{Status: 200}, 1)
	is.True(!p.Next())
	rep := p.Report(t0, 1)
	var ids, statuses []string
	for _, s := range rep.StepResults {
		ids = append(ids, s.StepID)
		statuses = append(statuses, s.Status)
	}
	is.Equal(ids, []string{"create", "poll", "twice#1", "twice#2", "only-dev", "last"})
	is.Equal(statuses, []string{"pass", "pass", "pass", "pass", "skip", "pass"})
	is.Equal(rep.StepResults[1].Attempts, 3)
	is.Equal(rep.Summary.Passed, 5)
	is.Equal(rep.Status, StatusPass)

	// Retries run out: the last attempt is the result, and the run stops there.
	p = NewRunPlan(decodeScenario(t, `{"name":"f","steps":[{"method":"GET","path":"/","retry":{"count":1},
		"expect":{"assert":[{"jsonpath":"$.state","op":"==","value":"done"}]}},{"method":"GET","path":"/never"}]}`), "r", 1, t0)
	for p.Next() {
		p.Record(ResponseView{Status: 200, Body: `{"state":"queued"}`}, 1)
	}
	rep = p.Report(t0, 1)
	is.Equal(len(rep.StepResults), 1)
	is.Equal(rep.StepResults[0].Attempts, 2)
	is.Equal(string(rep.StepResults[0].FailureReason), `assert 0: jsonpath "$.state" == "done": actual "queued"`)
	is.Equal(rep.Analysis.SuggestedNextAction, ActionOther)
}

func TestSecretsNeverReachReports(t *testing.T) {
	is := is.New(t)
	const token, captured = "tok-SECRET-1", "cap\"SECRET\"2"
	sc := decodeScenario(t, `{"name":"s","steps":[
		{"id":"login","method":"POST","path":"/login?t={{token}}","headers":{"x-token":"{{token}}"},"body":"{\"t\":\"{{token}}\"}",
		 "captures":[{"name":"session","jsonpath":"$.session","secret":true}],
		 "expect":{"body_contains":["{{token}}"],"assert":[{"body":true,"op":"contains","value":"{{token}}"}]}},
		{"id":"use","method":"GET","path":"/me","headers":{"authorization":"Bearer {{session}}","x-s":"{{session}}"},
		 "expect":{"assert":[{"header":"x-echo","op":"==","value":"nope {{session}}"}]}}]}`)
	p := NewRunPlan(sc, "r", 1, t0)
	p.SetVariables(Variables{Values: map[string]string{"token": token}, Secret: map[string]bool{"token": true}})
	is.True(p.Next())
	is.Equal(p.Request().Headers["x-token"], token) // sent as it is
	p.Record(ResponseView{Status: 200, Headers: map[string]string{"x-echo": token},
		Body: `{"echo":"` + token + `","session":` + string(toJSON(captured)) + `}`}, 1)
	is.True(p.Next())
	is.Equal(p.Request().Headers["x-s"], captured)
	p.Record(ResponseView{Status: 200, Headers: map[string]string{"x-echo": "got " + captured}, Body: "hi " + captured}, 1)
	rep := p.Report(t0, 1)
	b, err := json.Marshal(rep)
	is.NoErr(err)
	for _, secret := range []string{token, captured, `cap\"SECRET\"2`, "SECRET"} {
		if strings.Contains(string(b), secret) {
			t.Fatalf("report holds %q: %s", secret, b)
		}
	}
	is.True(strings.Contains(string(b), SecretMask))
	is.Equal(rep.StepResults[0].Captures["session"], SecretMask)
	is.Equal(p.Redact("a "+token), "a ***")
	is.Equal(rep.Status, StatusFail) // the second step's assertion failed, and its reason is masked too
	is.Equal(string(rep.StepResults[1].FailureReason), `assert 0: header "x-echo" == "nope ***": actual "got ***"`)
}

func TestExpandIncludes(t *testing.T) {
	is := is.New(t)
	files := map[string]string{
		"login.json": `{"name":"login","vars":{"user":"nobody"},"steps":[
			{"id":"post","method":"POST","path":"/login/{{user}}","captures":[{"name":"token","header":"x-token"}]},
			{"id":"check","method":"GET","path":"/check?t={{token}}&u={{user}}&g={{global}}"}]}`,
		"loop.json": `{"name":"loop","steps":[{"id":"again","include":"loop.json"}]}`,
	}
	load := func(from, file string) (Scenario, string, error) {
		src, ok := files[file]
		if !ok {
			return Scenario{}, "", errors.New("no such file")
		}
		sc, e := DecodeScenario([]byte(src), ScenarioLimits{})
		if e != nil {
			return Scenario{}, "", e
		}
		return sc, file, nil
	}
	sc := decodeScenario(t, `{"name":"main","steps":[
		{"id":"ann","include":{"file":"login.json","vars":{"user":"{{who}}"}}},
		{"id":"bob","include":{"file":"login.json"}},
		{"id":"use","method":"GET","path":"/use/{{ann.token}}/{{bob.token}}"}]}`)
	x, e := ExpandIncludes(sc, ScenarioLimits{}, load)
	is.True(e == nil)
	var ids []string
	for _, st := range x.Steps {
		ids = append(ids, st.ID)
	}
	is.Equal(ids, []string{"ann.post", "ann.check", "bob.post", "bob.check", "use"})
	p := NewRunPlan(x, "r", 1, t0)
	p.SetVariables(Variables{Values: map[string]string{"who": "ann", "global": "g"}})
	var targets []string
	for token := 1; p.Next(); token++ {
		targets = append(targets, p.Request().Target)
		p.Record(ResponseView{Status: 200, Headers: map[string]string{"x-token": "t" + string(rune('0'+token))}}, 1)
	}
	is.Equal(targets, []string{"/login/ann", "/check?t=t1&u=ann&g=g", "/login/nobody", "/check?t=t3&u=nobody&g=g", "/use/t1/t3"})

	_, e = ExpandIncludes(decodeScenario(t, `{"name":"m","steps":[{"id":"a","include":"loop.json"}]}`), ScenarioLimits{}, load)
	is.Equal(e.Message, `step 1 (again): include "loop.json" includes itself`)
	_, e = ExpandIncludes(decodeScenario(t, `{"name":"m","steps":[{"id":"a","include":"nope.json"}]}`), ScenarioLimits{}, load)
	is.Equal(e.Message, `step 1 (a): include "nope.json": no such file`)
	// The server reads no files.
	m := newTestModel()
	_, e = m.CreateScenario(decodeScenario(t, `{"name":"m","steps":[{"id":"a","include":"login.json"}]}`), t0)
	is.Equal(e.Message, "step 1: include is expanded by ownhttp scenario run; the server reads no files")
}

// The new fields keep their form through the JSON the API returns and the state file
// stores: encoding a decoded scenario and decoding it again gives the same scenario.
func TestFlowFieldsRoundTrip(t *testing.T) {
	is := is.New(t)
	src := `{"name":"rt","vars":{"a":"1"},"steps":[
		{"id":"s","method":"GET","path":"/x/{{a}}","captures":[{"name":"c","cookie":"sid","secret":true},{"name":"d","status":true}],
		 "retry":{"count":2,"interval_ms":5},"repeat":2,"skip_if":{"capture":"a","op":"==","value":"2","not":true},
		 "scope":[{"namespace":"inc","params":{"p":"{{a}}"}}],
		 "expect":{"any_status":true,"assert":[{"jsonpath":"$.a","op":"count","value":1},{"duration":true,"op":"<","value":5}]}}]}`
	first := decodeScenario(t, src)
	b1, err := json.Marshal(first)
	is.NoErr(err)
	second := decodeScenario(t, string(b1))
	b2, err := json.Marshal(second)
	is.NoErr(err)
	is.Equal(string(b1), string(b2))
	is.True(strings.Contains(string(b1), `"skip_if":{"capture":"a","not":true,"op":"==","value":"2"}`))
	// A scenario without them reads as the original's: none of their keys appear.
	plain, err := json.Marshal(decodeScenario(t, `{"name":"p","steps":[{"method":"GET","path":"/"}]}`))
	is.NoErr(err)
	for _, key := range []string{"vars", "captures", "retry", "repeat", "skip_if", "include", "scope", "assert", "any_status"} {
		is.True(!strings.Contains(string(plain), `"`+key+`"`))
	}
}
