package bench

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// Slow readers download a response again and again at their pace, on both engines, and Stop
// ends them (closing their connections) without counting that as errors.
func TestSlowReadersSmoke(t *testing.T) {
	body := strings.Repeat("x", 64<<10)
	for _, engine := range []string{"epoll", "threadpool"} {
		t.Run(engine, func(t *testing.T) {
			is := is.New(t)
			addr := startServer(t, engine)
			req := "POST /submit HTTP/1.1\r\nHost: " + addr + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
			s := StartSlowReaders(context.Background(), SlowOptions{Addr: addr, Clients: 2, Request: []byte(req), Rate: 1 << 20})
			waitStats(t, s, func(st SlowStats) bool { return st.Responses >= 2 })
			st := s.Stop()
			is.True(st.Responses >= 2)                         // whole bodies were read
			is.True(st.Bytes >= st.Responses*int64(len(body))) // the body echoes the request's
			is.Equal(st.Errors, int64(0))                      // Stop is not an error
			is.Equal(s.Stop(), st)                             // a second Stop reports the same
		})
	}
}

// A response that is not a 2xx is an error: the reader dials again, until stopped.
func TestSlowReadersStatus(t *testing.T) {
	is := is.New(t)
	addr := startServer(t, "epoll")
	s := StartSlowReaders(context.Background(), SlowOptions{Addr: addr, Clients: 1,
		Request: []byte("GET /nope HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")})
	waitStats(t, s, func(st SlowStats) bool { return st.Errors >= 2 })
	st := s.Stop()
	is.True(st.Errors >= 2) // counted, and the reader dialled again
	is.Equal(st.Responses, int64(0))
}

// waitStats waits (at most 20 s) until ok accepts the readers' counts; the wait is bounded by
// an event, never asserted on.
func waitStats(t *testing.T, s *SlowReaders, ok func(SlowStats) bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(s.Stats()); {
		if time.Now().After(deadline) {
			t.Fatalf("the slow readers did not get there within 20s: %+v", s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
