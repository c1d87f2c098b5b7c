package state

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/matryer/is"

	"ownhttp/mock"
)

// serveStatuses serves n hits of the mock matching method and path and returns their
// statuses (404 for a used-up not_found sequence, 0 when nothing matched).
func serveStatuses(m *Model, method, path string, n int) []int {
	var out []int
	for range n {
		x, ok := m.Snapshot().MatchMock([]byte(method), []byte(path), &mock.Request{})
		if !ok {
			out = append(out, 0)
			continue
		}
		r, _ := x.Serve()
		if r == nil {
			out = append(out, 404)
			continue
		}
		out = append(out, r.Status)
	}
	return out
}

func TestSequences(t *testing.T) {
	tests := []struct {
		afterLast string
		want      []int
	}{
		{"", []int{202, 201, 200, 200, 200}},
		{`,"after_last":"repeat_last"`, []int{202, 201, 200, 200, 200}},
		{`,"after_last":"loop"`, []int{202, 201, 200, 202, 201}},
		{`,"after_last":"not_found"`, []int{202, 201, 200, 404, 404}},
	}
	for _, tt := range tests {
		t.Run(tt.afterLast, func(t *testing.T) {
			is := is.New(t)
			m := newTestModel()
			x := mustCreate(t, m, `{"method":"POST","path_pattern":"/jobs","responses":[{"status":202},{"status":201},{"status":200,"body":"done"}]`+tt.afterLast+`}`)
			is.Equal(serveStatuses(m, "POST", "/jobs", 5), tt.want)
			is.Equal(x.SequenceOf().Served, uint64(5))
			is.Equal(m.resetMockStates(), 1)
			is.Equal(x.SequenceOf().Position, 0)
			is.Equal(serveStatuses(m, "POST", "/jobs", 1), tt.want[:1])
		})
	}
}

// Concurrent hits each take their own position: every response is served exactly as often
// as the sequence says.
func TestSequenceConcurrentHits(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	x := mustCreate(t, m, `{"method":"GET","path_pattern":"/s","after_last":"loop","responses":[{"status":200},{"status":201},{"status":202},{"status":203}]}`)
	var mu sync.Mutex
	count := map[int]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			local := map[int]int{}
			for range 1000 {
				r, _ := x.Serve()
				local[r.Status]++
			}
			mu.Lock()
			for k, v := range local {
				count[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	is.Equal(count, map[int]int{200: 4000, 201: 4000, 202: 4000, 203: 4000})
}

func TestStateMachines(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	mustCreate(t, m, `{"method":"GET","path_pattern":"/cart","body":"empty","state":{"name":"cart","requires":"started"}}`)
	mustCreate(t, m, `{"method":"GET","path_pattern":"/cart","body":"full","state":{"name":"cart","requires":"full"}}`)
	mustCreate(t, m, `{"method":"POST","path_pattern":"/cart","status":201,"state":{"name":"cart","sets":"full"}}`)
	body := func() string {
		x, ok := m.Snapshot().MatchMock([]byte("GET"), []byte("/cart"), &mock.Request{})
		if !ok {
			return "(none)"
		}
		r, _ := x.Serve()
		return r.Body
	}
	is.Equal(body(), "empty")
	is.Equal(serveStatuses(m, "POST", "/cart", 1), []int{201})
	is.Equal(body(), "full")
	ms, e := m.MachineStateOf("cart")
	is.True(e == nil)
	is.Equal(ms.State, "full")
	is.Equal(len(ms.Mocks), 3)
	_, e = m.SetMachineState("cart", "started")
	is.True(e == nil)
	is.Equal(body(), "empty")
	_, e = m.SetMachineState("cart", "gone")
	is.True(e == nil)
	is.Equal(body(), "(none)") // no mock answers in that state
	_, e = m.SetMachineState("cart", "bad state")
	is.Equal(e.Code, CodeInvalidMockState)
	_, e = m.SetMachineState("nope", "x")
	is.Equal(e.Kind, KindNotFound)
	is.Equal(m.resetMockStates(), 1)
	is.Equal(body(), "empty")

	// A near miss shows the state the mock needs.
	_, e = m.SetMachineState("cart", "gone")
	is.True(e == nil)
	near, same := m.Snapshot().NearMisses([]byte("GET"), []byte("/cart"), &mock.Request{}, 3)
	is.True(same)
	last := near[0].Checks[len(near[0].Checks)-1]
	is.Equal(last.Field, "state.cart")
	is.Equal(last.Actual, "gone")
	is.True(!last.Matched)

	// A machine no mock uses any more is forgotten.
	for _, x := range append([]*Mock(nil), m.Mocks()...) {
		is.True(m.DeleteMock(x.ID) == nil)
	}
	m.Snapshot()
	is.Equal(len(m.MachineStates()), 0)
}

func TestSequenceAndStateDecoding(t *testing.T) {
	tests := []struct {
		name, body, msg string
	}{
		{"responses empty", `{"method":"GET","path_pattern":"/a","responses":[]}`, "responses must be a non-empty list of responses"},
		{"responses not objects", `{"method":"GET","path_pattern":"/a","responses":[1]}`, "responses[0] must be an object"},
		{"responses unknown field", `{"method":"GET","path_pattern":"/a","responses":[{"staus":1}]}`, `responses[0]: unknown field "staus"`},
		{"responses bad status", `{"method":"GET","path_pattern":"/a","responses":[{"status":200},{"status":700}]}`, "responses[1].status must be between 200 and 599"},
		{"responses and status", `{"method":"GET","path_pattern":"/a","status":201,"responses":[{"status":200}]}`, "give responses or status, headers, body, body_base64 and content_type, not both"},
		{"after_last bad", `{"method":"GET","path_pattern":"/a","responses":[{}],"after_last":"again"}`, msgAfterLast},
		{"after_last alone", `{"method":"GET","path_pattern":"/a","after_last":"loop"}`, "after_last needs responses"},
		{"state no name", `{"method":"GET","path_pattern":"/a","state":{"sets":"x"}}`, "state.name must be 1 to 64 letters, digits, '.', '_' or '-'"},
		{"state nothing", `{"method":"GET","path_pattern":"/a","state":{"name":"c"}}`, "state needs requires, sets or both"},
		{"state bad requires", `{"method":"GET","path_pattern":"/a","state":{"name":"c","requires":"a b"}}`, "state.requires must be 1 to 64 letters, digits, '.', '_' or '-'"},
		{"state unknown", `{"method":"GET","path_pattern":"/a","state":{"name":"c","sets":"x","set":"y"}}`, `state: unknown field "set"`},
		{"body_base64 bad", `{"method":"GET","path_pattern":"/a","body_base64":"%%"}`, "body_base64 is not base64"},
		{"body and base64", `{"method":"GET","path_pattern":"/a","body":"x","body_base64":"eA=="}`, "body and body_base64 are exclusive"},
		{"status template untemplated", `{"method":"GET","path_pattern":"/a","status":"{{request.query.s}}"}`, `status must be an integer (a template needs "template": true)`},
		{"seed bad", `{"method":"GET","path_pattern":"/a","seed":1.5}`, "seed must be an integer"},
		{"template bad", `{"method":"GET","path_pattern":"/a","template":"yes"}`, "template must be true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			e := createErr(newTestModel(), tt.body)
			is.True(e != nil)
			is.Equal(e.Code, CodeInvalidMock)
			if len(e.Message) < len(tt.msg) || e.Message[:len(tt.msg)] != tt.msg {
				t.Fatalf("message %q, want it to start with %q", e.Message, tt.msg)
			}
		})
	}
}

// A mock's JSON reads back as the same mock: a JSON body stays JSON, a binary body is
// base64, a sequence shows its responses and no answer of its own.
func TestMockJSONRoundTrip(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	for _, body := range []string{
		`{"id":"j","method":"GET","path_pattern":"/j","body":{"a":[1,2.50]}}`,
		`{"id":"b","method":"GET","path_pattern":"/b","body_base64":"AAH/","content_type":"application/octet-stream"}`,
		`{"id":"s","method":"POST","path_regex":"/s/[0-9]+","responses":[{"status":202,"headers":{"X-N":"1"}},{"body":"done","content_type":"text/plain"}],"after_last":"loop","state":{"name":"flow","sets":"done"},"seed":7,"priority":2}`,
	} {
		x := mustCreate(t, m, body)
		b, err := json.Marshal(x)
		is.NoErr(err)
		var obj map[string]json.RawMessage
		is.NoErr(json.Unmarshal(b, &obj))
		switch x.ID {
		case "j":
			is.Equal(string(obj["body"]), `{"a":[1,2.50]}`)
			is.Equal(string(x.BodyBytes), `{"a":[1,2.50]}`)
		case "b":
			is.Equal(string(obj["body_base64"]), `"AAH/"`)
			is.Equal(x.BodyBytes, []byte{0, 1, 0xff})
			_, hasBody := obj["body"]
			is.True(!hasBody)
		case "s":
			for _, k := range []string{"status", "headers", "body", "content_type"} {
				_, has := obj[k]
				is.True(!has) // a sequence has no answer of its own
			}
			is.Equal(string(obj["after_last"]), `"loop"`)
		}
		// What the mock's JSON says makes the same mock again.
		m2 := newTestModel()
		y := mustCreate(t, m2, string(b))
		b2, err := json.Marshal(y)
		is.NoErr(err)
		is.Equal(string(b2), string(b))
	}
}
