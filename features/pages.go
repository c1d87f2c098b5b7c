package features

import "ownhttp/conn"

// The control tower, the dashboard and their assets (issue #6).

func (a *App) pagePlayground(x *conn.Exchange, p *params) { writeError(x, 501, "not_implemented", "not implemented yet") }
func (a *App) pageDashboard(x *conn.Exchange, p *params)  { writeError(x, 501, "not_implemented", "not implemented yet") }
func (a *App) pageAsset(x *conn.Exchange, p *params)      { writeError(x, 501, "not_implemented", "not implemented yet") }
