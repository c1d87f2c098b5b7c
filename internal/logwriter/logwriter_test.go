package logwriter

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
)

// sink is a real writer that records what it is given; with gate set, each Write first
// announces itself on entered and then waits for gate.
type sink struct {
	entered chan struct{}
	gate    chan struct{}
	err     error

	mu  sync.Mutex
	buf bytes.Buffer
	n   int // Write calls
}

func (s *sink) Write(p []byte) (int, error) {
	if s.gate != nil {
		s.entered <- struct{}{}
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.err != nil {
		return 0, s.err
	}
	return s.buf.Write(p)
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func record(i int) string { return fmt.Sprintf("record %04d\n", i) }

// Records reach the real writer whole and in the order they were written, and Close
// writes what is still queued.
func TestOrderKeptAndCloseFlushes(t *testing.T) {
	is := is.New(t)
	out := &sink{}
	w := New(out, 1<<20)
	var want bytes.Buffer
	for i := range 5000 {
		n, err := w.Write([]byte(record(i)))
		is.NoErr(err)
		is.Equal(n, len(record(i)))
		want.WriteString(record(i))
	}
	is.NoErr(w.Close(10 * time.Second)) // bounded: a writer that keeps up is done at once
	is.Equal(out.String(), want.String())
	is.Equal(w.Dropped(), uint64(0))
}

// While the real writer blocks, Write still returns at once: the queue takes records up to
// its bound and drops (and counts) the rest. The records queued are written once the writer
// returns, in order; the dropped ones never are.
func TestDropsCountedWhenWriterBlocks(t *testing.T) {
	is := is.New(t)
	out := &sink{entered: make(chan struct{}), gate: make(chan struct{})}
	size := len(record(0))
	w := New(out, 10*size) // ten records
	w.Write([]byte(record(0)))
	<-out.entered // the drainer took record 0 and is blocked writing it

	for i := 1; i <= 25; i++ {
		n, err := w.Write([]byte(record(i)))
		is.NoErr(err)
		is.Equal(n, size)
	}
	is.Equal(w.Dropped(), uint64(15)) // records 11 to 25: no room

	go func() {
		for range out.entered { // let every later batch through
		}
	}()
	close(out.gate)
	is.NoErr(w.Close(10 * time.Second))
	close(out.entered)
	var want bytes.Buffer
	for i := 0; i <= 10; i++ {
		want.WriteString(record(i))
	}
	is.Equal(out.String(), want.String()) // records 0 to 10, in order
}

// Close is bounded when the real writer stays blocked (ErrBlocked), takes no more records,
// and the goroutine still ends once the writer returns, after writing what was queued.
func TestCloseBoundedWhenWriterBlocks(t *testing.T) {
	is := is.New(t)
	out := &sink{entered: make(chan struct{}, 2), gate: make(chan struct{})}
	w := New(out, 1<<10)
	w.Write([]byte(record(0)))
	<-out.entered
	w.Write([]byte(record(1)))
	is.True(errors.Is(w.Close(time.Millisecond), ErrBlocked))
	w.Write([]byte(record(2)))
	is.Equal(w.Dropped(), uint64(1)) // written after Close
	close(out.gate)
	<-w.done
	is.Equal(out.String(), record(0)+record(1))
	is.NoErr(w.Close(time.Millisecond)) // done now
}

// A batch the real writer refuses counts each of its records as dropped.
func TestWriterErrorCountsDropped(t *testing.T) {
	is := is.New(t)
	out := &sink{entered: make(chan struct{}, 1), gate: make(chan struct{}), err: errors.New("broken pipe")}
	w := New(out, 1<<10)
	w.Write([]byte(record(0)))
	<-out.entered // record 0 is in the first batch
	w.Write([]byte(record(1)))
	w.Write([]byte(record(2)))
	close(out.gate)
	is.NoErr(w.Close(10 * time.Second))
	is.Equal(w.Dropped(), uint64(3)) // both batches refused: 1 + 2 records
}

// Writes from many goroutines are each kept whole.
func TestConcurrentWritesStayWhole(t *testing.T) {
	is := is.New(t)
	out := &sink{}
	w := New(out, 1<<20)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				w.Write([]byte(record(g*1000 + i)))
			}
		})
	}
	wg.Wait()
	is.NoErr(w.Close(10 * time.Second))
	lines := bytes.Split(bytes.TrimSuffix([]byte(out.String()), []byte("\n")), []byte("\n"))
	is.Equal(len(lines), 8*200)
	seen := map[string]bool{}
	last := map[int]int{}
	for _, l := range lines {
		var n int
		_, err := fmt.Sscanf(string(l), "record %d", &n)
		is.NoErr(err) // a whole record
		is.True(!seen[string(l)])
		seen[string(l)] = true
		g, i := n/1000, n%1000
		if prev, ok := last[g]; ok {
			is.True(i > prev) // each goroutine's records in its order
		}
		last[g] = i
	}
}
