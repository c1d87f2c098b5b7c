package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// The event loop never blocks on logging (issue #11): the built binary's stderr is a pipe the
// test never reads, so it fills after a few hundred access-log lines. Every one of 20 000
// keep-alive requests is still answered, the lines that could not be written are counted
// in ownhttp_log_dropped_total (and log_dropped_total), and SIGTERM still stops the server
// cleanly, its final flush bounded.
func TestLogNeverBlocksServing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const requests, batch = 20000, 100
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		r, w, err := os.Pipe()
		is.NoErr(err)
		// Registered before the child's own cleanup, so it runs after the child is gone: a
		// pipe with no reader would end the child with SIGPIPE, not test its logging.
		t.Cleanup(func() { r.Close() })
		dir := t.TempDir()
		p := testkit.StartProcessStderr(t, dir, 20*time.Second, w, testkit.Binary(t),
			"--host", "127.0.0.1", "--port", "0", "--engine", engine, "--access-log=true", "--max-keepalive-requests", "100000",
			"--state-file", filepath.Join(dir, "state.json"), "--static-dir", filepath.Join(dir, "static"))
		w.Close() // the child has its own copy

		c := testkit.Dial(t, p.Addr)
		br := bufio.NewReader(c)
		reqs := strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", batch)
		for sent := 0; sent < requests; sent += batch {
			// A server blocked in its log write answers nothing more: each batch has 10 s.
			c.SetDeadline(time.Now().Add(10 * time.Second))
			_, err := io.WriteString(c, reqs)
			is.NoErr(err)
			for i := range batch {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("request %d of %d unanswered: %v", sent+i+1, requests, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				is.Equal(resp.StatusCode, 200)
			}
		}

		m := testkit.Dial(t, p.Addr)
		m.Write([]byte("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\nGET /_metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
		res := testkit.ReadResponses(m, []string{"GET", "GET"}, false)
		is.NoErr(res.Err)
		prom := promSample(t, res.Bodies[0], "ownhttp_log_dropped_total")
		var doc struct {
			LogDropped uint64 `json:"log_dropped_total"`
		}
		is.NoErr(json.Unmarshal([]byte(res.Bodies[1]), &doc))
		t.Logf("%s: %d requests answered; log records dropped: %d (Prometheus), %d (JSON)",
			engine, requests, prom, doc.LogDropped)
		is.True(prom > 0)               // lines that could not be written are counted
		is.True(doc.LogDropped >= prom) // the JSON reports the same counter, read later
		is.True(prom < requests)        // records, not bytes: the first lines got through

		// The stop is bounded too: the "stopped" line cannot be written, and run returns anyway.
		is.NoErr(p.Cmd.Process.Signal(syscall.SIGTERM))
		is.NoErr(p.Wait(t)) // a clean exit
	})
}

// promSample returns the value of the sample named name (a series without labels) in a
// Prometheus text exposition.
func promSample(t *testing.T, text, name string) uint64 {
	t.Helper()
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return n
		}
	}
	t.Fatalf("no sample %s in\n%s", name, text)
	return 0
}
