package bench

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/conn"
	"ownhttp/features"
	"ownhttp/loop"
)

// startServer runs the real epoll or threadpool engine with the product handler on
// 127.0.0.1:0 (no state: mocks and history are off) and stops it when the test ends.
func startServer(t *testing.T, engine string) string {
	t.Helper()
	srv := &conn.Server{Offload: loop.NewOffload(4, 64)}
	app := features.New(features.Config{Engine: engine, Server: srv})
	srv.Handler = app
	srv.Defaults()
	cfg := loop.Config{Host: "127.0.0.1", Server: srv, NewObserver: app.NewObserver}
	var eng loop.Engine
	var err error
	if engine == "threadpool" {
		eng, err = loop.ListenPool(cfg)
	} else {
		eng, err = loop.Listen(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Serve() }()
	t.Cleanup(func() {
		eng.Stop()
		<-done
	})
	return eng.Addr().String()
}

// Every mode of the generator completes requests against the real server, counts each
// response once, and frames Content-Length and chunked bodies correctly (a framing error
// would show up as errors).
func TestLoadSmoke(t *testing.T) {
	for _, engine := range []string{"epoll", "threadpool"} {
		addr := startServer(t, engine)
		for _, tc := range []struct {
			name string
			opts Options
		}{
			{"keep-alive", Options{KeepAlive: true, Concurrency: 4}},
			{"pipelined", Options{KeepAlive: true, Pipeline: 8, Concurrency: 4}},
			{"connection per request", Options{Concurrency: 4}},
			{"chunked", Options{KeepAlive: true, Concurrency: 2, Path: "/stream"}},
			{"post body", Options{KeepAlive: true, Concurrency: 2, Method: "POST", Path: "/submit", Body: []byte("hi")}},
			{"404", Options{KeepAlive: true, Concurrency: 2, Path: "/nope"}},
		} {
			t.Run(engine+"/"+tc.name, func(t *testing.T) {
				is := is.New(t)
				tc.opts.Addr = addr
				tc.opts.Duration = 300 * time.Millisecond
				tc.opts.Warmup = 50 * time.Millisecond
				s, err := Run(context.Background(), tc.opts)
				is.NoErr(err)
				is.True(s.Requests > 0)
				is.Equal(s.Errors, int64(0))
				want := "200"
				if tc.opts.Path == "/nope" {
					want = "404"
				}
				is.Equal(s.StatusCounts[want], s.Requests) // every response counted once, all with the expected status
				is.True(s.RPS > 0)
			})
		}
	}
}

func TestReadResponseFraming(t *testing.T) {
	is := is.New(t)
	raw := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nT: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\nbye"
	br := bufio.NewReader(strings.NewReader(raw))
	for i, want := range []struct {
		status int
		close  bool
		head   bool
	}{{200, false, false}, {200, false, false}, {204, false, false}, {200, false, true}, {503, true, false}} {
		st, closeConn, err := readResponse(br, want.head)
		is.NoErr(err)
		is.Equal(st, want.status)
		is.Equal(closeConn, want.close)
		_ = i
	}
	_, _, err := readResponse(bufio.NewReader(strings.NewReader("garbage\r\n\r\n")), false)
	is.True(err != nil)
}

func TestHistogramPercentiles(t *testing.T) {
	is := is.New(t)
	var h histogram
	for _, ms := range []int{10, 20, 30, 40} {
		h.add(time.Duration(ms) * time.Millisecond)
	}
	is.True(within(h.percentile(50), 20, 0.01))  // two of four at or below 20 ms
	is.True(within(h.percentile(100), 40, 0.01)) // the maximum
	is.True(within(h.percentile(0), 10, 0.01))   // the minimum
	var empty histogram
	is.Equal(empty.percentile(99), 0.0)
	for _, d := range []time.Duration{0, time.Microsecond, 127 * time.Microsecond, time.Millisecond, time.Second, time.Minute} {
		got := histValue(histIndex(d)) / 1e6
		is.True(within(got, d.Seconds(), 0.01) || d < 128*time.Microsecond) // 1% above 128 µs
	}
}

func within(got, want, rel float64) bool {
	if want == 0 {
		return got == 0
	}
	d := (got - want) / want
	return d <= rel && d >= -rel
}
