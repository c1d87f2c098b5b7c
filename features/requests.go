package features

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"strconv"

	"ownhttp/conn"
	"ownhttp/state"
)

// requestsCounted is the answer of POST /api/requests/count.
type requestsCounted struct {
	Count int `json:"count"`
}

// requestsFound is the answer of POST /api/requests/find: the matching journal entries,
// oldest first.
type requestsFound struct {
	Count    int                  `json:"count"`
	Requests []state.HistoryEntry `json:"requests"`
}

// requestsCount is POST /api/requests/count: how many requests in the journal (the
// history) meet a query in the mocks' criteria language (state.DecodeRequestQuery).
func (a *App) requestsCount(x *conn.Exchange, _ *params) { a.requestsQuery(x, false) }

// requestsFind is POST /api/requests/find: the requests themselves.
func (a *App) requestsFind(x *conn.Exchange, _ *params) { a.requestsQuery(x, true) }

// requestsQuery decodes the query on the loop (the body is valid only there) and filters
// a copy of the history off it. The copy holds every request answered before this one
// arrived (the journal barrier, journal.go): a client that counts right after its own
// request sees it.
func (a *App) requestsQuery(x *conn.Exchange, list bool) {
	body := x.Body
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}") // no query: every request
	}
	q, e := state.DecodeRequestQuery(body)
	if e != nil {
		writeErr(x, e)
		return
	}
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		h, err := a.journal(ctx, st)
		if err != nil {
			answerErr(r, err)
			return
		}
		if !list {
			answerJSON(r, 200, requestsCounted{Count: q.Count(h)})
			return
		}
		m := q.Matcher()
		found := h[:0] // h is this call's own copy
		for i := range h {
			if m.Matches(&h[i]) {
				found = append(found, h[i])
			}
		}
		answerJSON(r, 200, requestsFound{Count: len(found), Requests: found})
	})
}

// unmatchedLimit is how many unmatched requests GET /api/requests/unmatched lists by default.
const unmatchedLimit = 20

// unmatchedRequest is one request no mock matched, with the mocks that came closest now.
type unmatchedRequest struct {
	Request    state.HistoryEntry `json:"request"`
	NearMisses []state.NearMiss   `json:"near_misses"`
}

// requestsUnmatched is GET /api/requests/unmatched?limit=N: the newest N (default 20)
// requests in the journal that no route and no mock answered, oldest first, each with its
// near misses against the current mocks (state.Snapshot.NearMisses), so that a mock
// fixed since shows why it would match now.
func (a *App) requestsUnmatched(x *conn.Exchange, _ *params) {
	limit := unmatchedLimit
	if v := queryValue(x.Req.Query, "limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeErr(x, labErr(state.KindInvalid, state.CodeInvalidFilter, "limit must be a positive integer"))
			return
		}
		limit = n
	}
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		h, err := st.History(ctx, state.HistoryFilter{})
		if err != nil {
			answerErr(r, err)
			return
		}
		var picked []state.HistoryEntry
		for i := len(h) - 1; i >= 0 && len(picked) < limit; i-- {
			if h[i].Unmatched {
				picked = append(picked, h[i])
			}
		}
		slices.Reverse(picked)
		snap := st.Snapshot()
		var j state.JournalRequest
		out := make([]unmatchedRequest, 0, len(picked))
		for _, e := range picked {
			near, _ := snap.NearMisses([]byte(e.Method), []byte(e.Path), j.Of(&e), nearMissLimit)
			if near == nil {
				near = []state.NearMiss{}
			}
			out = append(out, unmatchedRequest{Request: e, NearMisses: near})
		}
		answerJSON(r, 200, struct {
			Count    int                `json:"count"`
			Requests []unmatchedRequest `json:"requests"`
		}{len(out), out})
	})
}

// queryValue returns the first value of name in a raw query string ("" when absent or
// malformed).
func queryValue(raw []byte, name string) string {
	q, err := url.ParseQuery(string(raw))
	if err != nil {
		return ""
	}
	return q.Get(name)
}
