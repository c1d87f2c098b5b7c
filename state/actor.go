package state

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Queue capacities of the Actor.
const (
	// MailboxSize is the capacity of the request/reply mailbox.
	MailboxSize = 64
	// BatchQueueSize is the capacity of the capture queue, in batches (up to
	// BatchQueueSize*BatchRecords records).
	BatchQueueSize = 64
	// PublishQueueSize is the capacity of the queue of events published by
	// other packages.
	PublishQueueSize = 1024
	// FreeBatches is how many recycled batches are kept for reuse.
	FreeBatches = 2 * BatchQueueSize
)

// Actor owns a Model on one goroutine (Run) and serves everyone else by
// message; see the package documentation for the concurrency contract.
// Create it with New, run it with Run, stop it with Interrupt or by
// cancelling Run's context.
type Actor struct {
	cfg     Config
	log     *slog.Logger
	persist bool // cfg.StateFile != ""

	// model is owned by the goroutine running Run (before Run, by New).
	model *Model
	// snap is the current Snapshot: written by the actor, read by anyone.
	snap atomic.Pointer[Snapshot]
	hub  hub

	// mailbox carries request/reply messages. Policy: senders block until
	// there is room, their context ends or the actor stops; each request's
	// reply channel has capacity 1, so the actor's reply never blocks.
	mailbox chan request
	// batches carries captured records. Policy: SubmitBatch never blocks;
	// when the queue is full the batch's records are dropped and counted
	// (HistoryDropped).
	batches chan *Batch
	// publishes carries events from other packages. Policy: Publish never
	// blocks; when the queue is full the event is dropped and counted
	// (Stats.EventsDropped).
	publishes chan publication
	// free is the free list of recycled batches. Policy: NewBatch takes one
	// without blocking or allocates; a recycled batch is put back without
	// blocking or left to the garbage collector.
	free chan *Batch

	quit     chan struct{} // closed by Interrupt; never sent on
	quitOnce sync.Once
	done     chan struct{} // closed when Run has returned its state to disk; never sent on
	started  atomic.Bool

	// jobs carries write jobs to the writer goroutine. Policy: capacity 1,
	// and the actor sends only while the writer is idle, so it never blocks.
	jobs chan writeJob
	// results carries one result per job back to the actor. Policy:
	// capacity 1, and the actor always receives it (in its loop, or while
	// shutting down), so the writer never blocks for long.
	results chan writeResult
	// writeFile does the durable write; a test hook (default writeFileAtomic).
	writeFile func(path string, data []byte) error

	// Write state, owned by the Run goroutine.
	writerBusy   bool
	pending      []waiter // admin changes waiting for the next write
	historyDirty bool     // history changed since the last write started
	retry        bool     // the last write failed; try again on the next tick
	failing      bool     // for logging only the transitions

	historyDropped   atomic.Uint64
	recordsCaptured  atomic.Uint64
	eventsPublished  atomic.Uint64
	eventsDropped    atomic.Uint64
	persistWrites    atomic.Uint64
	persistFailures  atomic.Uint64
	batchesAllocated atomic.Uint64
}

// request is one request/reply message. fn runs on the actor goroutine; it
// returns the reply value, an error, and whether it changed the mocks (which
// makes the actor publish a Snapshot and, when persisting, reply only once
// the change is on disk).
type request struct {
	fn    func(m *Model, now time.Time) (v any, e *Error, changed bool)
	reply chan response // capacity 1
}

type response struct {
	v   any
	err *Error
}

type waiter struct {
	reply chan response
	resp  response
}

type publication struct {
	typ, traceID string
	payload      json.RawMessage
}

type writeJob struct {
	mocks   []*Mock
	history []HistoryEntry
	waiters []waiter
}

type writeResult struct {
	waiters []waiter
	err     error
}

// New builds an Actor: it loads cfg.StateFile (when set), publishes the
// system.health event and the first Snapshot. A missing file is an empty
// start; an unreadable or corrupt one is renamed to <file>.corrupt.<unix-ts>,
// logged, and replaced by an empty start; a file with a version above
// FileVersion is an error (the server must refuse to start). logger may be
// nil.
func New(cfg Config, logger *slog.Logger) (*Actor, error) {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Actor{
		cfg:       cfg,
		log:       logger,
		persist:   cfg.StateFile != "",
		model:     NewModel(cfg),
		mailbox:   make(chan request, MailboxSize),
		batches:   make(chan *Batch, BatchQueueSize),
		publishes: make(chan publication, PublishQueueSize),
		free:      make(chan *Batch, FreeBatches),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		jobs:      make(chan writeJob, 1),
		results:   make(chan writeResult, 1),
		writeFile: writeFileAtomic,
	}
	if a.persist {
		if err := a.loadFile(); err != nil {
			return nil, err
		}
	}
	health, _ := json.Marshal(struct {
		State      string `json:"state"`
		Engine     string `json:"engine"`
		LiveEvents bool   `json:"live_events"`
	}{"server_initialized", cfg.Engine, cfg.LiveEvents})
	a.model.Publish(EventSystemHealth, "", health, cfg.Now())
	a.eventsPublished.Store(a.model.events.latest())
	a.snap.Store(a.model.Snapshot())
	return a, nil
}

// Snapshot returns the current immutable Snapshot. It never blocks, takes no
// lock and does not allocate; it works before Run and after the actor stops.
func (a *Actor) Snapshot() *Snapshot { return a.snap.Load() }

// Done is closed when Run has returned (state flushed, writer stopped).
func (a *Actor) Done() <-chan struct{} { return a.done }

// Interrupt asks Run to stop. It is idempotent, never blocks, and may be
// called before, during or after Run (fits oklog/run). err is ignored.
func (a *Actor) Interrupt(error) { a.quitOnce.Do(func() { close(a.quit) }) }

// Run serves the actor until ctx ends or Interrupt is called, then writes
// the state one last time (when anything changed since the last write),
// stops the writer goroutine, closes every Subscription and closes Done. It
// returns nil after a clean stop, the error of a failed final write, or an
// error if called twice. Requests made before Run wait for it.
func (a *Actor) Run(ctx context.Context) error {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("state: Actor.Run called twice")
	}
	var writer sync.WaitGroup
	if a.persist {
		writer.Add(1)
		go a.writerLoop(&writer)
	}
	ticker := time.NewTicker(a.cfg.HistoryFlushInterval)
	defer ticker.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-a.quit:
			break loop
		case req := <-a.mailbox:
			// Apply what was captured before the request was sent, so that a
			// goroutine sees its own SubmitBatch/Publish in later queries.
			a.drainQueued()
			a.handle(req)
		case b := <-a.batches:
			a.applyBatch(b)
			a.hub.notifyAll()
		case p := <-a.publishes:
			a.applyPublication(p)
			a.hub.notifyAll()
		case res := <-a.results:
			a.finishWrite(res)
		case <-ticker.C:
			if a.historyDirty || a.retry {
				a.startWrite()
			}
		}
	}
	a.drainQueued()
	err := a.shutdownWriter()
	if a.persist {
		close(a.jobs)
		writer.Wait()
	}
	a.hub.stop()
	close(a.done)
	return err
}

// drainQueued applies the batches and publications already queued (at most
// one queue's capacity of each, so it always ends).
func (a *Actor) drainQueued() {
	n := 0
	for range BatchQueueSize {
		select {
		case b := <-a.batches:
			a.applyBatch(b)
			n++
			continue
		default:
		}
		break
	}
	for range PublishQueueSize {
		select {
		case p := <-a.publishes:
			a.applyPublication(p)
			n++
			continue
		default:
		}
		break
	}
	if n > 0 {
		a.hub.notifyAll()
	}
}

func (a *Actor) applyBatch(b *Batch) {
	entries, _ := a.model.ApplyBatch(b)
	a.recordsCaptured.Add(uint64(b.n))
	a.eventsPublished.Store(a.model.events.latest())
	if entries > 0 {
		a.historyDirty = true
	}
	a.recycle(b)
}

func (a *Actor) applyPublication(p publication) {
	a.model.Publish(p.typ, p.traceID, p.payload, a.cfg.Now())
	a.eventsPublished.Store(a.model.events.latest())
}

func (a *Actor) handle(req request) {
	v, e, changed := req.fn(a.model, a.cfg.Now())
	if changed {
		a.snap.Store(a.model.Snapshot())
		if a.persist {
			a.pending = append(a.pending, waiter{reply: req.reply, resp: response{v: v}})
			if !a.writerBusy {
				a.startWrite()
			}
			return
		}
	}
	req.reply <- response{v: v, err: e}
}

// startWrite hands the current state to the idle writer, with every pending
// waiter: several queued changes are coalesced into one write.
func (a *Actor) startWrite() {
	if !a.persist || a.writerBusy {
		return
	}
	job := writeJob{mocks: a.model.mocks, history: a.model.history.all(), waiters: a.pending}
	a.pending = nil
	a.historyDirty = false
	a.retry = false
	a.writerBusy = true
	a.jobs <- job // never blocks: capacity 1 and the writer is idle
}

// finishWrite acknowledges the waiters of a finished write and starts the
// next one if admin changes are waiting.
func (a *Actor) finishWrite(res writeResult) {
	a.writerBusy = false
	if res.err != nil {
		a.persistFailures.Add(1)
		a.retry = true
		if !a.failing {
			a.log.Error("state file write failed; changes are kept in memory and retried",
				"file", a.cfg.StateFile, "error", res.err.Error())
		}
		a.failing = true
	} else {
		a.persistWrites.Add(1)
		if a.failing {
			a.log.Info("state file write succeeded again", "file", a.cfg.StateFile)
		}
		a.failing = false
	}
	for _, w := range res.waiters {
		r := w.resp
		if res.err != nil {
			r = response{err: &Error{Kind: KindInternal, Code: CodePersistFailed,
				Message: "the change was applied but could not be saved to disk: " + res.err.Error(), cause: res.err}}
		}
		w.reply <- r // capacity 1, one send per request
	}
	if len(a.pending) > 0 {
		a.startWrite()
	}
}

// shutdownWriter waits for the writer to go idle, then writes once more if
// anything is unsaved. It returns the final write's error.
func (a *Actor) shutdownWriter() error {
	if !a.persist {
		return nil
	}
	var last error
	wait := func() {
		for a.writerBusy {
			res := <-a.results
			last = res.err
			a.finishWrite(res)
		}
	}
	wait()
	if a.historyDirty || a.retry || len(a.pending) > 0 {
		a.startWrite()
		wait()
	}
	if last != nil {
		return errors.New("state: final write of " + a.cfg.StateFile + " failed: " + last.Error())
	}
	return nil
}

// writerLoop is the writer goroutine: it encodes and writes each job and
// reports the result. It stops when jobs is closed.
func (a *Actor) writerLoop(wg *sync.WaitGroup) {
	defer wg.Done()
	for job := range a.jobs {
		data, err := encodeState(job.mocks, job.history)
		if err == nil {
			err = a.writeFile(a.cfg.StateFile, data)
		}
		a.results <- writeResult{waiters: job.waiters, err: err}
	}
}

func ctxError(ctx context.Context) *Error {
	err := ctx.Err()
	return &Error{Kind: KindUnavailable, Code: CodeCanceled, Message: "gave up waiting for the state service: " + err.Error(), cause: err}
}

// call sends fn to the actor and waits for its reply, the end of ctx, or the
// actor stopping (KindUnavailable). If ctx ends after the request was sent,
// the request may still be carried out.
func call[T any](ctx context.Context, a *Actor, fn func(m *Model, now time.Time) (T, *Error, bool)) (T, error) {
	var zero T
	req := request{
		fn: func(m *Model, now time.Time) (any, *Error, bool) {
			v, e, changed := fn(m, now)
			return v, e, changed
		},
		reply: make(chan response, 1),
	}
	select {
	case <-a.done:
		return zero, errUnavailable()
	default:
	}
	select {
	case a.mailbox <- req:
	case <-ctx.Done():
		return zero, ctxError(ctx)
	case <-a.done:
		return zero, errUnavailable()
	}
	var r response
	select {
	case r = <-req.reply:
	case <-ctx.Done():
		return zero, ctxError(ctx)
	case <-a.done:
		select {
		case r = <-req.reply:
		default:
			return zero, errUnavailable()
		}
	}
	if r.err != nil {
		return zero, r.err
	}
	v, _ := r.v.(T)
	return v, nil
}

// CreateMock validates and stores a mock (see Model.CreateMock for errors).
// With a StateFile it returns only once the mock is on disk; if that write
// fails the error is KindInternal persist_failed, and the mock stays in
// memory (and in the Snapshot) and is saved by the next successful write.
func (a *Actor) CreateMock(ctx context.Context, in MockInput) (Mock, error) {
	return call(ctx, a, func(m *Model, now time.Time) (Mock, *Error, bool) {
		x, e := m.CreateMock(in, now)
		if e != nil {
			return Mock{}, e, false
		}
		return *x, nil, true
	})
}

// UpdateMock applies a partial update (see Model.UpdateMock); durability as
// for CreateMock.
func (a *Actor) UpdateMock(ctx context.Context, id string, in MockInput) (Mock, error) {
	return call(ctx, a, func(m *Model, now time.Time) (Mock, *Error, bool) {
		x, e := m.UpdateMock(id, in, now)
		if e != nil {
			return Mock{}, e, false
		}
		return *x, nil, true
	})
}

// DeleteMock removes a mock (not_found if absent); durability as for
// CreateMock.
func (a *Actor) DeleteMock(ctx context.Context, id string) error {
	_, err := call(ctx, a, func(m *Model, _ time.Time) (struct{}, *Error, bool) {
		if e := m.DeleteMock(id); e != nil {
			return struct{}{}, e, false
		}
		return struct{}{}, nil, true
	})
	return err
}

// GetMock returns a mock by id (not_found if absent).
func (a *Actor) GetMock(ctx context.Context, id string) (Mock, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (Mock, *Error, bool) {
		x, ok := m.Mock(id)
		if !ok {
			return Mock{}, newErr(KindNotFound, CodeNotFound, msgMockNF), false
		}
		return *x, nil, false
	})
}

// ListMocks returns the mocks in insertion order (never nil).
func (a *Actor) ListMocks(ctx context.Context) ([]Mock, error) {
	return call(ctx, a, func(m *Model, _ time.Time) ([]Mock, *Error, bool) {
		out := make([]Mock, len(m.mocks))
		for i, x := range m.mocks {
			out[i] = *x
		}
		return out, nil, false
	})
}

// History returns the filtered history, oldest first (see Model.History).
func (a *Actor) History(ctx context.Context, f HistoryFilter) ([]HistoryEntry, error) {
	return call(ctx, a, func(m *Model, _ time.Time) ([]HistoryEntry, *Error, bool) {
		h, e := m.History(f)
		return h, e, false
	})
}

// HistoryEntry returns the most recent entry with the given request id, for
// replay (not_found "request id not found" if absent). An entry whose
// ReplayInput is nil cannot be replayed.
func (a *Actor) HistoryEntry(ctx context.Context, requestID string) (HistoryEntry, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (HistoryEntry, *Error, bool) {
		e, err := m.HistoryEntry(requestID)
		return e, err, false
	})
}

// Events returns a page of events (see Model.Events and EventPage). The
// caller may keep the page; it shares nothing mutable with the actor.
func (a *Actor) Events(ctx context.Context, since uint64, limit int, topics []string) (EventPage, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (EventPage, *Error, bool) {
		return m.Events(since, limit, topics), nil, false
	})
}

// PlaygroundState returns {"version":1,"mocks":[…],"history":[…]}.
func (a *Actor) PlaygroundState(ctx context.Context) (PlaygroundState, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (PlaygroundState, *Error, bool) {
		return m.PlaygroundState(), nil, false
	})
}

// Publish queues an event of type typ (e.g. "scenario.run.started") with
// payload marshalled to JSON on the caller's goroutine (nil means {}); the
// actor stamps its id and time. It never blocks: it returns false when the
// event was dropped (queue full, actor stopped, or payload not marshallable),
// and counts the drop.
func (a *Actor) Publish(typ, traceID string, payload any) bool {
	var raw json.RawMessage
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil || len(b) == 0 || b[0] != '{' {
			a.eventsDropped.Add(1)
			return false
		}
		raw = b
	}
	select {
	case <-a.done:
		a.eventsDropped.Add(1)
		return false
	default:
	}
	select {
	case a.publishes <- publication{typ: typ, traceID: traceID, payload: raw}:
		return true
	default:
		a.eventsDropped.Add(1)
		return false
	}
}

// Subscribe registers for event notifications (see Subscription). Call
// Unsubscribe when done. After the actor stops, the channel is closed.
func (a *Actor) Subscribe() *Subscription {
	return a.hub.add()
}

// NewBatch returns an empty Batch, recycled when possible; it allocates only
// when the free list is empty. It never blocks.
func (a *Actor) NewBatch() *Batch {
	select {
	case b := <-a.free:
		return b
	default:
		a.batchesAllocated.Add(1)
		return newBatch(a.cfg.MaxHistoryBodyBytes)
	}
}

// SubmitBatch hands b to the actor, which turns its records into history
// entries and request.completed events. It never blocks: when the capture
// queue is full (or the actor has stopped) the batch's records are dropped
// and counted in HistoryDropped, and it returns false. Either way the batch
// now belongs to the actor and is recycled: the caller must not touch it
// again.
func (a *Actor) SubmitBatch(b *Batch) bool {
	if b == nil {
		return true
	}
	if b.n == 0 {
		a.recycle(b)
		return true
	}
	select {
	case <-a.done:
	default:
		select {
		case a.batches <- b:
			return true
		default:
		}
	}
	a.historyDropped.Add(uint64(b.n))
	a.recycle(b)
	return false
}

func (a *Actor) recycle(b *Batch) {
	b.reset()
	select {
	case a.free <- b:
	default:
	}
}

// HistoryDropped returns how many captured records were dropped because the
// capture queue was full or the actor had stopped.
func (a *Actor) HistoryDropped() uint64 { return a.historyDropped.Load() }

// Stats are the actor's counters, read with atomic loads (no lock, no round
// trip).
type Stats struct {
	HistoryDropped   uint64 `json:"history_dropped_total"`
	RecordsCaptured  uint64 `json:"records_captured_total"`
	EventsPublished  uint64 `json:"events_published_total"`
	EventsDropped    uint64 `json:"events_dropped_total"`
	PersistWrites    uint64 `json:"state_writes_total"`
	PersistFailures  uint64 `json:"state_write_failures_total"`
	BatchesAllocated uint64 `json:"capture_batches_allocated_total"`
}

// Stats returns the current counters.
func (a *Actor) Stats() Stats {
	return Stats{
		HistoryDropped:   a.historyDropped.Load(),
		RecordsCaptured:  a.recordsCaptured.Load(),
		EventsPublished:  a.eventsPublished.Load(),
		EventsDropped:    a.eventsDropped.Load(),
		PersistWrites:    a.persistWrites.Load(),
		PersistFailures:  a.persistFailures.Load(),
		BatchesAllocated: a.batchesAllocated.Load(),
	}
}
