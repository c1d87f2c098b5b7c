package bench

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// SlowOptions configures slow readers: clients that each send one request over and over on a
// keep-alive connection and read every response body at a fixed, slow pace, so the server's
// writes to them wait for the client once the sockets' buffers are full.
//
// Each reader's socket has a receive buffer (SO_RCVBUF) of one read's worth and announces a
// maximum segment size of 1460 bytes (Ethernet's) instead of loopback's 64 KiB: the sending
// side sizes its send buffer by segments, so over loopback it would take about 4 MiB of the
// response at once and only bodies larger than that would make the server wait. With 1460
// its send buffer stays much smaller (about 1.6 MB with Linux 6.18), as for a client on a
// real network.
type SlowOptions struct {
	Addr    string // host:port
	Clients int    // connections, each one slow reader
	// Request is one complete HTTP/1.1 request that keeps the connection open; its response
	// must be a 2xx framed by Content-Length (anything else counts as an error and the
	// reader dials again).
	Request []byte
	// Rate is the most body bytes per second each reader reads, default 1 MiB: it reads
	// Rate/100 bytes, then sleeps 10 ms.
	Rate int
}

// slowStep is how often a slow reader reads.
const slowStep = 10 * time.Millisecond

// SlowStats counts what slow readers did. Errors are failed dials, requests and responses
// (each ends the connection; the reader dials again), not counting those caused by Stop or
// the end of ctx.
type SlowStats struct {
	Bytes     int64 `json:"bytes"`     // response body bytes received
	Responses int64 `json:"responses"` // bodies read to their end
	Errors    int64 `json:"errors"`
}

// SlowReaders are running slow readers (see StartSlowReaders).
type SlowReaders struct {
	cancel                     context.CancelFunc
	wg                         sync.WaitGroup
	bodyBytes, responses, errs atomic.Int64
}

// StartSlowReaders starts o.Clients slow readers against o.Addr. They run until ctx is done
// or Stop is called; Stop must be called either way, to wait for them.
func StartSlowReaders(ctx context.Context, o SlowOptions) *SlowReaders {
	if o.Rate <= 0 {
		o.Rate = 1 << 20
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &SlowReaders{cancel: cancel}
	for range o.Clients {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.run(ctx, &o)
		}()
	}
	return s
}

// Stop ends the slow readers, closes their connections, waits for their goroutines to
// return, and reports what they did. It may be called more than once.
func (s *SlowReaders) Stop() SlowStats {
	s.cancel()
	s.wg.Wait()
	return s.Stats()
}

// Stats returns the counts so far; the readers keep running.
func (s *SlowReaders) Stats() SlowStats {
	return SlowStats{Bytes: s.bodyBytes.Load(), Responses: s.responses.Load(), Errors: s.errs.Load()}
}

// run is one slow reader: a connection, dialled again after an error, until ctx is done.
func (s *SlowReaders) run(ctx context.Context, o *SlowOptions) {
	d := net.Dialer{Control: clampMSS}
	buf := make([]byte, max(o.Rate/int(time.Second/slowStep), 1))
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", o.Addr)
		if err != nil {
			s.failed(ctx)
			continue
		}
		c.(*net.TCPConn).SetReadBuffer(len(buf))
		// Closing the connection when ctx ends unblocks a Read or Write in progress.
		stopClose := context.AfterFunc(ctx, func() { c.Close() })
		s.download(ctx, c, bufio.NewReaderSize(c, max(len(buf), 4<<10)), buf, o.Request)
		stopClose()
		c.Close()
		if ctx.Err() == nil {
			s.failed(ctx)
		}
	}
}

var (
	errSlowFraming = errors.New("bench: slow reader: response without Content-Length or closing the connection")
	errSlowStatus  = errors.New("bench: slow reader: response status is not 2xx")
)

// download sends request and reads its response, again and again, one buf's worth of body
// per slowStep, until an error (or ctx, which closes c) ends it.
func (s *SlowReaders) download(ctx context.Context, c net.Conn, br *bufio.Reader, buf, request []byte) error {
	pause := time.NewTimer(0)
	defer pause.Stop()
	for {
		if _, err := c.Write(request); err != nil {
			return err
		}
		h, err := readHead(br)
		if err != nil {
			return err
		}
		if h.status/100 != 2 {
			return errSlowStatus
		}
		if h.length < 0 || h.closeConn {
			return errSlowFraming
		}
		for left := h.length; left > 0; {
			n, err := io.ReadFull(br, buf[:min(left, int64(len(buf)))])
			left -= int64(n)
			s.bodyBytes.Add(int64(n))
			if err != nil {
				return err
			}
			pause.Reset(slowStep)
			select {
			case <-pause.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		s.responses.Add(1)
	}
}

// failed counts an error and, unless ctx ends first, waits a little so that a refusing
// server is not dialled in a busy loop.
func (s *SlowReaders) failed(ctx context.Context) {
	s.errs.Add(1)
	t := time.NewTimer(10 * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
