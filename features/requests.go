package features

import (
	"bytes"
	"context"

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
// a copy of the history off it.
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
		h, err := st.History(ctx, state.HistoryFilter{})
		if err != nil {
			answerErr(r, err)
			return
		}
		m := q.Matcher()
		found := h[:0] // h is this call's own copy
		for i := range h {
			if m.Matches(&h[i]) {
				found = append(found, h[i])
			}
		}
		if list {
			answerJSON(r, 200, requestsFound{Count: len(found), Requests: found})
			return
		}
		answerJSON(r, 200, requestsCounted{Count: len(found)})
	})
}
