package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// On the threadpool engine a request that finds the worker busy and the wait queue full is
// answered 503 in its turn: on a keep-alive connection whose earlier response is still being
// produced, that response goes out first, complete, then the 503 (Retry-After, Connection:
// close) — never a 503 ahead of it or inside it.
func TestPoolBusyAnswersInOrder(t *testing.T) {
	is := is.New(t)
	gate := make(chan struct{})
	arrived := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-gate:
		case <-time.After(20 * time.Second):
		}
		fmt.Fprint(w, "opened")
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	})
	s := testkit.Start(t, run, "threadpool", "--access-log=false", "--workers", "1", "--queue-size", "1",
		"--keepalive-timeout", "60s", "--proxy-allow-private")
	l := newLabClient(t, s)
	l.createMock(`{"method":"GET","path_pattern":"/big","body":"` + strings.Repeat("b", 256<<10) + `"}`)
	l.createTarget(fmt.Sprintf(`{"id":"gate","name":"gate","base_url":%q,"timeout_ms":60000}`, up.URL))

	// A: a proxy call whose response is pending until the gate opens (no worker held).
	a := s.Dial(t)
	payload := `{"target_id":"gate","method":"GET","path":"/gate"}`
	fmt.Fprintf(a, "POST /api/proxy/request HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(payload), payload)
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy call did not reach the upstream")
	}

	// B holds the only worker: it pipelines more response bytes than the socket buffers take
	// and reads none, so the write blocks with the worker held.
	b := dialSmallReceiveBuffer(t, s.Addr)
	b.Write([]byte(strings.Repeat("GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 64)))
	if _, err := b.Read(make([]byte, 1)); err != nil { // B is being answered: it holds the worker
		t.Fatal(err)
	}
	fillPoolQueue(t, s.Addr)

	// The queue is full: A's next request is refused, behind the pending proxy response.
	a.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
	fillPoolQueue(t, s.Addr) // still full (and A's reader had time to take its turn)
	close(gate)

	res := testkit.ReadResponses(a, []string{"POST", "GET"}, true)
	is.True(len(res.Resps) > 0)
	is.Equal(res.Resps[0].StatusCode, 200) // the proxy report first, complete
	is.NoErr(res.Err)
	is.True(strings.Contains(res.Bodies[0], `opened`))
	is.Equal(res.Resps[1].StatusCode, 503) // then the busy answer
	is.True(res.Resps[1].Header.Get("Retry-After") != "")
	is.True(res.Resps[1].Close)
	is.True(res.Closed)
}

// dialSmallReceiveBuffer connects with a 4 KiB receive buffer (set before the handshake, so
// the window stays small).
func dialSmallReceiveBuffer(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = setReceiveBuffer(fd, 4096)
		})
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fillPoolQueue returns once a new connection's request is answered 503, while the only
// worker is held for good: one probe waits in the queue, which is then full. A probe that
// gets no answer is taken for the waiting one, and the next goes out.
func fillPoolQueue(t *testing.T, addr string) {
	t.Helper()
	statuses := make(chan int, 256) // one per probe at most
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c := testkit.Dial(t, addr)
		c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				statuses <- 0
				return
			}
			statuses <- resp.StatusCode
		}()
		select {
		case st := <-statuses:
			if st != 503 {
				t.Fatalf("a probe got %d while the worker is held", st)
			}
			return
		case <-time.After(50 * time.Millisecond): // this one waits: probe again
		}
	}
	t.Fatal("the threadpool queue did not fill within 10s")
}
