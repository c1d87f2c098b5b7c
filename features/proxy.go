package features

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"ownhttp/conn"
	"ownhttp/features/upstream"
	"ownhttp/proto"
	"ownhttp/state"
)

// The proxy (issue #5; spec §7.2 with the fixes of §15.1 item 1 and §15.4 #32).
//
// POST /api/proxy/request and the scenario runner's target steps send requests to a target's
// base_url through proxyDo, which blocks and so runs inside x.Go or the runner's pool, never
// on an event loop. Every request goes through one guarded upstream client per App (package
// upstream: the SSRF guard on every dialled address, no redirects, no environment proxy, no
// decompression, a capped body), built on first use.
//
// Outcomes. A request that is refused before anything is sent is a product error with its
// own HTTP status: 400 invalid_proxy_request, 404 target_not_found, 409 target_disabled (the
// target's enabled flag is false: the request conflicts with the target's current state) and
// 403 target_forbidden (the SSRF guard). Once the request was attempted, the proxy endpoint
// answers 200 with a report, as the spec does: an upstream answer of any status is reported
// as is, and an upstream failure is reported as a synthetic response, status 504 with
// proxy_timeout when the step or request timeout ran out, or 502 with proxy_error for any
// other failure (connection refused, DNS, TLS, a malformed response), whose body is the API
// error JSON and which the report repeats in a top-level "error". The Request Lab shows it
// like any other response, and it is never a crash.

// Error codes of the proxy.
const (
	codeInvalidProxy    = "invalid_proxy_request"
	codeTargetForbidden = "target_forbidden"
	codeTargetDisabled  = "target_disabled"
	codeProxyError      = "proxy_error"
	codeProxyTimeout    = "proxy_timeout"
)

// proxyVia is the Via entry (RFC 9110 §7.6.3) this server adds to every proxied request; a
// proxy request that already carries it came from this server and is refused (508), so a
// target pointing back at this server cannot make the proxy call itself without end.
const proxyVia = "1.1 ownhttp"

// proxyResult is an upstream response as the proxy saw it.
type proxyResult struct {
	Status    int
	Header    http.Header
	Body      []byte // at most MaxProxyBodyBytes (upstream.DefaultMaxBody when unset)
	Truncated bool
	TraceID   string // the trace id of this proxied exchange (16 hex)
	LatencyMS float64
	// Failure is set when the upstream failed (KindUpstream proxy_error or KindTimeout
	// proxy_timeout): the result is then the synthetic 502/504 report described above, and
	// proxyDo returns the same error.
	Failure *state.Error
}

// proxyUpstream holds the App's upstream client. The zero value is ready; the client is
// built on first use and is safe for concurrent use.
type proxyUpstream struct {
	once   sync.Once
	client *upstream.Client
	// resolver resolves upstream host names; nil means net.DefaultResolver. Tests set it
	// before the first proxied request; nothing else does.
	resolver *net.Resolver
}

// upstreamClient returns the App's proxy client, building it on first use.
func (a *App) upstreamClient() *upstream.Client {
	p := &a.proxy
	p.once.Do(func() {
		p.client = upstream.New(upstream.Config{AllowPrivate: a.cfg.ProxyAllowPrivate,
			Resolver: p.resolver, MaxBody: a.cfg.MaxProxyBodyBytes})
	})
	return p.client
}

// ---- proxyDo ----

// proxyDo sends one request to target t: base_url without its trailing "/" plus rawTarget
// (path and query; it must start with "/"; bytes that cannot appear in a request target are
// percent-encoded). It blocks (call it off the event loop, inside x.Go or the runner's pool)
// and is safe for concurrent use.
//
// timeout bounds the whole exchange, body included; zero or less means the target's
// timeout_ms. header is what the caller asks to send: hop-by-hop and framing fields
// (Connection and the fields it names, Keep-Alive, TE, Trailer, Upgrade, Proxy-*, Host,
// Content-Length, Transfer-Encoding) are dropped, the Host sent is the target's, Via gets
// "1.1 ownhttp", and X-Request-ID is set to the exchange's new trace id unless the caller
// set one. body is sent when not empty. The response body is read up to the App's
// MaxProxyBodyBytes; a longer one is cut there and marked Truncated.
//
// Errors, with a zero result (nothing was sent, no event): *state.Error target_not_found
// (t is nil), target_disabled (KindConflict), invalid_proxy_request (KindInvalid: the
// method or the target cannot be sent), target_forbidden (KindForbidden: the SSRF guard
// refused every address of the host), canceled (KindUnavailable: ctx ended first).
//
// An upstream failure returns BOTH the synthetic report (Status 504 or 502, a JSON
// Content-Type, the error JSON as body, Failure set) and the same *state.Error (KindTimeout
// proxy_timeout or KindUpstream proxy_error), so a caller can show either.
//
// Every attempted exchange (answered or failed) publishes proxy.request.completed
// {target_id, method, path, status} with the result's trace id.
func (a *App) proxyDo(ctx context.Context, t *state.Target, method, rawTarget string, header http.Header,
	body []byte, timeout time.Duration) (proxyResult, error) {
	if t == nil {
		return proxyResult{}, labErr(state.KindNotFound, state.CodeTargetNotFound, "target not found")
	}
	if !t.Enabled {
		return proxyResult{}, labErr(state.KindConflict, codeTargetDisabled, "target is disabled")
	}
	u, err := upstreamURL(t.BaseURL, rawTarget)
	if err != nil {
		return proxyResult{}, err
	}
	if timeout <= 0 {
		timeout = t.Timeout()
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader = http.NoBody
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.Scheme+"://"+u.Host+"/", rd)
	if err != nil {
		return proxyResult{}, labErr(state.KindInvalid, codeInvalidProxy, "invalid method")
	}
	req.URL, req.Host = u, u.Host // the target as built; the Host sent is the target's
	traceID := conn.TraceString(rand.Uint64())
	req.Header = forwardHeaders(header)
	if req.Header.Get("X-Request-ID") == "" {
		req.Header.Set("X-Request-ID", traceID)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", "ownhttp-proxy")
	}
	req.Header.Add("Via", proxyVia)

	start := time.Now()
	res := proxyResult{TraceID: traceID}
	resp, err := a.upstreamClient().Do(req)
	res.Status, res.Header, res.Body, res.Truncated = resp.Status, resp.Header, resp.Body, resp.Truncated
	res.LatencyMS = state.RoundMS(float64(time.Since(start)) / 1e6)
	if err != nil {
		fail := proxyFailure(parent, timeout, err)
		if fail.Kind != state.KindUpstream && fail.Kind != state.KindTimeout {
			return proxyResult{}, fail // refused or canceled: nothing to report
		}
		res.Status, _, _ = statusOf(fail) // 502 or 504
		res.Header = http.Header{"Content-Type": {jsonType}}
		res.Body = errorJSON(fail.Code, fail.Message)
		res.Truncated, res.Failure = false, fail
		a.publishProxy(t.ID, method, rawTarget, res.Status, traceID)
		return res, fail
	}
	a.publishProxy(t.ID, method, rawTarget, res.Status, traceID)
	return res, nil
}

// proxyFailure turns a failed exchange into its product error: target_forbidden for the SSRF
// guard, canceled when the caller's ctx ended, proxy_timeout when the exchange's own timeout
// ran out, proxy_error otherwise.
func proxyFailure(parent context.Context, timeout time.Duration, err error) *state.Error {
	var fe *upstream.ForbiddenError
	if errors.As(err, &fe) {
		return &state.Error{Kind: state.KindForbidden, Code: codeTargetForbidden, Message: fe.Error()}
	}
	if parent.Err() != nil && !errors.Is(parent.Err(), context.DeadlineExceeded) {
		return &state.Error{Kind: state.KindUnavailable, Code: state.CodeCanceled, Message: "the proxy request was canceled"}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return &state.Error{Kind: state.KindTimeout, Code: codeProxyTimeout,
			Message: "the upstream did not answer within " + timeout.String()}
	}
	return &state.Error{Kind: state.KindUpstream, Code: codeProxyError, Message: "the upstream request failed: " + err.Error()}
}

// publishProxy publishes proxy.request.completed.
func (a *App) publishProxy(targetID, method, path string, status int, traceID string) {
	if st := a.cfg.State; st != nil {
		st.Publish("proxy.request.completed", traceID, proxyEvent{TargetID: targetID, Method: method, Path: path, Status: status})
	}
}

type proxyEvent struct {
	TargetID string `json:"target_id"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	Status   int    `json:"status"`
}

// upstreamURL joins a target's base_url (without its trailing "/") and a request target,
// percent-encoding the bytes a request target cannot hold. The result always has the base's
// scheme and host: a request target can never move the request to another host.
func upstreamURL(baseURL, rawTarget string) (*url.URL, error) {
	bad := labErr(state.KindInvalid, codeInvalidProxy, "path is not a valid request target")
	if !strings.HasPrefix(rawTarget, "/") {
		return nil, labErr(state.KindInvalid, codeInvalidProxy, "path must start with /")
	}
	base, err := url.Parse(baseURL)
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return nil, labErr(state.KindInvalid, codeInvalidProxy, "the target's base_url is not an http(s) URL")
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/") + encodeTarget(rawTarget))
	if err != nil || u.Scheme != base.Scheme || u.Host != base.Host || u.User != nil || u.Opaque != "" {
		return nil, bad
	}
	return u, nil
}

// hopByHop reports whether a request field (lower-case name) is about one connection or the
// message's framing, and so is never forwarded.
func hopByHop(lower string) bool {
	switch lower {
	case "connection", "keep-alive", "te", "trailer", "upgrade", "host", "content-length", "transfer-encoding":
		return true
	}
	return strings.HasPrefix(lower, "proxy-")
}

// forwardHeaders copies the caller's header without hop-by-hop and framing fields, nor the
// fields its Connection header names (RFC 9110 §7.6.1).
func forwardHeaders(in http.Header) http.Header {
	out := make(http.Header, len(in)+3)
	var named map[string]bool
	for name, vs := range in {
		if strings.EqualFold(name, "connection") {
			for _, v := range vs {
				for tok := range strings.SplitSeq(v, ",") {
					if tok = strings.ToLower(strings.TrimSpace(tok)); tok != "" {
						if named == nil {
							named = map[string]bool{}
						}
						named[tok] = true
					}
				}
			}
		}
	}
	for name, vs := range in {
		lower := strings.ToLower(name)
		if hopByHop(lower) || named[lower] {
			continue
		}
		key := http.CanonicalHeaderKey(name)
		out[key] = append(out[key], vs...)
	}
	return out
}

// ---- POST /api/proxy/request ----

// proxyInput is a validated proxy request payload.
type proxyInput struct {
	targetID string
	method   string
	path     string
	header   http.Header
	body     []byte
	timeout  time.Duration // 0: the target's
}

// proxyMethods are the methods the proxy endpoint sends.
var proxyMethods = [...]string{"GET", "POST", "PUT", "PATCH", "DELETE"}

func invalidProxy(msg string) error { return labErr(state.KindInvalid, codeInvalidProxy, msg) }

// decodeProxyRequest validates a POST /api/proxy/request payload (see proxyRequest). Errors
// are product errors: invalid_json for the body as a whole, invalid_proxy_request for a field.
func decodeProxyRequest(payload []byte) (proxyInput, error) {
	var in proxyInput
	obj, e := state.DecodeJSONObject(payload)
	if e != nil {
		return in, e
	}
	if msg := state.UnknownField(obj, "target_id", "method", "path", "headers", "body", "timeout_ms"); msg != "" {
		return in, invalidProxy(msg)
	}
	str := func(key string) (string, bool, bool) { // value, present, ok
		raw, found := obj[key]
		if !found || string(raw) == "null" {
			return "", false, true
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", true, false
		}
		return s, true, true
	}
	id, _, ok := str("target_id")
	if !ok || strings.TrimSpace(id) == "" {
		return in, invalidProxy("target_id is required")
	}
	in.targetID = id
	method, present, ok := str("method")
	if !ok {
		return in, invalidProxy("invalid method")
	}
	if !present || method == "" {
		method = "GET"
	}
	in.method = strings.ToUpper(method)
	valid := false
	for _, m := range proxyMethods {
		valid = valid || in.method == m
	}
	if !valid {
		return in, invalidProxy("invalid method")
	}
	path, present, ok := str("path")
	if !present && ok {
		path = "/"
	}
	if !ok || !strings.HasPrefix(path, "/") {
		return in, invalidProxy("path must start with /")
	}
	in.path = path
	in.header = http.Header{}
	if raw, found := obj["headers"]; found && string(raw) != "null" {
		var hm map[string]json.RawMessage
		if t := strings.TrimSpace(string(raw)); !strings.HasPrefix(t, "{") || json.Unmarshal(raw, &hm) != nil {
			return in, invalidProxy("headers must be an object")
		}
		for name, rawV := range hm {
			var v string
			if json.Unmarshal(rawV, &v) != nil {
				return in, invalidProxy("headers must be an object of strings")
			}
			if !proto.IsToken(name) {
				return in, invalidProxy("header names must be tokens (RFC 9110)")
			}
			if !validHeaderValue(v) {
				return in, invalidProxy("header values must not contain CR, LF, NUL or other control characters")
			}
			key := http.CanonicalHeaderKey(name)
			in.header[key] = append(in.header[key], v)
		}
	}
	body, _, ok := str("body")
	if !ok {
		return in, invalidProxy("body must be a string")
	}
	in.body = []byte(body)
	if raw, found := obj["timeout_ms"]; found && string(raw) != "null" {
		n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
		if err != nil || n < 1 || n > state.MaxTargetTimeoutMS {
			return in, invalidProxy("timeout_ms must be an integer between 1 and 60000")
		}
		in.timeout = time.Duration(n) * time.Millisecond
	}
	return in, nil
}

type proxyReplyBody struct {
	Request   proxySent     `json:"request"`
	Response  proxyResponse `json:"response"`
	TraceID   string        `json:"trace_id"`
	Truncated bool          `json:"truncated"`
	LatencyMS float64       `json:"latency_ms"`
	Error     *errorDetail  `json:"error,omitempty"`
}

type proxySent struct {
	TargetID string `json:"target_id"`
	Method   string `json:"method"`
	Path     string `json:"path"`
}

type proxyResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// fromSelf reports whether x's request was sent by this server: to itself (it carries the
// self marker) or through the proxy (one of its Via fields, however many, names ownhttp), as
// when a target points back at this server. Such a request cannot start a scenario run, a
// replay, a manual request or a proxy request (508 loop_detected); a request through another
// ownhttp's proxy is treated the same way.
func fromSelf(x *conn.Exchange) bool {
	for _, h := range x.Req.Headers {
		if proto.EqualFold(h.Name, selfHeaderLower) ||
			proto.EqualFold(h.Name, "via") && bytes.Contains(bytes.ToLower(h.Value), []byte("ownhttp")) {
			return true
		}
	}
	return false
}

// proxyRequest is POST /api/proxy/request (spec §7.2, fixed). The payload is
// {"target_id","method","path","headers","body","timeout_ms"}:
//   - target_id: required string — 400 invalid_proxy_request "target_id is required";
//   - method: GET, POST, PUT, PATCH or DELETE, upper-cased, default GET — "invalid method";
//   - path: must start with "/", default "/" — "path must start with /"; it may carry a query;
//   - headers: an object of strings, or null — "headers must be an object"; names must be
//     tokens and values hold no control characters; hop-by-hop fields are dropped (proxyDo);
//   - body: a string, or null for none — "body must be a string";
//   - timeout_ms: an integer 1..60000, default the target's timeout_ms;
//   - any other key: `unknown field "…"`.
//
// An unknown target is 404 target_not_found, a disabled one 409 target_disabled, an address
// the SSRF guard refuses 403 target_forbidden. Otherwise the answer is 200
// {"request":{"target_id","method","path"},"response":{"status","headers","body"},
// "trace_id","truncated","latency_ms"}, where body is the upstream body as UTF-8 text
// (invalid sequences replaced), cut at --max-proxy-body-bytes (truncated true), and headers
// joins repeated fields with ", ". An upstream failure is the same 200 report with
// response.status 504 (proxy_timeout) or 502 (proxy_error), an error JSON body, and a
// top-level "error":{code,message}. A request carrying this server's Via entry or its
// request-to-self marker is refused with 508 loop_detected.
func (a *App) proxyRequest(x *conn.Exchange, _ *params) {
	if fromSelf(x) {
		writeErr(x, loopErr("a request sent by this server cannot start a proxy request"))
		return
	}
	st := a.cfg.State
	if st == nil {
		writeErr(x, labErr(state.KindUnavailable, state.CodeUnavailable, "the state service is not running"))
		return
	}
	// Decoded here (bounded by --max-body-bytes; the copies it makes outlive x.Body), so that
	// the timeout is known at arrival: timeout_ms counts from then, time spent waiting for a
	// free outbound worker included.
	in, err := decodeProxyRequest(x.Body)
	if err != nil {
		writeErr(x, err)
		return
	}
	t, ok := st.TargetSnapshot().Target(in.targetID)
	if !ok {
		writeErr(x, labErr(state.KindNotFound, state.CodeTargetNotFound, "target not found"))
		return
	}
	timeout := in.timeout
	if timeout <= 0 {
		timeout = t.Timeout()
	}
	deadline := x.Now.Add(timeout)
	sent := proxySent{TargetID: t.ID, Method: in.method, Path: in.path}
	connID, trace := x.ConnID, x.TraceHex()
	x.GoWithin(a.cfg.Outbound, deadline, func(r *conn.Reply) {
		defer a.targetWire(r, connID, trace, t, "POST /api/proxy/request")
		ctx, cancel := context.WithDeadline(a.lifetime(), deadline)
		defer cancel()
		res, err := a.proxyDo(ctx, t, in.method, in.path, in.header, in.body, timeout)
		if err != nil && res.Failure == nil {
			answerErr(r, err)
			return
		}
		reply := proxyReplyBody{
			Request:   sent,
			Response:  proxyResponse{Status: res.Status, Headers: joinHeaders(res.Header), Body: string(appendValidUTF8(make([]byte, 0, len(res.Body)), res.Body))},
			TraceID:   res.TraceID,
			Truncated: res.Truncated,
			LatencyMS: res.LatencyMS,
		}
		if f := res.Failure; f != nil {
			reply.Error = &errorDetail{Code: f.Code, Message: f.Message}
		}
		answerJSON(r, 200, reply)
	}, func(r *conn.Reply) {
		// Never sent: every outbound worker stayed busy past the deadline.
		fail := &state.Error{Kind: state.KindTimeout, Code: codeProxyTimeout,
			Message: "no outbound worker was free within " + timeout.String()}
		status, _, _ := statusOf(fail)
		answerJSON(r, 200, proxyReplyBody{Request: sent,
			Response: proxyResponse{Status: status, Headers: map[string]string{"Content-Type": jsonType},
				Body: string(errorJSON(fail.Code, fail.Message))},
			LatencyMS: state.RoundMS(float64(time.Since(deadline.Add(-timeout))) / 1e6),
			Error:     &errorDetail{Code: fail.Code, Message: fail.Message}})
	})
}

// joinHeaders flattens a header into one value per field, repeated values joined with ", ".
func joinHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}
