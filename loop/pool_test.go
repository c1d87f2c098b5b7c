package loop

import (
	"bytes"
	"net"
	"runtime"
	"testing"
	"time"

	"ownhttp/conn"
)

// An idle keep-alive connection of the pool engine costs its parked goroutine and its
// connection state, not buffers: it waits for input holding no read buffer and borrows one,
// and a scratch, only while it handles an event. Measured as the heap in use per idle
// connection (the client's side of it included); it was over 19 KiB with a read buffer of
// its own.
func TestPoolIdleConnectionHoldsNoReadBuffer(t *testing.T) {
	srv := &conn.Server{Handler: conn.HandlerFunc(func(x *conn.Exchange) {
		x.Text(200, "text/plain", []byte("ok"))
	})}
	srv.Defaults()
	p, err := ListenPool(Config{Host: "127.0.0.1", Server: srv})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve() }()
	t.Cleanup(func() {
		p.Stop()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Stop")
		}
	})

	const n = 400
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	// exchange makes one request on c and reads its response to the body's end.
	exchange := func(c net.Conn) {
		var buf [1024]byte
		got := 0
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		for !bytes.HasSuffix(buf[:got], []byte("\r\n\r\nok")) {
			m, err := c.Read(buf[got:])
			if err != nil {
				t.Fatalf("after %q: %v", buf[:got], err)
			}
			got += m
		}
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", p.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	exchange(dial()) // warm up: the first connection's one-time allocations
	inUse := func() (heap, stack uint64) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse, ms.StackInuse
	}
	heap0, stack0 := inUse()
	for range n {
		c := dial()
		conns = append(conns, c)
		exchange(c)
	}
	// Every connection is now idle: its response was read in full, its reader waits.
	heap1, stack1 := inUse()
	perHeap := (int64(heap1) - int64(heap0)) / n
	perStack := (int64(stack1) - int64(stack0)) / n
	t.Logf("%d idle connections: %d bytes of heap and %d bytes of stack each", n, perHeap, perStack)
	if perHeap >= 8<<10 {
		t.Fatalf("an idle connection holds %d bytes of heap; a 16 KiB read buffer of its own?", perHeap)
	}
	for _, c := range conns { // they were idle, not gone: each serves again
		exchange(c)
	}
}
