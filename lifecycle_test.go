package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// A head that trickles in is cut off at --header-timeout with 408 and the connection closes
// (slowloris), even though every byte refreshes activity.
func TestHeaderTimeout(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--header-timeout", "400ms", "--access-log=false")
		c := s.Dial(t)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			head := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 100)
			for i := 0; i < len(head); i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte{head[i]}); err != nil {
					return
				}
			}
		}()
		res := testkit.ReadResponses(c, []string{"GET"}, true)
		is.NoErr(res.Err)
		is.Equal(res.Resps[0].StatusCode, 408)
		is.True(res.Closed)
	})
}

// A body that trickles in, each byte well inside --header-timeout, is cut off at
// --body-timeout with 408 and the connection closes (#11 item 5): the whole body has a
// deadline, not only the gaps between its reads.
func TestBodyTimeout(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--header-timeout", "5s", "--body-timeout", "600ms", "--access-log=false")
		c := s.Dial(t)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			if _, err := c.Write([]byte("POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")); err != nil {
				return
			}
			for range 1000 { // 1,000 bytes at one per 50 ms: 50 s if nothing cuts it
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte{'b'}); err != nil {
					return
				}
			}
		}()
		res := testkit.ReadResponses(c, []string{"POST"}, true)
		is.NoErr(res.Err)
		is.Equal(res.Resps[0].StatusCode, 408)
		is.True(res.Closed)
	})
}

// An idle keep-alive connection is closed quietly at --keepalive-timeout: no unsolicited 408.
func TestIdleKeepAliveClosedQuietly(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--keepalive-timeout", "300ms", "--access-log=false")
		c := s.Dial(t)
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		is.NoErr(err)
		io.ReadAll(resp.Body)
		is.Equal(resp.Header.Get("Keep-Alive"), "timeout=1, max=999")
		rest, err := io.ReadAll(br) // returns at the server's close
		is.True(err == nil || testkit.IsReset(err))
		is.Equal(string(rest), "") // nothing sent before the close
	})
}

// --max-keepalive-requests closes the connection after that many responses, counting down in
// Keep-Alive max.
func TestMaxKeepAliveRequests(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--max-keepalive-requests", "2", "--access-log=false")
		res := testkit.RoundTrip(t, s, strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3), []string{"GET", "GET"}, false)
		is.NoErr(res.Err)
		is.Equal(res.Resps[0].Header.Get("Keep-Alive"), "timeout=10, max=1")
		is.True(res.Resps[1].Close)
		is.True(res.Closed) // the third request is never answered
	})
}

// Above --max-connections a new connection gets 503 and is closed.
func TestMaxConnections(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--max-connections", "2", "--access-log=false")
		for i := 0; i < 2; i++ {
			c := s.Dial(t)
			c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			res := testkit.ReadResponses(c, []string{"GET"}, false)
			is.NoErr(res.Err)
			is.Equal(res.Resps[0].StatusCode, 200)
		}
		c := s.Dial(t)
		res := testkit.ReadResponses(c, []string{"GET"}, true)
		is.NoErr(res.Err)
		is.Equal(res.Resps[0].StatusCode, 503)
		is.True(res.Closed)
	})
}

// Expect: 100-continue gets the interim response only while the body is missing, in order
// after earlier pipelined responses, and never on HTTP/1.0.
func TestExpectContinue(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := testkit.Start(t, run, engine, "--access-log=false")
		t.Run("interim then final", func(t *testing.T) {
			is := is.New(t)
			c := s.Dial(t)
			c.Write([]byte("POST /submit HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"))
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, &http.Request{Method: "POST"})
			is.NoErr(err)
			is.Equal(resp.StatusCode, 100)
			c.Write([]byte("body"))
			resp, err = http.ReadResponse(br, &http.Request{Method: "POST"})
			is.NoErr(err)
			b, _ := io.ReadAll(resp.Body)
			is.Equal(string(b), "Received POST body: body")
		})
		t.Run("after earlier pipelined response", func(t *testing.T) {
			is := is.New(t)
			c := s.Dial(t)
			c.Write([]byte("GET /stream HTTP/1.1\r\nHost: x\r\n\r\nPOST /submit HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"))
			res := testkit.ReadResponses(c, []string{"GET", "POST"}, false)
			is.NoErr(res.Err)
			is.Equal(res.Resps[0].StatusCode, 200)
			is.Equal(res.Bodies[0], "chunk-one\nchunk-two\nchunk-three\n")
			is.Equal(res.Resps[1].StatusCode, 100)
			c.Write([]byte("ok"))
			res = testkit.ReadResponses(c, []string{"POST"}, false)
			is.NoErr(res.Err)
			is.Equal(res.Bodies[0], "Received POST body: ok")
		})
		t.Run("never on http/1.0", func(t *testing.T) {
			is := is.New(t)
			c := s.Dial(t)
			c.Write([]byte("POST /submit HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"))
			time.Sleep(100 * time.Millisecond) // let the head arrive alone
			c.Write([]byte("ok"))
			res := testkit.ReadResponses(c, []string{"POST"}, true)
			is.NoErr(res.Err)
			is.Equal(res.Resps[0].StatusCode, 200)
			is.True(!strings.Contains(string(res.Raw), "100 Continue"))
		})
	})
}

// Drain: idle connections close, a request in flight finishes, a further request on a kept
// connection gets 503 with Retry-After, new connections are refused, and run returns nil.
func TestDrain(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--drain-timeout", "5s")

		kept := s.Dial(t)
		kept.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		keptBR := bufio.NewReader(kept)
		resp, err := http.ReadResponse(keptBR, nil)
		is.NoErr(err)
		io.ReadAll(resp.Body)

		// A request in flight (the stream takes ~100 ms) while the drain starts, with the
		// start of a further request behind it in the same write: once the stream's head has
		// arrived the server has read that write whole (it reaches the socket as one piece),
		// so the drain finds "kept" busy, with a partial request waiting, and no sleep is
		// needed to be sure of it.
		kept.Write([]byte("GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n"))
		resp, err = http.ReadResponse(keptBR, nil)
		is.NoErr(err)
		idle := s.Dial(t)
		idle.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		idleBR := bufio.NewReader(idle)
		iresp, err := http.ReadResponse(idleBR, nil)
		is.NoErr(err)
		io.ReadAll(iresp.Body)
		s.Drain()
		_, err = idleBR.ReadByte()
		is.Equal(err, io.EOF) // the idle connection is closed

		body, err := io.ReadAll(resp.Body)
		is.NoErr(err)
		is.Equal(string(body), "chunk-one\nchunk-two\nchunk-three\n")

		kept.Write([]byte("Host: x\r\n\r\n"))
		resp, err = http.ReadResponse(keptBR, nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 503)
		is.Equal(resp.Header.Get("Retry-After"), "2")
		is.True(resp.Close)

		is.NoErr(s.Stop(t))
		_, err = net.DialTimeout("tcp", s.Addr, time.Second)
		is.True(err != nil) // the listener is closed
	})
}

// A client that pipelines many requests without reading gets backpressure: the server stops
// reading its requests (what the client could write stays far below what it sent, while the
// server would otherwise buffer every answer) and, once the client reads, it gets every
// response in order.
func TestBackpressure(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--max-keepalive-requests", "100000")
		body := strings.Repeat("b", 32<<10)
		l := newLabClient(t, s)
		l.createMock(`{"method":"GET","path_pattern":"/big","body":"` + body + `"}`)
		// 3,000 requests of 8 KB (24 MB, more than every socket buffer between the two) for
		// 96 MB of answers.
		const n = 3000
		pad := strings.Repeat("p", 8000)
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "GET /big?i=%d&pad=%s HTTP/1.1\r\nHost: x\r\n\r\n", i, pad)
		}
		reqs := []byte(b.String())
		c := s.Dial(t)
		// Write without reading: the server must stop taking requests. The deadline only ends
		// the attempt; the assertion is on how much the server took, not on time.
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		written, err := c.Write(reqs)
		is.True(err != nil)              // the write could not finish...
		is.True(written < len(reqs)*3/4) // ...the server stopped reading well before the end
		t.Logf("%s: the server took %d of %d bytes before pausing", engine, written, len(reqs))
		c.SetWriteDeadline(time.Time{})
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Write(reqs[written:])
		}()
		br := bufio.NewReaderSize(c, 64<<10)
		for i := 0; i < n; i++ {
			resp, err := http.ReadResponse(br, nil)
			is.NoErr(err)
			got, err := io.ReadAll(resp.Body)
			is.NoErr(err)
			resp.Body.Close()
			is.Equal(len(got), len(body))
			is.Equal(resp.Header.Get("Keep-Alive"), fmt.Sprintf("timeout=10, max=%d", 100000-i-1)) // in order
		}
		wg.Wait()
	})
}

// After an error response the server shuts its write side and drains input, so a client that
// is still sending reads the status instead of a reset.
func TestLingeringClose(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		c := s.Dial(t)
		go func() {
			c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 11\r\n\r\n"))
			junk := []byte(strings.Repeat("x", 64<<10))
			for i := 0; i < 4; i++ {
				if _, err := c.Write(junk); err != nil {
					return
				}
			}
		}()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 400)
		b, err := io.ReadAll(resp.Body)
		is.NoErr(err)
		is.Equal(string(b), "Bad Request")
	})
}

// Many concurrent keep-alive connections with pipelined requests, plus connections sending
// garbage, leave the server answering.
func TestConcurrentMix(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		const clients = 1000
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		garbage := []string{"\x00\x01\x02\xff\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", strings.Repeat("A", 40000)}
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.DialTimeout("tcp", s.Addr, 10*time.Second)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if i%10 == 0 {
					c.Write([]byte(garbage[i/10%len(garbage)]))
					io.Copy(io.Discard, c)
					return
				}
				c.Write([]byte(strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3)))
				res := testkit.ReadResponses(c, []string{"GET", "GET", "GET"}, false)
				if res.Err != nil {
					errs <- res.Err
					return
				}
				for _, r := range res.Resps {
					if r.StatusCode != 200 {
						errs <- fmt.Errorf("status %d", r.StatusCode)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		c := s.Dial(t)
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		res := testkit.ReadResponses(c, []string{"GET"}, false)
		is.NoErr(res.Err)
		is.Equal(res.Bodies[0], "Hello World")
	})
}

// 1,000 simultaneous requests on the threadpool engine with its defaults (16 workers, queue
// 1024) are all served: none gets 503.
func TestThreadpoolThousandSimultaneous(t *testing.T) {
	is := is.New(t)
	s := testkit.Start(t, run, "threadpool", "--access-log=false")
	const n = 1000
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = s.Dial(t)
	}
	var start sync.WaitGroup
	start.Add(1)
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			res := testkit.ReadResponses(c, []string{"GET"}, false)
			if res.Err == nil {
				statuses[i] = res.Resps[0].StatusCode
			}
		}()
	}
	start.Done()
	wg.Wait()
	for i, st := range statuses {
		if st != 200 {
			t.Errorf("request %d: status %d", i, st)
		}
	}
	is.Equal(len(statuses), n)
}
