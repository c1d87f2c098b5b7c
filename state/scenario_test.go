package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
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
		{stepBody(`"target_id":"a/b"`), KindInvalid, CodeInvalidScenario, "step 1: target_id must be local or a target id (1 to 64 letters, digits, '.', '_' or '-')"},
		{stepBody(`"body":"\ud800"`), 0, "", "a lone surrogate decodes to U+FFFD"},
		{`{"name":"s","steps":[{"method":"GET","path":"/","id":"a"},{"method":"GET","path":"/","id":"a"}]}`,
			KindInvalid, CodeInvalidScenario, `step 2: id "a" is already used by step 1`},
		{`{"name":"s","steps":[{"method":"GET","path":"/","id":"step-2"},{"method":"GET","path":"/"}]}`,
			KindInvalid, CodeInvalidScenario, `step 2: id "step-2" is already used by step 1`},
		{`{"name":"s","id":5,"steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, "id must be a string"},
		{`{"name":"s","id":"a/b","steps":[{"method":"GET","path":"/"}]}`, KindInvalid, CodeInvalidScenario, "id must be 1 to 64 letters, digits, '.', '_' or '-'"},
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

// ---- Model ----

func TestModelScenarioCRUD(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{Rand: &countingReader{}, MaxScenarios: 3})
	a, e := m.CreateScenario(decodeScenario(t, userLifecycle), t0)
	is.True(e == nil)
	is.Equal(a.ID, "000102030405") // 12 hex from the random source
	is.Equal(a.CreatedAt, "2026-11-26T10:00:00Z")
	is.Equal(a.UpdatedAt, a.CreatedAt)

	dupName := func(name string) *Error {
		_, e := m.CreateScenario(decodeScenario(t, minimalScenario(name)), t0)
		return e
	}
	is.Equal(*dupName("user LIFECYCLE"), Error{Kind: KindConflict, Code: CodeDuplicateScenario, Message: "scenario already exists"})
	is.Equal(dupName("  User lifecycle  ").Code, CodeDuplicateScenario) // trimmed
	withID := decodeScenario(t, minimalScenario("other"))
	withID.ID = a.ID
	_, e = m.CreateScenario(withID, t0)
	is.Equal(e.Code, CodeDuplicateScenario)
	withID.ID = "mine"
	b, e := m.CreateScenario(withID, t0)
	is.True(e == nil)
	is.Equal(b.ID, "mine")
	_, e = m.CreateScenario(decodeScenario(t, minimalScenario("third")), t0)
	is.True(e == nil)
	// At MaxScenarios (3): 413.
	_, e = m.CreateScenario(decodeScenario(t, minimalScenario("fourth")), t0)
	is.Equal(*e, Error{Kind: KindTooLarge, Code: CodeScenarioTooLarge, Message: "max scenarios reached"})

	// Replace: full replacement, id from the URL, created_at kept.
	later := t0.Add(time.Hour)
	repl := decodeScenario(t, minimalScenario("renamed"))
	repl.ID = "ignored"
	x, e := m.ReplaceScenario(a.ID, repl, later)
	is.True(e == nil)
	is.Equal(x.ID, a.ID)
	is.Equal(x.Name, "renamed")
	is.Equal(len(x.Steps), 1)
	is.Equal(x.CreatedAt, a.CreatedAt)
	is.Equal(x.UpdatedAt, FormatTime(later))
	is.Equal(m.Scenarios()[0], x) // position kept
	_, e = m.ReplaceScenario(a.ID, decodeScenario(t, minimalScenario("OTHER")), later)
	is.Equal(e.Code, CodeDuplicateScenario)
	_, e = m.ReplaceScenario(a.ID, decodeScenario(t, minimalScenario("Renamed")), later)
	is.True(e == nil) // its own name, in another case
	_, e = m.ReplaceScenario("nope", repl, later)
	is.Equal(*e, Error{Kind: KindNotFound, Code: CodeNotFound, Message: "scenario not found"})
	_, e = m.ReplaceScenario(a.ID, Scenario{Name: "x"}, later)
	is.Equal(e.Kind, KindInvalid)

	is.True(m.DeleteScenario("mine") == nil)
	is.Equal(m.DeleteScenario("mine").Kind, KindNotFound)
	_, ok := m.Scenario("mine")
	is.True(!ok)
	is.Equal(len(m.Scenarios()), 2)
}

func TestModelRunsBoundedAndCascade(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{Rand: &countingReader{}, MaxRunsPerScenario: 3})
	a, _ := m.CreateScenario(decodeScenario(t, minimalScenario("a")), t0)
	b, _ := m.CreateScenario(decodeScenario(t, minimalScenario("b")), t0)
	for i := range 5 {
		r, e := m.AddRun(a.ID, RunReport{RunID: fmt.Sprintf("a%d", i), Seed: int64(i)})
		is.True(e == nil)
		is.Equal(r.ScenarioID, a.ID)
	}
	_, e := m.AddRun(b.ID, RunReport{ScenarioID: "lies"})
	is.True(e == nil)
	runs := m.Runs(a.ID, 10)
	is.Equal(len(runs), 3) // bounded: the two oldest were dropped
	is.Equal([]string{runs[0].RunID, runs[1].RunID, runs[2].RunID}, []string{"a4", "a3", "a2"})
	is.Equal(len(m.Runs(a.ID, 0)), 1)  // max(1, limit)
	is.Equal(len(m.Runs(a.ID, -5)), 1) //
	is.Equal(len(m.Runs("nope", 5)), 0)
	_, ok := m.RunByID("a0")
	is.True(!ok) // dropped runs are gone from the index too
	br := m.Runs(b.ID, 1)[0]
	is.Equal(br.ScenarioID, b.ID)
	is.Equal(len(br.RunID), 14) // generated
	is.Equal(br.StepResults, []StepResult{})

	_, e = m.AddRun(a.ID, RunReport{RunID: "a4"})
	is.Equal(e.Code, CodeDuplicateRun)
	_, e = m.AddRun(a.ID, RunReport{RunID: "bad/id"})
	is.Equal(e.Kind, KindInvalid)
	_, e = m.AddRun("nope", RunReport{})
	is.Equal(*e, Error{Kind: KindNotFound, Code: CodeNotFound, Message: "scenario not found"})

	is.Equal(len(m.allRuns()), 4)
	is.True(m.DeleteScenario(a.ID) == nil)
	_, ok = m.RunByID("a4")
	is.True(!ok) // delete cascades
	is.Equal(len(m.Runs(a.ID, 10)), 0)
	is.Equal(len(m.allRuns()), 1)
}

func TestLoadScenariosKeepsValidSkipsInvalid(t *testing.T) {
	is := is.New(t)
	data := `{"version":1,"scenarios":[
		{"id":"s1","name":"one","steps":[{"method":"GET","path":"/"}],"created_at":"2026-01-02T03:04:05Z","updated_at":"bad"},
		{"name":"no id","steps":[{"method":"GET","path":"/"}]},
		{"id":"s2","name":"ONE","steps":[{"method":"GET","path":"/"}]},
		{"id":"s3","name":"bad","steps":[]},
		7],
	  "runs":[{"run_id":"r1","scenario_id":"s1"},{"run_id":"r2","scenario_id":"nope"},{"scenario_id":"s1"},"x",
		{"run_id":"r3","scenario_id":"s1","status":"fail","step_results":[{"step_id":"step-1","failure_reason":null}]}]}`
	m := newTestModel()
	notes, err := m.LoadScenarios([]byte(data), t0)
	is.NoErr(err)
	is.Equal(len(m.Scenarios()), 1)
	s1, _ := m.Scenario("s1")
	is.Equal(s1.CreatedAt, "2026-01-02T03:04:05Z")
	is.Equal(s1.UpdatedAt, FormatTime(t0))
	is.Equal(len(notes), 7)
	runs := m.Runs("s1", 10)
	is.Equal(len(runs), 2)
	is.Equal(runs[0].RunID, "r3")
	is.Equal(runs[0].StepResults[0].FailureReason, OptString(""))

	for _, bad := range []string{`[]`, `{"scenarios":{}}`, `{"runs":"x"}`, `{"version":"1"}`} {
		_, err := newTestModel().LoadScenarios([]byte(bad), t0)
		var c errCorrupt
		is.True(errors.As(err, &c))
	}
	_, err = newTestModel().LoadScenarios([]byte(`{"version":2}`), t0)
	var tooNew errTooNew
	is.True(errors.As(err, &tooNew))
}

// ---- Actor ----

func scenarioActorConfig(t *testing.T) Config {
	cfg := testConfig()
	dir := t.TempDir()
	cfg.StateFile = filepath.Join(dir, "data", "server_state.json")
	cfg.ScenarioFile = filepath.Join(dir, "data", "scenarios_state.json")
	cfg.TargetFile = filepath.Join(dir, "data", "targets_state.json")
	return cfg
}

type scenarioFile struct {
	Version   int         `json:"version"`
	Scenarios []Scenario  `json:"scenarios"`
	Runs      []RunReport `json:"runs"`
}

func readScenarioFile(t *testing.T, path string) scenarioFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f scenarioFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	return f
}

func TestActorScenariosDurableAfterAck(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)

	sc, err := a.CreateScenario(ctx, decodeScenario(t, userLifecycle))
	is.NoErr(err)
	// On disk when the call returns.
	f := readScenarioFile(t, cfg.ScenarioFile)
	is.Equal(f.Version, 1)
	is.Equal(len(f.Scenarios), 1)
	is.Equal(f.Scenarios[0].ID, sc.ID)
	is.Equal(f.Runs, []RunReport{})
	_, err = os.Stat(cfg.StateFile)
	is.True(errors.Is(err, os.ErrNotExist)) // the mocks file is not touched

	got, err := a.GetScenario(ctx, sc.ID)
	is.NoErr(err)
	is.Equal(got.Name, "User lifecycle")
	list, err := a.ListScenarios(ctx)
	is.NoErr(err)
	is.Equal(len(list), 1)
	_, err = a.CreateScenario(ctx, decodeScenario(t, userLifecycle))
	is.Equal(KindOf(err), KindConflict)

	repl, err := a.ReplaceScenario(ctx, sc.ID, decodeScenario(t, minimalScenario("renamed")))
	is.NoErr(err)
	is.Equal(repl.CreatedAt, sc.CreatedAt)
	is.Equal(readScenarioFile(t, cfg.ScenarioFile).Scenarios[0].Name, "renamed")

	plan, err := a.StartRun(ctx, sc.ID, 7)
	is.NoErr(err)
	is.Equal(len(plan.RunID), 14)
	is.Equal(plan.Seed, int64(7))
	for plan.Next() {
		plan.Record(ResponseView{Status: 200, Headers: map[string]string{"x-request-id": "t1"}}, 1)
	}
	run, err := a.AddRun(ctx, sc.ID, plan.Report(t0, 2))
	is.NoErr(err)
	is.Equal(run.RunID, plan.RunID)
	is.Equal(run.Status, StatusPass)
	f = readScenarioFile(t, cfg.ScenarioFile)
	is.Equal(len(f.Runs), 1) // the run is durable when AddRun returns
	is.Equal(f.Runs[0].RunID, run.RunID)
	is.Equal(f.Runs[0].StepResults[0].TraceID, "t1")

	got2, err := a.GetRun(ctx, run.RunID)
	is.NoErr(err)
	is.Equal(got2.RunID, run.RunID)
	runs, err := a.Runs(ctx, sc.ID, DefaultRunsLimit)
	is.NoErr(err)
	is.Equal(len(runs), 1)
	runs, err = a.Runs(ctx, "nope", DefaultRunsLimit)
	is.NoErr(err)
	is.Equal(runs, []RunReport{})

	is.NoErr(a.DeleteScenario(ctx, sc.ID))
	f = readScenarioFile(t, cfg.ScenarioFile)
	is.Equal(len(f.Scenarios), 0)
	is.Equal(len(f.Runs), 0) // runs deleted with their scenario
	_, err = a.GetRun(ctx, run.RunID)
	var se *Error
	is.True(errors.As(err, &se))
	is.Equal(*se, Error{Kind: KindNotFound, Code: CodeNotFound, Message: "run not found"})
	_, err = a.StartRun(ctx, sc.ID, 1)
	is.Equal(KindOf(err), KindNotFound)
	_, err = a.AddRun(ctx, sc.ID, run)
	is.Equal(KindOf(err), KindNotFound)
	is.Equal(a.Stats().PersistWrites, uint64(4)) // create, replace, run, delete
}

func TestActorRunsBoundedPerScenario(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	cfg.MaxRunsPerScenario = 3
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)
	sc, err := a.CreateScenario(ctx, decodeScenario(t, minimalScenario("s")))
	is.NoErr(err)
	var ids []string
	for i := range 5 {
		plan, err := a.StartRun(ctx, sc.ID, int64(i))
		is.NoErr(err)
		r, err := a.AddRun(ctx, sc.ID, plan.Report(t0, 0))
		is.NoErr(err)
		ids = append(ids, r.RunID)
	}
	runs, err := a.Runs(ctx, sc.ID, 100)
	is.NoErr(err)
	is.Equal(len(runs), 3)
	is.Equal([]string{runs[0].RunID, runs[1].RunID, runs[2].RunID}, []string{ids[4], ids[3], ids[2]})
	is.Equal(len(readScenarioFile(t, cfg.ScenarioFile).Runs), 3)
	_, err = a.GetRun(ctx, ids[0])
	is.Equal(KindOf(err), KindNotFound)
}

func TestActorScenarioPersistRoundTrip(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	a := newActor(t, cfg)
	stop := startActor(t, a)
	ctx := testCtx(t)
	sc, err := a.CreateScenario(ctx, decodeScenario(t, userLifecycle))
	is.NoErr(err)
	plan, err := a.StartRun(ctx, sc.ID, 5)
	is.NoErr(err)
	for plan.Next() {
		plan.Record(ResponseView{Status: 503, Body: "<b>&</b>"}, 12.3456)
	}
	run, err := a.AddRun(ctx, sc.ID, plan.Report(t0.Add(time.Second), 20))
	is.NoErr(err)
	tg, err := a.CreateTarget(ctx, TargetInput{Name: ptr("t"), BaseURL: ptr("http://127.0.0.1:9")})
	is.NoErr(err)
	is.NoErr(stop())

	b := newActor(t, cfg)
	startActor(t, b)
	ctx = testCtx(t)
	sc2, err := b.GetScenario(ctx, sc.ID)
	is.NoErr(err)
	is.Equal(mustJSON(t, sc2), mustJSON(t, sc))
	run2, err := b.GetRun(ctx, run.RunID)
	is.NoErr(err)
	is.Equal(mustJSON(t, run2), mustJSON(t, run))
	tg2, ok := b.TargetSnapshot().Target(tg.ID)
	is.True(ok)
	is.Equal(*tg2, tg)
}

func TestActorScenarioFileCorruptOrTooNew(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	is.NoErr(os.MkdirAll(filepath.Dir(cfg.ScenarioFile), 0o755))
	// A good mocks file and a corrupt scenario file: only the scenario
	// state starts empty.
	is.NoErr(os.WriteFile(cfg.StateFile, []byte(`{"version":1,"mocks":[{"id":"m","method":"GET","path_pattern":"/m"}]}`), 0o600))
	is.NoErr(os.WriteFile(cfg.ScenarioFile, []byte(`{"version":1,"scenarios":[{"id":"s","name":"n","steps":[{"method":"GET","path":"/"}]}],"runs":{}}`), 0o600))
	a := newActor(t, cfg)
	is.Equal(a.Snapshot().Len(), 1)
	is.Equal(len(a.model.Scenarios()), 0) // nothing half-loaded
	backup := fmt.Sprintf("%s.corrupt.%d", cfg.ScenarioFile, t0.Unix())
	_, err := os.Stat(backup)
	is.NoErr(err)
	_, err = os.Stat(cfg.ScenarioFile)
	is.True(errors.Is(err, os.ErrNotExist))

	is.NoErr(os.WriteFile(cfg.ScenarioFile, []byte(`{"version":3}`), 0o600))
	_, err = New(cfg, nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "--scenario-state-file"))
	is.True(strings.Contains(err.Error(), "version 3"))
}

func TestActorScenarioPersistFailureIsPerFile(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	cfg.ScenarioFile = filepath.Join(t.TempDir(), "blocked", "scenarios.json")
	is.NoErr(os.WriteFile(filepath.Dir(cfg.ScenarioFile), []byte("x"), 0o600))
	a := newActor(t, cfg)
	stop := startActor(t, a)
	ctx := testCtx(t)
	_, err := a.CreateScenario(ctx, decodeScenario(t, minimalScenario("s")))
	var se *Error
	is.True(errors.As(err, &se))
	is.Equal(se.Code, CodePersistFailed)
	list, err := a.ListScenarios(ctx)
	is.NoErr(err)
	is.Equal(len(list), 1) // kept in memory
	// Other files are not affected.
	_, err = a.CreateMock(ctx, decode(t, mockJSON("GET", "/ok")))
	is.NoErr(err)
	_, err = a.CreateTarget(ctx, TargetInput{Name: ptr("t"), BaseURL: ptr("http://x")})
	is.NoErr(err)
	err = stop()
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "scenarios.json"))
	is.Equal(len(readState(t, cfg.StateFile).Mocks), 1)
}

func TestActorScenariosInMemoryWithoutFile(t *testing.T) {
	is := is.New(t)
	a := newActor(t, testConfig())
	startActor(t, a)
	ctx := testCtx(t)
	sc, err := a.CreateScenario(ctx, decodeScenario(t, minimalScenario("s")))
	is.NoErr(err)
	is.Equal(len(sc.ID), 12)
	is.Equal(a.Stats().PersistWrites, uint64(0))
	is.Equal(a.ScenarioLimits(), ScenarioLimits{MaxSteps: 50, MaxAssertions: 20, MaxStepDelay: 30 * time.Second})
}

func ptr[T any](v T) *T { return &v }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestActorAddRunKeepsTheFileEncodable(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)
	sc, err := a.CreateScenario(ctx, decodeScenario(t, minimalScenario("s")))
	is.NoErr(err)
	// A hand-made report with values JSON cannot hold: floats are
	// sanitized, invalid raw JSON is refused; the file stays writable.
	r, err := a.AddRun(ctx, sc.ID, RunReport{RunID: "nan", Summary: RunSummary{DurationMS: math.NaN()},
		StepResults: []StepResult{{StepID: "a", LatencyMS: math.Inf(1)}}})
	is.NoErr(err)
	is.Equal(r.Summary.DurationMS, 0.0)
	is.Equal(r.StepResults[0].LatencyMS, maxLatencyMS)
	_, err = a.AddRun(ctx, sc.ID, RunReport{StepResults: []StepResult{{Assertions: []AssertionResult{{Expected: json.RawMessage("{")}}}}})
	is.Equal(KindOf(err), KindInvalid)
	f := readScenarioFile(t, cfg.ScenarioFile)
	is.Equal(len(f.Runs), 1)
	is.Equal(f.Runs[0].RunID, "nan")
}
