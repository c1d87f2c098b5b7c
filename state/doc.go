// Package state is the single owner of ownhttp's product state: the mocks,
// the request history ring, the live-event hub, scenarios and their runs,
// proxy targets, and their persistence (three store directories: mocks and
// history, scenarios and runs, targets; one file per entry and a history log).
//
// # Concurrency contract
//
// Model is the pure core. It has no goroutines, does no I/O and never reads
// the clock (methods that stamp a time take a now argument). It is not safe
// for concurrent use: exactly one goroutine owns it.
//
// Actor owns a Model on the goroutine that calls Run, and serves every other
// goroutine by message:
//
//   - Request/reply methods (the mock, history, event, scenario, run and
//     target methods: CreateMock, History, Events, CreateScenario, StartRun,
//     AddRun, CreateTarget, …) block until
//     the actor answers, the caller's context ends (a KindUnavailable
//     "canceled" error) or the actor stops (KindUnavailable "unavailable").
//     Each answer reflects every SubmitBatch and Publish the caller made
//     before asking.
//   - With a StateFile, a mock change is answered only after the entry file
//     holding it is durable (written, fsynced and renamed into place; a
//     deleted entry's file removed and its directory fsynced). The
//     change is applied in memory (and in the Snapshot) first; if the write
//     fails the caller gets KindInternal "persist_failed" and the change is
//     saved by the next successful write.
//   - Capture (NewBatch, Batch.Add, TrySubmitBatch, SubmitBatch) and Publish
//     never block and never wait for the actor: when it is behind, a capture
//     batch keeps filling (TrySubmitBatch), and records and events are dropped
//     and counted only when that is full too (HistoryDropped, Stats).
//   - Snapshot returns the current immutable *Snapshot from an atomic
//     pointer: no lock, no round trip, no allocation. The actor publishes a
//     new Snapshot as soon as it applies a mock change, before answering. A Snapshot and
//     everything reachable from it (its Mocks, their Headers, HeaderLines and
//     BodyBytes) are never modified once published and stay valid for as long
//     as a reader holds them; readers must not modify them either.
//   - Subscriptions (Subscribe) are signalled without blocking after events
//     are published; a slow subscriber is never waited for.
//
// The actor never touches the disk itself: a writer goroutine it feeds does
// every write (an atomic replace: temporary file, fsync, rename, directory
// fsync). It writes only the entries whose (immutable) value changed since
// it last wrote them, so a change costs its own size; queued writes are
// coalesced. History entries captured since the last write are appended to
// the history log at most once per HistoryFlushInterval, and on stop — never
// per request; the log is rewritten when it passes twice HistoryLimit lines
// or the history was cleared.
//
// Lifecycle: New loads the stores (migrating a single-file state once); Run serves until its context ends or
// Interrupt is called (idempotent and non-blocking, as oklog/run expects),
// then flushes to disk, stops the writer, closes every Subscription and
// returns. Every goroutine the package starts (the writer) stops before Run
// returns. There is no package-level mutable state and no init function.
//
// # Files
//
// Each kind (mock, scenario, target) is split the same way: <kind>_decode.go turns a JSON
// payload into a typed input (DecodeMockInput, DecodeScenario, DecodeTarget); <kind>.go holds
// its types, validation and Model methods; actor_<kind>s.go holds the Actor methods that send
// it to the mailbox (actor_mocks.go also carries history, events and the playground state).
// decode.go holds the JSON readers every decoder and the state-file loader share (the API's
// decoders refuse unknown keys, the loader ignores them);
// validate.go the value checks they share (ids, tokens, field values). model.go is the Model
// itself; history.go, events.go (ring, rendered SSE frames, subscriptions) and batch.go
// capture; snapshot.go and pattern.go the hot-path reads; report.go, chaos.go and calls.go
// (a step's expect.calls) run scenarios; store.go reads and writes the store directories and migrates; persist.go reads
// the single-file state of older builds and sets aside what it cannot load; actor.go is the goroutine shell
// (mailbox, queues, writer); config.go and errors.go are shared.
//
// Errors returned by this package are *Error values carrying a Kind (mapped to
// an HTTP status by the caller, in one place) and the client-facing Code and
// Message.
package state
