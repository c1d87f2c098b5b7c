package features

import "ownhttp/conn"

// Mock API and mock dispatch (issue #4).

func (a *App) mockList(x *conn.Exchange, p *params)   { notYet(x) }
func (a *App) mockCreate(x *conn.Exchange, p *params) { notYet(x) }
func (a *App) mockGet(x *conn.Exchange, p *params)    { notYet(x) }
func (a *App) mockUpdate(x *conn.Exchange, p *params) { notYet(x) }
func (a *App) mockDelete(x *conn.Exchange, p *params) { notYet(x) }

// serveMock answers x from a matching mock, reporting false when none matches.
func (a *App) serveMock(x *conn.Exchange) bool { return false }
