package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"ownhttp/cli"

	"github.com/matryer/is"
)

// Wire tests of record mode and POST /api/mocks/from-history (#17) on both engines: a real
// upstream on loopback answers while a target records; stopping makes mocks; with the
// upstream gone, the same requests get the same answers from them.

// recUpstream is the recorded service: users by id (different answers per id), a job whose
// status moves on at each call, orders, an image, and fields that change on every answer.
func recUpstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var calls, jobPolls atomic.Int64
	u := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("X-Request-Id", fmt.Sprintf("req-%d", n))
		w.Header().Set("Set-Cookie", fmt.Sprintf("session=%d", n))
		switch {
		case r.URL.Path == "/users/1" || r.URL.Path == "/users/2":
			w.Header().Set("Content-Type", "application/json")
			name := map[string]string{"/users/1": "Ann", "/users/2": "Bob"}[r.URL.Path]
			fmt.Fprintf(w, `{"name":%q}`, name)
		case r.URL.Path == "/jobs/7/status":
			states := []string{"queued", "running", "done"}
			k := min(int(jobPolls.Add(1))-1, 2)
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, states[k])
		case r.URL.Path == "/orders" && r.Method == "POST":
			w.Header().Set("Location", "/orders/9")
			w.WriteHeader(201)
			fmt.Fprint(w, `{"id":9}`)
		case r.URL.Path == "/img":
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte{0x89, 'P', 'N', 'G', 0xff, 0x00})
		case r.URL.Path == "/search":
			fmt.Fprintf(w, "results for %s", r.URL.Query().Get("q"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u, &calls
}

// recReport is the import report of a stopped recording or of from-history.
type recReport struct {
	Format  string `json:"format"`
	DryRun  bool   `json:"dry_run"`
	Created int    `json:"created"`
	Failed  int    `json:"failed"`
	Items   []struct {
		Source string          `json:"source"`
		Status string          `json:"status"`
		MockID string          `json:"mock_id"`
		Mock   json.RawMessage `json:"mock"`
		Error  string          `json:"error"`
	} `json:"items"`
}

func TestRecordMode(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		up, calls := recUpstream(t)
		_, l := labServer(t, engine)
		target := l.createTarget(`{"name":"users-api","base_url":"` + up.URL + `"}`)
		l.createMock(`{"method":"GET","path_pattern":"/health","body":"mocked"}`)

		r := l.do("POST", "/api/targets/"+target.ID+"/record", "")
		is.Equal(r.status, 201)
		var started struct {
			Recording struct{ ID, TargetID string } `json:"recording"`
		}
		r.decode(t, &started)
		is.True(strings.HasPrefix(started.Recording.ID, "rec-"))
		// One recording at a time: a second is refused, naming the first.
		again := l.do("POST", "/api/targets/"+target.ID+"/record", "")
		is.Equal(again.status, 409)
		is.True(strings.Contains(again.apiError(t).Message, started.Recording.ID))

		traffic := []struct{ method, target, body string }{
			{"GET", "/users/1", ""}, {"GET", "/users/2", ""}, {"GET", "/users/1", ""},
			{"GET", "/jobs/7/status", ""}, {"GET", "/jobs/7/status", ""}, {"GET", "/jobs/7/status", ""},
			{"POST", "/orders", `{"item":"book"}`}, {"GET", "/img", ""},
			{"GET", "/search?q=go", ""}, {"GET", "/search?q=rust", ""},
		}
		recorded := make([]labResponse, len(traffic))
		for i, tr := range traffic {
			recorded[i] = l.do(tr.method, tr.target, tr.body)
		}
		is.Equal(string(recorded[0].body), `{"name":"Ann"}`) // the target answered, through the server
		is.Equal(recorded[6].status, 201)
		is.Equal(len(recorded[0].header.Values("Date")), 1) // this server's own, not the upstream's as well
		is.Equal(recorded[0].header.Values("Server"), []string{"ownhttp"})
		is.Equal(string(recorded[5].body), "done")
		is.Equal(string(l.do("GET", "/health", "").body), "mocked") // a mock still answers first
		is.Equal(calls.Load(), int64(len(traffic)))

		// History marks what the recording proxied.
		h := l.history("recording=" + started.Recording.ID)
		is.Equal(len(h), len(traffic))

		stop := l.do("DELETE", "/api/targets/"+target.ID+"/record", "")
		is.Equal(stop.status, 201)
		var rep recReport
		stop.decode(t, &rep)
		is.Equal(rep.Format, "record")
		is.Equal(rep.Failed, 0)
		// users/1 and users/2 answered differently: two exact mocks; the job is one sequence;
		// orders, the image and two searches (query criteria).
		is.Equal(rep.Created, 7)
		paths := map[string]json.RawMessage{}
		for _, it := range rep.Items {
			is.Equal(it.Status, "created")
			var m struct {
				Method, PathPattern string
			}
			var raw map[string]any
			is.NoErr(json.Unmarshal(it.Mock, &raw))
			m.Method, _ = raw["method"].(string)
			m.PathPattern, _ = raw["path_pattern"].(string)
			paths[m.Method+" "+m.PathPattern] = it.Mock
			headers, _ := raw["headers"].(map[string]any)
			_, hasCookie := headers["Set-Cookie"]
			is.True(!hasCookie) // volatile fields are dropped
		}
		_, ok := paths["GET /jobs/{id}/status"]
		is.True(ok) // an id segment became a parameter
		is.True(l.do("GET", "/api/targets/"+target.ID+"/record", "").status == 200)

		// The upstream is gone: the same requests get the same answers from the mocks.
		up.Close()
		for i, tr := range traffic {
			got := l.do(tr.method, tr.target, tr.body)
			is.Equal(got.status, recorded[i].status)
			is.True(bytes.Equal(got.body, recorded[i].body)) // the same answer, in sequence order
			is.Equal(got.header.Get("Content-Type"), recorded[i].header.Get("Content-Type"))
			is.Equal(got.header.Get("Location"), recorded[i].header.Get("Location"))
		}
		is.Equal(string(l.do("GET", "/jobs/8/status", "").body), "done") // the parameter matches other ids
		is.Equal(calls.Load(), int64(len(traffic)))                      // nothing more reached the upstream

		// Stopping twice: the second is a clear 409.
		is.Equal(l.do("DELETE", "/api/targets/"+target.ID+"/record", "").status, 409)
	})
}

func TestMocksFromHistory(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, l := labServer(t, engine)
		l.createMock(`{"method":"GET","path_pattern":"/v1/items/{id}","body":"{\"id\":5}","headers":{"Content-Type":"application/json"}}`)
		got := l.do("GET", "/v1/items/5", "")
		id := got.header.Get("X-Request-Id")
		if id == "" {
			id = l.history("path=/v1/items/5")[0].RequestID
		}
		l.waitEntry(id)
		is.Equal(l.do("DELETE", "/api/mocks", "").status, 200) // the entry outlives its mock

		dry := l.do("POST", "/api/mocks/from-history", `{"ids":["`+id+`","0000000000000000"],"dry_run":true,"partial":true}`)
		is.Equal(dry.status, 200)
		var rep recReport
		dry.decode(t, &rep)
		is.Equal(rep.Format, "history")
		is.True(rep.DryRun)
		is.Equal(len(rep.Items), 2)
		is.Equal(rep.Items[0].Status, "would_create")
		is.Equal(rep.Items[1].Status, "failed")
		is.True(strings.Contains(rep.Items[1].Error, "history holds no request"))
		is.Equal(len(l.listMocks()), 0) // a dry run makes nothing

		// All or nothing: the stale id fails the whole.
		all := l.do("POST", "/api/mocks/from-history", `{"ids":["`+id+`","0000000000000000"]}`)
		is.Equal(all.status, 400)
		is.Equal(len(l.listMocks()), 0)

		made := l.do("POST", "/api/mocks/from-history", `{"ids":["`+id+`"]}`)
		is.Equal(made.status, 201)
		made.decode(t, &rep)
		is.Equal(rep.Created, 1)
		is.True(strings.Contains(string(rep.Items[0].Mock), `"path_pattern":"/v1/items/{id}"`))
		again := l.do("GET", "/v1/items/77", "")
		is.Equal(string(again.body), `{"id":5}`) // the new mock answers what the entry recorded
		is.Equal(again.header.Get("Content-Type"), "application/json")

		for _, bad := range []struct{ body, says string }{
			{`{}`, "ids"},
			{`{"ids":"x"}`, "ids must be"},
			{`{"ids":[""]}`, "ids[0] is empty"},
			{`{"ids":["a"],"recording":"rec-1"}`, "cannot be given together"},
			{`{"ids":["a"],"dry_run":"yes"}`, "dry_run must be"},
			{`{"ids":["a"],"dryrun":true}`, `unknown field "dryrun"`},
			{`[1,2]`, "object"},
			{`{"ids":[`, "valid json"},
		} {
			r := l.do("POST", "/api/mocks/from-history", bad.body)
			is.Equal(r.status, 400)
			if msg := r.apiError(t).Message; !strings.Contains(msg, bad.says) {
				t.Errorf("%s: %q does not say %q", bad.body, msg, bad.says)
			}
		}
	})
}

// ownhttp record starts a recording, stops it when its --duration passes and prints the
// report; the mocks it made answer with the upstream gone.
func TestCLIRecord(t *testing.T) {
	is := is.New(t)
	up, _ := recUpstream(t)
	s, l := labServer(t, "threadpool")
	l.createTarget(`{"name":"users-api","base_url":"` + up.URL + `"}`)
	var out, errOut strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(t.Context(), []string{"record", "--target", "users-api", "--duration", "1500ms", "--server", s.URL()}, &out, &errOut, nil)
	}()
	// Wait until the recording runs, then send traffic through the server.
	for {
		r := l.do("GET", "/api/targets", "")
		var list struct {
			Targets []labTarget `json:"targets"`
		}
		r.decode(t, &list)
		st := l.do("GET", "/api/targets/"+list.Targets[0].ID+"/record", "")
		if !strings.Contains(string(st.body), `"recording":null`) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("record ended before recording: %v: %s %s", err, out.String(), errOut.String())
		default:
		}
	}
	is.Equal(string(l.do("GET", "/users/2", "").body), `{"name":"Bob"}`)
	is.NoErr(<-done)
	is.True(strings.Contains(out.String(), "through target users-api"))
	is.True(strings.Contains(out.String(), "\ncreated history ")) // one line per item
	is.True(strings.HasSuffix(out.String(), "record: created 1 of 1, 0 failed\n"))
	up.Close()
	is.Equal(string(l.do("GET", "/users/2", "").body), `{"name":"Bob"}`) // the mock answers now

	// An unknown target: exit 1, naming the targets there are.
	errOut.Reset()
	err := run(t.Context(), []string{"record", "--target", "nope", "--server", s.URL()}, &out, &errOut, nil)
	is.Equal(err, cli.ExitCode(1))
	is.True(strings.Contains(errOut.String(), "users-api"))
}
