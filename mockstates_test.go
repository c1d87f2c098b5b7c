package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// Sequences over the wire (#15): responses in order, after_last, the 404 of a used-up
// not_found sequence, where the sequence stands in GET /api/mocks/{id}, and POST
// /api/reset starting it again.
func TestMockSequenceWire(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		m := l.createMock(`{"id":"job","method":"POST","path_pattern":"/jobs","after_last":"not_found",
			"responses":[{"status":202,"body":{"state":"queued"}},{"status":200,"body":"done","content_type":"text/plain"}]}`)
		r := l.do("POST", "/jobs", "")
		is.Equal(r.status, 202)
		is.Equal(string(r.body), `{"state":"queued"}`)
		r = l.do("POST", "/jobs", "")
		is.Equal(r.status, 200)
		is.Equal(string(r.body), "done")
		is.Equal(r.header.Get("Content-Type"), "text/plain")
		r = l.do("POST", "/jobs", "")
		is.Equal(r.status, 404)
		is.True(strings.Contains(string(r.body), `"code":"sequence_exhausted"`))
		var got struct {
			Mock struct {
				Sequence struct {
					Length   int `json:"length"`
					Position int `json:"position"`
					Served   int `json:"served"`
				} `json:"sequence"`
				Responses []json.RawMessage `json:"responses"`
			} `json:"mock"`
		}
		l.do("GET", "/api/mocks/"+m.ID, "").decode(t, &got)
		is.Equal(got.Mock.Sequence.Length, 2)
		is.Equal(got.Mock.Sequence.Position, -1) // used up
		is.Equal(got.Mock.Sequence.Served, 3)
		is.Equal(string(got.Mock.Responses[0]), `{"status":202,"headers":{},"body":{"state":"queued"},"content_type":"application/json"}`)
		var sum struct {
			MockStatesReset int `json:"mock_states_reset"`
		}
		l.do("POST", "/api/reset", "").decode(t, &sum)
		is.Equal(sum.MockStatesReset, 0) // the API's mocks are deleted by a reset; none left
	})
}

// A loop sequence hit from 256 connections with 8 pipelined requests each: every position
// is served exactly as often as the sequence says.
func TestMockSequencePipelined(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/seq","after_last":"loop","responses":[
			{"body":"a","content_type":"text/plain"},{"body":"b","content_type":"text/plain"},
			{"body":"c","content_type":"text/plain"},{"body":"d","content_type":"text/plain"}]}`)
		const conns, depth = 256, 8
		raw := strings.Repeat("GET /seq HTTP/1.1\r\nHost: x\r\n\r\n", depth)
		methods := make([]string, depth)
		for i := range methods {
			methods[i] = "GET"
		}
		var mu sync.Mutex
		count := map[string]int{}
		var wg sync.WaitGroup
		for range conns {
			c := s.Dial(t)
			wg.Go(func() {
				defer c.Close()
				testkit.SendRaw(c, raw, false)
				ex := testkit.ReadResponses(c, methods, false)
				mu.Lock()
				defer mu.Unlock()
				if ex.Err != nil {
					count["error"]++
					return
				}
				for _, b := range ex.Bodies {
					count[b]++
				}
			})
		}
		wg.Wait()
		n := conns * depth / 4
		is.Equal(count, map[string]int{"a": n, "b": n, "c": n, "d": n})
	})
}

// State machines over the wire (#15): a mock that sets a state, mocks that require one,
// GET/PUT/DELETE /api/mock-states, the near miss that names the state, and POST
// /api/reset.
func TestMockStatesWire(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/cart","body":{"items":[]},"state":{"name":"cart","requires":"started"}}`)
		l.createMock(`{"method":"GET","path_pattern":"/cart","body":{"items":["apple"]},"state":{"name":"cart","requires":"full"}}`)
		l.createMock(`{"method":"POST","path_pattern":"/cart","status":201,"state":{"name":"cart","sets":"full"}}`)
		l.createMock(`{"method":"DELETE","path_pattern":"/cart","status":204,"state":{"name":"cart","requires":"full","sets":"started"}}`)
		is.Equal(string(l.do("GET", "/cart", "").body), `{"items":[]}`)
		is.Equal(l.do("POST", "/cart", "").status, 201)
		is.Equal(string(l.do("GET", "/cart", "").body), `{"items":["apple"]}`)

		type machine struct {
			Name  string   `json:"name"`
			State string   `json:"state"`
			Mocks []string `json:"mocks"`
		}
		var one struct {
			MockState machine `json:"mock_state"`
		}
		l.do("GET", "/api/mock-states/cart", "").decode(t, &one)
		is.Equal(one.MockState.State, "full")
		is.Equal(len(one.MockState.Mocks), 4)
		var all struct {
			MockStates []machine `json:"mock_states"`
		}
		l.do("GET", "/api/mock-states", "").decode(t, &all)
		is.Equal(len(all.MockStates), 1)

		// Set one machine through the API; a state no GET mock requires is a near miss naming it.
		r := l.do("PUT", "/api/mock-states/cart", `{"state":"checkout"}`)
		is.Equal(r.status, 200)
		r = l.do("GET", "/cart", "")
		is.Equal(r.status, 404)
		is.True(strings.Contains(string(r.body), `"field":"state.cart","expected":"full","actual":"checkout","matched":false`))
		is.Equal(l.do("DELETE", "/cart", "").status, 404) // DELETE requires full too: a near miss
		is.Equal(l.do("PUT", "/api/mock-states/cart", `{"state":"bad state"}`).status, 400)
		is.Equal(l.do("PUT", "/api/mock-states/cart", `{"sate":"x"}`).status, 400)
		is.Equal(l.do("PUT", "/api/mock-states/nope", `{"state":"x"}`).status, 404)

		// DELETE resets one machine; so does a DELETE mock that sets started.
		is.Equal(l.do("DELETE", "/api/mock-states/cart", "").status, 200)
		is.Equal(string(l.do("GET", "/cart", "").body), `{"items":[]}`)
		is.Equal(l.do("POST", "/cart", "").status, 201)
		is.Equal(l.do("DELETE", "/cart", "").status, 204)
		is.Equal(string(l.do("GET", "/cart", "").body), `{"items":[]}`)

		// The mock's JSON shows its machine's current state.
		var list struct {
			Mocks []struct {
				State struct {
					Name    string `json:"name"`
					Current string `json:"current"`
				} `json:"state"`
			} `json:"mocks"`
		}
		is.Equal(l.do("POST", "/cart", "").status, 201)
		l.do("GET", "/api/mocks", "").decode(t, &list)
		is.Equal(list.Mocks[0].State.Current, "full")
		var sum struct {
			MockStatesReset int `json:"mock_states_reset"`
		}
		l.do("POST", "/api/reset", "").decode(t, &sum)
		is.Equal(sum.MockStatesReset, 0) // the reset deleted the mocks, and their machine with them
		l.do("GET", "/api/mock-states", "").decode(t, &all)
		is.Equal(len(all.MockStates), 0)
	})
}

// Bodies (#15): a JSON body stays JSON in the API, a binary body goes in and out as
// body_base64 and is sent byte for byte.
func TestMockBodiesWire(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"id":"png","method":"GET","path_pattern":"/logo.png","content_type":"image/png","body_base64":"iVBORw0KGgoAAP8="}`)
		r := l.do("GET", "/logo.png", "")
		is.Equal(r.status, 200)
		is.Equal(r.body, []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0xff})
		var got struct {
			Mock map[string]json.RawMessage `json:"mock"`
		}
		l.do("GET", "/api/mocks/png", "").decode(t, &got)
		is.Equal(string(got.Mock["body_base64"]), `"iVBORw0KGgoAAP8="`)
		_, hasBody := got.Mock["body"]
		is.True(!hasBody)
		is.Equal(l.do("POST", "/api/mocks", `{"method":"GET","path_pattern":"/x","body_base64":"!"}`).status, 400)
	})
}

// With --persist-mock-state, sequence positions and machine states survive a restart
// (the last hit before a clean stop, and a state set through the API at once); without it
// every start is a fresh one (#15).
func TestMockStatesPersist(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		stateFile := filepath.Join(t.TempDir(), "state.json")
		mocksDir := t.TempDir()
		testkit.WriteFile(t, mocksDir, "steps.json", `{"mocks":[{"id":"steps","method":"GET","path_pattern":"/steps",
			"responses":[{"body":"a"},{"body":"b"},{"body":"c"}]}]}`)
		start := func(persist bool) (*testkit.Server, *labClient) {
			s := startWithStateFile(t, engine, stateFile, "--persist-mock-state="+strconv.FormatBool(persist), "--mocks-dir", mocksDir)
			l := newLabClient(t, s)
			testkit.Eventually(t, "mock file loaded", func() bool { return len(l.sources()) == 1 })
			return s, l
		}
		s, l := start(true)
		l.createMock(`{"id":"seq","method":"GET","path_pattern":"/seq","responses":[{"body":"1"},{"body":"2"},{"body":"3"}]}`)
		l.createMock(`{"id":"c1","method":"GET","path_pattern":"/cart","body":"empty","state":{"name":"cart","requires":"started"}}`)
		l.createMock(`{"id":"c2","method":"GET","path_pattern":"/cart","body":"full","state":{"name":"cart","requires":"full"}}`)
		is.Equal(string(l.do("GET", "/seq", "").body), "1")
		is.Equal(string(l.do("GET", "/steps", "").body), "a")
		is.Equal(l.do("PUT", "/api/mock-states/cart", `{"state":"full"}`).status, 200)
		is.NoErr(s.Stop(t))

		s, l = start(true)
		is.Equal(string(l.do("GET", "/seq", "").body), "2")   // where it stopped
		is.Equal(string(l.do("GET", "/steps", "").body), "b") // a mock file's too
		is.Equal(string(l.do("GET", "/cart", "").body), "full")
		is.NoErr(s.Stop(t))

		s, l = start(false)
		is.Equal(string(l.do("GET", "/seq", "").body), "1") // a fresh start
		is.Equal(string(l.do("GET", "/cart", "").body), "empty")
		is.NoErr(s.Stop(t))
	})
}
