// Package loop holds the two engines that drive conn.Conn over real sockets:
//
//   - Reactor: epoll event loops (golang.org/x/sys/unix). The loops share one listening
//     socket (each watches its own duplicate with EPOLLEXCLUSIVE; no SO_REUSEPORT, so a port
//     held by anyone else fails the start). Each loop owns its connections, one read buffer,
//     an eventfd-woken task queue and a Date cache. Sockets are non-blocking; a loop never blocks except in epoll_wait. Work that would
//     block runs on the Offload pool and is posted back to the owning loop.
//   - Pool: the threadpool fallback. Each connection has a parked reader goroutine that costs
//     only its stack while idle; it takes one of a bounded number of worker slots only while
//     it handles input. Connections waiting for a slot form the bounded queue; past it the
//     request gets 503 in its turn (after the responses already due) and the connection closes.
//   - TLS (ListenTLS): a blocking listener whose connections each get a goroutine that runs
//     the TLS handshake and then the pool engine's blocking driver, without worker slots.
//
// Both engines run the same conn code, so their wire behaviour is the same. x/sys/unix is
// imported here and nowhere else.
package loop

import (
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"ownhttp/conn"
)

// nextConnID numbers connections across engines and loops (one atomic add per accept).
var nextConnID atomic.Uint64

// Engine is a running server engine.
type Engine interface {
	// Name is "epoll", "threadpool" or "tls".
	Name() string
	// Addr is the bound listen address.
	Addr() netip.AddrPort
	// Serve runs until the engine has stopped (drained or stopped).
	Serve() error
	// Drain stops accepting, closes idle connections and lets in-flight requests finish;
	// Serve returns once no connection is left. It never blocks and is idempotent.
	Drain()
	// Stop closes every connection now. It never blocks and is idempotent.
	Stop()
	// Stats returns live gauges.
	Stats() Stats
}

// Stats are an engine's live gauges.
type Stats struct {
	ActiveConnections int64
	Accepted          uint64
	Rejected          uint64 // refused: at accept over the cap or draining, or past a full queue
}

// Config configures an engine.
type Config struct {
	Host string
	Port int
	// Reactors is the number of event loops (reactor only; default 1).
	Reactors int
	// Workers and QueueSize bound the pool engine.
	Workers, QueueSize int
	// MaxConnections caps open connections; past it a new connection gets 503 and closes.
	MaxConnections int
	Server         *conn.Server
	// NewObserver returns the observer for one event loop (reactor) or for the whole engine
	// (pool, where it is called once and shared under a lock). May be nil.
	NewObserver func() conn.Observer
	Logger      *slog.Logger
	// Now is the clock (tests may replace it).
	Now func() time.Time
	// HandshakeFailed is told about every TLS handshake that fails (TLS engine only): a
	// timeout, a plain-HTTP client, a version, cipher suite or ALPN protocol we refuse, a
	// client that hangs up. err is a *HandshakeError. It runs on the connection's own
	// goroutine, concurrently with other calls, and must not block. May be nil. Handshakes
	// cut short by Drain or Stop are not reported.
	HandshakeFailed func(err error)
}

func (c *Config) defaults() {
	if c.Reactors <= 0 {
		c.Reactors = 1
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 10000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Flusher is implemented by observers that batch: the engine calls Flush at the end of each
// loop wakeup (reactor) or after each request (pool).
type Flusher interface {
	Flush()
}
