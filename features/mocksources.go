package features

import (
	"context"

	"ownhttp/conn"
	"ownhttp/state"
)

// mockSources is GET /api/mocks/sources: {"sources":[{"dir","path","mocks","loaded_at",
// "error"}]}, one per mock file of --mocks-dir (issue #13).
func (a *App) mockSources(x *conn.Exchange, _ *params) {
	a.withState(x, func(_ context.Context, _ *state.Actor, r *conn.Reply) {
		var list any = []struct{}{}
		if a.cfg.MockSources != nil {
			list = a.cfg.MockSources()
		}
		answerJSON(r, 200, struct {
			Sources any `json:"sources"`
		}{list})
	})
}
