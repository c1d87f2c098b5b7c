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
)

// eachEngine runs f against both engines in parallel subtests.
func eachEngine(t *testing.T, f func(t *testing.T, engine string)) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f(t, engine)
		})
	}
}

// A head that trickles in is cut off at --header-timeout with 408 and the connection closes
// (slowloris), even though every byte refreshes activity.
func TestHeaderTimeout(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startServer(t, engine, "--header-timeout", "400ms", "--access-log=false")
		c := s.dial(t)
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
		res := readResponses(c, []string{"GET"}, true)
		is.NoErr(res.err)
		is.Equal(res.resps[0].StatusCode, 408)
		is.True(res.closed)
	})
}

// An idle keep-alive connection is closed quietly at --keepalive-timeout: no unsolicited 408.
func TestIdleKeepAliveClosedQuietly(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startServer(t, engine, "--keepalive-timeout", "300ms", "--access-log=false")
		c := s.dial(t)
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		is.NoErr(err)
		io.ReadAll(resp.Body)
		is.Equal(resp.Header.Get("Keep-Alive"), "timeout=1, max=999")
		rest, err := io.ReadAll(br) // returns at the server's close
		is.True(err == nil || isReset(err))
		is.Equal(string(rest), "") // nothing sent before the close
	})
}

// --max-keepalive-requests closes the connection after that many responses, counting down in
// Keep-Alive max.
func TestMaxKeepAliveRequests(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startServer(t, engine, "--max-keepalive-requests", "2", "--access-log=false")
		res := roundTrip(t, s, strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3), []string{"GET", "GET"}, false)
		is.NoErr(res.err)
		is.Equal(res.resps[0].Header.Get("Keep-Alive"), "timeout=10, max=1")
		is.True(res.resps[1].Close)
		is.True(res.closed) // the third request is never answered
	})
}

// Above --max-connections a new connection gets 503 and is closed.
func TestMaxConnections(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startServer(t, engine, "--max-connections", "2", "--access-log=false")
		for i := 0; i < 2; i++ {
			c := s.dial(t)
			c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			res := readResponses(c, []string{"GET"}, false)
			is.NoErr(res.err)
			is.Equal(res.resps[0].StatusCode, 200)
		}
		c := s.dial(t)
		res := readResponses(c, []string{"GET"}, true)
		is.NoErr(res.err)
		is.Equal(res.resps[0].StatusCode, 503)
		is.True(res.closed)
	})
}

// Expect: 100-continue gets the interim response only while the body is missing, in order
// after earlier pipelined responses, and never on HTTP/1.0.
func TestExpectContinue(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		s := startServer(t, engine, "--access-log=false")
		t.Run("interim then final", func(t *testing.T) {
			is := is.New(t)
			c := s.dial(t)
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
			c := s.dial(t)
			c.Write([]byte("GET /stream HTTP/1.1\r\nHost: x\r\n\r\nPOST /submit HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"))
			res := readResponses(c, []string{"GET", "POST"}, false)
			is.NoErr(res.err)
			is.Equal(res.resps[0].StatusCode, 200)
			is.Equal(res.bodies[0], "chunk-one\nchunk-two\nchunk-three\n")
			is.Equal(res.resps[1].StatusCode, 100)
			c.Write([]byte("ok"))
			res = readResponses(c, []string{"POST"}, false)
			is.NoErr(res.err)
			is.Equal(res.bodies[0], "Received POST body: ok")
		})
		t.Run("never on http/1.0", func(t *testing.T) {
			is := is.New(t)
			c := s.dial(t)
			c.Write([]byte("POST /submit HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"))
			time.Sleep(100 * time.Millisecond) // let the head arrive alone
			c.Write([]byte("ok"))
			res := readResponses(c, []string{"POST"}, true)
			is.NoErr(res.err)
			is.Equal(res.resps[0].StatusCode, 200)
			is.True(!strings.Contains(string(res.raw), "100 Continue"))
		})
	})
}

// Drain: idle connections close, a request in flight finishes, a further request on a kept
// connection gets 503 with Retry-After, new connections are refused, and run returns nil.
func TestDrain(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startServer(t, engine, "--access-log=false", "--drain-timeout", "5s")

		kept := s.dial(t)
		kept.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		keptBR := bufio.NewReader(kept)
		resp, err := http.ReadResponse(keptBR, nil)
		is.NoErr(err)
		io.ReadAll(resp.Body)

		// A request in flight (the stream takes ~100 ms) while the drain starts.
		streaming := s.dial(t)
		streaming.Write([]byte("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"))
		streamBR := bufio.NewReader(streaming)
		resp, err = http.ReadResponse(streamBR, nil)
		is.NoErr(err)

		// Give "kept" a partial request so the drain does not find it idle.
		kept.Write([]byte("GET / HTTP/1.1\r\n"))
		time.Sleep(50 * time.Millisecond)
		s.cancel()

		body, err := io.ReadAll(resp.Body)
		is.NoErr(err)
		is.Equal(string(body), "chunk-one\nchunk-two\nchunk-three\n")

		kept.Write([]byte("Host: x\r\n\r\n"))
		resp, err = http.ReadResponse(keptBR, nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 503)
		is.Equal(resp.Header.Get("Retry-After"), "2")
		is.True(resp.Close)

		is.NoErr(s.stop(t))
		_, err = net.DialTimeout("tcp", s.addr, time.Second)
		is.True(err != nil) // the listener is closed
	})
}

// A client that pipelines many requests without reading gets backpressure (the server stops
// reading) and, once it reads, every response in order.
func TestBackpressure(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startServer(t, engine, "--access-log=false", "--max-keepalive-requests", "100000")
		c := s.dial(t)
		const n = 20000
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			for i := 0; i < n; i++ {
				fmt.Fprintf(&b, "GET /?i=%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
			}
			c.Write([]byte(b.String()))
		}()
		time.Sleep(300 * time.Millisecond) // the writer fills the socket buffers
		br := bufio.NewReaderSize(c, 64<<10)
		for i := 0; i < n; i++ {
			resp, err := http.ReadResponse(br, nil)
			is.NoErr(err)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			is.Equal(resp.Header.Get("Keep-Alive"), fmt.Sprintf("timeout=10, max=%d", 100000-i-1))
		}
		wg.Wait()
	})
}

// After an error response the server shuts its write side and drains input, so a client that
// is still sending reads the status instead of a reset.
func TestLingeringClose(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := startServer(t, engine, "--access-log=false")
		c := s.dial(t)
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
		s := startServer(t, engine, "--access-log=false")
		const clients = 1000
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		garbage := []string{"\x00\x01\x02\xff\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
			"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", strings.Repeat("A", 40000)}
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
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
				res := readResponses(c, []string{"GET", "GET", "GET"}, false)
				if res.err != nil {
					errs <- res.err
					return
				}
				for _, r := range res.resps {
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
		c := s.dial(t)
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		res := readResponses(c, []string{"GET"}, false)
		is.NoErr(res.err)
		is.Equal(res.bodies[0], "Hello World")
	})
}

// 1,000 simultaneous requests on the threadpool engine with its defaults (16 workers, queue
// 1024) are all served: none gets 503.
func TestThreadpoolThousandSimultaneous(t *testing.T) {
	is := is.New(t)
	s := startServer(t, "threadpool", "--access-log=false")
	const n = 1000
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = s.dial(t)
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
			res := readResponses(c, []string{"GET"}, false)
			if res.err == nil {
				statuses[i] = res.resps[0].StatusCode
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
