package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
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
	cfg   Config
	log   *slog.Logger
	files fileSet // the state files configured (a non-empty path)
	epoch uint64  // the start epoch (Epoch); set by New, read-only afterwards

	// model is owned by the goroutine running Run (before Run, by New).
	model *Model
	// snap is the current Snapshot: written by the actor, read by anyone.
	snap atomic.Pointer[Snapshot]
	// targetSnap is the current TargetSnapshot: written by the actor, read
	// by anyone.
	targetSnap atomic.Pointer[TargetSnapshot]
	hub        hub

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
	// writeFile does the durable write of one whole file; a test hook
	// (default writeStateFile).
	writeFile func(path string, data []byte) error
	// store is the writer's record of what is on disk, owned by the writer
	// goroutine (before Run, by New).
	store *storeWriter

	// Write state, owned by the Run goroutine.
	writerBusy   bool
	pending      []waiter // admin changes waiting for the next write
	unsaved      fileSet  // files changed since the last write started (or whose write failed)
	historyDirty bool     // history changed since the last write started
	// mockStates is the last mock-states.json handed to the writer (PersistMockState).
	mockStates  []byte
	retry       bool    // the last write failed; try again on the next tick
	failing     fileSet // files whose last write failed, for logging only the transitions
	handedSeq   uint64  // history entries up to this sequence number went to the writer
	handedEpoch uint64  // in this history epoch

	historyDropped   atomic.Uint64
	recordsCaptured  atomic.Uint64
	eventsPublished  atomic.Uint64
	eventsDropped    atomic.Uint64
	persistWrites    atomic.Uint64
	persistFailures  atomic.Uint64
	batchesAllocated atomic.Uint64
}

// fileSet is a set of the actor's state files.
type fileSet uint8

const (
	fileMain      fileSet = 1 << iota // StateFile: mocks and history
	fileScenarios                     // ScenarioFile: scenarios and runs
	fileTargets                       // TargetFile: targets
)

// eachFile lists the files in a fixed order (the order of loading and
// writing).
var eachFile = [...]fileSet{fileMain, fileScenarios, fileTargets}

// path returns the configured path of file f.
func (c *Config) path(f fileSet) string {
	switch f {
	case fileMain:
		return c.StateFile
	case fileScenarios:
		return c.ScenarioFile
	case fileTargets:
		return c.TargetFile
	}
	return ""
}

// request is one request/reply message. fn runs on the actor goroutine; it
// returns the reply value, an error, and whether it changed the state held in
// file (which makes the actor publish that state's snapshot and, when the
// file is configured, reply only once the change is on disk).
type request struct {
	fn    func(m *Model, now time.Time) (v any, e *Error, changed bool)
	file  fileSet       // the state fn may change: exactly one file
	reply chan response // capacity 1
}

type response struct {
	v   any
	err *Error
}

type waiter struct {
	reply chan response
	resp  response
	file  fileSet // the file that must be durable before replying
}

type publication struct {
	typ, traceID string
	payload      json.RawMessage
}

// writeJob is one write of some of the state files. Everything it
// references is immutable (copy-on-write slices of immutable values), so the
// writer may encode it while the actor goes on.
type writeJob struct {
	files        fileSet
	mocks        []*Mock
	history      []HistoryEntry // only the entries new since the last job
	historyEpoch uint64
	scenarios    []*Scenario
	runs         []*RunReport
	targets      []*Target
	mockStates   []byte // mock-states.json to write; nil: unchanged
	waiters      []waiter
}

type writeResult struct {
	files   fileSet
	waiters []waiter
	failed  fileSet
	errs    [len(eachFile)]error // by position in eachFile
}

// err returns the error of file f, or nil.
func (r *writeResult) err(f fileSet) error {
	for i, g := range eachFile {
		if g == f {
			return r.errs[i]
		}
	}
	return nil
}

// firstErr returns the first error of the result, or nil.
func (r *writeResult) firstErr() error {
	for _, err := range r.errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// New builds an Actor: it opens the stores of cfg.StateFile, cfg.ScenarioFile
// and cfg.TargetFile (each when set; see StoreDir), publishes the
// system.health event, the first Snapshot and the first TargetSnapshot. A
// store with a store.json loads from its entry files: an entry file that does
// not load is renamed to <file>.corrupt.<unix-ts> and logged, a bad history
// line is copied to a side file, and the rest loads. A store without one but
// with a file at the flag's path is migrated from it once (that file is kept):
// a corrupt file is set aside and that part starts empty, entries that cannot
// be loaded are copied verbatim to a side file <file>.rejected.<unix-ts>.json
// named in one log line, and New fails when that copy cannot be written. A
// version above this build's is an error (the server must refuse to start).
// Stored entries load whatever the limits on creating are. logger may be nil.
func New(cfg Config, logger *slog.Logger) (*Actor, error) {
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &Actor{
		cfg:       cfg,
		log:       logger,
		model:     NewModel(cfg),
		mailbox:   make(chan request, MailboxSize),
		batches:   make(chan *Batch, BatchQueueSize),
		publishes: make(chan publication, PublishQueueSize),
		free:      make(chan *Batch, FreeBatches),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
		jobs:      make(chan writeJob, 1),
		results:   make(chan writeResult, 1),
		writeFile: writeStateFile,
		store:     newStoreWriter(cfg.HistoryLimit),
	}
	for _, f := range eachFile {
		if cfg.path(f) == "" {
			continue
		}
		a.files |= f
		if err := a.openStore(f); err != nil {
			return nil, err
		}
	}
	// The epoch is set before the first event is rendered: every frame carries it.
	a.epoch = uint64(max(cfg.Now().UnixMilli(), 1))
	a.model.events.epoch = a.epoch
	health, _ := json.Marshal(struct {
		State      string `json:"state"`
		Engine     string `json:"engine"`
		LiveEvents bool   `json:"live_events"`
	}{"server_initialized", cfg.Engine, cfg.LiveEvents})
	a.model.Publish(EventSystemHealth, "", health, cfg.Now())
	a.eventsPublished.Store(a.model.events.latest())
	a.snap.Store(a.model.Snapshot())
	a.targetSnap.Store(a.model.TargetSnapshot())
	return a, nil
}

// Snapshot returns the current immutable Snapshot. It never blocks, takes no
// lock and does not allocate; it works before Run and after the actor stops.
func (a *Actor) Snapshot() *Snapshot { return a.snap.Load() }

// Epoch returns the server's start epoch: the Unix time in milliseconds at which New built
// the actor. Event ids count from 1 in each epoch; SSE frames carry "<epoch>-<id>".
func (a *Actor) Epoch() uint64 { return a.epoch }

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
	if a.files != 0 {
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
			if a.mockStatesChanged() {
				a.unsaved |= fileMain
			}
			if a.historyDirty || a.retry || a.unsaved != 0 {
				a.startWrite()
			}
		}
	}
	a.drainQueued()
	err := a.shutdownWriter()
	if a.files != 0 {
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
		switch req.file {
		case fileMain:
			a.snap.Store(a.model.Snapshot())
		case fileTargets:
			a.targetSnap.Store(a.model.TargetSnapshot())
		}
		if a.files&req.file != 0 {
			a.unsaved |= req.file
			a.pending = append(a.pending, waiter{reply: req.reply, resp: response{v: v}, file: req.file})
			if !a.writerBusy {
				a.startWrite()
			}
			return
		}
	}
	req.reply <- response{v: v, err: e}
}

// startWrite hands the current state of every file with unsaved changes to
// the idle writer, with every pending waiter: several queued changes are
// coalesced into one write per file.
func (a *Actor) startWrite() {
	if a.files == 0 || a.writerBusy {
		return
	}
	if a.files&fileMain == 0 {
		a.historyDirty = false // history lives in memory only
	}
	files := a.unsaved
	if a.historyDirty {
		files |= fileMain
	}
	for _, w := range a.pending {
		files |= w.file
	}
	files &= a.files
	if files == 0 {
		a.retry = false
		return
	}
	job := writeJob{files: files, waiters: a.pending}
	if files&fileMain != 0 {
		h := &a.model.history
		if a.handedEpoch != a.model.historyEpoch {
			a.handedSeq = 0
		}
		job.mocks, job.history, job.historyEpoch = a.model.mocks, h.since(a.handedSeq), a.model.historyEpoch
		if a.cfg.PersistMockState {
			if b := a.model.mockStatesJSON(); !bytes.Equal(b, a.mockStates) {
				job.mockStates, a.mockStates = b, b
			}
		}
		a.handedSeq, a.handedEpoch = h.pushed, a.model.historyEpoch
		a.historyDirty = false
	}
	if files&fileScenarios != 0 {
		job.scenarios, job.runs = a.model.scenarios, a.model.allRuns()
	}
	if files&fileTargets != 0 {
		job.targets = a.model.targets
	}
	a.pending = nil
	a.unsaved = 0
	a.retry = false
	a.writerBusy = true
	a.jobs <- job // never blocks: capacity 1 and the writer is idle
}

// finishWrite acknowledges the waiters of a finished write and starts the
// next one if admin changes are waiting.
func (a *Actor) finishWrite(res writeResult) {
	a.writerBusy = false
	for _, f := range eachFile {
		if res.files&f == 0 {
			continue
		}
		if err := res.err(f); err != nil {
			if f == fileMain {
				a.mockStates = nil // written or not, write it again
			}
			a.persistFailures.Add(1)
			a.retry = true
			a.unsaved |= f
			if a.failing&f == 0 {
				a.log.Error("state file write failed; changes are kept in memory and retried",
					"file", a.cfg.path(f), "error", err.Error())
			}
			a.failing |= f
		} else {
			a.persistWrites.Add(1)
			if a.failing&f != 0 {
				a.log.Info("state file write succeeded again", "file", a.cfg.path(f))
			}
			a.failing &^= f
		}
	}
	for _, w := range res.waiters {
		r := w.resp
		if err := res.err(w.file); err != nil {
			r = response{err: &Error{Kind: KindInternal, Code: CodePersistFailed,
				Message: "the change was applied but could not be saved to disk: " + err.Error(), cause: err}}
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
	if a.files == 0 {
		return nil
	}
	var last writeResult
	wait := func() {
		for a.writerBusy {
			res := <-a.results
			last = res
			a.finishWrite(res)
		}
	}
	wait()
	if a.mockStatesChanged() {
		a.unsaved |= fileMain
	}
	if a.historyDirty || a.retry || a.unsaved != 0 || len(a.pending) > 0 {
		a.startWrite()
		wait()
	}
	if err := last.firstErr(); err != nil {
		var failed []string
		for _, f := range eachFile {
			if last.failed&f != 0 {
				failed = append(failed, a.cfg.path(f))
			}
		}
		return fmt.Errorf("state: final write of %s failed: %w", strings.Join(failed, ", "), err)
	}
	return nil
}

// writerLoop is the writer goroutine: it encodes and writes each file of each
// job and reports the result. It stops when jobs is closed.
func (a *Actor) writerLoop(wg *sync.WaitGroup) {
	defer wg.Done()
	for job := range a.jobs {
		res := writeResult{files: job.files, waiters: job.waiters}
		for i, f := range eachFile {
			if job.files&f == 0 {
				continue
			}
			if err := a.store.writeStore(f, StoreDir(a.cfg.path(f)), &job, a.writeFile); err != nil {
				res.failed |= f
				res.errs[i] = err
			}
		}
		a.results <- res
	}
}

func ctxError(ctx context.Context) *Error {
	err := ctx.Err()
	return &Error{Kind: KindUnavailable, Code: CodeCanceled, Message: "gave up waiting for the state service: " + err.Error(), cause: err}
}

// call sends fn, which may change the mocks, to the actor and waits for its
// reply (see callIn).
func call[T any](ctx context.Context, a *Actor, fn func(m *Model, now time.Time) (T, *Error, bool)) (T, error) {
	return callIn(ctx, a, fileMain, fn)
}

// callIn sends fn, which may change only the state held in file, to the
// actor and waits for its reply, the end of ctx, or the actor stopping
// (KindUnavailable). If ctx ends after the request was sent, the request may
// still be carried out.
func callIn[T any](ctx context.Context, a *Actor, file fileSet, fn func(m *Model, now time.Time) (T, *Error, bool)) (T, error) {
	var zero T
	req := request{
		fn: func(m *Model, now time.Time) (any, *Error, bool) {
			v, e, changed := fn(m, now)
			return v, e, changed
		},
		file:  file,
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

// TrySubmitBatch hands b to the actor when it can take it and reports whether b left the
// caller. true: b now belongs to the actor (queued; or, once the actor has stopped, its
// records dropped, counted in HistoryDropped and b recycled; or b was nil or empty, which
// stays the caller's to reuse) and the caller must not touch a non-empty b again. false: the
// queue is full and the caller still owns b; it may keep adding to it and try again at its
// next wakeup, so a busy actor costs latency, not records; records are only dropped when the
// batch is also full (SubmitBatch).
func (a *Actor) TrySubmitBatch(b *Batch) bool {
	if b == nil || b.n == 0 {
		return true
	}
	select {
	case <-a.done: // checked first: a stopped actor's queue may still have room
		a.SubmitBatch(b) // count and recycle; b is no longer the caller's
		return true
	default:
	}
	select {
	case a.batches <- b:
		return true
	default:
		return false
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
	HistoryBytes     uint64 `json:"history_bytes_written_total"`
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
		HistoryBytes:     a.store.history.written.Load(),
		BatchesAllocated: a.batchesAllocated.Load(),
	}
}
