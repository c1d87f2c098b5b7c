package loop

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"ownhttp/conn"
	"ownhttp/proto"
)

// Pool is the threadpool engine: blocking sockets, a parked reader goroutine per connection,
// and Workers slots that bound how many connections are handled at once.
type Pool struct {
	e *blockingEngine
}

// ListenPool opens the pool engine's listener.
func ListenPool(cfg Config) (*Pool, error) {
	cfg.defaults()
	e, err := listenBlocking(cfg)
	if err != nil {
		return nil, err
	}
	e.slots = make(chan struct{}, cfg.Workers)
	return &Pool{e: e}, nil
}

// Name returns "threadpool".
func (p *Pool) Name() string { return "threadpool" }

// Addr returns the bound address.
func (p *Pool) Addr() netip.AddrPort { return p.e.addr }

// Stats returns live gauges.
func (p *Pool) Stats() Stats { return p.e.stats() }

// Serve accepts until the listener closes, then waits for every connection to end.
func (p *Pool) Serve() error {
	e := p.e
	var date proto.DateCache
	return e.serve(func(nc *net.TCPConn, now time.Time) {
		if draining := e.isDraining(); draining || e.active.Load() >= int64(e.cfg.MaxConnections) {
			e.rejected.Add(1)
			date.Update(now)
			rejectConn(nc, draining, date.Bytes())
			return
		}
		nc.SetNoDelay(true)
		bc := e.newConn(nc, nil, now)
		if !e.register(bc) {
			e.rejected.Add(1)
			date.Update(now)
			rejectConn(nc, true, date.Bytes())
			return
		}
		e.active.Add(1)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			bc.serve()
		}()
	})
}

func rejectConn(nc net.Conn, draining bool, date []byte) {
	var buf [256]byte
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	nc.Write(conn.Reject(buf[:0], 503, date, draining))
	nc.Close()
}

// Drain stops accepting and closes idle connections; busy ones finish their request. It
// never blocks.
func (p *Pool) Drain() { p.e.drain() }

// Stop closes the listener and every connection now. It never blocks.
func (p *Pool) Stop() { p.e.stop() }

// blockingEngine is what the pool and TLS engines share: a blocking listener, the set of live
// connections (each driven by its own goroutine, see blockingConn), drain and stop.
type blockingEngine struct {
	cfg  Config
	ln   *net.TCPListener
	addr netip.AddrPort
	// obs is the one observer of the engine, serialised by a lock; nil without one.
	obs *lockedObserver

	// slots holds one token per connection busy handling input (capacity Workers); waiting
	// counts connections queued for a slot, bounded by QueueSize (past it: 503). A nil slots
	// (the TLS engine) puts no bound on connections handling input.
	slots   chan struct{}
	waiting atomic.Int64

	// bufs lends read buffers (*[]byte of readBufSize) to connections while they read;
	// scratch lends a *conn.Scratch to a connection for each event (see blockingConn.own).
	bufs, scratch sync.Pool

	// active counts open connections, including (TLS) those still in their handshake; each
	// is counted before its goroutine starts and uncounted when it ends.
	active             atomic.Int64
	accepted, rejected atomic.Uint64

	mu       sync.Mutex
	conns    map[*blockingConn]struct{} // guarded by mu
	draining bool                       // guarded by mu
	stopped  chan struct{}              // closed by stop
	stopOnce sync.Once
	wg       sync.WaitGroup // one per connection goroutine
}

// readBufSize is the size of the read buffers a blocking engine lends its connections.
const readBufSize = 16 << 10

// listenBlocking opens the listening socket of a blocking engine; cfg has its defaults.
func listenBlocking(cfg Config) (*blockingEngine, error) {
	ln, addr, err := listenStream(cfg.Host, cfg.Port)
	if err != nil {
		return nil, err
	}
	e := &blockingEngine{cfg: cfg, ln: ln, addr: addr,
		conns: make(map[*blockingConn]struct{}), stopped: make(chan struct{})}
	e.bufs.New = func() any {
		b := make([]byte, readBufSize)
		return &b
	}
	e.scratch.New = func() any { return new(conn.Scratch) }
	if cfg.NewObserver != nil {
		e.obs = &lockedObserver{o: cfg.NewObserver()}
	}
	return e, nil
}

func (e *blockingEngine) stats() Stats {
	return Stats{ActiveConnections: e.active.Load(), Accepted: e.accepted.Load(), Rejected: e.rejected.Load()}
}

// serve accepts until the listener closes, handing every accepted socket to handle (on the
// accepting goroutine, so handle must not block), then waits for every connection goroutine
// to end.
func (e *blockingEngine) serve(handle func(nc *net.TCPConn, now time.Time)) error {
	var backoff time.Duration
	for {
		nc, err := e.ln.AcceptTCP()
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
			e.cfg.Logger.Warn("accept failed", "error", err.Error())
			select {
			case <-time.After(backoff):
			case <-e.stopped:
			}
			continue
		}
		backoff = 0
		e.accepted.Add(1)
		handle(nc, e.cfg.Now())
	}
	e.wg.Wait()
	return nil
}

func (e *blockingEngine) isDraining() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.draining
}

// register adds bc to the live connections; false (bc not added) when the engine is draining
// or stopped, in which case the caller closes the socket. Callers count active themselves.
func (e *blockingEngine) register(bc *blockingConn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.stopped:
		return false
	default:
	}
	if e.draining {
		return false
	}
	e.conns[bc] = struct{}{}
	return true
}

func (e *blockingEngine) live() []*blockingConn {
	e.mu.Lock()
	defer e.mu.Unlock()
	conns := make([]*blockingConn, 0, len(e.conns))
	for bc := range e.conns {
		conns = append(conns, bc)
	}
	return conns
}

// drain stops accepting and tells every connection (on its own goroutine, so drain never
// blocks) that the server drains: idle ones close, busy ones finish their request.
func (e *blockingEngine) drain() {
	now := e.cfg.Now()
	e.cfg.Server.StartDrain(now)
	e.mu.Lock()
	e.draining = true
	e.mu.Unlock()
	e.ln.Close()
	for _, bc := range e.live() {
		bc.Post(func() { bc.c.OnDrain(now) })
	}
}

// stop closes the listener and every socket now, which ends every connection goroutine.
func (e *blockingEngine) stop() {
	e.mu.Lock()
	e.stopOnce.Do(func() { close(e.stopped) })
	e.mu.Unlock()
	e.ln.Close()
	for _, bc := range e.live() {
		// The posted Abort releases what the connection holds (files, streams); closing the
		// socket first unblocks any Read or Write so the owner lock comes free at once.
		bc.Post(func() { bc.c.Abort() })
		bc.closeSocket()
	}
}

func (e *blockingEngine) isStopped() bool {
	select {
	case <-e.stopped:
		return true
	default:
		return false
	}
}

// acquire takes a worker slot, waiting in the bounded queue; false when the queue is full or
// the engine stops. Without slots it always succeeds.
func (e *blockingEngine) acquire() bool {
	if e.slots == nil {
		return true
	}
	select {
	case e.slots <- struct{}{}:
		return true
	default:
	}
	if e.waiting.Add(1) > int64(e.cfg.QueueSize) {
		e.waiting.Add(-1)
		return false
	}
	defer e.waiting.Add(-1)
	select {
	case e.slots <- struct{}{}:
		return true
	case <-e.stopped:
		return false
	}
}

func (e *blockingEngine) release() {
	if e.slots != nil {
		<-e.slots
	}
}

func (e *blockingEngine) flushObserver() {
	if e.obs != nil {
		e.obs.Flush()
	}
}

// newConn builds the driver of an accepted socket; tc is the TLS session over nc (its
// handshake done), or nil for plain HTTP.
func (e *blockingEngine) newConn(nc *net.TCPConn, tc *tls.Conn, now time.Time) *blockingConn {
	bc := &blockingConn{e: e, tcp: nc, rw: nc, tls: tc, wake: make(chan struct{}, 1)}
	if tc != nil {
		bc.rw = tc
	} else if readsWithoutBlocking {
		if raw, err := nc.SyscallConn(); err == nil {
			bc.raw = raw
		}
	}
	var obs conn.Observer
	if e.obs != nil {
		obs = e.obs
	}
	remote, _ := netip.ParseAddrPort(nc.RemoteAddr().String())
	bc.date.Update(now)
	sh := e.scratch.Get().(*conn.Scratch) // lent for each event from now on (see own)
	bc.c = conn.New(e.cfg.Server, bc, bc, obs, &bc.date, sh, remote, nextConnID.Add(1), tc != nil, now)
	e.scratch.Put(bc.c.UseScratch(nil))
	return bc
}

// blockingConn drives one conn.Conn over a blocking socket (plain TCP, or a TLS session):
// a reader goroutine parked in Read, blocking writes bounded by a deadline, and a task runner
// for functions posted by handlers and streams. mu is the owner lock: whoever holds it owns c
// (the reader goroutine while handling input, or the task runner for posted functions).
type blockingConn struct {
	e   *blockingEngine
	tcp *net.TCPConn    // the socket
	tls *tls.Conn       // the TLS session over tcp; nil for plain HTTP
	rw  net.Conn        // what requests are read from and responses written to: tls, else tcp
	raw syscall.RawConn // tcp's descriptor, read without blocking (see read); nil with TLS

	mu   sync.Mutex
	c    *conn.Conn
	date proto.DateCache
	// wake (capacity 1, sends never block) tells a reader paused by backpressure that posted
	// work changed the connection's state.
	wake chan struct{}
	// fileBuf carries file bodies through TLS (no sendfile there); allocated on first use,
	// used by the owner only.
	fileBuf []byte

	tmu     sync.Mutex
	tasks   []func()
	running bool
	dead    atomic.Bool
	reset   atomic.Bool // the close is a reset (Reset): no close_notify first
	once    sync.Once
}

// serve reads and handles input until the connection is finished, then closes the socket
// and removes the connection from its engine.
func (bc *blockingConn) serve() {
	defer bc.finish()
	for {
		bc.mu.Lock()
		closed, wantRead, closing, deadline := bc.c.Closed(), bc.c.WantRead(), bc.c.Closing(), bc.c.Deadline()
		bc.mu.Unlock()
		if closed {
			return
		}
		if !wantRead {
			if !bc.pause(deadline) {
				return
			}
			continue
		}
		bc.rw.SetReadDeadline(deadline)
		n, now, err := bc.input(closing)
		if err != nil {
			var ne net.Error
			bc.own(now)
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				bc.c.OnTimer(now)
			case n == 0 && errors.Is(err, io.EOF):
				bc.c.OnEOF(now)
			default:
				bc.c.Abort()
			}
			bc.disown()
		}
		bc.e.flushObserver()
	}
}

// input reads what the client sent and hands it to the connection (see handle); the buffer
// it was read into is back with the engine when input returns, so no frame of a parked
// reader refers to one.
func (bc *blockingConn) input(closing bool) (int, time.Time, error) {
	buf, n, err := bc.read()
	now := bc.e.cfg.Now()
	if n > 0 {
		bc.handle((*buf)[:n], closing, now)
	}
	if buf != nil {
		bc.e.bufs.Put(buf)
	}
	return n, now, err
}

// handle gives input to the connection, holding a worker slot while it is served. Input of
// a closing connection serves nothing and takes no slot; input that finds the slots taken
// and the wait queue full gets the connection's busy answer, in order (conn.Conn.OnBusy).
func (bc *blockingConn) handle(p []byte, closing bool, now time.Time) {
	acquired := !closing && bc.e.acquire()
	bc.own(now)
	if closing || acquired {
		bc.c.OnData(p, now)
	} else {
		bc.e.rejected.Add(1)
		bc.c.OnBusy(p, now)
	}
	bc.disown()
	if acquired {
		bc.e.release()
	}
}

// read waits for input and reads it into a buffer borrowed from the engine's pool, returned
// (nil when nothing was read) for the caller to give back. On a plain socket (on Unix
// systems; see readsWithoutBlocking) the wait holds
// no buffer: the socket is read without blocking whenever it may be readable, and the buffer
// is given back at once when it was not, so an idle connection costs its goroutine and its
// state only. A TLS session is read through tls.Conn, whose blocking Read holds the buffer
// while it waits.
func (bc *blockingConn) read() (*[]byte, int, error) {
	if bc.raw == nil {
		buf := bc.e.bufs.Get().(*[]byte)
		n, err := bc.rw.Read(*buf)
		return buf, n, err
	}
	var buf *[]byte
	var n int
	var rerr error
	err := bc.raw.Read(func(fd uintptr) bool {
		buf = bc.e.bufs.Get().(*[]byte)
		var again bool
		n, again, rerr = readNow(fd, *buf)
		if again {
			bc.e.bufs.Put(buf)
			buf = nil
			return false // wait until the socket may be readable
		}
		return true
	})
	switch {
	case err != nil:
		return buf, 0, err
	case rerr != nil:
		return buf, 0, rerr
	case n == 0:
		return buf, 0, io.EOF
	}
	return buf, n, nil
}

// pause waits while the connection does not want input: until posted work wakes it, its
// deadline passes, or the engine stops. False means give up.
func (bc *blockingConn) pause(deadline time.Time) bool {
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-bc.wake:
	case <-timeout:
		bc.locked(func(c *conn.Conn) { c.OnTimer(bc.e.cfg.Now()) })
		bc.e.flushObserver()
	case <-bc.e.stopped:
		return false
	}
	return true
}

// own takes the owner lock for an event and lends the connection one of the engine's
// scratches for it; disown takes the scratch back and releases the lock. Between events a
// connection holds no scratch, so nothing of an earlier event (views into a read buffer,
// the output buffer) stays with an idle connection.
func (bc *blockingConn) own(now time.Time) {
	bc.mu.Lock()
	bc.date.Update(now)
	bc.c.UseScratch(bc.e.scratch.Get().(*conn.Scratch))
}

func (bc *blockingConn) disown() {
	bc.e.scratch.Put(bc.c.UseScratch(nil))
	bc.mu.Unlock()
}

// locked runs fn as the owner and applies the outcome (close, new read deadline), then wakes
// the reader if it is paused.
func (bc *blockingConn) locked(fn func(c *conn.Conn)) {
	bc.own(bc.e.cfg.Now())
	fn(bc.c)
	closed, deadline := bc.c.Closed(), bc.c.Deadline()
	bc.disown()
	if closed {
		bc.closeSocket()
	} else {
		bc.rw.SetReadDeadline(deadline)
	}
	// Wake a reader paused by backpressure or after the client's EOF: a closed socket does
	// not end its wait, only this does.
	select {
	case bc.wake <- struct{}{}:
	default:
	}
}

// closeSocket closes the socket once. A TLS session is ended with close_notify first (its
// write is bounded by the 5 s tls.Conn.Close allows itself, and by the socket's own close on
// Stop), so clients can tell a complete close-delimited body from a truncated one; once the
// engine stops, the socket is closed without it.
func (bc *blockingConn) closeSocket() {
	bc.once.Do(func() {
		bc.dead.Store(true)
		if bc.tls != nil && !bc.e.isStopped() && !bc.reset.Load() {
			bc.tls.Close()
			return
		}
		bc.tcp.Close()
	})
	if bc.e.isStopped() {
		bc.tcp.Close() // a close_notify in progress on another goroutine gives up at once
	}
}

func (bc *blockingConn) finish() {
	bc.closeSocket()
	bc.e.mu.Lock()
	delete(bc.e.conns, bc)
	bc.e.mu.Unlock()
	bc.e.active.Add(-1)
}

// Post implements conn.Owner: functions run in order, under the owner lock, on a runner
// goroutine started on demand — never on the caller, which may hold the lock itself.
func (bc *blockingConn) Post(fn func()) bool {
	if bc.dead.Load() {
		return false
	}
	bc.tmu.Lock()
	bc.tasks = append(bc.tasks, fn)
	start := !bc.running
	bc.running = true
	bc.tmu.Unlock()
	if start {
		go bc.runTasks()
	}
	return true
}

func (bc *blockingConn) runTasks() {
	for {
		bc.tmu.Lock()
		tasks := bc.tasks
		bc.tasks = nil
		if len(tasks) == 0 {
			bc.running = false
			bc.tmu.Unlock()
			return
		}
		bc.tmu.Unlock()
		bc.locked(func(c *conn.Conn) {
			now := bc.e.cfg.Now()
			for _, fn := range tasks {
				c.RunPosted(fn, now)
			}
		})
		bc.e.flushObserver()
	}
}

// Write implements conn.Transport with a blocking write bounded by the keep-alive timeout.
func (bc *blockingConn) Write(p []byte) (int, error) {
	bc.rw.SetWriteDeadline(time.Now().Add(bc.e.cfg.Server.KeepAliveTimeout))
	return bc.rw.Write(p)
}

// WriteMore implements conn.Transport as Write: the blocking socket sends the file at once
// after it.
func (bc *blockingConn) WriteMore(p []byte) (int, error) { return bc.Write(p) }

// SendFile implements conn.Transport. On plain sockets net's ReadFrom uses sendfile(2); a TLS
// session must encrypt, so the file is read into a buffer and written one piece per call,
// each write with its own deadline.
func (bc *blockingConn) SendFile(f *os.File, off, n int64) (int64, error) {
	if bc.tls == nil {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return 0, err
		}
		bc.tcp.SetWriteDeadline(time.Now().Add(bc.e.cfg.Server.KeepAliveTimeout))
		return bc.tcp.ReadFrom(io.LimitReader(f, n))
	}
	if bc.fileBuf == nil {
		bc.fileBuf = make([]byte, 32<<10)
	}
	chunk := bc.fileBuf[:min(n, int64(len(bc.fileBuf)))]
	m, err := f.ReadAt(chunk, off)
	if m == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the file shrank under us
		}
		return 0, err
	}
	w, err := bc.Write(chunk[:m])
	return int64(w), err
}

// CloseWrite implements conn.Transport: a TLS session sends close_notify, then the socket
// sends FIN, so clients that ignore close_notify see the end too.
func (bc *blockingConn) CloseWrite() error {
	if bc.tls != nil {
		if err := bc.tls.CloseWrite(); err != nil {
			return err
		}
	}
	return bc.tcp.CloseWrite()
}

// Reset implements conn.Transport: with SO_LINGER 0 the socket's close sends a reset.
func (bc *blockingConn) Reset() error {
	bc.reset.Store(true)
	return bc.tcp.SetLinger(0)
}

// lockedObserver serialises one observer for a blocking engine's many goroutines.
type lockedObserver struct {
	mu sync.Mutex
	o  conn.Observer
}

func (l *lockedObserver) Done(c *conn.Completed) {
	l.mu.Lock()
	l.o.Done(c)
	l.mu.Unlock()
}

// Started forwards conn.Starter when the observer implements it.
func (l *lockedObserver) Started() {
	if st, ok := l.o.(conn.Starter); ok {
		l.mu.Lock()
		st.Started()
		l.mu.Unlock()
	}
}

func (l *lockedObserver) Flush() {
	if f, ok := l.o.(Flusher); ok {
		l.mu.Lock()
		f.Flush()
		l.mu.Unlock()
	}
}
