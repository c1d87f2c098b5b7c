package features

import (
	"context"
	"log/slog"
	"time"

	"ownhttp/conn"
)

// NewObserver returns the observer for one event loop (or, under a lock, for the pool
// engine): it writes the access log line of each finished exchange.
func (a *App) NewObserver() conn.Observer {
	return &loopObserver{a: a}
}

// loopObserver belongs to one event loop; it is not safe for concurrent use.
type loopObserver struct {
	a *App
}

// Done implements conn.Observer.
func (o *loopObserver) Done(c *conn.Completed) {
	if o.a.cfg.AccessLog {
		o.a.accessLog(c)
	}
}

// Flush implements loop.Flusher; nothing is batched yet.
func (o *loopObserver) Flush() {}

// accessLog writes one line with the fields of spec §10.
func (a *App) accessLog(c *conn.Completed) {
	client, method, path := "-", "-", "-"
	if c.Remote.IsValid() {
		client = c.Remote.Addr().String()
	}
	if !c.Proto {
		method = c.Method.String()
		path = string(c.Path)
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
	a.cfg.Logger.LogAttrs(context.Background(), slog.LevelInfo, "access",
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
		slog.String("trace_id", traceHex(c.TraceID)),
		slog.String("shutdown_phase", phase),
		slog.Float64("drain_elapsed_ms", drainMS),
	)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func traceHex(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}
