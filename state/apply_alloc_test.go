package state

import (
	"testing"
	"time"
)

// Capturing requests costs copies, not allocations: once the rings have warmed up, applying
// a full batch to the model allocates nothing (entries and events are rendered on read).
func TestApplyBatchAllocs(t *testing.T) {
	m := NewModel(Config{HistoryLimit: 500, EventBufferSize: 5000, Engine: "epoll"})
	b := newBatch(DefaultMaxHistoryBodyBytes)
	head := []byte("GET /users/42?x=1 HTTP/1.1\r\nHost: example\r\nAuthorization: Bearer x\r\n")
	fill := func() {
		b.reset()
		for b.Add(Record{TraceID: 7, Start: time.Unix(1, 0).UnixNano(), Status: 200, RouteKey: "GET /users/{id}"}, head, nil) {
		}
	}
	for i := 0; i < 40; i++ { // every slot of both rings has had its buffer grown
		fill()
		m.ApplyBatch(b)
	}
	allocs := testing.AllocsPerRun(50, func() {
		fill()
		m.ApplyBatch(b)
	})
	if allocs != 0 {
		t.Fatalf("ApplyBatch: %v allocations per batch, want 0", allocs)
	}
	// Reading renders lazily and still gives the full entry.
	entries, err := m.History(HistoryFilter{Limit: "1"})
	if err != nil || len(entries) != 1 || entries[0].Path != "/users/42" ||
		entries[0].ReplayInput.Headers["authorization"] != Redacted {
		t.Fatalf("history after lazy capture: %+v, %v", entries, err)
	}
	page := m.Events(0, 1, nil)
	if len(page.Events) != 1 || page.Events[0].Type != EventRequestCompleted {
		t.Fatalf("events after lazy capture: %+v", page)
	}
}

func BenchmarkApplyBatchLazy(b *testing.B) {
	m := NewModel(Config{HistoryLimit: 500, EventBufferSize: 5000, Engine: "epoll"})
	batch := newBatch(DefaultMaxHistoryBodyBytes)
	head := []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		batch.reset()
		for batch.Add(Record{TraceID: uint64(i), Status: 200, RouteKey: "GET /"}, head, nil) {
		}
		m.ApplyBatch(batch)
	}
}
