package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// Wire tests of input the server must refuse (issue #11 item 10) on both engines.

// An unknown (misspelled) field is refused with 400 naming it, at every level of every API
// object: mocks, targets, scenarios and their defaults, steps, expectations and chaos, run
// requests, proxy and playground requests. Nothing is created by a refused request. The
// fields the API returns (created_at, updated_at) are accepted back, so an object read from
// the API can be sent again as is.
func TestUnknownFieldsRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		_, l := labServer(t, engine)
		m := l.createMock(`{"id":"m1","method":"GET","path_pattern":"/m1"}`)
		tg := l.createTarget(`{"id":"t1","name":"T1","base_url":"http://127.0.0.1:9"}`)
		l.scCreate(`{"id":"s1","name":"S1","steps":[{"method":"GET","path":"/healthz"}]}`)
		step := func(extra string) string {
			return `{"name":"S2","steps":[{"method":"GET","path":"/"` + extra + `}]}`
		}
		for _, tc := range []struct {
			name, method, target, body, code, message string
		}{
			{"mock", "POST", "/api/mocks", `{"method":"GET","path_pattern":"/a","staus":201}`, "invalid_mock", `unknown field "staus"`},
			{"mock update", "PUT", "/api/mocks/m1", `{"stauts":201}`, "invalid_mock", `unknown field "stauts"`},
			{"target", "POST", "/api/targets", `{"name":"T2","base_url":"http://127.0.0.1:9","timout_ms":5}`, "invalid_target", `unknown field "timout_ms"`},
			{"target update", "PUT", "/api/targets/t1", `{"enabeld":false}`, "invalid_target", `unknown field "enabeld"`},
			{"scenario", "POST", "/api/scenarios", `{"name":"S2","stpes":[],"steps":[{"method":"GET","path":"/"}]}`, "invalid_scenario", `unknown field "stpes"`},
			{"scenario update", "PUT", "/api/scenarios/s1", `{"name":"S1","descripton":"x","steps":[{"method":"GET","path":"/"}]}`, "invalid_scenario", `unknown field "descripton"`},
			{"defaults", "POST", "/api/scenarios", `{"name":"S2","defaults":{"stop_on_failure":false},"steps":[{"method":"GET","path":"/"}]}`, "invalid_scenario", `unknown field "defaults.stop_on_failure"`},
			{"step", "POST", "/api/scenarios", step(`,"expct":{"status":404}`), "invalid_scenario", `step 1: unknown field "expct"`},
			{"expect", "POST", "/api/scenarios", step(`,"expect":{"stauts":404}`), "invalid_scenario", `step 1: unknown field "expect.stauts"`},
			{"chaos", "POST", "/api/scenarios", step(`,"chaos":{"enabled":true,"mode":"drop_body","probabilty":1}`), "invalid_scenario", `step 1: unknown field "chaos.probabilty"`},
			{"run", "POST", "/api/scenarios/s1/run", `{"sead":5}`, "invalid_request", `unknown field "sead"`},
			{"proxy", "POST", "/api/proxy/request", `{"target_id":"t1","methd":"POST"}`, "invalid_proxy_request", `unknown field "methd"`},
			{"playground", "POST", "/api/playground/request", `{"pth":"/healthz"}`, "invalid_request", `unknown field "pth"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				r := l.do(tc.method, tc.target, tc.body)
				is.Equal(r.status, 400)
				e := r.apiError(t)
				is.Equal(e.Code, tc.code)
				is.Equal(e.Message, tc.message)
			})
		}
		is := is.New(t)
		is.Equal(len(l.listMocks()), 1)
		is.Equal(len(l.listTargets()), 1)
		var scs struct {
			Scenarios []scScenario `json:"scenarios"`
		}
		l.do("GET", "/api/scenarios", "").decode(t, &scs)
		is.Equal(len(scs.Scenarios), 1)
		var runs struct {
			Runs []scReport `json:"runs"`
		}
		l.do("GET", "/api/scenarios/s1/runs", "").decode(t, &runs)
		is.Equal(len(runs.Runs), 0)

		// What the API returns goes back unchanged.
		back := func(target string, v any) {
			t.Helper()
			r := l.do("PUT", target, string(mustJSON(t, v)))
			if r.status != 200 {
				t.Fatalf("PUT %s as returned: %d %s", target, r.status, r.body)
			}
		}
		back("/api/mocks/m1", m)
		back("/api/targets/t1", tg)
		r := l.do("GET", "/api/scenarios/s1", "")
		is.Equal(r.status, 200)
		var sc struct {
			Scenario map[string]any `json:"scenario"`
		}
		r.decode(t, &sc)
		back("/api/scenarios/s1", sc.Scenario)
	})
}

// A mock may not set the fields the server writes on every response (Date, Server,
// X-Request-ID, Keep-Alive, in any case): it is refused with 400 naming the field, so that
// each goes out exactly once.
func TestMockServerFieldsRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		for _, name := range []string{"Date", "server", "X-Request-ID", "keep-alive"} {
			r := l.do("POST", "/api/mocks", fmt.Sprintf(`{"method":"GET","path_pattern":"/h","headers":{%q:"mine"}}`, name))
			is.Equal(r.status, 400)
			e := r.apiError(t)
			is.Equal(e.Code, "invalid_mock")
			is.Equal(e.Message, "header "+strings.ToLower(name)+" is managed by the server")
		}
		l.createMock(`{"method":"GET","path_pattern":"/h","headers":{"X-Other":"1"}}`)
		r := l.do("PATCH", "/api/mocks/"+l.listMocks()[0].ID, `{"headers":{"Date":"Thu, 01 Jan 1970 00:00:00 GMT"}}`)
		is.Equal(r.status, 400)
		is.Equal(r.apiError(t).Message, "header date is managed by the server")

		ex := testkit.RoundTrip(t, s, "GET /h HTTP/1.1\r\nHost: x\r\n\r\n", []string{"GET"}, false)
		is.NoErr(ex.Err)
		resp := ex.Resps[0]
		is.Equal(resp.StatusCode, 200)
		is.Equal(resp.Header.Get("X-Other"), "1")
		for _, name := range []string{"Date", "Server", "X-Request-Id", "Keep-Alive"} {
			is.Equal(len(resp.Header.Values(name)), 1) // exactly one line of each
		}
	})
}

// Ids that a URL cannot carry as a path segment (. and ..) are refused for mocks, scenarios
// and targets; a target id that differs from the reserved "local" only in case is refused,
// and a step's target_id "LOCAL" means this server; a base_url with an IPv6 zone is refused
// when the target is created.
func TestIDsAndURLsRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		_, l := labServer(t, engine)
		for _, tc := range []struct {
			name, target, body, code, message string
		}{
			{"mock .", "/api/mocks", `{"id":".","method":"GET","path_pattern":"/a"}`, "invalid_mock", msgIDRule},
			{"mock ..", "/api/mocks", `{"id":"..","method":"GET","path_pattern":"/a"}`, "invalid_mock", msgIDRule},
			{"scenario .", "/api/scenarios", `{"id":".","name":"a","steps":[{"method":"GET","path":"/"}]}`, "invalid_scenario", msgIDRule},
			{"scenario ..", "/api/scenarios", `{"id":"..","name":"a","steps":[{"method":"GET","path":"/"}]}`, "invalid_scenario", msgIDRule},
			{"target .", "/api/targets", `{"id":".","name":"a","base_url":"http://127.0.0.1:9"}`, "invalid_target", msgIDRule},
			{"target ..", "/api/targets", `{"id":"..","name":"a","base_url":"http://127.0.0.1:9"}`, "invalid_target", msgIDRule},
			{"target LOCAL", "/api/targets", `{"id":"LOCAL","name":"a","base_url":"http://127.0.0.1:9"}`, "invalid_target", "id local is reserved"},
			{"target Local", "/api/targets", `{"id":"Local","name":"a","base_url":"http://127.0.0.1:9"}`, "invalid_target", "id local is reserved"},
			{"IPv6 zone", "/api/targets", `{"name":"a","base_url":"http://[fe80::1%25eth0]:8080"}`, "invalid_target", "base_url must not contain an IPv6 zone"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				is := is.New(t)
				r := l.do("POST", tc.target, tc.body)
				is.Equal(r.status, 400)
				e := r.apiError(t)
				is.Equal(e.Code, tc.code)
				is.Equal(e.Message, tc.message)
			})
		}
		is := is.New(t)
		is.Equal(len(l.listMocks()), 0)
		is.Equal(len(l.listTargets()), 0)
		sc := l.scCreate(`{"id":"upper","name":"Upper","steps":[{"method":"GET","path":"/healthz","target_id":"LOCAL"}]}`)
		is.True(strings.Contains(string(sc.Steps[0]), `"target_id":"local"`))
		rep, _ := l.scRun("upper", "")
		is.Equal(rep.Status, "pass")
		is.Equal(rep.StepResults[0].Request.TargetID, "local")
	})
}

// msgIDRule is the message for an id that breaks the id rule.
const msgIDRule = "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."

// A target that points back at this server cannot start a scenario run, a manual request or
// a replay: a scenario step through it gets 508 loop_detected and no nested run happens, and
// so does a proxy request through it.
func TestLoopThroughTargetRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := scServer(t, engine, "", "--access-log=false")
		l := newLabClient(t, s)
		l.createTarget(`{"id":"self","name":"Self","base_url":"http://` + s.Addr + `"}`)
		l.scCreate(`{"id":"leaf","name":"Leaf","steps":[{"method":"GET","path":"/healthz"}]}`)
		l.scCreate(`{"id":"loop","name":"Loop","defaults":{"stop_on_fail":false},"steps":[
			{"id":"self","method":"POST","path":"/api/scenarios/loop/run","target_id":"self"},
			{"id":"leaf","method":"POST","path":"/api/scenarios/leaf/run","target_id":"self"},
			{"id":"lab","method":"POST","path":"/api/playground/request","target_id":"self","body":"{}"},
			{"id":"fine","method":"GET","path":"/healthz","target_id":"self"}]}`)
		rep, _ := l.scRun("loop", "")
		is.Equal(len(rep.StepResults), 4)
		for _, sr := range rep.StepResults[:3] {
			is.Equal(sr.Response.Status, 508)
			is.True(strings.Contains(sr.Response.Body, `"loop_detected"`))
		}
		is.Equal(rep.StepResults[3].Response.Status, 200) // an ordinary request through it is served
		var runs struct {
			Runs []scReport `json:"runs"`
		}
		l.do("GET", "/api/scenarios/leaf/runs", "").decode(t, &runs)
		is.Equal(len(runs.Runs), 0) // the nested run never happened

		rp := l.proxyOK(map[string]any{"target_id": "self", "method": "POST", "path": "/api/scenarios/leaf/run"})
		is.Equal(rp.Response.Status, 508)
		is.True(strings.Contains(rp.Response.Body, `"loop_detected"`))
	})
}

// The number of field lines is not limited below what --max-header-bytes allows: 100 and
// 1000 small custom fields plus Host are served, and a head over the byte limit is still 431.
func TestManyHeaderFields(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := testkit.Start(t, run, engine, "--access-log=false")
		head := func(n int) string {
			var b strings.Builder
			b.WriteString("GET / HTTP/1.1\r\nHost: x\r\n")
			for i := range n {
				fmt.Fprintf(&b, "X-F%04d: v\r\n", i) // 12 bytes a line
			}
			return b.String() + "\r\n"
		}
		for _, tc := range []struct {
			fields, status int
		}{
			{100, 200},
			{1000, 200}, // about 12 KB, under the default 16 KiB
			{1400, 431}, // about 16.8 KB, over it
		} {
			t.Run(fmt.Sprint(tc.fields), func(t *testing.T) {
				is := is.New(t)
				ex := testkit.RoundTrip(t, s, head(tc.fields), []string{"GET"}, false)
				is.NoErr(ex.Err)
				is.Equal(ex.Resps[0].StatusCode, tc.status)
			})
		}
	})
}

// mustJSON marshals v, failing the test when it cannot.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
