// Package logwriter is an io.Writer that never blocks its caller: each Write (one log
// record, as log/slog's handlers write them) is copied into a bounded queue and returns at
// once, and one goroutine writes the queue to the real writer, in order. A record the queue
// has no room for is dropped and counted. The server logs through it so that a stderr
// nobody reads cannot stop an event loop.
//
// A Writer is safe for concurrent use. Its goroutine ends when Close has written what was
// queued, or, if the real writer stays blocked, when that writer returns.
package logwriter

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBlocked is what Close returns when the real writer did not take the queue in time.
var ErrBlocked = errors.New("logwriter: the writer is still blocked")

// Writer queues records for one real writer; see the package comment.
type Writer struct {
	out      io.Writer
	maxBytes int

	// wake tells the drainer that records are queued. Capacity 1: a Write that finds it full
	// skips the send, since the drainer is already due to look.
	wake chan struct{}
	stop chan struct{} // closed by Close: the drainer writes what is queued and ends
	done chan struct{} // closed when the drainer has ended

	mu      sync.Mutex
	pending []byte // whole records in order, at most maxBytes; guarded by mu
	records uint64 // how many records pending holds; guarded by mu
	spare   []byte // the drainer's last batch, empty, kept for reuse; guarded by mu
	closed  bool   // guarded by mu

	dropped atomic.Uint64
}

// New starts a Writer that queues at most maxBytes (> 0) of records for out. out is written
// from the Writer's goroutine only, one batch of whole records per call.
func New(out io.Writer, maxBytes int) *Writer {
	w := &Writer{out: out, maxBytes: maxBytes, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.drain()
	return w
}

// Write queues a copy of p as one record and returns len(p), nil at once. When the queue
// has no room for all of p, or the Writer is closed, p is dropped and counted instead.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed || len(w.pending)+len(p) > w.maxBytes {
		w.mu.Unlock()
		w.dropped.Add(1)
		return len(p), nil
	}
	w.pending = append(w.pending, p...)
	w.records++
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Dropped returns how many records were dropped: the queue was full, the Writer was
// closed, or the real writer returned an error for the batch that held them.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Close stops taking records (later Writes are dropped and counted) and waits at most wait
// for the queued ones to be written. It returns ErrBlocked when the real writer did not take
// them in time; they are then written if it ever returns. Calling Close again waits again.
func (w *Writer) Close(wait time.Duration) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.stop)
	}
	w.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.done:
		return nil
	case <-t.C:
		return ErrBlocked
	}
}

// drain is the Writer's goroutine: it writes the queue whenever woken, and once more when
// stopped.
func (w *Writer) drain() {
	defer close(w.done)
	for {
		select {
		case <-w.wake:
			w.writeBatch()
		case <-w.stop:
			w.writeBatch() // Close has shut the queue: nothing is queued after this batch
			return
		}
	}
}

// writeBatch takes everything queued and writes it to out in one call; the queue takes new
// records meanwhile.
func (w *Writer) writeBatch() {
	w.mu.Lock()
	batch, n := w.pending, w.records
	w.pending, w.records, w.spare = w.spare, 0, nil
	w.mu.Unlock()
	if len(batch) > 0 {
		if _, err := w.out.Write(batch); err != nil {
			w.dropped.Add(n)
		}
	}
	w.mu.Lock()
	w.spare = batch[:0]
	w.mu.Unlock()
}
