// Package testkit is the one harness of the black-box tests: it starts a real server (in
// the test's process through the program's run function, or as the built binary in a child
// process), learns its addresses from the ready callback or the ready file (never from the
// log), and speaks raw HTTP/1.1 and SSE to it over real sockets.
//
// Only _test.go files import it (deps_test.go checks that).
package testkit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"ownhttp/loop"
)

// Engines lists both engines; every wire test runs against each.
var Engines = []string{"epoll", "threadpool"}

// RunFunc is the program's run: it serves with args until ctx ends, logging to stderr, and
// calls ready once with the bound listeners.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(loop.Bound)) error

// Server is a real server started through a RunFunc on 127.0.0.1:0.
type Server struct {
	// Addr is the application's listener ("127.0.0.1:PORT"): HTTPS with --enable-tls.
	Addr string
	// Bound is what the server reported when it was ready.
	Bound loop.Bound
	// Logs collects everything the server logged.
	Logs *LogBuffer

	cancel context.CancelFunc
	done   chan error
}

// Start runs the server with the given engine and extra flags (which win over the defaults:
// its files in a fresh temporary directory, a 2 s drain) and returns once it is bound. It is
// stopped (drained) when the test ends.
func Start(t testing.TB, run RunFunc, engine string, args ...string) *Server {
	t.Helper()
	dir := t.TempDir()
	all := append([]string{"--host", "127.0.0.1", "--port", "0", "--engine", engine,
		"--drain-timeout", "2s", "--state-file", dir + "/state.json", "--static-dir", dir + "/static",
		"--scenario-state-file", dir + "/scenarios.json", "--target-state-file", dir + "/targets.json"}, args...)
	return StartArgs(t, run, all...)
}

// StartArgs runs the server with exactly args and returns once it is bound; see Start.
func StartArgs(t testing.TB, run RunFunc, args ...string) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Logs: &LogBuffer{}, cancel: cancel, done: make(chan error, 1)}
	bound := make(chan loop.Bound, 1)
	go func() { s.done <- run(ctx, args, io.Discard, s.Logs, func(b loop.Bound) { bound <- b }) }()
	select {
	case s.Bound = <-bound:
		s.Addr = s.Bound.Listeners[0].Addr.String()
	case err := <-s.done:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, s.Logs.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("server was not ready within 10s\n%s", s.Logs.String())
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// URL is the application's base URL ("http://127.0.0.1:PORT", https with TLS).
func (s *Server) URL() string { return s.Bound.URL() }

// Drain starts the server's stop (it cancels run's context: the engines drain) and returns
// at once; Stop waits for the end.
func (s *Server) Drain() { s.cancel() }

// Stop drains the server and waits for run to return (at most 10 s); it returns what run
// returned and reports a non-nil one. Calling it again returns the same.
func (s *Server) Stop(t testing.TB) error {
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
		t.Errorf("server did not stop within 10s\n%s", s.Logs.String())
		return errors.New("timeout")
	}
}

// Dial opens a connection to Addr with a 20 s deadline, closed when the test ends.
func (s *Server) Dial(t testing.TB) net.Conn { return Dial(t, s.Addr) }

// Dial opens a TCP connection to addr with a 20 s deadline, closed when the test ends.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// LogBuffer collects a server's log output; safe for concurrent use.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// WaitFor waits (at most 10 s) until the log holds substr and returns everything logged by
// then; past that it fails the test. The server writes its log asynchronously, so a line
// may arrive after the response or ready report that caused it; once run has returned
// everything it logged is here.
func (l *LogBuffer) WaitFor(t testing.TB, substr string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs := l.String()
		if strings.Contains(logs, substr) {
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log has no %q within 10s:\n%s", substr, logs)
			return logs
		}
		time.Sleep(5 * time.Millisecond)
	}
}
