package features

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ownhttp/conn"
	"ownhttp/features/upstream"
	"ownhttp/proto"
	"ownhttp/state"
)

// History, replay and the playground API (issue #4).
//
// Replay and the playground's manual requests are real HTTP requests this server sends to
// itself (Config.SelfURL), so they go through every layer a client's request does and show
// up in history, metrics and live events like any other request (a fix of spec §15.31: the
// original dispatched them internally and recorded nothing). They are sent from inside x.Go,
// never on the event loop.

// Limits of requests sent to self.
const (
	// selfTimeout bounds a whole request to self, body included.
	selfTimeout = 10 * time.Second
	// maxPreviewBytes caps the response body returned by replay and the playground; a longer
	// body is cut and reported as truncated.
	maxPreviewBytes = 64 << 10
	// maxPlaygroundBody is the default cap of a manual request's body (the spec's
	// max_mock_body_bytes; --max-mock-body-bytes sets it).
	maxPlaygroundBody = state.DefaultMaxMockBodyBytes
)

// selfHeader marks the requests this server sends to itself. Replay, the playground's manual
// request, scenario runs and the proxy refuse a request carrying it, or the proxy's Via entry
// (fromSelf: 508), so a request to self can never ask for another one: each holds a worker
// or a run slot while it waits, and nesting could starve them.
const (
	selfHeader      = "X-Ownhttp-Self"
	selfHeaderLower = "x-ownhttp-self" // proto.Request.Header wants lower-case names
)

// Error codes of this file (the state package owns the others).
const (
	codeInvalidRequest = state.CodeInvalidRequest
	codeNotReplayable  = "not_replayable"
	codeUpstream       = "upstream_failed"
	codeLoop           = "loop_detected"
)

type historyBody struct {
	History []state.HistoryEntry `json:"history"`
}

// historyList is GET /api/history: 200 {"history":[…]} oldest first, filtered by the query
// parameters method, path (substring), status, from_ts, to_ts, recording (a record-mode session's id) and limit; an unparseable
// filter is 400 invalid_filter. With format=har the same entries come as a HAR 1.2 archive
// (har.go).
func (a *App) historyList(x *conn.Exchange, _ *params) {
	q, err := url.ParseQuery(string(x.Req.Query))
	if err != nil {
		writeErr(x, labErr(state.KindInvalid, state.CodeInvalidFilter, "the query string is malformed"))
		return
	}
	f := state.HistoryFilter{Method: q.Get("method"), Path: q.Get("path"), Status: q.Get("status"), Recording: q.Get("recording"),
		FromTS: q.Get("from_ts"), ToTS: q.Get("to_ts"), Limit: q.Get("limit")}
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		h, err := st.History(ctx, f)
		if err != nil {
			answerErr(r, err)
			return
		}
		if q.Get("format") == "har" {
			a.answerHistoryHAR(r, h)
			return
		}
		answerJSON(r, 200, historyBody{History: h})
	})
}

// playgroundState is GET /api/playground/state: 200 {"version":1,"mocks":[…],"history":[…]}.
func (a *App) playgroundState(x *conn.Exchange, _ *params) {
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		ps, err := st.PlaygroundState(ctx)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, ps)
	})
}

// selfRequest is a request to send to this server.
type selfRequest struct {
	method string
	target string // origin-form ("/path?query") or "*"
	header http.Header
	body   string
	// host, when set, is sent as the Host header (a scenario step's host); else the
	// server's own address is.
	host string
}

// selfResponse is what came back, as replay and the playground report it.
type selfResponse struct {
	Status    int               `json:"status"`
	Headers   map[string]string `json:"headers"`
	Body      string            `json:"-"`
	Truncated bool              `json:"truncated"`
}

type replayResult struct {
	selfResponse
	BodyPreview string `json:"body_preview"`
}

type replayBody struct {
	ReplayedRequestID string       `json:"replayed_request_id"`
	Result            replayResult `json:"result"`
}

// replay is POST /api/replay/{request_id}: it re-sends the stored request (method, raw
// target, headers, body) to this server as a real request and answers 200
// {"replayed_request_id":…,"result":{"status","headers","body_preview","truncated"}}.
// Stored credentials are never sent (history holds "[redacted]" anyway): the caller's own
// Authorization goes instead. Unknown id: 404 not_found; an entry without replay input:
// 400 not_replayable; the request failing: 502 upstream_failed.
func (a *App) replay(x *conn.Exchange, p *params) {
	if fromSelf(x) {
		writeErr(x, loopErr("a request sent by this server to itself cannot start another"))
		return
	}
	id := string(p[0])
	auth := string(x.Req.Header("authorization"))
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		e, err := st.HistoryEntry(ctx, id)
		if err != nil {
			answerErr(r, err)
			return
		}
		ri := e.ReplayInput
		if ri == nil {
			answerErr(r, labErr(state.KindInvalid, codeNotReplayable, "request has no replay input"))
			return
		}
		target, ok := replayTarget(ri)
		if !ok {
			answerErr(r, labErr(state.KindInvalid, codeNotReplayable, "the request target cannot be replayed"))
			return
		}
		res, err := a.sendToSelf(selfRequest{method: ri.Method, target: target,
			header: replayHeaders(ri.Headers, auth), body: ri.Body})
		if err != nil {
			a.answerSelfFailure(r, err)
			return
		}
		answerJSON(r, 200, replayBody{ReplayedRequestID: id,
			Result: replayResult{selfResponse: res, BodyPreview: res.Body}})
	})
}

// replayTarget returns the origin-form target to replay: the raw target as received, or the
// path and query of an absolute-form target, or "*".
func replayTarget(ri *state.ReplayInput) (string, bool) {
	t := ri.RawTarget
	switch {
	case strings.HasPrefix(t, "/"), t == "*":
		return t, true
	case t == "" && strings.HasPrefix(ri.Path, "/"):
		return ri.Path, true
	case t == "":
		return "", false
	}
	u, err := url.Parse(t)
	if err != nil || u.Host == "" {
		return "", false
	}
	return u.RequestURI(), true
}

// dropOnReplay lists stored request headers that a request to self must not re-send:
// credentials (replaced by the caller's), hop-by-hop and framing fields (the client sets its
// own), and our loop marker.
func dropOnReplay(lower string) bool {
	switch lower {
	case "authorization", "cookie", "proxy-authorization",
		"connection", "content-length", "transfer-encoding", "host", "keep-alive", "te",
		"trailer", "upgrade", "expect", "proxy-connection", selfHeaderLower:
		return true
	}
	return false
}

// replayHeaders builds the header of a replayed request from the stored headers (lower-case
// names): every header dropOnReplay allows, then the caller's Authorization when it has one,
// then the loop marker. No stored credential ever survives.
func replayHeaders(stored map[string]string, callerAuth string) http.Header {
	h := make(http.Header, len(stored)+2)
	for name, v := range stored {
		if lower := strings.ToLower(name); !dropOnReplay(lower) {
			h[http.CanonicalHeaderKey(lower)] = []string{v}
		}
	}
	if callerAuth != "" {
		h.Set("Authorization", callerAuth)
	}
	return h
}

type playgroundRequestBody struct {
	Request  playgroundSent     `json:"request"`
	Response playgroundResponse `json:"response"`
}

type playgroundSent struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

type playgroundResponse struct {
	selfResponse
	Body string `json:"body"`
}

// playgroundRequest is POST /api/playground/request (spec §4.6, fixed): the payload
// {"method","path","headers","body"} becomes a real request to this server, answered 200
// {"request":{"method","path"},"response":{"status","headers","body","truncated"}}. method
// (default GET) is upper-cased and must be a token; path (default "/") must start with "/";
// headers is an object of strings whose names are tokens and values hold no control
// characters (framing and hop-by-hop fields are dropped); body is a string of at most
// max_mock_body_bytes (413 past it); any other key is 400 `unknown field "…"`. Without an Authorization of its own, the request
// carries the caller's. Failure to reach the server: 502 upstream_failed.
func (a *App) playgroundRequest(x *conn.Exchange, _ *params) {
	if fromSelf(x) {
		writeErr(x, loopErr("a request sent by this server to itself cannot start another"))
		return
	}
	if a.cfg.SelfURL == nil {
		writeErr(x, labErr(state.KindUnavailable, state.CodeUnavailable, "requests to self are not available"))
		return
	}
	payload := append([]byte(nil), x.Body...)
	auth := string(x.Req.Header("authorization"))
	x.GoOn(a.cfg.Outbound, func(r *conn.Reply) {
		req, sent, err := decodePlaygroundRequest(payload, a.maxMockBody())
		if err != nil {
			answerErr(r, err)
			return
		}
		if auth != "" && req.header.Get("Authorization") == "" {
			req.header.Set("Authorization", auth)
		}
		res, err := a.sendToSelf(req)
		if err != nil {
			a.answerSelfFailure(r, err)
			return
		}
		answerJSON(r, 200, playgroundRequestBody{Request: sent,
			Response: playgroundResponse{selfResponse: res, Body: res.Body}})
	})
}

func invalidRequest(msg string) error { return labErr(state.KindInvalid, codeInvalidRequest, msg) }

// decodePlaygroundRequest validates a manual request payload. Errors are product errors:
// invalid_json for the body as a whole, invalid_request (400, or 413 for the body size) for
// a field.
func decodePlaygroundRequest(payload []byte, maxBody int) (selfRequest, playgroundSent, error) {
	var req selfRequest
	var sent playgroundSent
	obj, e := state.DecodeJSONObject(payload)
	if e != nil {
		return req, sent, e
	}
	if msg := state.UnknownField(obj, "method", "path", "headers", "body"); msg != "" {
		return req, sent, invalidRequest(msg)
	}
	str := func(key, def, msg string) (string, error) {
		raw, ok := obj[key]
		if !ok || string(raw) == "null" {
			return def, nil
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", invalidRequest(msg)
		}
		return s, nil
	}
	method, err := str("method", "GET", "method must be a string")
	if err != nil {
		return req, sent, err
	}
	method = strings.ToUpper(method)
	if !proto.IsToken(method) {
		return req, sent, invalidRequest("method must be an HTTP method token")
	}
	path, err := str("path", "/", "path must be a string")
	if err != nil {
		return req, sent, err
	}
	if !strings.HasPrefix(path, "/") {
		return req, sent, invalidRequest("path must start with /")
	}
	header := http.Header{}
	if raw, ok := obj["headers"]; ok && string(raw) != "null" {
		var hm map[string]json.RawMessage
		if t := strings.TrimSpace(string(raw)); !strings.HasPrefix(t, "{") || json.Unmarshal(raw, &hm) != nil {
			return req, sent, invalidRequest("headers must be an object of strings")
		}
		for name, rawV := range hm {
			var v string
			if json.Unmarshal(rawV, &v) != nil {
				return req, sent, invalidRequest("headers must be an object of strings")
			}
			if !proto.IsToken(name) {
				return req, sent, invalidRequest("header names must be tokens (RFC 9110)")
			}
			if !validHeaderValue(v) {
				return req, sent, invalidRequest("header values must not contain CR, LF, NUL or other control characters")
			}
			if lower := strings.ToLower(name); !dropOnReplay(lower) || lower == "authorization" || lower == "cookie" {
				header[http.CanonicalHeaderKey(lower)] = []string{v}
			}
		}
	}
	body, err := str("body", "", "body must be a string")
	if err != nil {
		return req, sent, err
	}
	if len(body) > maxBody {
		return req, sent, labErr(state.KindTooLarge, codeInvalidRequest, "request body too large")
	}
	target := encodeTarget(path)
	return selfRequest{method: method, target: target, header: header, body: body},
		playgroundSent{Method: method, Path: target}, nil
}

// validHeaderValue refuses control characters other than HTAB (RFC 9110 field-value).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// encodeTarget percent-encodes every byte of a typed path that cannot appear raw in a
// request target (controls, space, '#', non-ASCII), so that what a user types in the
// playground can never break the request line.
func encodeTarget(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || c == '#' {
			if b.Len() == 0 {
				b.Grow(len(p) + 8)
				b.WriteString(p[:i])
			}
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return p
	}
	return b.String()
}

// errNoSelfURL reports that the server cannot reach itself (no SelfURL configured).
var errNoSelfURL = errors.New("the server's own address is not known")

// answerSelfFailure answers a request to self that could not be made: 503 when the server
// does not know its own address, else 502.
func (a *App) answerSelfFailure(r *conn.Reply, err error) {
	if errors.Is(err, errNoSelfURL) {
		answerErr(r, labErr(state.KindUnavailable, state.CodeUnavailable, err.Error()))
		return
	}
	answerErr(r, labErr(state.KindUpstream, codeUpstream, "the request to this server failed: "+err.Error()))
}

// sendToSelf sends req to this server and reads the response, its body capped at
// maxPreviewBytes (invalid UTF-8 replaced). It blocks: call it inside x.Go only.
func (a *App) sendToSelf(req selfRequest) (selfResponse, error) {
	var res selfResponse
	if a.cfg.SelfURL == nil {
		return res, errNoSelfURL
	}
	base, err := url.Parse(a.cfg.SelfURL())
	if err != nil || base.Host == "" {
		return res, errNoSelfURL
	}
	u := &url.URL{Scheme: base.Scheme, Host: base.Host}
	path, query, hasQuery := strings.Cut(req.target, "?")
	if strings.HasPrefix(path, "//") {
		// An opaque "//x" would be sent as an absolute URL; a parsed path keeps its bytes here.
		if u, err = url.Parse(base.Scheme + "://" + base.Host + req.target); err != nil {
			return res, err
		}
	} else {
		// Opaque sends the target's bytes exactly as stored or typed.
		u.Opaque, u.RawQuery, u.ForceQuery = path, query, hasQuery && query == ""
	}
	ctx, cancel := context.WithTimeout(a.lifetime(), selfTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, req.method, base.Scheme+"://"+base.Host+"/", strings.NewReader(req.body))
	if err != nil {
		return res, err
	}
	hr.URL = u // the target as built above; hr.Host stays the server's address
	if req.host != "" {
		hr.Host = req.host
	}
	if req.body == "" {
		hr.Body, hr.ContentLength = http.NoBody, 0
	}
	hr.Header = req.header
	if hr.Header == nil {
		hr.Header = http.Header{}
	}
	if _, ok := hr.Header["User-Agent"]; !ok {
		hr.Header["User-Agent"] = []string{""} // net/http then sends none of its own
	}
	hr.Header.Set(selfHeader, "1")
	resp, err := upstream.Self(base.Scheme == "https", selfTimeout, maxPreviewBytes).Do(hr)
	if err != nil {
		return res, err
	}
	res.Status, res.Truncated = resp.Status, resp.Truncated
	res.Headers = joinHeaders(resp.Header)
	res.Body = string(appendValidUTF8(make([]byte, 0, len(resp.Body)), resp.Body))
	return res, nil
}

// maxMockBody is --max-mock-body-bytes, or the default when unset.
func (a *App) maxMockBody() int {
	if a.cfg.MaxMockBodyBytes > 0 {
		return a.cfg.MaxMockBodyBytes
	}
	return maxPlaygroundBody
}
