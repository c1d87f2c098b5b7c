package loop

import "sync"

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
func (o *Offload) Stop() {
	o.once.Do(func() { close(o.quit) })
	o.wg.Wait()
}
