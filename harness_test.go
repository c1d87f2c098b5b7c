package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// engines lists both engines; every wire test runs against each.
var engines = []string{"epoll", "threadpool"}

// testServer is a real server started through run() on 127.0.0.1:0.
type testServer struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
	logs   *logBuffer
}

// startServer runs the server with the given engine and extra flags and waits until it
// listens. It is stopped (drained) when the test ends.
func startServer(t testing.TB, engine string, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := newLogBuffer()
	dir := t.TempDir()
	all := append([]string{"--host", "127.0.0.1", "--port", "0", "--engine", engine,
		"--drain-timeout", "2s", "--state-file", dir + "/state.json", "--static-dir", dir + "/static",
		"--scenario-state-file", dir + "/scenarios.json", "--target-state-file", dir + "/targets.json"}, args...)
	s := &testServer{cancel: cancel, done: make(chan error, 1), logs: logs}
	go func() { s.done <- run(ctx, all, io.Discard, logs) }()
	select {
	case addr := <-logs.addr:
		s.addr = addr
	case err := <-s.done:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("server did not report its address\n%s", logs.String())
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop drains the server and waits for run to return (at most 10 s).
func (s *testServer) stop(t testing.TB) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // keep it for a second caller
		if err != nil {
			t.Errorf("run returned %v", err)
		}
		return err
	case <-time.After(10 * time.Second):
		t.Errorf("server did not stop within 10s\n%s", s.logs.String())
		return errors.New("timeout")
	}
}

func (s *testServer) dial(t testing.TB) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", s.addr, err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// logBuffer collects the server's log output and reports the listen address.
type logBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

func newLogBuffer() *logBuffer { return &logBuffer{addr: make(chan string, 1)} }

var addrRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.sent {
		if m := addrRE.FindSubmatch(l.buf.Bytes()); m != nil {
			l.sent = true
			l.addr <- string(m[1])
		}
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// exchange writes raw to a fresh connection (all at once, or one byte per write) and reads
// the responses to the given request methods.
type exchangeResult struct {
	resps  []*http.Response
	bodies []string
	err    error // error reading the response after the last one parsed
	closed bool  // the server closed the connection after the responses
	open   bool  // the connection answered one more request after the responses
	raw    []byte
}

// sendRaw writes data to c, all at once or one byte per write; write errors after the server
// has answered and closed are expected and ignored.
func sendRaw(c net.Conn, data string, byteByByte bool) {
	if !byteByByte {
		c.Write([]byte(data))
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	for i := 0; i < len(data); i++ {
		if _, err := c.Write([]byte{data[i]}); err != nil {
			return
		}
	}
}

// roundTrip sends raw and reads len(methods) responses, then checks whether the server closed.
func roundTrip(t testing.TB, s *testServer, raw string, methods []string, byteByByte bool) exchangeResult {
	t.Helper()
	c := s.dial(t)
	go sendRaw(c, raw, byteByByte)
	return readResponses(c, methods, true)
}

// stillServes reports whether the connection answers one more request after the exchange:
// the positive proof that it stayed open (waiting for a close that does not come would take
// a timeout).
func stillServes(c net.Conn, br *bufio.Reader) bool {
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return false
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == 200
}

// readResponses reads one response per method (HEAD responses have no body). With
// checkClose it then finds out whether the server closed the connection (EOF) or keeps it
// (it answers one more request).
func readResponses(c net.Conn, methods []string, checkClose bool) exchangeResult {
	var res exchangeResult
	var rec bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &rec))
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			res.err = err
			res.raw = rec.Bytes()
			return res
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			res.err = fmt.Errorf("body: %w", err)
			res.raw = rec.Bytes()
			return res
		}
		res.resps = append(res.resps, resp)
		res.bodies = append(res.bodies, string(body))
	}
	res.raw = append([]byte(nil), rec.Bytes()...)
	if checkClose {
		if br.Buffered() > 0 {
			return res // unexpected extra bytes: neither cleanly closed nor idle
		}
		if res.open = stillServes(c, br); !res.open {
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := br.Read(make([]byte, 1))
			res.closed = n == 0 && (errors.Is(err, io.EOF) || isReset(err) || err == nil)
		}
	}
	return res
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}
