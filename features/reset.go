package features

import (
	"context"

	"ownhttp/conn"
	"ownhttp/state"
)

// Clearing history and resetting the lab (issue #13). Both are admin writes like the other
// API changes: the demo token and the Host and Origin rules apply through the route table
// (auth.go, origin.go), and the answer waits for the state file.

type historyClearedBody struct {
	Cleared int `json:"cleared"`
}

// historyClear is DELETE /api/history: 200 {"cleared":N}, the number of entries removed, once
// the state file no longer holds them. Requests that finish after the clear (this one
// included) are recorded as usual.
func (a *App) historyClear(x *conn.Exchange, _ *params) {
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		n, err := st.ClearHistory(ctx)
		if err != nil {
			answerErr(r, err)
			return
		}
		answerJSON(r, 200, historyClearedBody{Cleared: n})
	})
}

// reset is POST /api/reset: it deletes every mock created through the API, clears the
// history and resets stateful mocks (state.Model.Reset), then publishes system.reset with
// the summary, which is also the answer: 200 {"mocks_deleted":N,"mocks_kept":K,
// "history_cleared":M,"mock_states_reset":S}. Scenarios, runs, targets, live events and the
// server's metrics are kept (README, "### Mocks").
func (a *App) reset(x *conn.Exchange, _ *params) {
	trace := x.TraceHex()
	a.withState(x, func(ctx context.Context, st *state.Actor, r *conn.Reply) {
		sum, err := st.Reset(ctx)
		if err != nil {
			answerErr(r, err)
			return
		}
		st.Publish(state.EventSystemReset, trace, sum)
		answerJSON(r, 200, sum)
	})
}
