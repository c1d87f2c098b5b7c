package features

import "ownhttp/conn"

// Scenario API and the runner (issue #5).

func (a *App) scenarioList(x *conn.Exchange, p *params)    { stub(x) }
func (a *App) scenarioCreate(x *conn.Exchange, p *params)  { stub(x) }
func (a *App) scenarioGet(x *conn.Exchange, p *params)     { stub(x) }
func (a *App) scenarioReplace(x *conn.Exchange, p *params) { stub(x) }
func (a *App) scenarioDelete(x *conn.Exchange, p *params)  { stub(x) }
func (a *App) scenarioRun(x *conn.Exchange, p *params)     { stub(x) }
func (a *App) scenarioRuns(x *conn.Exchange, p *params)    { stub(x) }
func (a *App) scenarioRunGet(x *conn.Exchange, p *params)  { stub(x) }

// stub answers routes whose feature has not landed.
func stub(x *conn.Exchange) { writeError(x, 501, "not_implemented", "not implemented yet") }
