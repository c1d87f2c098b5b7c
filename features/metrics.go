package features

import "ownhttp/conn"

// metrics holds the server's counters (issue #3).
type metrics struct{}

func newMetrics() *metrics { return &metrics{} }

// metricsShard is one event loop's share of the counters; the loop alone writes it.
type metricsShard struct{}

func (m *metrics) newShard() *metricsShard { return &metricsShard{} }

// done counts one finished exchange.
func (s *metricsShard) done(c *conn.Completed) {}

func (a *App) metricsJSON(x *conn.Exchange, p *params)       { notYet(x) }
func (a *App) metricsPrometheus(x *conn.Exchange, p *params) { notYet(x) }
