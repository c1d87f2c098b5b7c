package features

import "ownhttp/conn"

// History, replay and the playground API (issue #4).

func (a *App) historyList(x *conn.Exchange, p *params)       { notYet(x) }
func (a *App) replay(x *conn.Exchange, p *params)            { notYet(x) }
func (a *App) playgroundState(x *conn.Exchange, p *params)   { notYet(x) }
func (a *App) playgroundRequest(x *conn.Exchange, p *params) { notYet(x) }
