// Package bench holds ownhttp's load tools: a load generator (keep-alive, pipelining,
// connection per request) that frames Content-Length and chunked responses itself, and the
// engine comparison. Nothing here is used by the server; tests only check that the tools work
// (short smoke runs with correct counts), never how fast anything is.
package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"ownhttp/proto"
)

// Options configures a load run.
type Options struct {
	Addr        string        // host:port
	Path        string        // request target, default "/"
	Method      string        // default GET
	Body        []byte        // request body (sent with Content-Length)
	Concurrency int           // connections (keep-alive) or concurrent workers, default 100
	Duration    time.Duration // measured time, default 10 s
	Warmup      time.Duration // load before measuring, not counted
	Timeout     time.Duration // per request, default 2 s
	KeepAlive   bool          // reuse connections; otherwise one connection per request
	Pipeline    int           // requests written back to back per round (keep-alive), default 1
	// Progress, when set, gets a one-line progress display once a second ("\r…").
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Path == "" {
		o.Path = "/"
	}
	if o.Method == "" {
		o.Method = "GET"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 100
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Pipeline <= 0 || !o.KeepAlive {
		o.Pipeline = 1
	}
}

// Summary is the result of a run (spec §12.1, plus p99). An error is a transport or framing
// failure (counted as status 0 in StatusCounts); HTTP error statuses are not errors.
type Summary struct {
	Requests     int64            `json:"requests"`
	Errors       int64            `json:"errors"`
	ErrorRate    float64          `json:"error_rate"`
	RPS          float64          `json:"rps"`
	P50ms        float64          `json:"p50_ms"`
	P95ms        float64          `json:"p95_ms"`
	P99ms        float64          `json:"p99_ms"`
	StatusCounts map[string]int64 `json:"status_counts"`
	ElapsedSec   float64          `json:"elapsed_s"`
}

// Run drives load at opts.Addr until the duration ends or ctx is done.
func Run(ctx context.Context, opts Options) (Summary, error) {
	opts.defaults()
	if opts.Addr == "" {
		return Summary{}, errors.New("bench: no address")
	}
	req := buildRequest(opts)
	var measuring atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	workers := make([]*worker, opts.Concurrency)
	for i := range workers {
		workers[i] = &worker{opts: &opts, req: req, measuring: &measuring, stop: stop}
		wg.Add(1)
		go func() {
			defer wg.Done()
			workers[i].run()
		}()
	}
	if opts.Warmup > 0 {
		select {
		case <-time.After(opts.Warmup):
		case <-ctx.Done():
		}
	}
	measuring.Store(true)
	start := time.Now()
	end := start.Add(opts.Duration)
	var tick <-chan time.Time
	if opts.Progress != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-time.After(time.Until(end)):
			break loop
		case now := <-tick:
			var n, errs int64
			for _, w := range workers {
				n += w.count.Load()
				errs += w.errCount.Load()
			}
			el := now.Sub(start).Seconds()
			fmt.Fprintf(opts.Progress, "\r%5.1fs  requests %-10d  rps %-10.0f  errors %-6d", el, n, float64(n)/el, errs)
		}
	}
	elapsed := time.Since(start)
	measuring.Store(false)
	close(stop)
	wg.Wait()
	if opts.Progress != nil {
		fmt.Fprintln(opts.Progress)
	}
	return summarize(workers, elapsed), nil
}

func buildRequest(o Options) []byte {
	conn := "keep-alive"
	if !o.KeepAlive {
		conn = "close"
	}
	b := []byte(o.Method + " " + o.Path + " HTTP/1.1\r\nHost: " + o.Addr + "\r\nConnection: " + conn + "\r\n")
	if len(o.Body) > 0 || o.Method == "POST" || o.Method == "PUT" {
		b = append(b, "Content-Length: "+strconv.Itoa(len(o.Body))+"\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, o.Body...)
}

// worker is one connection (keep-alive) or one sequential client (connection per request).
// Its counters are written by its goroutine and read by the progress display.
type worker struct {
	opts      *Options
	req       []byte
	measuring *atomic.Bool
	stop      chan struct{}

	count, errCount atomic.Int64
	hist            histogram
	status          map[int]int64
}

func (w *worker) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

func (w *worker) record(status int, d time.Duration) {
	if !w.measuring.Load() {
		return
	}
	if w.status == nil {
		w.status = map[int]int64{}
	}
	w.status[status]++
	if status == 0 {
		w.errCount.Add(1)
	} else {
		w.hist.add(d)
	}
	w.count.Add(1)
}

func (w *worker) run() {
	batch := make([]byte, 0, len(w.req)*w.opts.Pipeline)
	for i := 0; i < w.opts.Pipeline; i++ {
		batch = append(batch, w.req...)
	}
	var c net.Conn
	var br *bufio.Reader
	for !w.stopped() {
		start := time.Now()
		if c == nil {
			var err error
			c, err = net.DialTimeout("tcp", w.opts.Addr, w.opts.Timeout)
			if err != nil {
				w.record(0, 0)
				time.Sleep(10 * time.Millisecond) // do not spin on a refusing server
				continue
			}
			br = bufio.NewReaderSize(c, 64<<10)
		}
		c.SetDeadline(start.Add(w.opts.Timeout))
		if _, err := c.Write(batch); err != nil {
			w.fail(&c, w.opts.Pipeline)
			continue
		}
		for i := 0; i < w.opts.Pipeline; i++ {
			status, closeAfter, err := readResponse(br, w.opts.Method == "HEAD")
			if err != nil {
				w.fail(&c, w.opts.Pipeline-i)
				break
			}
			w.record(status, time.Since(start))
			if closeAfter || !w.opts.KeepAlive {
				c.Close()
				c = nil
				if i < w.opts.Pipeline-1 {
					for j := i + 1; j < w.opts.Pipeline; j++ {
						w.record(0, 0)
					}
				}
				break
			}
		}
	}
	if c != nil {
		c.Close()
	}
}

// fail counts n outstanding requests as errors and drops the connection.
func (w *worker) fail(c *net.Conn, n int) {
	if !w.stopped() {
		for i := 0; i < n; i++ {
			w.record(0, 0)
		}
	}
	(*c).Close()
	*c = nil
}

var errFraming = errors.New("bench: bad response framing")

// readResponse reads one response, framed by Content-Length, chunked encoding, or (with
// Connection: close and neither) the end of the connection. It returns the status and whether
// the server closes the connection.
func readResponse(br *bufio.Reader, head bool) (status int, closeConn bool, err error) {
	h, err := readHead(br)
	if err != nil {
		return 0, false, err
	}
	switch {
	case head || h.status == 204 || h.status == 304 || h.status < 200:
	case h.chunked:
		err = skipChunked(br)
	case h.length >= 0:
		_, err = br.Discard(int(h.length))
	case h.closeConn:
		_, err = io.Copy(io.Discard, br)
	default:
		err = errFraming
	}
	return h.status, h.closeConn, err
}

// responseHead is what the status line and headers of a response say about its framing.
type responseHead struct {
	status    int
	length    int64 // Content-Length, -1 without one
	chunked   bool  // Transfer-Encoding: chunked
	closeConn bool  // Connection: close
}

// readHead reads a response's status line and headers, up to and including the empty line.
func readHead(br *bufio.Reader) (responseHead, error) {
	h := responseHead{length: -1}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return h, err
	}
	if len(line) < 12 || string(line[:5]) != "HTTP/" {
		return h, errFraming
	}
	h.status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return h, errFraming
	}
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return h, err
		}
		if len(line) <= 2 {
			return h, nil
		}
		name, value := splitHeader(line)
		switch {
		case proto.EqualFold(name, "content-length"):
			h.length, err = strconv.ParseInt(string(value), 10, 64)
			if err != nil {
				return h, errFraming
			}
		case proto.EqualFold(name, "transfer-encoding"):
			h.chunked = proto.EqualFold(value, "chunked")
		case proto.EqualFold(name, "connection"):
			h.closeConn = proto.EqualFold(value, "close")
		}
	}
}

func skipChunked(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		end := len(line) - 2
		for i, c := range line {
			if c == ';' || c == '\r' {
				end = i
				break
			}
		}
		if end < 1 {
			return errFraming
		}
		n, err := strconv.ParseInt(string(line[:end]), 16, 64)
		if err != nil {
			return errFraming
		}
		if n == 0 {
			for { // trailers up to the empty line
				line, err = br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(line) <= 2 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

func splitHeader(line []byte) (name, value []byte) {
	for i, c := range line {
		if c == ':' {
			name, value = line[:i], line[i+1:]
			break
		}
	}
	for len(value) > 0 && (value[0] == ' ' || value[0] == '\t') {
		value = value[1:]
	}
	for len(value) > 0 && (value[len(value)-1] == '\r' || value[len(value)-1] == '\n' || value[len(value)-1] == ' ') {
		value = value[:len(value)-1]
	}
	return name, value
}

// histogram records latencies in log-linear buckets: 1 µs resolution below 1 ms, then about
// 1% relative precision, up to a minute; merging workers is adding counts.
type histogram struct {
	counts [histBuckets]int64
}

const (
	histSub     = 128 // sub-buckets per power of two
	histBuckets = 64 * histSub
)

func histIndex(d time.Duration) int {
	us := d.Microseconds()
	if us < histSub {
		if us < 0 {
			us = 0
		}
		return int(us)
	}
	exp := 63 - bits.LeadingZeros64(uint64(us)) // floor(log2(us)) >= 7
	shift := exp - 7
	idx := (exp-6)*histSub + int((uint64(us)>>uint(shift))&(histSub-1))
	if idx >= histBuckets {
		idx = histBuckets - 1
	}
	return idx
}

// histValue returns the lower bound of bucket i in microseconds.
func histValue(i int) float64 {
	if i < histSub {
		return float64(i)
	}
	exp := i/histSub + 6
	sub := i % histSub
	return float64(uint64(histSub+sub) << uint(exp-7))
}

func (h *histogram) add(d time.Duration) { h.counts[histIndex(d)]++ }

// percentile returns the q-th percentile (0..100) in milliseconds.
func (h *histogram) percentile(q float64) float64 {
	var total int64
	for _, c := range h.counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q / 100 * float64(total)))
	if rank < 1 {
		rank = 1
	}
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return histValue(i) / 1000
		}
	}
	return histValue(histBuckets-1) / 1000
}

func summarize(workers []*worker, elapsed time.Duration) Summary {
	var all histogram
	s := Summary{StatusCounts: map[string]int64{}}
	for _, w := range workers {
		for i, c := range w.hist.counts {
			all.counts[i] += c
		}
		for st, n := range w.status {
			s.StatusCounts[strconv.Itoa(st)] += n
			s.Requests += n
			if st == 0 {
				s.Errors += n
			}
		}
	}
	s.ElapsedSec = round(elapsed.Seconds(), 3)
	if s.Requests > 0 {
		s.ErrorRate = round(float64(s.Errors)/float64(s.Requests), 6)
	}
	if elapsed > 0 {
		s.RPS = round(float64(s.Requests)/elapsed.Seconds(), 2)
	}
	s.P50ms = round(all.percentile(50), 3)
	s.P95ms = round(all.percentile(95), 3)
	s.P99ms = round(all.percentile(99), 3)
	return s
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
