package conn

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"ownhttp/proto"
)

// Server holds what every connection of one server shares: limits, timeouts, the handler and
// the drain state. Fields are set before the first connection and never change afterwards,
// except the drain state, which is atomic.
type Server struct {
	Limits               proto.Limits
	KeepAliveTimeout     time.Duration // idle time allowed between requests
	HeaderTimeout        time.Duration // whole-head deadline, and the body's inactivity bound
	BodyTimeout          time.Duration // whole-body deadline, from the end of the head
	MaxKeepAliveRequests int           // responses per connection before it is closed
	Handler              Handler
	Offload              Offloader
	Logger               *slog.Logger
	// TraceKey randomizes trace ids (X-Request-ID) so they cannot be predicted.
	TraceKey uint64
	// MaxOutput is how many unsent response bytes a connection may hold before it stops
	// reading requests (backpressure).
	MaxOutput int
	// MaxStreamBacklog bounds what one stream (SSE, /stream, any Exchange.Stream) may hold
	// unsent: the bytes its producer queued that the connection has not taken, plus the
	// connection's unsent output. A Write that finds the stream past it cuts the stream and
	// its connection (the client is not reading: the kernel's socket buffers, which absorb bursts, are
	// full). Default 32 KiB.
	MaxStreamBacklog int
	// MaxStreamsBacklog bounds the bytes all streams together have queued and their
	// connections not yet taken; a Write past it cuts its stream the same way. Default
	// 8 MiB.
	MaxStreamsBacklog int64
	// streamsBacklog is what MaxStreamsBacklog bounds.
	streamsBacklog atomic.Int64
	// MaxPending bounds responses waiting for their turn (pipelining depth in flight).
	MaxPending int
	// LingerTimeout bounds the lingering close: how long input is drained after an error
	// response before the socket is closed.
	LingerTimeout time.Duration
	// Now is the clock read when a response is final, for its latency (default time.Now).
	Now func() time.Time

	draining   atomic.Bool
	drainStart atomic.Int64
	keepAlive  []byte // "timeout=<s>, max=" prefix
}

// Defaults fills unset fields with the documented defaults and precomputes header values.
// Call it once before serving.
func (s *Server) Defaults() {
	if s.KeepAliveTimeout <= 0 {
		s.KeepAliveTimeout = 10 * time.Second
	}
	if s.HeaderTimeout <= 0 {
		s.HeaderTimeout = 10 * time.Second
	}
	if s.BodyTimeout <= 0 {
		s.BodyTimeout = 60 * time.Second
	}
	if s.MaxKeepAliveRequests <= 0 {
		s.MaxKeepAliveRequests = 1000
	}
	if s.MaxOutput <= 0 {
		s.MaxOutput = 256 << 10
	}
	if s.MaxPending <= 0 {
		s.MaxPending = 64
	}
	if s.MaxStreamBacklog <= 0 {
		s.MaxStreamBacklog = 32 << 10
	}
	if s.MaxStreamsBacklog <= 0 {
		s.MaxStreamsBacklog = 8 << 20
	}
	if s.LingerTimeout <= 0 {
		s.LingerTimeout = 2 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	secs := int64((s.KeepAliveTimeout + time.Second - 1) / time.Second)
	s.keepAlive = []byte("Keep-Alive: timeout=" + strconv.FormatInt(secs, 10) + ", max=")
}

// StartDrain switches every connection to drain behaviour: new requests on reused
// connections are answered 503 with Retry-After and the connection closes.
func (s *Server) StartDrain(now time.Time) {
	if !s.draining.Swap(true) {
		s.drainStart.Store(now.UnixNano())
	}
}

// Draining reports whether StartDrain was called.
func (s *Server) Draining() bool { return s.draining.Load() }

// DrainStarted returns when the drain began (zero when not draining).
func (s *Server) DrainStarted() time.Time {
	if n := s.drainStart.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (s *Server) logPanic(p any) {
	s.Logger.Error("handler panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
}

// traceID derives a unique, unpredictable id for request seq on connection id (splitmix64 is
// a bijection, so distinct (id, seq) pairs give distinct ids).
func (s *Server) traceID(connID uint64, seq int) uint64 {
	z := s.TraceKey ^ (connID<<32 | uint64(uint32(seq)))
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Reject renders a complete response for a connection that is refused before any request is
// read (over the connection cap, or accepted while draining): status, a plain-text body and
// Connection: close. Engines write it best-effort and close.
func Reject(dst []byte, status int, date []byte, retryAfter bool) []byte {
	body := proto.StatusText(status)
	if status == 503 && retryAfter {
		body = "Server Draining"
	}
	dst = proto.AppendStatusLine(dst, status)
	dst = proto.AppendHeaderBytes(dst, "Date", date)
	dst = append(dst, serverHeader...)
	dst = append(dst, "Content-Type: text/plain; charset=utf-8\r\n"...)
	dst = proto.AppendHeaderInt(dst, "Content-Length", int64(len(body)))
	if retryAfter {
		dst = append(dst, "Retry-After: 2\r\n"...)
	}
	dst = append(dst, "Connection: close\r\n\r\n"...)
	return append(dst, body...)
}

const serverHeader = "Server: ownhttp\r\n"
