package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/state"

	"ownhttp/internal/sse"
	"ownhttp/internal/testkit"
)

// Wire tests of issue #13: PUT upserts a mock, DELETE /api/mocks, DELETE /api/history,
// POST /api/reset, scenarios that run again after a reset, and event epochs.

// PUT /api/mocks/{id} creates a missing mock (201 with Location) and replaces an existing one
// in full (200, created_at kept); PATCH keeps the partial update.
func TestMockUpsertAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)

		r := l.do("PUT", "/api/mocks/u1", `{"method":"GET","path_pattern":"/up","status":202,"headers":{"X-A":"1"},"body":"one"}`)
		is.Equal(r.status, 201)
		is.Equal(r.header.Get("Location"), "/api/mocks/u1")
		var b struct {
			Mock labMock `json:"mock"`
		}
		r.decode(t, &b)
		first := b.Mock
		is.Equal(first.ID, "u1")
		is.Equal(first.Status, 202)
		res := testkit.RoundTrip(t, s, "GET /up HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET"}, false)
		is.Equal(res.Resps[0].StatusCode, 202)
		is.Equal(res.Bodies[0], "one")

		r = l.do("PUT", "/api/mocks/u1", `{"id":"u1","method":"GET","path_pattern":"/up2","body":"two"}`)
		is.Equal(r.status, 200)
		is.Equal(r.header.Get("Location"), "")
		b.Mock = labMock{} // decoding into a map merges
		r.decode(t, &b)
		is.Equal(b.Mock.ID, "u1")
		is.Equal(b.Mock.CreatedAt, first.CreatedAt) // kept
		is.Equal(b.Mock.Status, 200)                // replaced in full: the default again
		is.Equal(b.Mock.Headers, map[string]string{})
		is.Equal(len(l.listMocks()), 1)
		res = testkit.RoundTrip(t, s, "GET /up HTTP/1.1\r\nHost: x\r\n\r\nGET /up2 HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET", "GET"}, false)
		is.Equal(res.Resps[0].StatusCode, 404) // the old route is gone
		is.Equal(res.Resps[1].StatusCode, 200)
		is.Equal(res.Bodies[1], "two")

		r = l.do("PATCH", "/api/mocks/u1", `{"status":203}`)
		is.Equal(r.status, 200)
		r.decode(t, &b)
		is.Equal(b.Mock.Status, 203)
		is.Equal(string(b.Mock.Body), "two") // kept by a partial update

		for _, tc := range []struct {
			name, target, body string
			status             int
			code, msg          string
		}{
			{"id differs", "/api/mocks/u1", `{"id":"u2","method":"GET","path_pattern":"/up3"}`, 400, "invalid_mock", "id in the body must equal the id in the path"},
			{"not a whole mock", "/api/mocks/u1", `{"body":"x"}`, 400, "invalid_mock", ""},
			{"bad id", "/api/mocks/..", `{"method":"GET","path_pattern":"/dots"}`, 400, "invalid_mock", ""},
			{"onto another mock", "/api/mocks/u9", `{"method":"GET","path_pattern":"/up2"}`, 409, "duplicate_mock", ""},
			{"reserved", "/api/mocks/u9", `{"method":"POST","path_pattern":"/api/reset"}`, 403, "invalid_mock", ""},
			{"bad json", "/api/mocks/u9", `{`, 400, "invalid_json", ""},
		} {
			r := l.do("PUT", tc.target, tc.body)
			if r.status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
				continue
			}
			e := r.apiError(t)
			is.Equal(e.Code, tc.code) // code of the case
			if tc.msg != "" {
				is.Equal(e.Message, tc.msg) // message of the case
			}
		}
		is.Equal(len(l.listMocks()), 1) // nothing invalid was stored
	})
}

// DELETE /api/mocks deletes every mock the API made and says how many.
func TestMocksDeleteAll(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/a"}`)
		l.createMock(`{"method":"POST","path_pattern":"/b"}`)
		is.Equal(l.do("PUT", "/api/mocks/c", `{"method":"GET","path_pattern":"/c"}`).status, 201)

		r := l.do("DELETE", "/api/mocks", "")
		is.Equal(r.status, 200)
		is.Equal(string(r.body), `{"deleted":3}`)
		is.Equal(len(l.listMocks()), 0)
		res := testkit.RoundTrip(t, s, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET"}, false)
		is.Equal(res.Resps[0].StatusCode, 404)
		is.Equal(string(l.do("DELETE", "/api/mocks", "").body), `{"deleted":0}`)
		l.createMock(`{"method":"GET","path_pattern":"/a"}`) // the route is free again
	})
}

// historyPaths returns the paths in GET /api/history.
func historyPaths(t *testing.T, l *labClient, headers ...string) []string {
	t.Helper()
	r := l.do("GET", "/api/history", "", headers...)
	var b struct {
		History []struct {
			Path string `json:"path"`
		} `json:"history"`
	}
	r.decode(t, &b)
	var out []string
	for _, e := range b.History {
		out = append(out, e.Path)
	}
	return out
}

// waitHistory makes a request to path until history shows it (capture is asynchronous).
func waitHistory(t *testing.T, s *testkit.Server, l *labClient, path string, headers ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		testkit.RoundTrip(t, s, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET"}, false)
		for _, p := range historyPaths(t, l, headers...) {
			if p == path {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached history", path)
		}
	}
}

// DELETE /api/history answers once the state file no longer holds the entries.
func TestHistoryClearAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		file := filepath.Join(t.TempDir(), "state.json")
		s := testkit.Start(t, run, engine, "--access-log=false", "--state-file", file)
		l := newLabClient(t, s)
		waitHistory(t, s, l, "/before-clear")

		r := l.do("DELETE", "/api/history", "")
		is.Equal(r.status, 200)
		var b struct {
			Cleared int `json:"cleared"`
		}
		r.decode(t, &b)
		is.True(b.Cleared >= 1)
		data, err := os.ReadFile(filepath.Join(state.StoreDir(file), "history.jsonl"))
		is.True(err == nil || os.IsNotExist(err))
		is.True(!strings.Contains(string(data), "/before-clear")) // on disk already
		for _, p := range historyPaths(t, l) {
			is.True(p != "/before-clear")
		}
		waitHistory(t, s, l, "/after-clear") // recording goes on
	})
}

// POST /api/reset: an admin write (token, origin), then mocks and history are gone, on disk
// too, and a system.reset event carries the summary.
func TestResetAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		const token = "reset-t0ken"
		const auth = "Authorization: Bearer " + token
		file := filepath.Join(t.TempDir(), "state.json")
		s := testkit.Start(t, run, engine, "--access-log=false", "--state-file", file, "--demo-token", token)
		l := newLabClient(t, s)
		is.Equal(l.do("POST", "/api/mocks", `{"method":"GET","path_pattern":"/r1"}`, auth).status, 201)
		is.Equal(l.do("PUT", "/api/mocks/r2", `{"method":"GET","path_pattern":"/r2"}`, auth).status, 201)
		waitHistory(t, s, l, "/before-reset", auth)

		is.Equal(l.do("POST", "/api/reset", "").status, 401)
		r := l.do("POST", "/api/reset", "", auth, "Origin: http://evil.example")
		is.Equal(r.status, 403)
		is.Equal(r.apiError(t).Code, "cross_origin")
		is.Equal(len(expectMocks(t, l, auth)), 2) // refused: nothing changed

		st := testkit.OpenSSE(t, s.Addr, "/api/events/stream?topics=system.reset&token="+token)
		r = l.do("POST", "/api/reset", "", auth)
		is.Equal(r.status, 200)
		var sum state.ResetSummary
		r.decode(t, &sum)
		is.Equal(sum.MocksDeleted, 2)
		is.Equal(sum.MocksKept, 0)
		is.True(sum.HistoryCleared >= 1)
		is.Equal(sum.MockStatesReset, 0)
		is.Equal(jsonKeys(t, r.body), []string{"history_cleared", "mock_states_reset", "mocks_deleted", "mocks_kept"})

		frames := st.Until(t, func(f sse.Frame) bool { return f.Event == state.EventSystemReset })
		var ev struct {
			Type    string             `json:"type"`
			Payload state.ResetSummary `json:"payload"`
		}
		is.NoErr(json.Unmarshal([]byte(frames[len(frames)-1].Data), &ev))
		is.Equal(ev.Payload, sum)

		is.Equal(len(expectMocks(t, l, auth)), 0)
		dir := state.StoreDir(file)
		stored, err := os.ReadDir(filepath.Join(dir, "mocks"))
		is.True(err == nil || os.IsNotExist(err))
		is.Equal(len(stored), 0) // the mock files are gone from the store
		data, err := os.ReadFile(filepath.Join(dir, "history.jsonl"))
		is.True(err == nil || os.IsNotExist(err))
		is.True(!strings.Contains(string(data), "/before-reset"))
		res := testkit.RoundTrip(t, s, "GET /r1 HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET"}, false)
		is.Equal(res.Resps[0].StatusCode, 404)
	})
}

func expectMocks(t *testing.T, l *labClient, headers ...string) []labMock {
	t.Helper()
	r := l.do("GET", "/api/mocks", "", headers...)
	var b struct {
		Mocks []labMock `json:"mocks"`
	}
	r.decode(t, &b)
	return b.Mocks
}

// resetFirst returns the example scenario with a first step that resets the server.
func resetFirst(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(exampleScenario)
	if err != nil {
		t.Fatal(err)
	}
	var sc map[string]any
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatal(err)
	}
	reset := map[string]any{"id": "reset", "method": "POST", "path": "/api/reset",
		"expect": map[string]any{"status": 200, "body_contains": []string{"mocks_deleted"}}}
	sc["steps"] = append([]any{reset}, sc["steps"].([]any)...)
	sc["name"] = "User lifecycle, from a reset"
	out, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// The acceptance test, on the server: the example scenario runs twice in a row on one server
// with a reset in between (without it, the second run's first step is a 409), and a scenario
// whose first step resets runs again and again. The runs carry the caller's demo token.
func TestScenarioRunsAgainAfterReset(t *testing.T) {
	example, err := os.ReadFile(exampleScenario)
	if err != nil {
		t.Fatal(err)
	}
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		const token = "sc-t0ken"
		const auth = "Authorization: Bearer " + token
		s := scServer(t, engine, "", "--access-log=false", "--demo-token", token)
		l := newLabClient(t, s)
		r := l.do("POST", "/api/scenarios", string(example), auth)
		is.Equal(r.status, 201)
		var b struct {
			Scenario scScenario `json:"scenario"`
		}
		r.decode(t, &b)
		id := b.Scenario.ID

		rep, _ := l.scRun(id, `{"seed":0}`, auth)
		is.Equal(rep.Status, "pass")
		rep, _ = l.scRun(id, `{"seed":0}`, auth)
		is.Equal(rep.Status, "fail") // the mock exists: step 1 is a 409
		is.Equal(rep.StepResults[0].Response.Status, 409)

		is.Equal(l.do("POST", "/api/reset", "", auth).status, 200)
		rep, _ = l.scRun(id, `{"seed":0}`, auth)
		is.Equal(rep.Status, "pass") // a reset in between: the same run passes again

		r = l.do("POST", "/api/scenarios", resetFirst(t), auth)
		is.Equal(r.status, 201)
		r.decode(t, &b)
		for range 2 {
			rep, _ = l.scRun(b.Scenario.ID, `{"seed":0}`, auth)
			is.Equal(rep.Status, "pass") // each run of the scenario that resets first
			is.Equal(rep.StepResults[0].StepID, "reset")
			is.Equal(rep.StepResults[0].Response.Status, 200)
		}
		is.Equal(len(expectMocks(t, l, auth)), 1) // the mock of the last run
	})
}

// The same from the command line: `ownhttp scenario run` with the example file twice, with a
// reset in between, and a file that resets first, twice in a row.
func TestScenarioRunFileAgainAfterReset(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		const token = "cli-reset-t0ken"
		_, base := startLabServer(t, engine, "--access-log=false", "--demo-token", token)
		runFile := func(file string) int {
			return runCLI(t, context.Background(), "scenario", "run", file, "--base-url", base,
				"--seed", strconv.Itoa(passSeed), "--token", token).code
		}
		is.Equal(runFile(exampleScenario), 0)
		is.Equal(runFile(exampleScenario), 3) // 409 on step 1
		status, _, body := apiCall(t, base, "POST", "/api/reset", token, "")
		is.Equal(status, 200)
		is.True(strings.Contains(body, `"mocks_deleted":1`))
		is.Equal(runFile(exampleScenario), 0)

		file := writeScenario(t, resetFirst(t))
		is.Equal(runFile(file), 0)
		is.Equal(runFile(file), 0)
	})
}

// evPageFrom asks for a snapshot page.
func evPageFrom(t *testing.T, s *testkit.Server, query string, headers ...string) evPage {
	t.Helper()
	e := evDial(t, s)
	defer e.c.Close()
	return e.snapshot(t, query, headers...)
}

// Every frame's id is "<epoch>-<id>" and pages carry the epoch; a cursor of another epoch is
// told the stream restarted and gets the events from the start; a cursor of this epoch, or a
// bare id as before epochs, resumes after it.
func TestEventEpochs(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		evFill(t, s, "epoch", 5)
		p := evPageFrom(t, s, "since_id=0")
		epoch := p.Epoch
		is.True(epoch > 0)
		is.True(!p.Restarted)
		e := strconv.FormatUint(epoch, 10)
		old := strconv.FormatUint(epoch-1, 10)

		// Pages.
		p = evPageFrom(t, s, "since_id=3&epoch="+old)
		is.True(p.Restarted)
		is.Equal(p.Events[0].ID, uint64(1)) // from the start
		p = evPageFrom(t, s, "since_id="+old+"-3")
		is.True(p.Restarted)
		is.Equal(p.Events[0].ID, uint64(1))
		p = evPageFrom(t, s, "since_id=3&epoch="+e)
		is.True(!p.Restarted)
		is.Equal(p.Events[0].ID, uint64(4))
		p = evPageFrom(t, s, "since_id="+e+"-3")
		is.True(!p.Restarted)
		is.Equal(p.Events[0].ID, uint64(4))
		p = evPageFrom(t, s, "since_id=3")
		is.True(!p.Restarted) // a bare id is of this epoch
		is.Equal(p.Events[0].ID, uint64(4))
		p = evPageFrom(t, s, "", "Last-Event-ID: "+old+"-3")
		is.True(p.Restarted)
		is.Equal(p.Events[0].ID, uint64(1))

		// Streams.
		for _, tc := range []struct {
			name, lastID string
			restarted    bool
			first        uint64
		}{
			{"this epoch", e + "-3", false, 4},
			{"bare id", "3", false, 4},
			{"another epoch", old + "-3", true, 1},
		} {
			st := testkit.OpenSSE(t, s.Addr, "/api/events/stream", "Last-Event-ID: "+tc.lastID)
			is.Equal(st.Next(t).Retry, "1000")
			f := st.Next(t)
			if tc.restarted {
				is.Equal(f.Event, "stream.restarted")
				is.True(!f.HasID)
				is.Equal(f.Data, `{"restarted":true,"previous_epoch":`+old+`,"epoch":`+e+`}`)
				f = st.Next(t)
			}
			is.True(f.HasID) // an event of case tc.name
			is.Equal(f.ID, e+"-"+strconv.FormatUint(tc.first, 10))
			is.Equal(envelope(t, f).ID, tc.first)
			st.Conn.Close()
		}
	})
}

// A client that resumes with the Last-Event-ID of a server that has since restarted, and whose
// new ids have already passed the old cursor, is told the stream restarted instead of being
// fed the new server's events as if they followed its old ones.
func TestEventStreamResumeAcrossRestart(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		a := testkit.Start(t, run, engine, "--access-log=false")
		evFill(t, a, "a", 3)
		st := testkit.OpenSSE(t, a.Addr, "/api/events/stream?since_id=0")
		var lastID string
		st.Until(t, func(f sse.Frame) bool {
			if f.HasID {
				lastID = f.ID
				return envelope(t, f).ID >= 3
			}
			return false
		})
		st.Conn.Close()
		oldEpoch, oldID, _, ok := state.ParseSSEEventID(lastID)
		is.True(ok)
		is.NoErr(a.Stop(t))

		b := testkit.Start(t, run, engine, "--access-log=false")
		evFill(t, b, "b", oldID+5) // the old id now names another event
		st = testkit.OpenSSE(t, b.Addr, "/api/events/stream", "Last-Event-ID: "+lastID)
		is.Equal(st.Next(t).Retry, "1000")
		f := st.Next(t)
		is.Equal(f.Event, "stream.restarted")
		var info struct {
			Restarted     bool   `json:"restarted"`
			PreviousEpoch uint64 `json:"previous_epoch"`
			Epoch         uint64 `json:"epoch"`
		}
		is.NoErr(json.Unmarshal([]byte(f.Data), &info))
		is.True(info.Restarted)
		is.Equal(info.PreviousEpoch, oldEpoch)
		is.True(info.Epoch != oldEpoch)
		f = st.Next(t)
		is.Equal(envelope(t, f).ID, uint64(1)) // the new server's events, from its start
		is.Equal(f.ID, strconv.FormatUint(info.Epoch, 10)+"-1")
	})
}

// `scenario live` resumes with the frame id it last saw, epoch included, and follows a
// stream.restarted: the new server's events from its start are shown, not skipped as old.
func TestScenarioLiveAcrossRestart(t *testing.T) {
	is := is.New(t)
	var mu sync.Mutex
	var lastIDs []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/events/stream" {
			http.Error(w, "no", 404)
			return
		}
		mu.Lock()
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
		n := len(lastIDs)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		if n == 1 { // the old server: one event, then it goes away
			io.WriteString(w, "retry: 1000\n\nid: 7-5\nevent: request.completed\ndata: {\"id\":5,\"type\":\"request.completed\",\"trace_id\":\"aaaa\",\"payload\":{\"method\":\"GET\",\"path\":\"/old\",\"status\":200}}\n\n")
			return
		}
		io.WriteString(w, "retry: 1000\n\nevent: stream.restarted\ndata: {\"restarted\":true,\"previous_epoch\":7,\"epoch\":8}\n\n")
		io.WriteString(w, "id: 8-1\nevent: request.completed\ndata: {\"id\":1,\"type\":\"request.completed\",\"trace_id\":\"bbbb\",\"payload\":{\"method\":\"GET\",\"path\":\"/new\",\"status\":200}}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer fake.Close()
	stdout, stderr, stop := liveRun(t, "--server", fake.URL)
	is.True(stdout.waitFor(t, "#5 request 200 GET /old", "#1 request 200 GET /new"))
	is.NoErr(stop())
	is.True(strings.Contains(stderr.String(), "the server restarted"))
	mu.Lock()
	defer mu.Unlock()
	is.Equal(lastIDs[:2], []string{"", "7-5"}) // resumed with the epoch
}
