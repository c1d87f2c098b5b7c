package state

import (
	"bytes"
	"testing"

	"github.com/matryer/is"
)

func TestBatchAddCopiesAndFills(t *testing.T) {
	is := is.New(t)
	b := newBatch(DefaultMaxHistoryBodyBytes)
	head := rawHead("POST /x HTTP/1.1", "Host: a")
	body := []byte("payload")
	is.True(b.Add(rec(1, 200), head, body))
	// The caller may reuse its buffers at once.
	copy(head, bytes.Repeat([]byte("z"), len(head)))
	copy(body, "XXXXXXX")
	h, bd := b.bytes(0)
	is.Equal(string(h), "POST /x HTTP/1.1\r\nHost: a\r\n\r\n")
	is.Equal(string(bd), "payload")

	// Records full.
	b = newBatch(DefaultMaxHistoryBodyBytes)
	for i := range BatchRecords {
		is.True(b.Add(rec(uint64(i), 200), []byte("GET / HTTP/1.1\r\n\r\n"), nil))
	}
	is.True(!b.Add(rec(999, 200), nil, nil))
	is.Equal(b.Len(), BatchRecords)

	// Arena full: records of just under a quarter of the arena.
	b = newBatch(BatchArenaBytes)
	chunk := make([]byte, BatchArenaBytes/4-10)
	n := 0
	for b.Add(rec(1, 200), chunk, nil) {
		n++
	}
	is.Equal(n, 4)

	// Oversized: its own copy, does not use the arena.
	b = newBatch(BatchArenaBytes)
	big := bytes.Repeat([]byte("b"), BatchArenaBytes/4+1)
	is.True(b.Add(rec(1, 200), []byte("PUT /big HTTP/1.1\r\n\r\n"), big))
	is.Equal(len(b.arena), 0)
	_, bd = b.bytes(0)
	is.Equal(len(bd), len(big))

	// Reset keeps the arena and clears the slots.
	b.reset()
	is.Equal(b.Len(), 0)
	is.True(b.slots[0].ext == nil)
	is.Equal(cap(b.arena), BatchArenaBytes)
}

func TestBatchAddSkipsUnneededBodies(t *testing.T) {
	is := is.New(t)
	b := newBatch(4)
	r := rec(1, 200)
	r.SkipHistory = true
	is.True(b.Add(r, []byte("GET /_metrics HTTP/1.1\r\n\r\n"), []byte("body")))
	is.True(b.Add(rec(2, 200), []byte("POST /big HTTP/1.1\r\n\r\n"), []byte("12345")))
	for i := range 2 {
		_, bd := b.bytes(i)
		is.Equal(len(bd), 0)
	}
	is.True(!b.slots[1].bodyKept)
}

func TestBatchAddAllocatesNothing(t *testing.T) {
	is := is.New(t)
	b := newBatch(DefaultMaxHistoryBodyBytes)
	head := rawHead("GET /api/mocks?x=1 HTTP/1.1", "Host: localhost:8080", "User-Agent: test", "Accept: */*")
	body := []byte(`{"a":1}`)
	r := rec(42, 200)
	r.RouteKey = "GET /api/mocks"
	allocs := testing.AllocsPerRun(1000, func() {
		if !b.Add(r, head, body) {
			b.reset()
		}
	})
	is.Equal(allocs, 0.0)
}

func BenchmarkBatchAdd(b *testing.B) {
	batch := newBatch(DefaultMaxHistoryBodyBytes)
	head := rawHead("GET /api/mocks?x=1 HTTP/1.1", "Host: localhost:8080", "User-Agent: bench", "Accept: */*")
	r := rec(42, 200)
	b.ReportAllocs()
	for b.Loop() {
		if !batch.Add(r, head, nil) {
			batch.reset()
		}
	}
}

// BenchmarkApplyBatch measures the actor's side: turning a full batch into
// history entries and events.
func BenchmarkApplyBatch(b *testing.B) {
	m := NewModel(Config{})
	batch := newBatch(DefaultMaxHistoryBodyBytes)
	head := rawHead("GET /api/mocks?x=1 HTTP/1.1", "Host: localhost:8080", "User-Agent: bench", "Accept: */*")
	for batch.Add(rec(42, 200), head, nil) {
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.ApplyBatch(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch.Len()), "ns/record")
}
