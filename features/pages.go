package features

import "ownhttp/conn"

// The control tower, the dashboard and their assets (issue #6).

func (a *App) pagePlayground(x *conn.Exchange, p *params) { stub(x) }
func (a *App) pageDashboard(x *conn.Exchange, p *params)  { stub(x) }
func (a *App) pageAsset(x *conn.Exchange, p *params)      { stub(x) }
