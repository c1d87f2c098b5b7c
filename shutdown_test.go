package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// Shutdown keeps its deadline (#11 item 4): with a proxy call in flight to an upstream that
// never answers (its timeout_ms is a minute), a stop drains for --drain-timeout, then the
// server's lifetime ends, the call is cancelled and run returns; the log says "stopped" only
// then. testkit's Stop fails the test past 10 s; the figure is logged.
func TestStopKeepsItsDeadline(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		var arrived atomic.Int64
		up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived.Add(1)
			<-r.Context().Done() // answers never; the proxy's cancellation ends it
		}))
		t.Cleanup(up.Close)
		s := testkit.Start(t, run, engine, "--drain-timeout", "1s")
		l := newLabClient(t, s)
		l.createTarget(`{"id":"mute","name":"Mute","base_url":"` + up.URL + `","timeout_ms":60000}`)
		answered := make(chan int, 1)
		go func() {
			resp, err := http.Post("http://"+s.Addr+"/api/proxy/request", "application/json",
				strings.NewReader(`{"target_id":"mute","path":"/never"}`))
			if err != nil {
				answered <- 0
				return
			}
			resp.Body.Close()
			answered <- resp.StatusCode
		}()
		waitUntil(t, func() bool { return arrived.Load() == 1 }) // the call is in flight

		start := time.Now()
		is.NoErr(s.Stop(t))
		took := time.Since(start)
		t.Logf("%s: stopped %s after the signal with --drain-timeout 1s and a call in flight", engine, took)
		logs := s.Logs.String()
		is.True(strings.Contains(logs, "msg=stopped"))                  // everything did stop
		is.True(!strings.Contains(logs, "stopped_with_work_abandoned")) // nothing was left running
		select {
		case <-answered: // the client got an answer or a closed connection, not a hang
		case <-time.After(10 * time.Second):
			t.Fatal("the proxy call's client was left hanging")
		}
	})
}
