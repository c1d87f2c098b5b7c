package features

import "ownhttp/conn"

// Target API (issue #5).

func (a *App) targetList(x *conn.Exchange, p *params)   { stub(x) }
func (a *App) targetCreate(x *conn.Exchange, p *params) { stub(x) }
func (a *App) targetGet(x *conn.Exchange, p *params)    { stub(x) }
func (a *App) targetUpdate(x *conn.Exchange, p *params) { stub(x) }
func (a *App) targetDelete(x *conn.Exchange, p *params) { stub(x) }
