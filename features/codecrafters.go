package features

import "ownhttp/conn"

// CodeCrafters compatibility routes (issue #3).

func (a *App) ccEcho(x *conn.Exchange, p *params)      { notYet(x) }
func (a *App) ccUserAgent(x *conn.Exchange, p *params) { notYet(x) }
func (a *App) ccFileGet(x *conn.Exchange, p *params)   { notYet(x) }
func (a *App) ccFilePost(x *conn.Exchange, p *params)  { notYet(x) }
