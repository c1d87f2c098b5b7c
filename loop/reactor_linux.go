//go:build linux

package loop

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"ownhttp/conn"
	"ownhttp/proto"
)

const (
	readBufferSize = 64 << 10
	maxEvents      = 256
	acceptBatch    = 1 // as nginx without multi_accept: no wasted EAGAIN accept per wakeup
	sweepInterval  = 200 * time.Millisecond
)

// EpollSupported reports whether this build has the epoll engine: only on Linux.
const EpollSupported = true

// DefaultEngine is the engine used when none is asked for: epoll on Linux, threadpool
// elsewhere.
const DefaultEngine = "epoll"

// Reactor is the epoll engine.
type Reactor struct {
	cfg    Config
	addr   netip.AddrPort
	loops  []*eventLoop
	active atomic.Int64
	stats  struct{ accepted, rejected atomic.Uint64 }
	stop   atomic.Bool
}

// Listen opens the reactor's listening socket and one epoll instance per loop. Nothing runs
// until Serve.
//
// The loops share one listening socket, bound without SO_REUSEPORT: a port that another
// socket listens on (another ownhttp of any engine, any other program) fails here with
// EADDRINUSE, and no other socket can join ours later and take a share of its connections.
// Each loop watches its own duplicate of the descriptor with EPOLLEXCLUSIVE, so a new
// connection wakes one waiting loop, not every loop, and the loop that wakes accepts it.
func Listen(cfg Config) (*Reactor, error) {
	cfg.defaults()
	lfd, addr, err := listenTCP(cfg.Host, cfg.Port)
	if err != nil {
		return nil, err
	}
	r := &Reactor{cfg: cfg, addr: addr}
	for i := range cfg.Reactors {
		fd := lfd
		if i > 0 {
			if fd, err = unix.FcntlInt(uintptr(lfd), unix.F_DUPFD_CLOEXEC, 0); err != nil {
				r.closeAll()
				return nil, fmt.Errorf("dup listener: %w", err)
			}
		}
		l, err := newEventLoop(r, i, fd) // fd is the loop's now
		if err != nil {
			r.closeAll()
			return nil, err
		}
		r.loops = append(r.loops, l)
	}
	return r, nil
}

func (r *Reactor) closeAll() {
	for _, l := range r.loops {
		l.closeFDs()
	}
}

// Name returns "epoll".
func (r *Reactor) Name() string { return "epoll" }

// Addr returns the bound address.
func (r *Reactor) Addr() netip.AddrPort { return r.addr }

// Stats returns live gauges.
func (r *Reactor) Stats() Stats {
	return Stats{ActiveConnections: r.active.Load(), Accepted: r.stats.accepted.Load(), Rejected: r.stats.rejected.Load()}
}

// Serve runs every loop (loop 0 on the calling goroutine) until all have stopped.
func (r *Reactor) Serve() error {
	var wg sync.WaitGroup
	errs := make([]error, len(r.loops))
	for i, l := range r.loops[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = l.run()
		}()
	}
	errs[0] = r.loops[0].run()
	wg.Wait()
	r.closeAll()
	return errors.Join(errs...)
}

// Drain starts the drain in every loop.
func (r *Reactor) Drain() {
	r.cfg.Server.StartDrain(r.cfg.Now())
	for _, l := range r.loops {
		l.command(cmdDrain)
	}
}

// Stop closes everything in every loop.
func (r *Reactor) Stop() {
	r.stop.Store(true)
	for _, l := range r.loops {
		l.command(cmdStop)
	}
}

const (
	cmdDrain uint32 = 1 << iota
	cmdStop
)

// eventLoop owns one epoll instance, one listener descriptor (its duplicate of the shared
// listening socket) and the connections it accepted. Only its
// own goroutine touches its fields, except tasks/cmds (guarded by mu / atomics) and the
// eventfd used to wake it.
type eventLoop struct {
	r       *Reactor
	idx     int
	epfd    int
	evfd    int
	lfd     int
	conns   []*entry // indexed by descriptor; nil where none
	live    int      // non-nil entries of conns
	buf     []byte
	date    proto.DateCache
	scratch conn.Scratch // shared by this loop's connections (one is handled at a time)
	obs     conn.Observer
	flush   Flusher
	events  [maxEvents]unix.EpollEvent

	mu    sync.Mutex
	tasks []task // posted functions; unbounded, but each is tied to a live connection
	spare []task
	woken atomic.Bool
	cmds  atomic.Uint32
	// fdMu guards evfd against being closed while another goroutine writes to it (a
	// descriptor number closed under a waker could be reused by another file).
	fdMu sync.RWMutex

	draining    bool
	nextSweep   time.Time
	timers      wireTimers // wired responses' steps (conn.Wire), precise
	acceptPause time.Time
}

// listenEvents is what a loop watches its listener for: EPOLLEXCLUSIVE, so that a connection
// arriving on the shared socket wakes one of the loops waiting for it rather than all.
const listenEvents = unix.EPOLLIN | unix.EPOLLEXCLUSIVE

type task struct {
	e  *entry
	fn func()
}

// newEventLoop makes loop idx with lfd as its listener. lfd is the loop's from the call on:
// it is closed with the loop, or at once when newEventLoop fails.
func newEventLoop(r *Reactor, idx, lfd int) (*eventLoop, error) {
	l := &eventLoop{r: r, idx: idx, epfd: -1, evfd: -1, lfd: lfd}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	l.epfd = epfd
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	l.evfd = evfd
	if err := l.ctl(unix.EPOLL_CTL_ADD, l.evfd, unix.EPOLLIN); err != nil {
		l.closeFDs()
		return nil, err
	}
	if err := l.ctl(unix.EPOLL_CTL_ADD, lfd, listenEvents); err != nil {
		l.closeFDs()
		return nil, err
	}
	l.buf = make([]byte, readBufferSize)
	if r.cfg.NewObserver != nil {
		l.obs = r.cfg.NewObserver()
		l.flush, _ = l.obs.(Flusher)
	}
	return l, nil
}

func (l *eventLoop) ctl(op, fd int, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := epollCtl(l.epfd, op, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

func (l *eventLoop) closeFDs() {
	l.fdMu.Lock()
	defer l.fdMu.Unlock()
	if l.lfd >= 0 {
		unix.Close(l.lfd)
		l.lfd = -1
	}
	if l.evfd >= 0 {
		unix.Close(l.evfd)
		l.evfd = -1
	}
	if l.epfd >= 0 {
		unix.Close(l.epfd)
		l.epfd = -1
	}
}

// command asks the loop to drain or stop; it never blocks.
func (l *eventLoop) command(cmd uint32) {
	for {
		old := l.cmds.Load()
		if l.cmds.CompareAndSwap(old, old|cmd) {
			break
		}
	}
	l.wake()
}

func (l *eventLoop) wake() {
	if l.woken.Swap(true) {
		return
	}
	var one = [8]byte{1}
	l.fdMu.RLock()
	if l.evfd >= 0 {
		unix.Write(l.evfd, one[:]) // EAGAIN means a wakeup is already pending
	}
	l.fdMu.RUnlock()
}

func (l *eventLoop) post(e *entry, fn func()) bool {
	if e.dead.Load() {
		return false
	}
	l.mu.Lock()
	l.tasks = append(l.tasks, task{e, fn})
	l.mu.Unlock()
	l.wake()
	return true
}

func (l *eventLoop) run() error {
	now := l.r.cfg.Now()
	l.date.Update(now)
	l.nextSweep = now.Add(sweepInterval)
	busy := false
	for {
		// While there is work, poll without waiting (a raw call: no scheduler hand-off);
		// when a poll finds nothing, wait in the kernel until the next sweep is due. Before
		// waiting, yield: goroutines this loop made runnable (offloaded handlers, the state
		// actor) run now on this thread, instead of after the runtime notices the blocked
		// system call and hands the P to another thread (a wakeup and a context switch each
		// time, and a sysmon kept at its fastest tick).
		var n int
		var err error
		if busy {
			n, err = epollPoll(l.epfd, l.events[:])
		}
		if n == 0 && err == nil {
			runtime.Gosched()
			wake := l.nextSweep
			if t := l.timers.next(); !t.IsZero() && t.Before(wake) {
				wake = t
			}
			timeout := int(time.Until(wake) / time.Millisecond)
			if timeout < 0 {
				timeout = 0
			}
			n, err = unix.EpollWait(l.epfd, l.events[:], timeout+1)
		}
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		busy = n > 0
		now = l.r.cfg.Now()
		l.date.Update(now)
		for i := 0; i < n; i++ {
			ev := &l.events[i]
			fd := int(ev.Fd)
			switch fd {
			case l.lfd:
				l.accept(now)
			case l.evfd:
				l.runTasks(now)
			default:
				if e := l.conn(fd); e != nil {
					l.handle(e, ev.Events, now)
				}
			}
		}
		if cmds := l.cmds.Load(); cmds != 0 {
			if cmds&cmdStop != 0 {
				l.stopAll()
				l.flushObserver()
				return nil
			}
			if cmds&cmdDrain != 0 && !l.draining {
				l.startDrain(now)
			}
		}
		l.fireTimers(now)
		if !now.Before(l.nextSweep) {
			l.sweep(now)
			l.nextSweep = now.Add(sweepInterval)
		}
		l.flushObserver() // what this wakeup's exchanges (and timeouts) counted
		if l.draining && l.live == 0 {
			return nil
		}
	}
}

func (l *eventLoop) flushObserver() {
	if l.flush != nil {
		l.flush.Flush()
	}
}

func (l *eventLoop) runTasks(now time.Time) {
	var b [8]byte
	unix.Read(l.evfd, b[:])
	l.woken.Store(false)
	l.mu.Lock()
	tasks := l.tasks
	l.tasks = l.spare[:0]
	l.mu.Unlock()
	for i := range tasks {
		t := tasks[i]
		tasks[i] = task{}
		if t.e.closed {
			continue
		}
		t.e.c.RunPosted(t.fn, now)
		l.sync(t.e)
	}
	l.spare = tasks[:0]
}

func (l *eventLoop) accept(now time.Time) {
	if now.Before(l.acceptPause) {
		return
	}
	for i := 0; i < acceptBatch; i++ {
		fd, remote, err := accept4(l.lfd)
		if err != nil {
			switch err {
			case unix.EAGAIN, unix.ECONNABORTED, unix.EINTR:
			case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
				// Out of descriptors: stop accepting for a moment instead of spinning on a
				// level-triggered listener.
				l.r.cfg.Logger.Warn("accept paused", "error", err.Error())
				l.acceptPause = now.Add(100 * time.Millisecond)
				l.ctl(unix.EPOLL_CTL_DEL, l.lfd, 0)
				l.nextSweep = l.acceptPause
			default:
				l.r.cfg.Logger.Warn("accept failed", "error", err.Error())
			}
			return
		}
		l.r.stats.accepted.Add(1)
		if l.draining || l.r.active.Load() >= int64(l.r.cfg.MaxConnections) {
			l.r.stats.rejected.Add(1)
			rejectFD(fd, l.draining, l.date.Bytes())
			continue
		}
		e := &entry{fd: fd, l: l}
		id := nextConnID.Add(1)
		conn.Init(&e.c, l.r.cfg.Server, e, e, l.obs, &l.date, &l.scratch, remote, id, false, now)
		l.addConn(e)
		l.r.active.Add(1)
		// Read at once: a client usually sends its request right after connecting, and a
		// short exchange (connection per request) then completes without ever being
		// registered with epoll. sync registers it otherwise.
		l.handle(e, unix.EPOLLIN, now)
	}
}

// rejectFD answers a refused connection with 503 best-effort and closes it.
func rejectFD(fd int, draining bool, date []byte) {
	var buf [256]byte
	unix.Write(fd, conn.Reject(buf[:0], 503, date, draining))
	unix.Close(fd)
}

func (l *eventLoop) handle(e *entry, events uint32, now time.Time) {
	c := &e.c
	if events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR|unix.EPOLLRDHUP) != 0 && (c.WantRead() || events&(unix.EPOLLHUP|unix.EPOLLERR) != 0) {
		n, err := sockRead(e.fd, l.buf)
		switch {
		case n > 0:
			c.OnData(l.buf[:n], now)
		case n == 0 && err == nil:
			c.OnEOF(now)
		case err == unix.EAGAIN || err == unix.EINTR:
		default:
			c.Abort()
		}
	}
	if events&unix.EPOLLOUT != 0 && !c.Closed() {
		c.OnWritable(now)
	}
	l.sync(e)
}

// sync closes a finished connection or updates its epoll interest to what it wants.
func (l *eventLoop) sync(e *entry) {
	c := &e.c
	if c.Closed() {
		l.closeEntry(e)
		return
	}
	l.timers.schedule(e)
	if !e.nodelay && c.Answered() {
		e.nodelay = true
		unix.SetsockoptInt(e.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	var want uint32
	if c.WantRead() {
		want |= unix.EPOLLIN
	}
	if c.WantWrite() {
		want |= unix.EPOLLOUT
	}
	if !e.registered {
		if l.ctl(unix.EPOLL_CTL_ADD, e.fd, want) != nil {
			c.Abort()
			l.closeEntry(e)
			return
		}
		e.registered, e.events = true, want
		return
	}
	if want != e.events {
		if l.ctl(unix.EPOLL_CTL_MOD, e.fd, want) != nil {
			c.Abort()
			l.closeEntry(e)
			return
		}
		e.events = want
	}
}

func (l *eventLoop) closeEntry(e *entry) {
	if e.closed {
		return
	}
	e.closed = true
	e.dead.Store(true)
	l.conns[e.fd] = nil
	l.live--
	sockClose(e.fd) // closing removes it from the epoll set
	l.r.active.Add(-1)
}

// sweep applies connection deadlines.
func (l *eventLoop) sweep(now time.Time) {
	if l.lfd >= 0 && !l.acceptPause.IsZero() && !now.Before(l.acceptPause) {
		l.acceptPause = time.Time{}
		l.ctl(unix.EPOLL_CTL_ADD, l.lfd, listenEvents)
	}
	for _, e := range l.conns {
		if e == nil {
			continue
		}
		d := e.c.Deadline()
		if !d.IsZero() && !now.Before(d) {
			e.c.OnTimer(now)
			l.sync(e)
		}
	}
}

func (l *eventLoop) startDrain(now time.Time) {
	l.draining = true
	if l.lfd >= 0 {
		// The other loops' duplicates keep the socket open, and with it this epoll
		// instance's registration of it, which must not outlive the descriptor number.
		l.ctl(unix.EPOLL_CTL_DEL, l.lfd, 0)
		unix.Close(l.lfd)
		l.lfd = -1
	}
	for _, e := range l.conns {
		if e == nil {
			continue
		}
		e.c.OnDrain(now)
		l.sync(e)
	}
}

func (l *eventLoop) stopAll() {
	for _, e := range l.conns {
		if e == nil {
			continue
		}
		e.c.Abort()
		l.closeEntry(e)
	}
}

// conn returns the live connection on fd, or nil.
func (l *eventLoop) conn(fd int) *entry {
	if fd < len(l.conns) {
		return l.conns[fd]
	}
	return nil
}

func (l *eventLoop) addConn(e *entry) {
	if e.fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*entry, e.fd+1-len(l.conns))...)
	}
	l.conns[e.fd] = e
	l.live++
}

// entry is one connection of a loop: its socket, its driver (one allocation for both), and
// the Transport and Owner the driver uses.
type entry struct {
	c          conn.Conn
	fd         int
	l          *eventLoop
	events     uint32
	registered bool        // added to the epoll set (a connection may finish before it is)
	nodelay    bool        // TCP_NODELAY set (once a request was answered and the socket stays open)
	closed     bool        // loop goroutine only
	dead       atomic.Bool // set with closed, read by posting goroutines
	timerAt    time.Time   // the wire deadline l.timers holds for it (zero: none)
}

// Write implements conn.Transport with a non-blocking write. A short write means the
// socket's buffer is full: it reports ErrWouldBlock at once instead of trying again for EAGAIN.
func (e *entry) Write(p []byte) (int, error) { return e.send(p, false) }

// WriteMore implements conn.Transport: Write with MSG_MORE, so a head and the file body that
// follows it leave in full segments (as nginx's tcp_nopush), not a small one first.
func (e *entry) WriteMore(p []byte) (int, error) { return e.send(p, true) }

func (e *entry) send(p []byte, more bool) (int, error) {
	for {
		n, err := sockSend(e.fd, p, more)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, conn.ErrWouldBlock
		case err != nil:
			return 0, err
		case n < len(p):
			return n, conn.ErrWouldBlock
		}
		return n, nil
	}
}

// SendFile implements conn.Transport with a non-blocking sendfile (a system call the runtime
// knows may block: reading the file can wait for the disk). A short send means the socket's
// buffer is full and reports ErrWouldBlock; nothing sent and no error means the file ended.
func (e *entry) SendFile(f *os.File, off, n int64) (int64, error) {
	if n > 1<<30 {
		n = 1 << 30
	}
	o := off
	for {
		w, err := unix.Sendfile(e.fd, int(f.Fd()), &o, int(n))
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return 0, conn.ErrWouldBlock
		case err != nil:
			return 0, err
		case w > 0 && int64(w) < n:
			return int64(w), conn.ErrWouldBlock
		}
		return int64(w), nil
	}
}

// CloseWrite implements conn.Transport.
func (e *entry) CloseWrite() error { return unix.Shutdown(e.fd, unix.SHUT_WR) }

// Reset implements conn.Transport: with SO_LINGER 0 the loop's close sends a reset.
func (e *entry) Reset() error {
	return unix.SetsockoptLinger(e.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
}

// Post implements conn.Owner through the loop's task queue.
func (e *entry) Post(fn func()) bool { return e.l.post(e, fn) }
