package features

import "ownhttp/conn"

// Live events: snapshot, SSE stream and live-mode (issue #4).

func (a *App) eventsSnapshot(x *conn.Exchange, p *params) { notYet(x) }
func (a *App) eventsStream(x *conn.Exchange, p *params)   { notYet(x) }
func (a *App) eventsLiveMode(x *conn.Exchange, p *params) { notYet(x) }
