package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"ownhttp/internal/testkit"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
)

// Wire tests of POST /api/proxy/request (issue #5; spec §7.2 fixed) on both engines. Every
// upstream is a local fixture on 127.0.0.1; other addresses appear only as targets the SSRF
// guard refuses before connect.

// pxReply is the proxy endpoint's 200 body.
type pxReply struct {
	Request struct {
		TargetID string `json:"target_id"`
		Method   string `json:"method"`
		Path     string `json:"path"`
	} `json:"request"`
	Response struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	} `json:"response"`
	TraceID   string          `json:"trace_id"`
	Truncated bool            `json:"truncated"`
	LatencyMS float64         `json:"latency_ms"`
	Error     *labErrorDetail `json:"error"`
}

// proxy posts payload (marshalled to JSON) to the proxy endpoint.
func (l *labClient) proxy(payload map[string]any) labResponse {
	l.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		l.t.Fatal(err)
	}
	return l.do("POST", "/api/proxy/request", string(b))
}

// proxyOK posts payload and expects a 200 report.
func (l *labClient) proxyOK(payload map[string]any) pxReply {
	l.t.Helper()
	r := l.proxy(payload)
	if r.status != 200 {
		l.t.Fatalf("proxy %v: %d %s", payload, r.status, r.body)
	}
	var rep pxReply
	r.decode(l.t, &rep)
	return rep
}

// pxSeen is a request as a fixture received it.
type pxSeen struct {
	method, uri, host, body string
	header                  http.Header
}

// pxUpstream is a local fixture upstream on 127.0.0.1. Its routes: /echo answers 201 with
// X-Upstream and a JSON body; /slow waits until the request ends (bounded); /big sends 3
// MiB; /redirect answers 302 to /elsewhere; /elsewhere must never be reached.
type pxUpstream struct {
	*httptest.Server
	seen chan pxSeen
	port int
}

func newPxUpstream(t *testing.T) *pxUpstream {
	t.Helper()
	u := &pxUpstream{seen: make(chan pxSeen, 64)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case u.seen <- pxSeen{method: r.Method, uri: r.RequestURI, host: r.Host, body: string(body), header: r.Header.Clone()}:
		default:
		}
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			chunk := []byte(strings.Repeat("a", 64<<10))
			for i := 0; i < 48; i++ { // 3 MiB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Upstream", "yes")
			w.Header().Add("X-Multi", "1")
			w.Header().Add("X-Multi", "2")
			w.WriteHeader(201)
			fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
		}
	}))
	t.Cleanup(u.Close)
	u.port = u.Listener.Addr().(*net.TCPAddr).Port
	return u
}

// next returns the next request the fixture received (bounded wait).
func (u *pxUpstream) next(t *testing.T) pxSeen {
	t.Helper()
	select {
	case s := <-u.seen:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the fixture received no request")
		return pxSeen{}
	}
}

// none checks that the fixture received nothing (everything before it was answered).
func (u *pxUpstream) none(t *testing.T) {
	t.Helper()
	select {
	case s := <-u.seen:
		t.Fatalf("the fixture received %s %s", s.method, s.uri)
	default:
	}
}

var hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)

// pxEvent is a proxy.request.completed event.
type pxEvent struct {
	Type    string `json:"type"`
	TraceID string `json:"trace_id"`
	Payload struct {
		TargetID string `json:"target_id"`
		Method   string `json:"method"`
		Path     string `json:"path"`
		Status   int    `json:"status"`
	} `json:"payload"`
}

// proxyEvent waits (bounded) for the proxy.request.completed event with the trace id.
func (l *labClient) proxyEvent(t *testing.T, traceID string) pxEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := l.do("GET", "/api/events/snapshot?topics=proxy.request.completed&limit=500", "")
		var page struct {
			Events []pxEvent `json:"events"`
		}
		r.decode(t, &page)
		for _, e := range page.Events {
			if e.TraceID == traceID {
				return e
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no proxy.request.completed event with trace %s: %s", traceID, r.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Status, headers and body pass through; hop-by-hop fields and the caller's Host do not;
// the event is published with the report's trace id.
func TestProxyPassThrough(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, l := labServer(t, engine)
		up := newPxUpstream(t)
		tg := l.createTarget(fmt.Sprintf(`{"id":"fx","name":"fixture","base_url":%q}`, up.URL+"/"))

		rep := l.proxyOK(map[string]any{"target_id": "fx", "method": "post", "path": "/echo?q=1&r=%20",
			"headers": map[string]string{"X-Custom": "v", "Host": "evil.example", "Connection": "X-Drop",
				"X-Drop": "1", "Proxy-Authorization": "Basic eA==", "Content-Type": "text/plain"},
			"body": "payload"})
		is.Equal(rep.Request.TargetID, tg.ID)
		is.Equal(rep.Request.Method, "POST")
		is.Equal(rep.Request.Path, "/echo?q=1&r=%20")
		is.Equal(rep.Response.Status, 201)
		is.Equal(rep.Response.Headers["X-Upstream"], "yes")
		is.Equal(rep.Response.Headers["X-Multi"], "1, 2")
		is.Equal(rep.Response.Headers["Content-Type"], "application/json")
		is.Equal(rep.Response.Body, `{"path":"/echo"}`)
		is.True(hex16.MatchString(rep.TraceID))
		is.Equal(rep.Truncated, false)
		is.True(rep.LatencyMS > 0) // a real round trip, measured (rounded to the microsecond)
		is.Equal(rep.Error, nil)

		seen := up.next(t)
		is.Equal(seen.method, "POST")
		is.Equal(seen.uri, "/echo?q=1&r=%20")
		is.Equal(seen.host, fmt.Sprintf("127.0.0.1:%d", up.port)) // the target's host, not the caller's
		is.Equal(seen.body, "payload")
		is.Equal(seen.header.Get("X-Custom"), "v")
		is.Equal(seen.header.Get("Content-Type"), "text/plain")
		is.Equal(seen.header.Get("X-Drop"), "")              // named by Connection
		is.Equal(seen.header.Get("Proxy-Authorization"), "") // hop-by-hop
		is.Equal(seen.header.Get("Via"), "1.1 ownhttp")
		is.Equal(seen.header.Get("X-Request-Id"), rep.TraceID)

		ev := l.proxyEvent(t, rep.TraceID)
		is.Equal(ev.Payload.TargetID, "fx")
		is.Equal(ev.Payload.Method, "POST")
		is.Equal(ev.Payload.Path, "/echo?q=1&r=%20")
		is.Equal(ev.Payload.Status, 201)

		// Defaults: GET /, no body; the upstream's 4xx is a report like any other.
		rep = l.proxyOK(map[string]any{"target_id": "fx"})
		is.Equal(rep.Request.Method, "GET")
		is.Equal(rep.Request.Path, "/")
		seen = up.next(t)
		is.Equal(seen.method, "GET")
		is.Equal(seen.uri, "/")
		is.Equal(seen.body, "")
	})
}

// A slow upstream is a 200 report with response.status 504 proxy_timeout, at the request's
// timeout_ms or else the target's.
func TestProxyTimeout(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, l := labServer(t, engine)
		up := newPxUpstream(t)
		l.createTarget(fmt.Sprintf(`{"id":"slow","name":"slow","base_url":%q,"timeout_ms":150}`, up.URL))
		for _, payload := range []map[string]any{
			{"target_id": "slow", "path": "/slow", "timeout_ms": 200},
			{"target_id": "slow", "path": "/slow"}, // the target's 150 ms
		} {
			rep := l.proxyOK(payload)
			is.Equal(rep.Response.Status, 504)
			is.Equal(rep.Response.Headers, map[string]string{"Content-Type": "application/json"})
			is.Equal(rep.Error.Code, "proxy_timeout")
			var body struct {
				Error labErrorDetail `json:"error"`
			}
			is.NoErr(json.Unmarshal([]byte(rep.Response.Body), &body))
			is.Equal(body.Error, *rep.Error)
			is.True(hex16.MatchString(rep.TraceID))
			ev := l.proxyEvent(t, rep.TraceID)
			is.Equal(ev.Payload.Status, 504)
		}
	})
}

// A body past --max-proxy-body-bytes is cut there and marked truncated.
func TestProxySizeCap(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, l := labServer(t, engine, "--max-proxy-body-bytes", "1048576")
		up := newPxUpstream(t)
		l.createTarget(fmt.Sprintf(`{"id":"big","name":"big","base_url":%q}`, up.URL))
		rep := l.proxyOK(map[string]any{"target_id": "big", "path": "/big"})
		is.Equal(rep.Response.Status, 200)
		is.Equal(rep.Truncated, true)
		is.Equal(len(rep.Response.Body), 1<<20)
		is.Equal(strings.Trim(rep.Response.Body, "a"), "")

		rep = l.proxyOK(map[string]any{"target_id": "big", "path": "/echo"})
		is.Equal(rep.Truncated, false)
	})
}

// Redirects are not followed: the 3xx is the result, with its Location.
func TestProxyRedirectNotFollowed(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, l := labServer(t, engine)
		up := newPxUpstream(t)
		l.createTarget(fmt.Sprintf(`{"id":"r","name":"r","base_url":%q}`, up.URL))
		rep := l.proxyOK(map[string]any{"target_id": "r", "path": "/redirect"})
		is.Equal(rep.Response.Status, 302)
		is.Equal(rep.Response.Headers["Location"], "/elsewhere")
		is.Equal(up.next(t).uri, "/redirect")
		up.none(t) // /elsewhere was never requested
	})
}

// Requests refused before anything is sent, each with its status and JSON error; and an
// upstream that refuses the connection, which is a 502 report.
func TestProxyRefusals(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		_, l := labServer(t, engine)
		up := newPxUpstream(t)
		l.createTarget(fmt.Sprintf(`{"id":"ok","name":"ok","base_url":%q}`, up.URL))
		l.createTarget(fmt.Sprintf(`{"id":"off","name":"off","base_url":%q,"enabled":false}`, up.URL))
		l.createTarget(`{"id":"meta","name":"meta","base_url":"http://169.254.169.254/latest/meta-data"}`)
		l.createTarget(`{"id":"meta6","name":"meta6","base_url":"http://[::ffff:169.254.169.254]"}`)
		l.createTarget(`{"id":"ali","name":"ali","base_url":"http://100.100.100.200"}`)
		l.createTarget(fmt.Sprintf(`{"id":"zero","name":"zero","base_url":"http://0.0.0.0:%d"}`, up.port))

		tests := []struct {
			name    string
			payload map[string]any
			status  int
			code    string
			message string // "" to skip
		}{
			{"unknown target", map[string]any{"target_id": "nope"}, 404, "target_not_found", "target not found"},
			{"disabled", map[string]any{"target_id": "off"}, 409, "target_disabled", "target is disabled"},
			{"metadata", map[string]any{"target_id": "meta"}, 403, "target_forbidden", ""},
			{"mapped metadata", map[string]any{"target_id": "meta6"}, 403, "target_forbidden", ""},
			{"alibaba metadata", map[string]any{"target_id": "ali"}, 403, "target_forbidden", ""},
			{"unspecified", map[string]any{"target_id": "zero"}, 403, "target_forbidden", ""},
			{"no target_id", map[string]any{}, 400, "invalid_proxy_request", "target_id is required"},
			{"bad method", map[string]any{"target_id": "ok", "method": "TRACE"}, 400, "invalid_proxy_request", "invalid method"},
			{"bad path", map[string]any{"target_id": "ok", "path": "echo"}, 400, "invalid_proxy_request", "path must start with /"},
			{"bad headers", map[string]any{"target_id": "ok", "headers": []string{"x"}}, 400, "invalid_proxy_request", "headers must be an object"},
			{"header injection", map[string]any{"target_id": "ok", "headers": map[string]string{"X": "a\r\nB: c"}}, 400, "invalid_proxy_request", ""},
			{"bad body", map[string]any{"target_id": "ok", "body": 5}, 400, "invalid_proxy_request", "body must be a string"},
			{"timeout 0", map[string]any{"target_id": "ok", "timeout_ms": 0}, 400, "invalid_proxy_request", "timeout_ms must be an integer between 1 and 60000"},
			{"timeout string", map[string]any{"target_id": "ok", "timeout_ms": "abc"}, 400, "invalid_proxy_request", "timeout_ms must be an integer between 1 and 60000"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				is := is.New(t)
				r := l.proxy(tt.payload)
				is.Equal(r.status, tt.status)
				e := r.apiError(t)
				is.Equal(e.Code, tt.code)
				if tt.message != "" {
					is.Equal(e.Message, tt.message)
				}
			})
		}
		t.Run("not JSON", func(t *testing.T) {
			is := is.New(t)
			r := l.do("POST", "/api/proxy/request", "{")
			is.Equal(r.status, 400)
			is.Equal(r.apiError(t).Code, "invalid_json")
		})
		t.Run("other methods", func(t *testing.T) {
			is := is.New(t)
			r := l.do("GET", "/api/proxy/request", "")
			is.Equal(r.status, 405)
			is.Equal(r.header.Get("Allow"), "POST")
			is.Equal(r.apiError(t).Code, "method_not_allowed")
		})
		t.Run("loop", func(t *testing.T) {
			is := is.New(t)
			r := l.do("POST", "/api/proxy/request", `{"target_id":"ok"}`, "Via: 1.1 ownhttp")
			is.Equal(r.status, 508)
			is.Equal(r.apiError(t).Code, "loop_detected")
		})
		t.Run("connection refused", func(t *testing.T) {
			is := is.New(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			is.NoErr(err)
			addr := ln.Addr().String()
			ln.Close() // nothing listens there now
			l.createTarget(fmt.Sprintf(`{"id":"closed","name":"closed","base_url":"http://%s"}`, addr))
			rep := l.proxyOK(map[string]any{"target_id": "closed"})
			is.Equal(rep.Response.Status, 502)
			is.Equal(rep.Error.Code, "proxy_error")
			is.True(strings.Contains(rep.Response.Body, "proxy_error"))
		})
		up.none(t) // no refused request reached the fixture
	})
}

// With --proxy-allow-private=false, loopback targets are refused at dial time, by address
// or by a name that resolves to one.
func TestProxyPrivateRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, l := labServer(t, engine, "--proxy-allow-private=false")
		up := newPxUpstream(t)
		for _, base := range []string{up.URL, fmt.Sprintf("http://localhost:%d", up.port), fmt.Sprintf("http://[::1]:%d", up.port)} {
			name := strings.NewReplacer(":", "-", "/", "-", "[", "", "]", "").Replace(base)
			l.createTarget(fmt.Sprintf(`{"id":%q,"name":%q,"base_url":%q}`, name, name, base))
			r := l.proxy(map[string]any{"target_id": name, "path": "/echo"})
			is.Equal(r.status, 403)
			e := r.apiError(t)
			is.Equal(e.Code, "target_forbidden")
			is.True(strings.Contains(e.Message, "--proxy-allow-private"))
		}
		up.none(t)
	})
}

// Slow upstreams do not starve the API (#11 item 3). Outbound calls have their own bounded
// pool: with every outbound worker held by an upstream that does not answer, the admin API
// still reads and writes, a full outbound pool answers 503 busy for proxy calls only, and a
// call waiting for a worker ends at its timeout_ms counted from its arrival, not after the
// calls ahead of it. Every check is an ordering: it happens while the flood is still held.
func TestSlowUpstreamsDoNotStarveTheAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		release := make(chan struct{})
		var arrived atomic.Int64
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(up.Close)
		t.Cleanup(func() { close(release) }) // runs first: the held calls end, then up closes
		const workers = 2
		s := testkit.Start(t, run, engine, "--access-log=false", "--outbound-workers", strconv.Itoa(workers))
		l := newLabClient(t, s)
		l.createTarget(`{"id":"held","name":"Held","base_url":"` + up.URL + `","timeout_ms":60000}`)

		// The flood: the workers plus their whole queue (16 each), then more.
		client := &http.Client{Timeout: 90 * time.Second}
		call := func(timeoutMS int) (int, string) {
			body := fmt.Sprintf(`{"target_id":"held","path":"/slow","timeout_ms":%d}`, timeoutMS)
			resp, err := client.Post("http://"+s.Addr+"/api/proxy/request", "application/json", strings.NewReader(body))
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		var finished atomic.Int64
		hold := func(n int) {
			for range n {
				go func() {
					if status, _ := call(60000); status != 503 { // a filler may find the queue full
						finished.Add(1)
					}
				}()
			}
		}
		hold(workers)
		waitUntil(t, func() bool { return arrived.Load() == workers }) // every worker is held

		// A call queued behind them ends at its own timeout, counted from its arrival,
		// while the calls ahead still hold their workers.
		status, body := call(300)
		is.Equal(status, 200)
		var rep pxReply
		is.NoErr(json.Unmarshal([]byte(body), &rep))
		is.Equal(rep.Response.Status, 504)
		is.Equal(rep.Error.Code, "proxy_timeout")
		is.Equal(finished.Load(), int64(0))

		// The queue fills (16 per worker); a call past it is refused at once: 503 busy with
		// Retry-After. A probe that still finds room waits 1 s and ends as a timeout.
		hold(workers * 16)
		waitUntil(t, func() bool {
			status, body = call(1000)
			return status == 503
		})
		is.True(strings.Contains(body, `"code":"busy"`))

		// The admin API reads and writes meanwhile, and the rest of the server serves.
		start := time.Now()
		is.Equal(l.do("GET", "/api/mocks", "").status, 200)
		l.createMock(`{"method":"GET","path_pattern":"/during-the-flood","body":"ok"}`)
		t.Logf("%s: GET and POST /api/mocks during the flood took %s", engine, time.Since(start))
		is.Equal(string(l.do("GET", "/during-the-flood", "").body), "ok")
		is.Equal(finished.Load(), int64(0)) // none of the held calls has ended
	})
}

// waitUntil waits (at most 20 s) until ok holds; the wait is bounded by an event, never
// asserted on.
func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatal("the condition did not hold within 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
