package features

import (
	"ownhttp/conn"
	"ownhttp/state"
)

func (a *App) renderTemplate(x *conn.Exchange, snap *state.Snapshot, m *state.Mock, resp *state.MockResponse, hit uint64, mr *mockRequest) {
	renderResponse(&x.Reply, resp)
}
