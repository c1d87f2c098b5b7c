package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// Clients that stop reading a stream do not grow memory (#11 item 1): 256 event-stream
// clients with a 2 KB receive buffer that never read, while 2,000 requests with 8 KB targets
// each put an 8 KB frame on every stream. The server (the built binary, its RSS read from
// /proc) grows by at most 64 MiB and cuts the streams that fall behind.
func TestStalledStreamsBoundMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := testkit.Binary(t)
	for _, engine := range testkit.Engines { // one at a time: RSS is measured, CPU not shared
		t.Run(engine, func(t *testing.T) { stalledStreamsBoundMemory(t, bin, engine) })
	}
}

func stalledStreamsBoundMemory(t *testing.T, bin, engine string) {
	is := is.New(t)
	dir := t.TempDir()
	p := testkit.StartProcess(t, dir, 20*time.Second, bin, "--engine", engine, "--port", "0",
		"--access-log=false", "--state-file", filepath.Join(dir, "state.json"),
		"--scenario-state-file", filepath.Join(dir, "sc.json"), "--target-state-file", filepath.Join(dir, "t.json"))
	rss := func() int64 { return processRSS(t, p.Cmd.Process.Pid) }
	l := newLabClientURL(t, p.Bound.URL(), nil)
	for range 20 { // warm up: pools, buffers, the first events
		is.Equal(l.do("GET", "/healthz", "").status, 200)
	}
	start := rss()

	dialer := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = setReceiveBuffer(fd, 2048)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	var stalled []net.Conn
	for range 256 {
		c, err := dialer.Dial("tcp", p.Addr)
		is.NoErr(err)
		stalled = append(stalled, c)
		_, err = c.Write([]byte("GET /api/events/stream HTTP/1.1\r\nHost: localhost\r\n\r\n"))
		is.NoErr(err)
	}
	t.Cleanup(func() {
		for _, c := range stalled {
			c.Close()
		}
	})

	// 2,000 requests with 8 KB targets over 8 keep-alive connections, RSS sampled
	// throughout.
	pad := strings.Repeat("p", 8000)
	peak := start
	var mu sync.Mutex
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			r := rss()
			mu.Lock()
			peak = max(peak, r)
			mu.Unlock()
			select {
			case <-sampling:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			c := testkit.Dial(t, p.Addr)
			c.SetDeadline(time.Now().Add(120 * time.Second))
			for i := range 250 {
				fmt.Fprintf(c, "GET /miss/%d/%d?%s HTTP/1.1\r\nHost: x\r\n\r\n", w, i, pad)
				res := testkit.ReadResponses(c, []string{"GET"}, false)
				if res.Err != nil {
					t.Errorf("request %d/%d: %v", w, i, res.Err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(sampling)
	<-sampled
	t.Logf("%s: RSS %d MiB at start, %d MiB at the peak (+%d MiB)", engine, start>>20, peak>>20, (peak-start)>>20)
	is.True(peak-start <= 64<<20) // the load adds at most 64 MiB

	// The streams that fell behind were cut: a stalled client that starts reading finds its
	// connection closed once it has drained what was sent, while a live stream keeps
	// sending heartbeats until the read deadline. All 256 are read at once, each to its
	// end or to the one shared deadline.
	var cuts atomic.Int64
	readUntil := time.Now().Add(10 * time.Second)
	var readers sync.WaitGroup
	for _, c := range stalled {
		readers.Go(func() {
			c.SetReadDeadline(readUntil)
			buf := make([]byte, 64<<10)
			for {
				if _, err := c.Read(buf); err != nil {
					if !isTimeout(err) {
						cuts.Add(1)
					}
					return
				}
			}
		})
	}
	readers.Wait()
	cut := cuts.Load()
	t.Logf("%s: %d of 256 stalled streams were cut", engine, cut)
	is.True(cut > 0)
	for _, c := range stalled {
		c.Close()
	}
	// After the clients close, RSS comes back within 16 MiB of the start: the streams' memory
	// is given back (the rings keep what they hold of the load; the runtime returns freed
	// pages to the system over some seconds, so RSS is polled, generously).
	settled := time.Now()
	deadline := settled.Add(60 * time.Second)
	after := rss()
	for after-start > 16<<20 && time.Now().Before(deadline) {
		l.do("GET", "/_metrics", "")
		time.Sleep(100 * time.Millisecond)
		after = rss()
	}
	t.Logf("%s: RSS %d MiB after the clients closed (%s later)", engine, after>>20, time.Since(settled).Round(100*time.Millisecond))
	is.True(after-start <= 16<<20) // back within 16 MiB of the start
}

// processRSS reads a process's resident set size from /proc.
func processRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatalf("read RSS: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
