package features

import (
	"bytes"
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"ownhttp/conn"
	"ownhttp/features/metrics"
	"ownhttp/state"
)

// NewObserver returns the observer for one event loop (or, under a lock, for the pool
// engine): it counts each finished exchange in the loop's metrics shard, captures it for
// history and live events in a batch handed to the state actor once per loop wakeup, and
// writes the access log line.
func (a *App) NewObserver() conn.Observer {
	o := &loopObserver{a: a, m: a.metrics.NewShard()}
	a.capture.add(o)
	return o
}

// loopObserver belongs to one event loop; it is not safe for concurrent use.
type loopObserver struct {
	a     *App
	m     *metrics.Shard
	batch *state.Batch // records not yet handed to the actor; nil when empty
	// filled counts the batches this observer started (its first record added), handed
	// those it gave to the actor; the journal barrier reads them (journal.go). Written by
	// the owner only.
	filled, handed atomic.Uint64
}

// Done implements conn.Observer.
func (o *loopObserver) Done(c *conn.Completed) {
	o.m.Done(c)
	if st := o.a.cfg.State; st != nil {
		rec := state.Record{TraceID: c.TraceID, Start: c.Start.UnixNano(), Latency: c.End.Sub(c.Start),
			Status: uint16(c.Status), BytesIn: c.BytesIn, BytesOut: c.BytesOut, RouteKey: c.Route,
			Reused: c.Reused, SkipHistory: skipHistory(c.Path), RunID: c.Tags.RunID, StepID: c.Tags.StepID,
			Fault: c.Fault, Recording: c.Tags.Recording}
		if o.batch == nil {
			o.batch = st.NewBatch()
		}
		if o.batch.Len() == 0 {
			o.filled.Add(1)
		}
		if !o.batch.AddExchange(rec, c.Head, c.Body, c.RespHead, c.RespBody) {
			st.SubmitBatch(o.batch)
			o.handOff()
			o.batch = st.NewBatch()
			o.filled.Add(1)
			o.batch.AddExchange(rec, c.Head, c.Body, c.RespHead, c.RespBody)
		}
	}
	if o.a.cfg.AccessLog {
		o.a.accessLog(c)
	}
}

// Started implements conn.Starter: the in-flight gauge counts dispatched requests.
func (o *loopObserver) Started() { o.m.Started() }

// Flush implements loop.Flusher: the wakeup's counts are published to the metrics, and its
// batch goes to the actor in one message. When the actor's queue is full the batch stays
// here and keeps filling; records are dropped (and counted) only when it is full as well
// (see Done).
func (o *loopObserver) Flush() {
	o.m.Flush()
	if o.batch != nil && o.batch.Len() > 0 && o.a.cfg.State.TrySubmitBatch(o.batch) {
		o.batch = nil
		o.handOff()
	}
}

// handOff counts a batch handed to the actor and tells the journal barrier.
func (o *loopObserver) handOff() {
	o.handed.Add(1)
	o.a.capture.handed()
}

// skipHistory lists paths kept out of history: monitoring, page and polling traffic that
// would flush real requests out of the ring (metrics, static files, the control tower's pages
// and assets, its state and event polling), and the reads of the journal itself
// (/api/requests/count, find and unmatched: a verification must not count the ones before
// it). They still count in metrics.
func skipHistory(path []byte) bool {
	for _, p := range [...]string{"/_metrics", "/metrics", "/api/playground/state", "/playground", "/dashboard"} {
		if string(path) == p {
			return true
		}
	}
	return bytes.HasPrefix(path, []byte("/static/")) || bytes.HasPrefix(path, []byte("/assets/")) ||
		bytes.HasPrefix(path, []byte("/api/events/")) || bytes.HasPrefix(path, []byte("/api/requests/"))
}

// accessLog writes one line with the fields of spec §10.
func (a *App) accessLog(c *conn.Completed) {
	client, method, path := "-", "-", "-"
	if c.Remote.IsValid() {
		client = c.Remote.Addr().String()
	}
	if !c.Proto {
		method = c.Method.String()
		path = string(c.Path)
		if r := a.logSecrets.Load(); r != nil {
			path = r.Replace(path)
		}
	}
	phase, drainMS := "running", 0.0
	if c.Draining {
		phase = "draining"
		if s := a.cfg.Server.DrainStarted(); !s.IsZero() {
			drainMS = ms(c.End.Sub(s))
		}
	}
	latencyKey := "duration_ms"
	if a.cfg.LogJSON {
		latencyKey = "latency_ms"
	}
	route := c.Route
	if route == "" {
		route = "- -"
	}
	attrs := [...]slog.Attr{
		slog.String("client", client),
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", c.Status),
		slog.String("engine", a.cfg.Engine),
		slog.Uint64("connection_id", c.ConnID),
		slog.Int("request_id", c.Seq),
		slog.Int64("bytes_in", c.BytesIn),
		slog.Int64("bytes_out", c.BytesOut),
		slog.Float64(latencyKey, ms(c.End.Sub(c.Start))),
		slog.Bool("connection_reused", c.Reused),
		slog.String("route_key", route),
		slog.String("trace_id", conn.TraceString(c.TraceID)),
		slog.String("shutdown_phase", phase),
		slog.Float64("drain_elapsed_ms", drainMS),
		slog.String("fault", c.Fault),
	}
	n := len(attrs)
	if c.Fault == "" {
		n-- // the fault field only when a wire plan acted
	}
	a.cfg.Logger.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs[:n]...)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// The metrics routes and gauges (the counting and rendering are package metrics).

// metricsJSON serves GET /_metrics.
func (a *App) metricsJSON(x *conn.Exchange, _ *params) {
	x.Header("Cache-Control", "no-store")
	writeJSON(x, 200, a.metrics.Document(a.metrics.Read(), a.gauges(x.Now)))
}

// metricsPrometheus serves GET /metrics in the Prometheus text exposition format 0.0.4.
func (a *App) metricsPrometheus(x *conn.Exchange, _ *params) {
	x.Header("Cache-Control", "no-store")
	x.Text(200, metrics.PrometheusContentType, a.metrics.AppendPrometheus(nil, a.metrics.Read(), a.gauges(x.Now)))
}

// CountError counts an error that no exchange reports (a failed TLS handshake:
// "tls_handshake"; socket "read" and "write" failures). Unknown classes count as "other".
// Safe for concurrent use from any goroutine.
func (a *App) CountError(class string) { a.metrics.CountError(class) }

// gauges reads the figures metrics report from outside the shards: the engine's, the log
// writer's, the drain's and the state owner's.
func (a *App) gauges(now time.Time) metrics.Gauges {
	var g metrics.Gauges
	if a.cfg.EngineStats != nil {
		e := a.cfg.EngineStats()
		g.ActiveConnections, g.Accepted, g.Rejected = e.ActiveConnections, e.Accepted, e.Rejected
	}
	if a.cfg.LogDropped != nil {
		g.LogDropped = a.cfg.LogDropped()
	}
	if srv := a.cfg.Server; srv != nil && srv.Draining() {
		g.Draining = true
		if t := srv.DrainStarted(); !t.IsZero() && now.After(t) {
			g.DrainElapsed = now.Sub(t)
		}
	}
	if st := a.cfg.State; st != nil {
		g.Mocks = st.Snapshot().Len()
		stats := st.Stats()
		g.HistoryDropped, g.EventsDropped = stats.HistoryDropped, stats.EventsDropped
		g.StateWrites, g.StateWriteFails, g.HistoryBytes = stats.PersistWrites, stats.PersistFailures, stats.HistoryBytes
	}
	return g
}
