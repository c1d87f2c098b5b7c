package state

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// userLifecycle is the original's example scenario file
// (examples/scenarios/user_lifecycle.json).
const userLifecycle = `{
  "name": "User lifecycle",
  "description": "Create and verify a mock-backed user endpoint",
  "defaults": {"stop_on_fail": true},
  "steps": [
    {"id": "create-user-mock", "name": "Create mock endpoint", "method": "POST", "path": "/api/mocks",
     "headers": {"content-type": "application/json"},
     "body": "{\"method\":\"POST\",\"path_pattern\":\"/api/users\",\"status\":201}",
     "expect": {"status": [200, 201], "body_contains": ["mock"]}},
    {"id": "request-user", "name": "Request mocked user", "method": "POST", "path": "/api/users",
     "headers": {"content-type": "application/json"}, "body": "{\"name\":\"Rahat\"}", "delay_ms": 50,
     "chaos": {"enabled": true, "mode": "status_flip", "probability": 0.25, "seed_offset": 7},
     "expect": {"status": 201, "body_contains": ["Demo User"], "header_equals": {"x-mock-server": "custom"},
                "max_latency_ms": 500}}
  ]
}`

func decodeScenario(t *testing.T, body string) Scenario {
	t.Helper()
	sc, e := DecodeScenario([]byte(body), ScenarioLimits{})
	if e != nil {
		t.Fatalf("decode: %v", e)
	}
	return sc
}

// minimalScenario returns a valid scenario body named name with one step.
func minimalScenario(name string) string {
	return fmt.Sprintf(`{"name":%q,"steps":[{"method":"GET","path":"/"}]}`, name)
}

// stepBody returns a scenario body whose only step is step (a JSON object's
// members, without braces).
func stepBody(step string) string {
	return `{"name":"s","steps":[{"method":"GET","path":"/x",` + step + `}]}`
}

func TestDecodeScenarioNormalizes(t *testing.T) {
	is := is.New(t)
	sc := decodeScenario(t, userLifecycle)
	is.Equal(sc.ID, "") // the Model assigns it
	is.Equal(sc.Name, "User lifecycle")
	is.True(sc.Defaults.StopOnFail)
	is.Equal(len(sc.Steps), 2)
	s1, s2 := sc.Steps[0], sc.Steps[1]
	is.Equal(s1.TargetID, LocalTarget)
	is.Equal(s1.Expect.Status, []int{200, 201})
	is.Equal(s1.Chaos, (*Chaos)(nil))
	is.Equal(s1.Expect.HeaderEquals, map[string]string{})
	is.Equal(s1.Expect.MaxLatencyMS, (*int64)(nil))
	is.Equal(s2.Expect.Status, []int{201}) // an int becomes a list
	is.Equal(*s2.Chaos, Chaos{Enabled: true, Mode: ChaosStatusFlip, Probability: 0.25, SeedOffset: 7})
	is.Equal(*s2.Expect.MaxLatencyMS, int64(500))
	is.Equal(s2.DelayMS, int64(50))

	// Defaults fill every field; header names are lower-cased; values
	// become strings; a non-string body keeps its JSON text.
	sc = decodeScenario(t, `{"name":"  spaced  ","steps":[{"method":"get","path":"  /a?b=1  ",
		"headers":{"X-Num":5,"X-Bool":true,"X-Str":"s","X-Float":1.5},"body":{"a": [1, 2]},
		"expect":{"header_equals":{"X-A":1},"body_contains":[1,false,"t"]}}]}`)
	is.Equal(sc.Name, "spaced")
	st := sc.Steps[0]
	is.Equal(st.ID, "step-1")
	is.Equal(st.Name, "Step 1")
	is.Equal(st.Method, "GET")
	is.Equal(st.Path, "/a?b=1")
	is.Equal(st.Headers, map[string]string{"x-num": "5", "x-bool": "true", "x-str": "s", "x-float": "1.5"})
	is.Equal(st.Body, `{"a":[1,2]}`)
	is.Equal(st.Expect.Status, []int{200})
	is.Equal(st.Expect.HeaderEquals, map[string]string{"x-a": "1"})
	is.Equal(st.Expect.BodyContains, []string{"1", "false", "t"})
	is.True(sc.Defaults.StopOnFail)

	// Nulls of optional fields mean "absent".
	sc = decodeScenario(t, `{"name":"n","id":null,"description":null,"defaults":null,"steps":[{"method":"PATCH","path":"/",
		"id":null,"name":"","target_id":null,"headers":null,"body":null,"chaos":null,"expect":null}]}`)
	is.Equal(sc.Steps[0].Method, "PATCH")
	is.Equal(sc.Steps[0].ID, "step-1")
	is.Equal(sc.Steps[0].Body, "")
	is.True(sc.Defaults.StopOnFail)
	sc = decodeScenario(t, `{"name":"n","defaults":{"stop_on_fail":false},"steps":[{"method":"GET","path":"/","chaos":{}}]}`)
	is.True(!sc.Defaults.StopOnFail)
	is.Equal(*sc.Steps[0].Chaos, Chaos{Mode: ChaosNone})

	// The stored JSON form has exactly the spec's fields.
	data, err := json.Marshal(decodeScenario(t, userLifecycle))
	is.NoErr(err)
	is.Equal(keysOf(t, data), []string{"created_at", "defaults", "description", "id", "name", "steps", "updated_at"})
	var back struct {
		Steps []json.RawMessage `json:"steps"`
	}
	is.NoErr(json.Unmarshal(data, &back))
	is.Equal(keysOf(t, back.Steps[0]), []string{"body", "chaos", "delay_ms", "expect", "headers", "id", "method", "name", "path", "target_id"})
	is.True(strings.Contains(string(back.Steps[0]), `"chaos":null`))
	is.True(strings.Contains(string(back.Steps[0]), `"max_latency_ms":null`))
}

func TestDecodeScenarioErrors(t *testing.T) {
	tests := []struct {
		body string
		kind Kind
		code string
		msg  string
	}{
		{`{"name":1}`, KindInvalid, CodeInvalidScenario, "name must be a string"},
		{`{"steps":[]}`, KindInvalid, CodeInvalidScenario, "scenario name is required"},
		{`{"name":"   ","steps":[]}`, KindInvalid, CodeInvalidScenario, "scenario name is required"},
		{`{"name":null}`, KindInvalid, CodeInvalidScenario, "scenario name is required"},
		{`{"name":"` + strings.Repeat("n", 257) + `"}`, KindInvalid, CodeInvalidScenario, "scenario name must be at most 256 bytes"},
		{`{"name":"s","description":5}`, KindInvalid, CodeInvalidScenario, "description must be a string"},
		{`{"name":"s","steps":{}}`, KindInvalid, CodeInvalidScenario, "steps must be a list"},
		{`{"name":"s","steps":null}`, KindInvalid, CodeInvalidScenario, "steps must be a list"},
		{`{"name":"s","steps":"x"}`, KindInvalid, CodeInvalidScenario, "steps must be a list"},
		{`{"name":"s"}`, KindInvalid, CodeInvalidScenario, "scenario must contain at least one step"},
		{`{"name":"s","steps":[]}`, KindInvalid, CodeInvalidScenario, "scenario must contain at least one step"},
		{`{"name":"s","defaults":[],"steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, "defaults must be an object"},
		{`{"name":"s","defaults":{"stop_on_fail":"yes"},"steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, "defaults.stop_on_fail must be a boolean"},
		{`{"name":"s","steps":[5]}`, KindInvalid, CodeInvalidScenario, "step 1 must be an object"},
		// unknown keys at every level
		{`{"name":"s","stpes":[],"steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, `unknown field "stpes"`},
		{`{"name":"s","defaults":{"stop_on_failure":true},"steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, `unknown field "defaults.stop_on_failure"`},
		{`{"name":"s","steps":[{"method":"GET","path":"/"},{"method":"GET","path":"/","expct":{"status":404}}]}`, KindInvalid, CodeInvalidScenario, `step 2: unknown field "expct"`},
		{`{"name":"s","steps":[{"method":"GET","path":"/","expect":{"status":404,"stauts":1}}]}`, KindInvalid, CodeInvalidScenario, `step 1: unknown field "expect.stauts"`},
		{`{"name":"s","steps":[{"method":"GET","path":"/","chaos":{"mode":"none","seed":1}}]}`, KindInvalid, CodeInvalidScenario, `step 1: unknown field "chaos.seed"`},
		{`{"name":"s","id":".","steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."},
		{`{"name":"s","steps":[{"method":"GET","path":"/","target_id":".."}]}`, KindInvalid, CodeInvalidScenario, "step 1: target_id must be local or a target id (1 to 64 letters, digits, '.', '_' or '-', and not . or ..)"},
		{`{"name":"s","steps":[{"method":"GET","path":"/"},null]}`, KindInvalid, CodeInvalidScenario, "step 2 must be an object"},
		{`{"name":"s","steps":[{"path":"/"}]}`, KindInvalid, CodeInvalidScenario, "step 1: " + msgStepMethod},
		{`{"name":"s","steps":[{"method":"HEAD","path":"/"}]}`, KindInvalid, CodeInvalidScenario, "step 1: " + msgStepMethod},
		{`{"name":"s","steps":[{"method":5,"path":"/"}]}`, KindInvalid, CodeInvalidScenario, "step 1: " + msgStepMethod},
		{`{"name":"s","steps":[{"method":"GET"}]}`, KindInvalid, CodeInvalidScenario, "step 1: path must start with /"},
		{`{"name":"s","steps":[{"method":"GET","path":"x"}]}`, KindInvalid, CodeInvalidScenario, "step 1: path must start with /"},
		{`{"name":"s","steps":[{"method":"GET","path":7}]}`, KindInvalid, CodeInvalidScenario, "step 1: path must start with /"},
		{`{"name":"s","steps":[{"method":"GET","path":"/a b"}]}`, KindInvalid, CodeInvalidScenario, "step 1: " + msgStepPathChar},
		{`{"name":"s","steps":[{"method":"GET","path":"/a\r\nX: y"}]}`, KindInvalid, CodeInvalidScenario, "step 1: " + msgStepPathChar},
		{`{"name":"s","steps":[{"method":"GET","path":"/a#f"}]}`, KindInvalid, CodeInvalidScenario, "step 1: " + msgStepPathChar},
		{`{"name":"s","steps":[{"method":"GET","path":"/é"}]}`, KindInvalid, CodeInvalidScenario, "step 1: " + msgStepPathChar},
		{`{"name":"s","steps":[{"method":"GET","path":"/` + strings.Repeat("a", 2048) + `"}]}`, KindInvalid, CodeInvalidScenario, "step 1: path must be at most 2048 bytes"},
		{stepBody(`"headers":[]`), KindInvalid, CodeInvalidScenario, "step 1: headers must be an object"},
		{stepBody(`"headers":"x"`), KindInvalid, CodeInvalidScenario, "step 1: headers must be an object"},
		{stepBody(`"headers":{"a":{}}`), KindInvalid, CodeInvalidScenario, "step 1: header values must be strings, numbers or booleans"},
		{stepBody(`"headers":{"a":[1]}`), KindInvalid, CodeInvalidScenario, "step 1: header values must be strings, numbers or booleans"},
		{stepBody(`"headers":{"a":null}`), KindInvalid, CodeInvalidScenario, "step 1: header values must be strings, numbers or booleans"},
		{stepBody(`"headers":{"bad name":"v"}`), KindInvalid, CodeInvalidScenario, "step 1: headers names must be tokens (RFC 9110) of at most 256 characters"},
		{stepBody(`"headers":{"X-A":"1","x-a":"2"}`), KindInvalid, CodeInvalidScenario, "step 1: headers must not repeat a name (names are case-insensitive)"},
		{stepBody(`"headers":{"a":"x\r\ny"}`), KindInvalid, CodeInvalidScenario, "step 1: header values must not contain control characters and must be at most 8192 bytes"},
		{stepBody(`"headers":{"Content-Length":"5"}`), KindInvalid, CodeInvalidScenario, "step 1: header content-length is managed by the runner"},
		{stepBody(`"headers":{"transfer-encoding":"chunked"}`), KindInvalid, CodeInvalidScenario, "step 1: header transfer-encoding is managed by the runner"},
		{stepBody(`"delay_ms":null`), KindInvalid, CodeInvalidScenario, "step 1: delay_ms must be an integer"},
		{stepBody(`"delay_ms":"5"`), KindInvalid, CodeInvalidScenario, "step 1: delay_ms must be an integer"},
		{stepBody(`"delay_ms":1.5`), KindInvalid, CodeInvalidScenario, "step 1: delay_ms must be an integer"},
		{stepBody(`"delay_ms":1e400`), KindInvalid, CodeInvalidScenario, "step 1: delay_ms must be <= 30000"},
		{stepBody(`"delay_ms":-1e400`), KindInvalid, CodeInvalidScenario, "step 1: delay_ms must be >= 0"},
		{stepBody(`"delay_ms":1e-400`), 0, "", "1e-400 reads as 0"},
		{stepBody(`"delay_ms":-1`), KindInvalid, CodeInvalidScenario, "step 1: delay_ms must be >= 0"},
		{stepBody(`"delay_ms":30001`), KindInvalid, CodeInvalidScenario, "step 1: delay_ms must be <= 30000"},
		{stepBody(`"delay_ms":99999999999999999999`), KindInvalid, CodeInvalidScenario, "step 1: delay_ms must be <= 30000"},
		{stepBody(`"chaos":[]`), KindInvalid, CodeInvalidScenario, "step 1: chaos must be an object"},
		{stepBody(`"chaos":true`), KindInvalid, CodeInvalidScenario, "step 1: chaos must be an object"},
		{stepBody(`"chaos":{"enabled":"yes"}`), KindInvalid, CodeInvalidScenario, "step 1: chaos.enabled must be a boolean"},
		{stepBody(`"chaos":{"mode":"explode"}`), KindInvalid, CodeInvalidScenario, "step 1: invalid chaos mode"},
		{stepBody(`"chaos":{"mode":""}`), KindInvalid, CodeInvalidScenario, "step 1: invalid chaos mode"},
		{stepBody(`"chaos":{"mode":1}`), KindInvalid, CodeInvalidScenario, "step 1: invalid chaos mode"},
		{stepBody(`"chaos":{"probability":"x"}`), KindInvalid, CodeInvalidScenario, "step 1: probability must be a number"},
		{stepBody(`"chaos":{"probability":null}`), KindInvalid, CodeInvalidScenario, "step 1: probability must be a number"},
		{stepBody(`"chaos":{"probability":1.5}`), KindInvalid, CodeInvalidScenario, "step 1: probability must be between 0 and 1"},
		{stepBody(`"chaos":{"probability":-0.1}`), KindInvalid, CodeInvalidScenario, "step 1: probability must be between 0 and 1"},
		{stepBody(`"chaos":{"seed_offset":"7"}`), KindInvalid, CodeInvalidScenario, "step 1: seed_offset must be an integer"},
		{stepBody(`"chaos":{"seed_offset":0.5}`), KindInvalid, CodeInvalidScenario, "step 1: seed_offset must be an integer"},
		{stepBody(`"expect":5`), KindInvalid, CodeInvalidScenario, "step 1: expect must be an object"},
		{stepBody(`"expect":{"status":[]}`), KindInvalid, CodeInvalidScenario, "step 1: status list cannot be empty"},
		{stepBody(`"expect":{"status":null}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status must be an integer or a list of integers"},
		{stepBody(`"expect":{"status":"201"}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status must be an integer or a list of integers"},
		{stepBody(`"expect":{"status":[200,"x"]}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status must be an integer or a list of integers"},
		{stepBody(`"expect":{"status":{}}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status must be an integer or a list of integers"},
		{stepBody(`"expect":{"status":600}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status values must be between 100 and 599"},
		{stepBody(`"expect":{"status":[99]}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status values must be between 100 and 599"},
		{stepBody(`"expect":{"status":1e300}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status values must be between 100 and 599"},
		{stepBody(`"expect":{"status":201.5}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status must be an integer or a list of integers"},
		{stepBody(`"chaos":{"seed_offset":1e30}`), KindInvalid, CodeInvalidScenario, "step 1: seed_offset must be an integer"},
		{stepBody(`"expect":{"status":9223372036854775807}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status values must be between 100 and 599"},
		{stepBody(`"expect":{"status":[` + strings.Repeat("200,", 100) + `200]}`), KindInvalid, CodeInvalidScenario, "step 1: expect.status may list at most 100 codes"},
		{stepBody(`"expect":{"body_contains":"x"}`), KindInvalid, CodeInvalidScenario, "step 1: body_contains must be a list"},
		{stepBody(`"expect":{"body_contains":[{}]}`), KindInvalid, CodeInvalidScenario, "step 1: body_contains items must be strings, numbers or booleans"},
		{stepBody(`"expect":{"body_contains":[null]}`), KindInvalid, CodeInvalidScenario, "step 1: body_contains items must be strings, numbers or booleans"},
		{stepBody(`"expect":{"header_equals":[]}`), KindInvalid, CodeInvalidScenario, "step 1: header_equals must be an object"},
		{stepBody(`"expect":{"header_equals":{"a":[]}}`), KindInvalid, CodeInvalidScenario, "step 1: header_equals values must be strings, numbers or booleans"},
		{stepBody(`"expect":{"header_equals":{"A":"1","a":"1"}}`), KindInvalid, CodeInvalidScenario, "step 1: header_equals must not repeat a name (names are case-insensitive)"},
		{stepBody(`"expect":{"max_latency_ms":"5"}`), KindInvalid, CodeInvalidScenario, "step 1: max_latency_ms must be an integer or null"},
		{stepBody(`"expect":{"max_latency_ms":5.5}`), KindInvalid, CodeInvalidScenario, "step 1: max_latency_ms must be an integer or null"},
		{stepBody(`"expect":{"max_latency_ms":-1}`), KindInvalid, CodeInvalidScenario, "step 1: max_latency_ms must be >= 0"},
		{stepBody(`"id":5`), KindInvalid, CodeInvalidScenario, "step 1: id must be a string"},
		{stepBody(`"id":"` + strings.Repeat("i", 129) + `"`), KindInvalid, CodeInvalidScenario, "step 1: id must be at most 128 bytes, without control characters"},
		{stepBody(`"name":[]`), KindInvalid, CodeInvalidScenario, "step 1: name must be a string"},
		{stepBody(`"target_id":5`), KindInvalid, CodeInvalidScenario, "step 1: target_id must be a string"},
		{stepBody(`"target_id":"a/b"`), KindInvalid, CodeInvalidScenario, "step 1: target_id must be local or a target id (1 to 64 letters, digits, '.', '_' or '-', and not . or ..)"},
		{stepBody(`"body":"\ud800"`), 0, "", "a lone surrogate decodes to U+FFFD"},
		{`{"name":"s","steps":[{"method":"GET","path":"/","id":"a"},{"method":"GET","path":"/","id":"a"}]}`,
			KindInvalid, CodeInvalidScenario, `step 2: id "a" is already used by step 1`},
		{`{"name":"s","steps":[{"method":"GET","path":"/","id":"step-2"},{"method":"GET","path":"/"}]}`,
			KindInvalid, CodeInvalidScenario, `step 2: id "step-2" is already used by step 1`},
		{`{"name":"s","id":5,"steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, "id must be a string"},
		{`{"name":"s","id":"a/b","steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."},
		{`{"name":"s","id":"runs","steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, "id runs is reserved"},
		// Body-level errors.
		{`[1]`, KindInvalid, CodeInvalidJSON, msgNotObject},
		{`{"name":`, KindInvalid, CodeInvalidJSON, msgNotJSON},
		{"\xff", KindInvalid, CodeInvalidJSON, msgNotUTF8},
		{``, KindInvalid, CodeInvalidScenario, "scenario name is required"},
		// Size limits: 413.
		{`{"name":"s","steps":[` + strings.Repeat(`{"method":"GET","path":"/"},`, 50) + `{"method":"GET","path":"/"}]}`,
			KindTooLarge, CodeScenarioTooLarge, "scenario has too many steps"},
		{stepBody(`"expect":{"body_contains":[` + strings.Repeat(`"t",`, 19) + `"t"]}`), KindTooLarge, CodeScenarioTooLarge, "step 1: too many assertions"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			is := is.New(t)
			_, e := DecodeScenario([]byte(tt.body), ScenarioLimits{})
			if tt.kind == 0 {
				is.True(e == nil)
				return
			}
			is.True(e != nil)
			is.Equal(*e, Error{Kind: tt.kind, Code: tt.code, Message: tt.msg})
		})
	}
}

func TestDecodeScenarioLimits(t *testing.T) {
	is := is.New(t)
	steps := func(n int) string {
		return `{"name":"s","steps":[` + strings.TrimSuffix(strings.Repeat(`{"method":"GET","path":"/"},`, n), ",") + `]}`
	}
	lim := ScenarioLimits{MaxSteps: 3, MaxAssertions: 4, MaxStepDelay: 1500 * time.Millisecond}
	_, e := DecodeScenario([]byte(steps(3)), lim)
	is.True(e == nil) // at the limit
	_, e = DecodeScenario([]byte(steps(4)), lim)
	is.Equal(e.Kind, KindTooLarge) // one past
	_, e = DecodeScenario([]byte(steps(50)), ScenarioLimits{})
	is.True(e == nil) // the default limit is 50
	_, e = DecodeScenario([]byte(steps(51)), ScenarioLimits{})
	is.Equal(e.Message, "scenario has too many steps")

	// 1 (status) + 1 + 1 + 1 (max latency) = 4 assertions.
	_, e = DecodeScenario([]byte(stepBody(`"expect":{"body_contains":["a"],"header_equals":{"h":"v"},"max_latency_ms":5}`)), lim)
	is.True(e == nil)
	_, e = DecodeScenario([]byte(stepBody(`"expect":{"body_contains":["a","b"],"header_equals":{"h":"v"},"max_latency_ms":5}`)), lim)
	is.Equal(*e, Error{Kind: KindTooLarge, Code: CodeScenarioTooLarge, Message: "step 1: too many assertions"})
	_, e = DecodeScenario([]byte(stepBody(`"expect":{"body_contains":[`+strings.Repeat(`"t",`, 18)+`"t"]}`)), ScenarioLimits{})
	is.True(e == nil) // 20 with the default limit

	_, e = DecodeScenario([]byte(stepBody(`"delay_ms":1500`)), lim)
	is.True(e == nil)
	_, e = DecodeScenario([]byte(stepBody(`"delay_ms":1501`)), lim)
	is.Equal(e.Message, "step 1: delay_ms must be <= 1500")
	_, e = DecodeScenario([]byte(stepBody(`"delay_ms":30000`)), ScenarioLimits{})
	is.True(e == nil)
}

// TestDecodeScenarioHostile feeds wrong types everywhere: every one is a
// KindInvalid or KindTooLarge error, never a panic or a success.
func TestDecodeScenarioHostile(t *testing.T) {
	values := []string{`null`, `true`, `0`, `-1`, `1.5`, `1e999`, `"x"`, `""`, `[]`, `[null]`, `{}`, `{"a":{}}`, `[[[[[]]]]]`}
	keys := []string{"name", "steps", "defaults"}
	stepKeys := []string{"method", "path", "headers", "delay_ms", "chaos", "expect", "id", "target_id"}
	chaosKeys := []string{"enabled", "mode", "probability", "seed_offset"}
	expectKeys := []string{"status", "body_contains", "header_equals", "max_latency_ms"}
	var bodies []string
	for _, v := range values {
		for _, k := range keys {
			bodies = append(bodies, fmt.Sprintf(`{"name":"s","steps":[{"method":"GET","path":"/"}],%q:%s}`, k, v))
		}
		for _, k := range stepKeys {
			bodies = append(bodies, fmt.Sprintf(`{"name":"s","steps":[{"method":"GET","path":"/",%q:%s}]}`, k, v))
		}
		for _, k := range chaosKeys {
			bodies = append(bodies, fmt.Sprintf(`{"name":"s","steps":[{"method":"GET","path":"/","chaos":{%q:%s}}]}`, k, v))
		}
		for _, k := range expectKeys {
			bodies = append(bodies, fmt.Sprintf(`{"name":"s","steps":[{"method":"GET","path":"/","expect":{%q:%s}}]}`, k, v))
		}
		bodies = append(bodies, fmt.Sprintf(`{"name":"s","steps":[%s]}`, v))
	}
	// Values that some keys accept (null for optional fields, {} for chaos
	// or expect, …) are allowed to succeed; every other outcome must be a
	// clean error.
	accepted := 0
	for _, body := range bodies {
		sc, e := DecodeScenario([]byte(body), ScenarioLimits{})
		if e != nil {
			if e.Kind != KindInvalid && e.Kind != KindTooLarge || e.Message == "" {
				t.Errorf("%s: bad error %#v", body, e)
			}
			continue
		}
		accepted++
		if len(sc.Steps) != 1 || sc.Steps[0].Headers == nil || len(sc.Steps[0].Expect.Status) == 0 {
			t.Errorf("%s: accepted but not normalized: %+v", body, sc)
		}
	}
	if accepted == 0 || accepted == len(bodies) {
		t.Errorf("accepted %d of %d hostile bodies", accepted, len(bodies))
	}
	// The brief's examples, one by one.
	for _, body := range []string{
		stepBody(`"delay_ms":null`), stepBody(`"delay_ms":"5"`), stepBody(`"chaos":{"probability":"x"}`),
		stepBody(`"expect":{"status":[]}`), `{"name":"s","steps":{}}`, stepBody(`"headers":{"a":{"b":1}}`),
	} {
		_, e := DecodeScenario([]byte(body), ScenarioLimits{})
		if e == nil || e.Kind != KindInvalid || e.Code != CodeInvalidScenario {
			t.Errorf("%s: got %v, want invalid_scenario", body, e)
		}
	}
}

func TestNormalizeScenarioOfGoValues(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	// A scenario built in Go is validated like a decoded one.
	sc := Scenario{Name: "go", Steps: []Step{{Method: "get", Path: "/x", Headers: map[string]string{"X-A": "1"}}}}
	x, e := m.CreateScenario(sc, t0)
	is.True(e == nil)
	is.Equal(x.Steps[0].Method, "GET")
	is.Equal(x.Steps[0].Headers, map[string]string{"x-a": "1"})
	is.Equal(sc.Steps[0].Headers, map[string]string{"X-A": "1"}) // the caller's map is untouched
	_, e = m.CreateScenario(Scenario{Name: "bad", Steps: []Step{{Method: "GET", Path: "/", Chaos: &Chaos{Mode: "x"}}}}, t0)
	is.Equal(e.Message, "step 1: invalid chaos mode")
	_, e = m.CreateScenario(Scenario{Name: "bad", Steps: []Step{{Method: "GET", Path: "/", Expect: Expect{Status: []int{}}}}}, t0)
	is.Equal(e.Message, "step 1: status list cannot be empty")
	_, e = m.CreateScenario(Scenario{Name: "none"}, t0)
	is.Equal(e.Message, "scenario must contain at least one step")
}

func TestDecodeRunRequest(t *testing.T) {
	tests := []struct {
		body    string
		seed    int64
		hasSeed bool
		code    string
	}{
		{``, 0, false, ""},
		{`{}`, 0, false, ""},
		{`{"seed":null}`, 0, false, ""},
		{`{"seed":5}`, 5, true, ""},
		{`{"seed":-5}`, -5, true, ""},
		{`{"seed":5.0}`, 5, true, ""},
		{`{"seed":"42"}`, 42, true, ""},
		{`{"seed":" 42 "}`, 42, true, ""},
		{`{"seed":"x"}`, 0, false, CodeInvalidSeed},
		{`{"seed":1.5}`, 0, false, CodeInvalidSeed},
		{`{"seed":true}`, 0, false, CodeInvalidSeed},
		{`{"seed":[]}`, 0, false, CodeInvalidSeed},
		{`{"seed":1e30}`, 0, false, CodeInvalidSeed},
		{`x`, 0, false, CodeInvalidJSON},
		{`{"sead":5}`, 0, false, CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			is := is.New(t)
			seed, has, e := DecodeRunRequest([]byte(tt.body))
			if tt.code != "" {
				is.True(e != nil)
				is.Equal(e.Code, tt.code)
				if tt.code == CodeInvalidSeed {
					is.Equal(e.Message, "seed must be integer")
				}
				return
			}
			is.True(e == nil)
			is.Equal(seed, tt.seed)
			is.Equal(has, tt.hasSeed)
		})
	}
}

func FuzzDecodeScenario(f *testing.F) {
	f.Add([]byte(userLifecycle))
	f.Add([]byte(stepBody(`"headers":{"A":1},"expect":{"status":[200,201],"header_equals":{"X":true}},"chaos":{"enabled":true}`)))
	f.Add([]byte(`{"name":"s","steps":[{"method":"GET","path":"/","delay_ms":null}]}`))
	f.Add([]byte(`{"name":"s","id":"x","steps":[{"method":"post","path":"/a?b","body":[1,{"a":null}]}]}`))
	lim := ScenarioLimits{MaxSteps: 5, MaxAssertions: 6, MaxStepDelay: time.Second}
	f.Fuzz(func(t *testing.T, body []byte) {
		sc, e := DecodeScenario(body, lim)
		if e != nil {
			if e.Kind != KindInvalid && e.Kind != KindTooLarge {
				t.Fatalf("kind %v for %q", e.Kind, body)
			}
			return
		}
		// A decoded scenario is a fixed point: normalizing it again, or
		// decoding its JSON again, gives the same scenario.
		again := sc
		if e := normalizeScenario(&again, lim); e != nil {
			t.Fatalf("normalize of a decoded scenario: %v", e)
		}
		if !reflect.DeepEqual(again, sc) {
			t.Fatalf("normalize changed %+v into %+v", sc, again)
		}
		data, err := json.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		back, e := DecodeScenario(data, lim)
		if e != nil {
			t.Fatalf("re-decode %s: %v", data, e)
		}
		if !reflect.DeepEqual(back, sc) {
			t.Fatalf("round trip changed %+v into %+v", sc, back)
		}
	})
}
