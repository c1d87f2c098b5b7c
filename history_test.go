package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// labEntry is a history entry as the API returns it.
type labEntry struct {
	RequestID string  `json:"request_id"`
	TraceID   string  `json:"trace_id"`
	Method    string  `json:"method"`
	Path      string  `json:"path"`
	Status    int     `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	BytesIn   int64   `json:"bytes_in"`
	BytesOut  int64   `json:"bytes_out"`
	TS        string  `json:"ts"`
	Fault     string  `json:"fault"`
	StartedAt string  `json:"started_at"`
	Response  *struct {
		Status        int               `json:"status"`
		Headers       map[string]string `json:"headers"`
		Body          string            `json:"body"`
		BodyBytes     int               `json:"body_bytes"`
		BodyTruncated bool              `json:"body_truncated"`
	} `json:"response"`
	ReplayInput struct {
		Method      string            `json:"method"`
		Path        string            `json:"path"`
		RawTarget   string            `json:"raw_target"`
		HTTPVersion string            `json:"http_version"`
		Headers     map[string]string `json:"headers"`
		Body        string            `json:"body"`
	} `json:"replay_input"`
}

// history fetches GET /api/history?query and expects 200.
func (l *labClient) history(query string) []labEntry {
	l.t.Helper()
	r := l.do("GET", "/api/history?"+query, "")
	if r.status != 200 {
		l.t.Fatalf("history %q: %d %s", query, r.status, r.body)
	}
	var h struct {
		History []labEntry `json:"history"`
	}
	r.decode(l.t, &h)
	if h.History == nil {
		l.t.Fatalf("history %q: no list: %s", query, r.body)
	}
	return h.History
}

// waitEntry returns the history entry of a request id (its X-Request-ID), polling because
// history is captured after the response is sent. The wait is bounded.
func (l *labClient) waitEntry(requestID string) labEntry {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, e := range l.history("") {
			if e.RequestID == requestID {
				return e
			}
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("request %s never reached history", requestID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func requestIDs(h []labEntry) []string {
	ids := make([]string, len(h))
	for i, e := range h {
		ids[i] = e.RequestID
	}
	return ids
}

func indexOf(ids []string, id string) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// History lists captured requests oldest first with their replay input, and filters by
// method, path substring, status, time range and limit; bad filters are 400 invalid_filter.
func TestHistoryAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/zebra/{id}","status":201,"body":"z"}`)
		home := l.do("GET", "/", "").header.Get("X-Request-Id")
		submit := l.do("POST", "/submit", "hello").header.Get("X-Request-Id")
		missing := l.do("GET", "/nope", "").header.Get("X-Request-Id")
		l.do("GET", "/api/playground/state", "")
		zebra := l.do("GET", "/zebra/1?x=1&y=2", "", "X-Custom: yes").header.Get("X-Request-Id")
		last := l.waitEntry(zebra)

		is.Equal(last.TraceID, zebra)
		is.Equal(last.Method, "GET")
		is.Equal(last.Path, "/zebra/1") // no query in path
		is.Equal(last.Status, 201)
		is.True(last.BytesIn > 0 && last.BytesOut > 0)
		_, err := time.Parse(time.RFC3339, last.TS)
		is.NoErr(err)
		is.Equal(last.ReplayInput.RawTarget, "/zebra/1?x=1&y=2")
		is.Equal(last.ReplayInput.HTTPVersion, "HTTP/1.1")
		is.Equal(last.ReplayInput.Headers["x-custom"], "yes")
		is.Equal(last.ReplayInput.Headers["host"], s.Addr)

		all := l.history("")
		ids := requestIDs(all)
		is.True(indexOf(ids, home) >= 0)
		is.True(indexOf(ids, home) < indexOf(ids, submit)) // oldest first
		is.True(indexOf(ids, submit) < indexOf(ids, missing))
		is.True(indexOf(ids, missing) < indexOf(ids, zebra))
		is.Equal(all[indexOf(ids, submit)].ReplayInput.Body, "hello")
		for _, e := range all {
			is.True(e.Path != "/api/playground/state") // polling is kept out of history
		}

		for _, tc := range []struct {
			query string
			keep  func(e labEntry) bool
		}{
			{"method=post", func(e labEntry) bool { return e.Method == "POST" }},
			{"path=zebra", func(e labEntry) bool { return strings.Contains(e.Path, "zebra") }},
			{"status=404", func(e labEntry) bool { return e.Status == 404 }},
			{"method=GET&status=201", func(e labEntry) bool { return e.Method == "GET" && e.Status == 201 }},
			{"from_ts=2000-01-01T00:00:00Z&to_ts=2999-01-01T00:00:00Z", func(labEntry) bool { return true }},
			{"from_ts=2999-01-01T00:00:00Z", func(labEntry) bool { return false }},
			{"to_ts=2000-01-01T00:00:00Z", func(labEntry) bool { return false }},
			{"path=" + url.QueryEscape("/zebra/1"), func(e labEntry) bool { return e.Path == "/zebra/1" }},
		} {
			got := l.history(tc.query)
			gotIDs := requestIDs(got)
			for _, e := range got {
				is.True(tc.keep(e)) // every entry passes the filter
			}
			for _, e := range all {
				if tc.keep(e) {
					is.True(indexOf(gotIDs, e.RequestID) >= 0) // and no earlier match is missing
				}
			}
		}
		is.True(len(l.history("path=zebra")) == 1)
		is.True(len(l.history("status=404")) >= 1)

		newest := l.history("limit=2")
		is.Equal(len(newest), 2) // the newest two, oldest first
		now := l.history("")
		is.True(indexOf(requestIDs(now), newest[0].RequestID) < indexOf(requestIDs(now), newest[1].RequestID))

		for _, q := range []string{"from_ts=yesterday", "to_ts=2026-13-45", "status=abc", "limit=0", "limit=-3",
			"limit=many", "from_ts=%zz"} {
			r := l.do("GET", "/api/history?"+q, "")
			is.Equal(r.status, 400) // bad filter
			is.Equal(r.apiError(t).Code, "invalid_filter")
		}
		r := l.do("POST", "/api/history", "")
		is.Equal(r.status, 405)
		is.Equal(r.apiError(t).Code, "method_not_allowed")
		is.Equal(r.header.Get("Allow"), "GET, HEAD, DELETE")
	})
}

// labReplay is the answer of POST /api/replay/{id}.
type labReplay struct {
	ReplayedRequestID string `json:"replayed_request_id"`
	Result            struct {
		Status      int               `json:"status"`
		Headers     map[string]string `json:"headers"`
		BodyPreview string            `json:"body_preview"`
		Truncated   bool              `json:"truncated"`
	} `json:"result"`
}

// Replay re-sends a stored request as a real request, with the caller's credentials and
// never the stored ones; the replayed request is itself in history.
func TestReplay(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/secure","status":203,"headers":{"X-Secure":"1"},"body":"secret data"}`)
		orig := l.do("GET", "/secure?x=1", "", "Authorization: Bearer secret-1", "Cookie: sid=abc", "X-Keep: k")
		is.Equal(orig.status, 203)
		id := orig.header.Get("X-Request-Id")
		e := l.waitEntry(id)
		is.Equal(e.ReplayInput.Headers["authorization"], "[redacted]") // never stored
		is.Equal(e.ReplayInput.Headers["cookie"], "[redacted]")

		r := l.do("POST", "/api/replay/"+id, "", "Authorization: Bearer caller-2")
		is.Equal(r.status, 200)
		var rp labReplay
		r.decode(t, &rp)
		is.Equal(rp.ReplayedRequestID, id)
		is.Equal(rp.Result.Status, 203)
		is.Equal(rp.Result.BodyPreview, "secret data")
		is.Equal(rp.Result.Headers["X-Secure"], "1")
		is.True(!rp.Result.Truncated)
		again := rp.Result.Headers["X-Request-Id"]
		is.True(again != "" && again != id) // a real, new request

		replayed := l.waitEntry(again)
		is.Equal(replayed.Method, "GET")
		is.Equal(replayed.ReplayInput.RawTarget, "/secure?x=1")
		is.Equal(replayed.ReplayInput.Headers["x-keep"], "k")
		is.Equal(replayed.ReplayInput.Headers["authorization"], "[redacted]") // the caller's, redacted too
		_, hasCookie := replayed.ReplayInput.Headers["cookie"]
		is.True(!hasCookie) // stored credentials are not re-sent
		is.Equal(replayed.ReplayInput.Headers["x-ownhttp-self"], "1")
		whole := string(l.do("GET", "/api/history", "").body)
		is.True(!strings.Contains(whole, "secret-1")) // no credential anywhere in history
		is.True(!strings.Contains(whole, "caller-2"))

		post := l.do("POST", "/submit", "hello replay").header.Get("X-Request-Id")
		l.waitEntry(post)
		r = l.do("POST", "/api/replay/"+post, "")
		is.Equal(r.status, 200)
		rp = labReplay{}
		r.decode(t, &rp)
		is.Equal(rp.Result.Status, 200)
		is.Equal(rp.Result.BodyPreview, "Received POST body: hello replay")

		big := l.do("POST", "/submit", strings.Repeat("b", 70000)).header.Get("X-Request-Id")
		l.waitEntry(big)
		r = l.do("POST", "/api/replay/"+big, "")
		is.Equal(r.status, 400) // its body was too large to keep
		is.Equal(r.apiError(t), labErrorDetail{Code: "not_replayable", Message: "request has no replay input"})

		r = l.do("POST", "/api/replay/0000000000000000", "")
		is.Equal(r.status, 404)
		is.Equal(r.apiError(t), labErrorDetail{Code: "not_found", Message: "request id not found"})

		r = l.do("GET", "/api/replay/"+id, "")
		is.Equal(r.status, 405)
		is.Equal(r.header.Get("Allow"), "POST")
		r.apiError(t)

		r = l.do("POST", "/api/replay/"+id, "", "X-Ownhttp-Self: 1")
		is.Equal(r.status, 508) // a request to self cannot ask for another
		is.Equal(r.apiError(t).Code, "loop_detected")

		// Replaying a replay: the inner replay is refused, so nesting stops at one level.
		outer := l.do("POST", "/api/replay/"+id, "").header.Get("X-Request-Id")
		l.waitEntry(outer)
		r = l.do("POST", "/api/replay/"+outer, "")
		is.Equal(r.status, 200)
		rp = labReplay{}
		r.decode(t, &rp)
		is.Equal(rp.Result.Status, 508)
	})
}

// The playground state holds the mocks and the history; only GET and HEAD are allowed.
func TestPlaygroundState(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		m := l.createMock(`{"method":"GET","path_pattern":"/pg-state","body":"x"}`)
		served := l.do("GET", "/pg-state", "").header.Get("X-Request-Id")
		l.waitEntry(served)

		r := l.do("GET", "/api/playground/state", "")
		is.Equal(r.status, 200)
		var ps struct {
			Version int        `json:"version"`
			Mocks   []labMock  `json:"mocks"`
			History []labEntry `json:"history"`
		}
		r.decode(t, &ps)
		is.Equal(ps.Version, 1)
		is.Equal(ps.Mocks, []labMock{m})
		is.True(indexOf(requestIDs(ps.History), served) >= 0)

		r = l.do("HEAD", "/api/playground/state", "")
		is.Equal(r.status, 200)
		is.Equal(len(r.body), 0)
		for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			r := l.do(method, "/api/playground/state", "")
			is.Equal(r.status, 405) // not GET
			is.Equal(r.apiError(t).Code, "method_not_allowed")
			is.Equal(r.header.Get("Allow"), "GET, HEAD")
		}
		r = l.do("GET", "/api/playground/other", "")
		is.Equal(r.status, 404)
		is.Equal(r.apiError(t).Code, "not_found")
	})
}

// labPlayground is the answer of POST /api/playground/request.
type labPlayground struct {
	Request struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	} `json:"request"`
	Response struct {
		Status    int               `json:"status"`
		Headers   map[string]string `json:"headers"`
		Body      string            `json:"body"`
		Truncated bool              `json:"truncated"`
	} `json:"response"`
}

// A manual playground request is a real request to this server, validated field by field.
func TestPlaygroundRequest(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/pg/{id}","status":201,"headers":{"X-P":"1"},"body":"pg"}`)

		r := l.do("POST", "/api/playground/request", `{"method":"get","path":"/pg/7?x=1","headers":{"X-A":"1","Content-Length":"99"}}`)
		is.Equal(r.status, 200)
		var pg labPlayground
		r.decode(t, &pg)
		is.Equal(pg.Request.Method, "GET")
		is.Equal(pg.Request.Path, "/pg/7?x=1")
		is.Equal(pg.Response.Status, 201) // the query does not stop the mock matching
		is.Equal(pg.Response.Headers["X-P"], "1")
		is.Equal(pg.Response.Body, "pg")
		e := l.waitEntry(pg.Response.Headers["X-Request-Id"])
		is.Equal(e.Path, "/pg/7") // a real request, in history
		is.Equal(e.ReplayInput.Headers["x-a"], "1")
		_, framed := e.ReplayInput.Headers["content-length"]
		is.True(!framed) // the payload's Content-Length was dropped; a GET without a body has none

		r = l.do("POST", "/api/playground/request", `{"method":"POST","path":"/submit","body":"abc"}`)
		is.Equal(r.status, 200)
		pg = labPlayground{}
		r.decode(t, &pg)
		is.Equal(pg.Response.Status, 200)
		is.Equal(pg.Response.Body, "Received POST body: abc")

		r = l.do("POST", "/api/playground/request", `{"method":"POST","path":"/api/playground/request","body":"{}"}`)
		is.Equal(r.status, 200)
		pg = labPlayground{}
		r.decode(t, &pg)
		is.Equal(pg.Response.Status, 508) // no nested request to self

		for _, tc := range []struct {
			name, payload string
			status        int
			code          string
		}{
			{"invalid json", `{"path":`, 400, "invalid_json"},
			{"not an object", `[]`, 400, "invalid_json"},
			{"not utf-8", "{\"path\":\"/\xfe\"}", 400, "invalid_json"},
			{"method a number", `{"method":1}`, 400, "invalid_request"},
			{"method not a token", `{"method":"G T"}`, 400, "invalid_request"},
			{"path a number", `{"path":1}`, 400, "invalid_request"},
			{"path without slash", `{"path":"pg/1"}`, 400, "invalid_request"},
			{"headers a string", `{"headers":"X-A: 1"}`, 400, "invalid_request"},
			{"header value a number", `{"headers":{"X-A":1}}`, 400, "invalid_request"},
			{"header name not a token", `{"headers":{"X A":"1"}}`, 400, "invalid_request"},
			{"header value with CRLF", `{"headers":{"X-A":"1\r\nX-B: 2"}}`, 400, "invalid_request"},
			{"body an object", `{"body":{}}`, 400, "invalid_request"},
			{"body too large", `{"method":"POST","path":"/submit","body":"` + strings.Repeat("a", 262145) + `"}`, 413, "invalid_request"},
		} {
			r := l.do("POST", "/api/playground/request", tc.payload)
			if r.status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
				continue
			}
			is.Equal(r.apiError(t).Code, tc.code) // code of the case
		}
		r = l.do("GET", "/api/playground/request", "")
		is.Equal(r.status, 405)
		is.Equal(r.header.Get("Allow"), "POST")
		r.apiError(t)
	})
}

// Over TLS the server replays and sends playground requests to its own https listener.
func TestReplayOverTLS(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		certs := t.TempDir()
		is.NoErr(run(context.Background(), []string{"certs", "--dir", certs}, io.Discard, io.Discard, nil))
		s := testkit.Start(t, run, engine, "--access-log=false", "--enable-tls", "--https-port", "0", "--redirect-http=false",
			"--cert-file", filepath.Join(certs, "dev-cert.pem"), "--key-file", filepath.Join(certs, "dev-key.pem"))
		l := newLabClientURL(t, "https://"+s.Addr, &tls.Config{InsecureSkipVerify: true}) // the test's own certificate
		l.createMock(`{"method":"GET","path_pattern":"/tls-mock","body":"over tls"}`)
		id := l.do("GET", "/tls-mock", "").header.Get("X-Request-Id")
		l.waitEntry(id)
		r := l.do("POST", "/api/replay/"+id, "")
		is.Equal(r.status, 200)
		var rp labReplay
		r.decode(t, &rp)
		is.Equal(rp.Result.Status, 200)
		is.Equal(rp.Result.BodyPreview, "over tls")

		r = l.do("POST", "/api/playground/request", `{"path":"/tls-mock"}`)
		is.Equal(r.status, 200)
		var pg labPlayground
		r.decode(t, &pg)
		is.Equal(pg.Response.Body, "over tls")
	})
}

// Issue #17: a history entry keeps the answer as sent — status, fields and body, cut at
// --max-history-body-bytes and marked — with when the request started; on both engines,
// for inline answers and for answers that complete later.
func TestHistoryKeepsResponse(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--max-history-body-bytes", "16")
		l := newLabClient(t, s)
		l.createMock(`{"id":"h","method":"GET","path_pattern":"/h","content_type":"text/plain","headers":{"X-Mock":"yes"},"body":"short"}`)
		l.createMock(`{"id":"long","method":"GET","path_pattern":"/long","content_type":"text/plain","body":"0123456789abcdefXYZ"}`)
		r1 := l.do("GET", "/h", "")
		r2 := l.do("GET", "/long", "")
		r3 := l.do("GET", "/api/mocks/h", "") // an answer completed off the event loop
		e := l.waitEntry(r1.header.Get("X-Request-ID"))
		is.True(e.Response != nil)
		is.Equal(e.Response.Status, 200)
		is.Equal(e.Response.Headers["X-Mock"], "yes")
		is.Equal(e.Response.Headers["Content-Type"], "text/plain")
		is.Equal(e.Response.Body, "short")
		is.True(e.StartedAt != "" && e.StartedAt <= e.TS+"~")
		e = l.waitEntry(r2.header.Get("X-Request-ID"))
		is.Equal(e.Response.Body, "0123456789abcdef")
		is.True(e.Response.BodyTruncated)
		e = l.waitEntry(r3.header.Get("X-Request-ID"))
		is.Equal(e.Response.Status, 200)
		is.True(strings.HasPrefix(e.Response.Body, `{"mock":`))
	})
}
