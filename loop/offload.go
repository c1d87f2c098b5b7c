package loop

import (
	"sync"
	"time"
)

// Offload is the bounded pool that runs blocking handler work (proxy calls, scenario steps,
// disk writes, delays) away from the event loops. A fixed set of goroutines takes functions
// from a bounded queue; Go never blocks and reports false when the queue is full, so the
// caller answers 503 instead of waiting.
type Offload struct {
	// tasks is the queue: buffered, never blocked on (a full queue refuses the task).
	tasks chan func()
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// NewOffload starts workers goroutines with a queue of queue tasks.
func NewOffload(workers, queue int) *Offload {
	o := &Offload{tasks: make(chan func(), queue), quit: make(chan struct{})}
	for i := 0; i < workers; i++ {
		o.wg.Add(1)
		go o.work()
	}
	return o
}

func (o *Offload) work() {
	defer o.wg.Done()
	for {
		select {
		case fn := <-o.tasks:
			fn()
		case <-o.quit:
			return
		}
	}
}

// Go queues fn; false means the pool is saturated or stopped.
func (o *Offload) Go(fn func()) bool {
	select {
	case <-o.quit:
		return false
	default:
	}
	select {
	case o.tasks <- fn:
		return true
	default:
		return false
	}
}

// Stop ends the workers after their current task; queued tasks are dropped. It waits for the
// workers to return.
func (o *Offload) Stop() { o.StopWithin(-1) }

// StopWithin is Stop waiting at most d (d < 0: as long as it takes) and reports whether
// every worker returned; the ones still in a task return when it ends. Work that honours
// the server's lifetime context ends soon after it is cancelled, so the caller cancels that
// first.
func (o *Offload) StopWithin(d time.Duration) bool {
	o.once.Do(func() { close(o.quit) })
	if d < 0 {
		o.wg.Wait()
		return true
	}
	done := make(chan struct{})
	go func() { // ends when the last worker does, even after StopWithin gave up waiting
		o.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
