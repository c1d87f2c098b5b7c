package loop

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"ownhttp/conn"
	"ownhttp/proto"
)

// Pool is the threadpool engine: blocking sockets, a parked reader goroutine per connection,
// and Workers slots that bound how many connections are handled at once.
type Pool struct {
	cfg  Config
	ln   *net.TCPListener
	addr netip.AddrPort
	obs  conn.Observer

	// slots holds one token per worker busy handling input (capacity Workers); waiting counts
	// connections queued for a slot, bounded by QueueSize (past it: 503).
	slots   chan struct{}
	waiting atomic.Int64

	active atomic.Int64
	stats  struct{ accepted, rejected atomic.Uint64 }

	mu       sync.Mutex
	conns    map[*poolConn]struct{}
	draining bool
	stopped  chan struct{} // closed by Stop
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// ListenPool opens the pool engine's listener.
func ListenPool(cfg Config) (*Pool, error) {
	cfg.defaults()
	fd, addr, err := listenTCP(cfg.Host, cfg.Port, false)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "listener")
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	p := &Pool{cfg: cfg, ln: l.(*net.TCPListener), addr: addr, slots: make(chan struct{}, cfg.Workers),
		conns: make(map[*poolConn]struct{}), stopped: make(chan struct{})}
	if cfg.NewObserver != nil {
		p.obs = &lockedObserver{o: cfg.NewObserver()}
	}
	return p, nil
}

// Name returns "threadpool".
func (p *Pool) Name() string { return "threadpool" }

// Addr returns the bound address.
func (p *Pool) Addr() netip.AddrPort { return p.addr }

// Stats returns live gauges.
func (p *Pool) Stats() Stats {
	return Stats{ActiveConnections: p.active.Load(), Accepted: p.stats.accepted.Load(), Rejected: p.stats.rejected.Load()}
}

// Serve accepts until the listener closes, then waits for every connection to end.
func (p *Pool) Serve() error {
	var date proto.DateCache
	var backoff time.Duration
	for {
		nc, err := p.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			// Out of descriptors or similar: back off instead of spinning.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff < time.Second {
				backoff *= 2
			}
			p.cfg.Logger.Warn("accept failed", "error", err.Error())
			select {
			case <-time.After(backoff):
			case <-p.stopped:
			}
			continue
		}
		backoff = 0
		p.stats.accepted.Add(1)
		now := p.cfg.Now()
		p.mu.Lock()
		draining := p.draining
		p.mu.Unlock()
		if draining || p.active.Load() >= int64(p.cfg.MaxConnections) {
			p.stats.rejected.Add(1)
			date.Update(now)
			rejectConn(nc, draining, date.Bytes())
			continue
		}
		nc.SetNoDelay(true)
		pc := &poolConn{p: p, nc: nc, wake: make(chan struct{}, 1)}
		remote, _ := netip.ParseAddrPort(nc.RemoteAddr().String())
		pc.date.Update(now)
		pc.c = conn.New(p.cfg.Server, pc, pc, p.obs, &pc.date, remote, nextConnID.Add(1), false, now)
		p.mu.Lock()
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		p.active.Add(1)
		p.wg.Add(1)
		go pc.serve()
	}
	p.wg.Wait()
	return nil
}

func rejectConn(nc net.Conn, draining bool, date []byte) {
	var buf [256]byte
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	nc.Write(conn.Reject(buf[:0], 503, date, draining))
	nc.Close()
}

// Drain stops accepting and closes idle connections; busy ones finish their request.
func (p *Pool) Drain() {
	now := p.cfg.Now()
	p.cfg.Server.StartDrain(now)
	p.mu.Lock()
	p.draining = true
	conns := make([]*poolConn, 0, len(p.conns))
	for pc := range p.conns {
		conns = append(conns, pc)
	}
	p.mu.Unlock()
	p.ln.Close()
	for _, pc := range conns {
		pc.locked(func(c *conn.Conn) { c.OnDrain(now) })
	}
}

// Stop closes the listener and every connection now.
func (p *Pool) Stop() {
	p.stopOnce.Do(func() { close(p.stopped) })
	p.ln.Close()
	p.mu.Lock()
	conns := make([]*poolConn, 0, len(p.conns))
	for pc := range p.conns {
		conns = append(conns, pc)
	}
	p.mu.Unlock()
	for _, pc := range conns {
		pc.locked(func(c *conn.Conn) { c.Abort() })
	}
}

// acquire takes a worker slot, waiting in the bounded queue; false when the queue is full or
// the engine stops.
func (p *Pool) acquire() bool {
	select {
	case p.slots <- struct{}{}:
		return true
	default:
	}
	if p.waiting.Add(1) > int64(p.cfg.QueueSize) {
		p.waiting.Add(-1)
		return false
	}
	defer p.waiting.Add(-1)
	select {
	case p.slots <- struct{}{}:
		return true
	case <-p.stopped:
		return false
	}
}

func (p *Pool) release() { <-p.slots }

// poolConn is one connection of the pool engine. mu is the owner lock: whoever holds it owns
// c (the reader goroutine while handling input, or the task runner for posted functions).
type poolConn struct {
	p    *Pool
	nc   *net.TCPConn
	mu   sync.Mutex
	c    *conn.Conn
	date proto.DateCache
	// wake (capacity 1, sends never block) tells a reader paused by backpressure that posted
	// work changed the connection's state.
	wake chan struct{}

	tmu     sync.Mutex
	tasks   []func()
	running bool
	dead    atomic.Bool
	once    sync.Once
}

func (pc *poolConn) serve() {
	defer pc.p.wg.Done()
	defer pc.finish()
	buf := make([]byte, 16<<10)
	for {
		var closed, wantRead bool
		var deadline time.Time
		pc.mu.Lock()
		closed, wantRead, deadline = pc.c.Closed(), pc.c.WantRead(), pc.c.Deadline()
		pc.mu.Unlock()
		if closed {
			return
		}
		if !wantRead {
			if !pc.pause(deadline) {
				return
			}
			continue
		}
		pc.nc.SetReadDeadline(deadline)
		n, err := pc.nc.Read(buf)
		now := pc.p.cfg.Now()
		if n > 0 {
			if !pc.p.acquire() {
				pc.p.stats.rejected.Add(1)
				pc.mu.Lock()
				pc.date.Update(now)
				rejectConn(pc.nc, false, pc.date.Bytes())
				pc.c.Abort()
				pc.mu.Unlock()
				return
			}
			pc.mu.Lock()
			pc.date.Update(now)
			pc.c.OnData(buf[:n], now)
			pc.mu.Unlock()
			pc.p.release()
		}
		if err != nil {
			var ne net.Error
			pc.mu.Lock()
			pc.date.Update(now)
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				pc.c.OnTimer(now)
			case n == 0 && isEOF(err):
				pc.c.OnEOF(now)
			default:
				pc.c.Abort()
			}
			pc.mu.Unlock()
		}
		if pc.p.obs != nil {
			pc.p.obs.(*lockedObserver).Flush()
		}
	}
}

// pause waits while the connection does not want input: until posted work wakes it, its
// deadline passes, or the engine stops. False means give up.
func (pc *poolConn) pause(deadline time.Time) bool {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-pc.wake:
	case <-timeout:
		pc.locked(func(c *conn.Conn) { c.OnTimer(pc.p.cfg.Now()) })
	case <-pc.p.stopped:
		return false
	}
	return true
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF)
}

// locked runs fn as the owner and applies the outcome (close, new read deadline).
func (pc *poolConn) locked(fn func(c *conn.Conn)) {
	pc.mu.Lock()
	pc.date.Update(pc.p.cfg.Now())
	fn(pc.c)
	closed, deadline := pc.c.Closed(), pc.c.Deadline()
	pc.mu.Unlock()
	if closed {
		pc.closeSocket()
		return
	}
	pc.nc.SetReadDeadline(deadline)
	select {
	case pc.wake <- struct{}{}:
	default:
	}
}

func (pc *poolConn) closeSocket() {
	pc.once.Do(func() {
		pc.dead.Store(true)
		pc.nc.Close()
	})
}

func (pc *poolConn) finish() {
	pc.closeSocket()
	pc.p.mu.Lock()
	delete(pc.p.conns, pc)
	pc.p.mu.Unlock()
	pc.p.active.Add(-1)
}

// Post implements conn.Owner: functions run in order, under the owner lock, on a runner
// goroutine started on demand — never on the caller, which may hold the lock itself.
func (pc *poolConn) Post(fn func()) bool {
	if pc.dead.Load() {
		return false
	}
	pc.tmu.Lock()
	pc.tasks = append(pc.tasks, fn)
	start := !pc.running
	pc.running = true
	pc.tmu.Unlock()
	if start {
		go pc.runTasks()
	}
	return true
}

func (pc *poolConn) runTasks() {
	for {
		pc.tmu.Lock()
		tasks := pc.tasks
		pc.tasks = nil
		if len(tasks) == 0 {
			pc.running = false
			pc.tmu.Unlock()
			return
		}
		pc.tmu.Unlock()
		pc.locked(func(c *conn.Conn) {
			now := pc.p.cfg.Now()
			for _, fn := range tasks {
				c.RunPosted(fn, now)
			}
		})
		if pc.p.obs != nil {
			pc.p.obs.(*lockedObserver).Flush()
		}
	}
}

// Write implements conn.Transport with a blocking write bounded by the keep-alive timeout.
func (pc *poolConn) Write(p []byte) (int, error) {
	pc.nc.SetWriteDeadline(time.Now().Add(pc.p.cfg.Server.KeepAliveTimeout))
	return pc.nc.Write(p)
}

// SendFile implements conn.Transport; net's ReadFrom uses sendfile(2) for *os.File sources.
func (pc *poolConn) SendFile(f *os.File, off, n int64) (int64, error) {
	if _, err := f.Seek(off, 0); err != nil {
		return 0, err
	}
	pc.nc.SetWriteDeadline(time.Now().Add(pc.p.cfg.Server.KeepAliveTimeout))
	return pc.nc.ReadFrom(io.LimitReader(f, n))
}

// CloseWrite implements conn.Transport.
func (pc *poolConn) CloseWrite() error { return pc.nc.CloseWrite() }

// lockedObserver serialises one observer for the pool engine's many goroutines.
type lockedObserver struct {
	mu sync.Mutex
	o  conn.Observer
}

func (l *lockedObserver) Done(c *conn.Completed) {
	l.mu.Lock()
	l.o.Done(c)
	l.mu.Unlock()
}

func (l *lockedObserver) Flush() {
	if f, ok := l.o.(Flusher); ok {
		l.mu.Lock()
		f.Flush()
		l.mu.Unlock()
	}
}
