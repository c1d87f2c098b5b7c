package features

import "ownhttp/conn"

// static serves files under /static/ (issue #3).
func (a *App) static(x *conn.Exchange, p *params) { notYet(x) }

// notYet answers routes whose feature has not landed.
func notYet(x *conn.Exchange) { writeError(x, 501, "not_implemented", "not implemented yet") }
