package features

import (
	"context"
	"sync"
	"sync/atomic"

	"ownhttp/state"
)

// The journal barrier (issue #14): a count of the requests in the journal taken right after
// a request was answered must include that request, and whatever the request caused (a
// request the server sent to itself, through its playground, replay or proxy, while
// answering it).
//
// Why it is needed. History is fire-and-forget: each event loop's observer (observe.go)
// adds a finished exchange to its batch when the response is rendered, before the bytes are
// written, but hands the batch to the state actor only at the end of the loop's wakeup (the
// pool engine: after each input), and not at all while the actor's capture queue is full
// (the batch then waits for the loop's next wakeup, at most a sweep interval away). So a
// client, or the scenario runner, can hold a response whose record is still in a loop's
// batch: a History call made then could miss it.
//
// The guarantee. Each observer counts the batches it started (filled, when the first record
// goes into an empty batch) and the batches it handed to the actor (handed: queued, or, when
// the queue is full and the batch too, dropped and counted in HistoryDropped). The barrier
// reads every observer's filled, then waits until each one's handed has reached it: every
// record added before the barrier began is then in the actor's queue (or applied). The
// actor applies everything queued before it serves a mailbox request (state.Actor.Run), so
// the History call that follows sees those records. A response reaches its client only
// after its record was added (conn observes an exchange before its bytes go out), so every
// exchange answered before the barrier began is counted: the runner's step, and what the
// step's handler caused while it was being answered. The exceptions: responses that are
// files or streams are observed once their last byte has been written, so one may still be
// on its way; and records that history dropped (a full queue) are never there.
//
// Waiting is on a channel, never on a timer: an observer that hands a batch while a barrier
// waits closes the current channel (one atomic load per wakeup when nobody waits). A loop
// hands its batch at the end of the wakeup it is in, so the wait is short; it is bounded by
// the caller's context.

// captureSync is the journal barrier's state: the observers, and the channel barriers wait
// on.
type captureSync struct {
	mu        sync.Mutex
	observers []*loopObserver // append-only (engines are built once)
	// changed is closed, then replaced, when an observer hands a batch while a barrier
	// waits. Policy: never sent on; closing never blocks.
	changed chan struct{}
	waiting atomic.Int32 // barriers waiting
}

// add registers an observer.
func (c *captureSync) add(o *loopObserver) {
	c.mu.Lock()
	c.observers = append(c.observers, o)
	c.mu.Unlock()
}

// handed tells waiting barriers that an observer handed a batch (its handed count is
// already updated). Called on the observer's owner goroutine; it never blocks for long.
func (c *captureSync) handed() {
	if c.waiting.Load() == 0 {
		return
	}
	c.mu.Lock()
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
	c.mu.Unlock()
}

// wait returns once every record added to an observer's batch before the call has been
// handed to the state actor, or with ctx's error.
func (c *captureSync) wait(ctx context.Context) error {
	c.mu.Lock()
	obs := c.observers
	c.mu.Unlock()
	want := make([]uint64, len(obs))
	for i, o := range obs {
		want[i] = o.filled.Load()
	}
	c.waiting.Add(1) // before the first check: a hand-off after it will close the channel
	defer c.waiting.Add(-1)
	for {
		c.mu.Lock()
		if c.changed == nil {
			c.changed = make(chan struct{})
		}
		ch := c.changed
		c.mu.Unlock()
		done := true
		for i, o := range obs {
			if o.handed.Load() < want[i] {
				done = false
				break
			}
		}
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// journal returns a copy of the request journal (the history, oldest first) that holds
// every exchange answered before the call (see the barrier above). POST
// /api/requests/count and /find and the scenario runner's expect.calls read it.
func (a *App) journal(ctx context.Context, st *state.Actor) ([]state.HistoryEntry, error) {
	if err := a.capture.wait(ctx); err != nil {
		return nil, labErr(state.KindUnavailable, state.CodeCanceled, "gave up waiting for the history to catch up: "+err.Error())
	}
	return st.History(ctx, state.HistoryFilter{})
}
