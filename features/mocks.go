package features

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"ownhttp/conn"
	"ownhttp/mock"
	"ownhttp/proto"
	"ownhttp/state"
)

// Mock API and mock dispatch (issue #4).
//
// The API handlers never touch the state actor on the event loop: its request/reply calls
// wait for the state file to be durable, so every call runs inside x.Go with a bounded
// context (stateTimeout). Serving a mock reads the actor's current Snapshot inline — an
// atomic load, no round trip — and allocates nothing.

// stateTimeout bounds each request/reply call to the state actor, including the wait for the
// change to reach the disk.
const stateTimeout = 10 * time.Second

// withState runs fn off the event loop with the state actor and a context bounded by
// stateTimeout. Without a state actor it answers 503 at once. Anything fn needs from the
// request must be copied before calling withState.
func (a *App) withState(x *conn.Exchange, fn func(ctx context.Context, st *state.Actor, r *conn.Reply)) {
	st := a.cfg.State
	if st == nil {
		writeErr(x, labErr(state.KindUnavailable, state.CodeUnavailable, "the state service is not running"))
		return
	}
	x.Go(func(r *conn.Reply) {
		ctx, cancel := context.WithTimeout(a.lifetime(), stateTimeout)
		defer cancel()
		fn(ctx, st, r)
	})
}

type mockListBody struct {
	Mocks []mockView `json:"mocks"`
}

type mockBody struct {
	Mock mockView `json:"mock"`
}

// mockView is a mock as the API shows it (state.MockView).
type mockView = state.MockView

func viewOf(m state.Mock) mockView { return mockView{Mock: m} }

func viewsOf(mocks []state.Mock) []mockView {
	out := make([]mockView, len(mocks))
	for i, m := range mocks {
		out[i] = viewOf(m)
	}
	return out
}

type mockDeletedBody struct {
	Deleted bool   `json:"deleted"`
	ID      string `json:"id"`
}

// mockList is GET /api/mocks: 200 {"mocks":[…]} in insertion order.
func (a *App) mockList(x *conn.Exchange, _ *params) {
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		mocks, err := st.ListMocks(ctx)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, mockListBody{Mocks: viewsOf(mocks)})
	})
}

// mockCreate is POST /api/mocks: 201 {"mock":{…}} with a Location header, once the mock is
// durable; 400/403/409/413 as state validates.
func (a *App) mockCreate(x *conn.Exchange, _ *params) {
	body := append([]byte(nil), x.Body...)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		in, e := state.DecodeMockInput(body)
		if e != nil {
			answerErr(r, e)
			return
		}
		m, err := st.CreateMock(ctx, in)
		if err != nil {
			answerErr(r, err)
			return
		}
		r.Header("Location", "/api/mocks/"+m.ID) // ids are letters, digits, '.', '_', '-'
		answerJSON(r, 201, mockBody{Mock: viewOf(m)})
	})
}

// mockGet is GET /api/mocks/{id}: 200 {"mock":{…}} or 404 not_found.
func (a *App) mockGet(x *conn.Exchange, p *params) {
	id := string(p[0])
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		m, err := st.GetMock(ctx, id)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, mockBody{Mock: viewOf(m)})
	})
}

// mockPatch is PATCH /api/mocks/{id}: a partial update (absent fields keep their values),
// 200 {"mock":{…}} once durable; 404 not_found when there is no such mock.
func (a *App) mockPatch(x *conn.Exchange, p *params) {
	id := string(p[0])
	body := append([]byte(nil), x.Body...)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		in, e := state.DecodeMockInput(body)
		if e != nil {
			answerErr(r, e)
			return
		}
		m, err := st.UpdateMock(ctx, id, in)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, mockBody{Mock: viewOf(m)})
	})
}

// mockPut is PUT /api/mocks/{id}: the body is a whole mock, validated as on POST. It replaces
// the mock with that id (200 {"mock":{…}}, created_at kept) or creates it (201 with a
// Location header, as POST does), once durable. An id in the body must equal the path's
// (400 invalid_mock); a mock loaded from a mock file is read-only (409 read_only_mock).
func (a *App) mockPut(x *conn.Exchange, p *params) {
	id := string(p[0])
	body := append([]byte(nil), x.Body...)
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		in, e := state.DecodeMockInput(body)
		if e != nil {
			answerErr(r, e)
			return
		}
		m, created, err := st.UpsertMock(ctx, id, in)
		if err != nil {
			answerErr(r, err)
			return
		}
		if created {
			r.Header("Location", "/api/mocks/"+m.ID) // ids are letters, digits, '.', '_', '-'
			answerJSON(r, 201, mockBody{Mock: viewOf(m)})
			return
		}
		answerJSON(r, 200, mockBody{Mock: viewOf(m)})
	})
}

// mockDelete is DELETE /api/mocks/{id}: 200 {"deleted":true,"id":…} once durable.
func (a *App) mockDelete(x *conn.Exchange, p *params) {
	id := string(p[0])
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		if err := st.DeleteMock(ctx, id); err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, mockDeletedBody{Deleted: true, ID: id})
	})
}

type mocksDeletedBody struct {
	Deleted int `json:"deleted"`
}

// mockDeleteAll is DELETE /api/mocks: every mock created through the API is deleted (those
// loaded from mock files stay), 200 {"deleted":N} once durable.
func (a *App) mockDeleteAll(x *conn.Exchange, _ *params) {
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		n, err := st.DeleteAllMocks(ctx)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, mocksDeletedBody{Deleted: n})
	})
}

// serveMock answers x from a matching mock, reporting false when none matches (and for
// every request when there is no state actor). It reads the current Snapshot inline and
// allocates nothing: the status, the pre-rendered header lines, the body and the route key
// all come from the immutable mock. HEAD matches GET mocks (conn sends the head only). The
// query, headers and body take part only when some mock has criteria on them (a pooled
// mock.Request then carries them). With --cors-origins it adds the CORS headers for an
// allowed Origin and answers preflight requests (OPTIONS with Origin and
// Access-Control-Request-Method) for paths a mock serves.
func (a *App) serveMock(x *conn.Exchange) bool {
	st := a.cfg.State
	if st == nil {
		return false
	}
	snap := st.Snapshot()
	req := x.Req
	if req.Method == proto.MethodOPTIONS {
		return a.servePreflight(x, snap)
	}
	mr := mockRequestFor(snap, x)
	defer mr.release()
	m, ok := snap.MatchMock([]byte(req.Method.String()), req.Path, mr.request())
	if !ok {
		return false
	}
	x.Route = m.RouteKey
	wireHit, sinceFirst := m.Hit(x.Now)
	resp, hit := m.Serve()
	switch {
	case resp == nil:
		writeJSON(x, 404, errorBody{Error: errorDetail{Code: codeSequenceExhausted,
			Message: "mock " + m.ID + " has served its " + strconv.Itoa(len(m.Responses)) + " responses (after_last: not_found)"}})
	case resp.Templated():
		a.renderTemplate(x, snap, m, resp, hit, mr)
	default:
		renderResponse(&x.Reply, resp)
	}
	if m.Plan != nil && x.Wire == nil { // a scenario's wire chaos replaces the mock's plan
		a.mockWire(x, snap, m, wireHit, sinceFirst)
	}
	if len(a.cfg.CORSOrigins) > 0 {
		// The CORS headers depend on Origin, so caches must key on it even when the
		// origin is absent or not allowed.
		x.Header("Vary", "Origin")
		if allow, ok := a.allowedOrigin(req.Header("origin")); ok {
			x.Header("Access-Control-Allow-Origin", allow)
		}
	}
	return true
}

// mockRequest is the part of a request mock criteria read, reused through mockRequests:
// the mock.Request's scratch space survives from request to request.
type mockRequest struct {
	req mock.Request
}

var mockRequests = sync.Pool{New: func() any { return new(mockRequest) }}

// mockRequestFor returns a pooled mockRequest pointed at x's query, header fields and body
// (views valid while x is served) when some mock of snap has criteria (only then is the
// request read beyond its method and path), else nil. Release it once matching is done.
func mockRequestFor(snap *state.Snapshot, x *conn.Exchange) *mockRequest {
	if !snap.HasCriteria() {
		return nil
	}
	return newMockRequest(x)
}

// newMockRequest returns a pooled mockRequest pointed at x's query, header fields and body;
// release it when done.
func newMockRequest(x *conn.Exchange) *mockRequest {
	mr := mockRequests.Get().(*mockRequest)
	mr.req.Reset(x.Req.Query, x.Req.Headers, x.Body)
	return mr
}

// release forgets the request (its views into the connection's buffers, the decoded body)
// and gives mr back to the pool; a nil mr is left alone.
func (mr *mockRequest) release() {
	if mr == nil {
		return
	}
	mr.req.Reset(nil, nil, nil)
	mockRequests.Put(mr)
}

// request is the mock.Request to match with, or nil (no criteria to test).
func (mr *mockRequest) request() *mock.Request {
	if mr == nil {
		return nil
	}
	return &mr.req
}

// nearMissLimit is how many near misses a 404 lists.
const nearMissLimit = 3

// nearMissBody is the 404 that says why no mock matched.
type nearMissBody struct {
	Error      errorDetail      `json:"error"`
	NearMisses []state.NearMiss `json:"near_misses"`
}

// answerNearMiss answers a request no mock matched with a JSON 404 listing the mocks that
// came closest (state.Snapshot.NearMisses) and, for each, every condition: expected,
// actual, held or not. It does so when a mock with the request's method is on the path
// (its criteria failed), or, when otherMethods is set (the request would get a 404 anyway),
// the client asks for JSON and a mock of another method is; otherwise it reports false and
// the plain answer stands.
func (a *App) answerNearMiss(x *conn.Exchange, otherMethods bool) bool {
	st := a.cfg.State
	if st == nil {
		return false
	}
	snap := st.Snapshot()
	mr := mockRequestFor(snap, x)
	defer mr.release()
	method := x.Req.Method.String()
	near, sameMethod := snap.NearMisses([]byte(method), x.Req.Path, mr.request(), nearMissLimit)
	if len(near) == 0 || !sameMethod && (!otherMethods || !acceptsJSON(x.Req.Header("accept"))) {
		return false
	}
	writeJSON(x, 404, nearMissBody{
		Error:      errorDetail{Code: codeNoMockMatched, Message: "no mock matched " + method + " " + string(x.Req.Target)},
		NearMisses: near,
	})
	return true
}

// codeNoMockMatched is the error code of a near-miss 404.
const codeNoMockMatched = "no_mock_matched"

// acceptsJSON reports whether an Accept field value names a JSON media type.
func acceptsJSON(accept []byte) bool {
	a := strings.ToLower(string(accept))
	return strings.Contains(a, "application/json") || strings.Contains(a, "+json")
}

// codeSequenceExhausted is the error code of the 404 a used-up not_found sequence answers.
const codeSequenceExhausted = "sequence_exhausted"

// renderResponse fills r with a mock's response: status, header lines (Content-Type first,
// then the custom headers) and body. 204 and 304 have no body (conn sends none for them).
func renderResponse(r *conn.Reply, m *state.MockResponse) {
	r.Status = m.Status
	r.HeaderBytes(m.HeaderLines)
	r.Body = m.BodyBytes
}

// allowedOrigin reports whether origin may read mock responses, and the value for
// Access-Control-Allow-Origin: "*" when any origin is allowed, else the configured origin
// equal to it (a configured string, so nothing is allocated). A missing Origin is never
// allowed.
func (a *App) allowedOrigin(origin []byte) (string, bool) {
	if len(origin) == 0 {
		return "", false
	}
	for _, o := range a.cfg.CORSOrigins {
		if o == "*" {
			return "*", true
		}
		if o == string(origin) {
			return o, true
		}
	}
	return "", false
}

// preflightMaxAge is Access-Control-Max-Age on preflight answers, in seconds.
const preflightMaxAge = "600"

// servePreflight answers a CORS preflight for a mocked path: 204 with the allowed origin,
// the methods mocks serve on the path, the requested headers that are tokens, and a max age.
// It reports false (generic handling) when the request is not a preflight, the origin is not
// allowed, or no mock with the requested method matches the path.
func (a *App) servePreflight(x *conn.Exchange, snap *state.Snapshot) bool {
	req := x.Req
	reqMethod := req.Header("access-control-request-method")
	if len(reqMethod) == 0 {
		return false
	}
	allow, ok := a.allowedOrigin(req.Header("origin"))
	if !ok {
		return false
	}
	if _, ok := snap.MatchMock(reqMethod, req.Path, nil); !ok {
		return false
	}
	var methods []string
	for _, m := range [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		if _, ok := snap.MatchMock([]byte(m), req.Path, nil); ok {
			methods = append(methods, m)
		}
	}
	answerPreflight(x, allow, strings.Join(methods, ", "))
	return true
}

// answerPreflight answers a CORS preflight for origin: 204 with the allowed origin and
// methods, the requested headers that are tokens, and a max age.
func answerPreflight(x *conn.Exchange, origin, methods string) {
	x.Route = "OPTIONS (CORS preflight)"
	x.Status = 204
	x.Header("Access-Control-Allow-Origin", origin)
	x.Header("Vary", "Origin")
	x.Header("Access-Control-Allow-Methods", methods)
	if h := requestedHeaders(x.Req.Header("access-control-request-headers")); h != "" {
		x.Header("Access-Control-Allow-Headers", h)
	}
	x.Header("Access-Control-Max-Age", preflightMaxAge)
}

// requestedHeaders returns the comma-separated header names of an
// Access-Control-Request-Headers value that are tokens, joined with ", "; anything else is
// left out, so nothing a client sends can break the response head.
func requestedHeaders(v []byte) string {
	var names []string
	for _, part := range strings.Split(string(v), ",") {
		if name := strings.Trim(part, " \t"); proto.IsToken(name) {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}
