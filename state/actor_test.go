package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
)

// waitLimit bounds every wait in these tests; reaching it is a failure, not
// a timing assertion.
const waitLimit = 10 * time.Second

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// startActor runs a on a goroutine and returns a function that stops it and
// returns Run's error. Cleanup stops it too.
func startActor(t *testing.T, a *Actor) (stop func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- a.Run(context.Background()) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			a.Interrupt(nil)
			select {
			case err = <-errc:
			case <-time.After(waitLimit):
				t.Fatal("actor did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func actorConfig(t *testing.T) Config {
	cfg := testConfig()
	cfg.StateFile = filepath.Join(t.TempDir(), "data", "server_state.json")
	return cfg
}

func newActor(t *testing.T, cfg Config) *Actor {
	t.Helper()
	a, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func decode(t *testing.T, body string) MockInput {
	t.Helper()
	in, e := DecodeMockInput([]byte(body))
	if e != nil {
		t.Fatal(e)
	}
	return in
}

// readState reads the main store of state flag path as it is on disk.
func readState(t *testing.T, path string) PlaygroundState {
	t.Helper()
	dir := StoreDir(path)
	return PlaygroundState{Version: storeVersion(t, dir),
		Mocks: readEntryFiles[Mock](t, filepath.Join(dir, "mocks"), "created_at"), History: readHistoryLog(t, dir)}
}

func submit(t *testing.T, a *Actor, recs ...Record) {
	t.Helper()
	b := a.NewBatch()
	for _, r := range recs {
		if !b.Add(r, rawHead(fmt.Sprintf("GET /r/%d HTTP/1.1", r.TraceID), "Host: h"), nil) {
			t.Fatal("batch full")
		}
	}
	if !a.SubmitBatch(b) {
		t.Fatal("batch dropped")
	}
}

func TestActorCreateIsDurableAndVisible(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)

	x, err := a.CreateMock(ctx, decode(t, `{"method":"GET","path_pattern":"/users","status":201,"body":"hi"}`))
	is.NoErr(err)
	is.Equal(x.ID, "0001020304")
	// Visible to hot-path readers as soon as the call returns.
	got, ok := a.Snapshot().MatchMock([]byte("GET"), []byte("/users"), nil)
	is.True(ok)
	is.Equal(got.ID, x.ID)
	is.Equal(string(got.BodyBytes), "hi")
	// And already on disk (no kill -9 window).
	ps := readState(t, cfg.StateFile)
	is.Equal(ps.Version, StoreVersion)
	is.Equal(len(ps.Mocks), 1)
	is.Equal(ps.Mocks[0].ID, x.ID)
	entries, err := os.ReadDir(filepath.Dir(cfg.StateFile))
	is.NoErr(err)
	for _, e := range entries {
		is.True(!strings.HasSuffix(e.Name(), ".tmp")) // no temporary left behind
	}

	y, err := a.UpdateMock(ctx, x.ID, decode(t, `{"status":202}`))
	is.NoErr(err)
	is.Equal(y.Status, 202)
	is.Equal(readState(t, cfg.StateFile).Mocks[0].Status, 202)
	g, err := a.GetMock(ctx, x.ID)
	is.NoErr(err)
	is.Equal(g.Status, 202)
	list, err := a.ListMocks(ctx)
	is.NoErr(err)
	is.Equal(len(list), 1)

	is.NoErr(a.DeleteMock(ctx, x.ID))
	is.Equal(len(readState(t, cfg.StateFile).Mocks), 0)
	_, ok = a.Snapshot().MatchMock([]byte("GET"), []byte("/users"), nil)
	is.True(!ok)

	_, err = a.GetMock(ctx, x.ID)
	is.Equal(KindOf(err), KindNotFound)
	err = a.DeleteMock(ctx, x.ID)
	is.Equal(KindOf(err), KindNotFound)
	_, err = a.CreateMock(ctx, decode(t, `{"method":"GET","path_pattern":"/"}`))
	var se *Error
	is.True(errors.As(err, &se))
	is.Equal(*se, Error{Kind: KindForbidden, Code: CodeInvalidMock, Message: msgReserved})
	is.Equal(a.Stats().PersistWrites, uint64(3)) // create, update, delete; errors write nothing
}

func TestActorInMemoryWithoutStateFile(t *testing.T) {
	is := is.New(t)
	a := newActor(t, testConfig())
	startActor(t, a)
	_, err := a.CreateMock(testCtx(t), decode(t, mockJSON("GET", "/m")))
	is.NoErr(err)
	is.Equal(a.Snapshot().Len(), 1)
	is.Equal(a.Stats().PersistWrites, uint64(0))
}

func TestActorCaptureMakesHistoryAndEvents(t *testing.T) {
	is := is.New(t)
	a := newActor(t, actorConfig(t))
	startActor(t, a)
	ctx := testCtx(t)

	r := rec(1, 200)
	skip := rec(2, 200)
	skip.SkipHistory = true
	submit(t, a, r, skip)

	// SubmitBatch happens before History is asked: the answer includes it.
	h, err := a.History(ctx, HistoryFilter{})
	is.NoErr(err)
	is.Equal(len(h), 1)
	is.Equal(h[0].Path, "/r/1")
	e, err := a.HistoryEntry(ctx, "0000000000000001")
	is.NoErr(err)
	is.Equal(e.ReplayInput.Headers["host"], "h")
	_, err = a.History(ctx, HistoryFilter{FromTS: "bad"})
	is.Equal(KindOf(err), KindInvalid)

	p, err := a.Events(ctx, 0, 10, nil)
	is.NoErr(err)
	is.Equal(len(p.Events), 3)
	is.Equal(p.Events[0].Type, EventSystemHealth)
	is.Equal(p.Events[0].ID, uint64(1))
	is.Equal(string(p.Events[0].Payload), `{"state":"server_initialized","engine":"reactor","live_events":false}`)
	is.Equal(p.Events[1].Type, EventRequestCompleted)
	is.Equal(p.Events[2].TraceID, "0000000000000002") // SkipHistory still publishes

	is.True(a.Publish("scenario.run.started", "", map[string]any{"scenario_id": "s1", "seed": 5}))
	is.True(!a.Publish("bad", "", []int{1})) // payload must be an object
	p, err = a.Events(ctx, 3, 10, []string{"scenario.run.started"})
	is.NoErr(err)
	is.Equal(len(p.Events), 1)
	is.Equal(string(p.Events[0].Payload), `{"scenario_id":"s1","seed":5}`)

	ps, err := a.PlaygroundState(ctx)
	is.NoErr(err)
	is.Equal(ps.Version, 1)
	is.Equal(len(ps.History), 1)
	st := a.Stats()
	is.Equal(st.RecordsCaptured, uint64(2))
	is.Equal(st.EventsPublished, uint64(4))
	is.Equal(st.EventsDropped, uint64(1))
}

func TestActorDropsWhenCaptureQueueFull(t *testing.T) {
	is := is.New(t)
	a := newActor(t, testConfig())
	// Not running yet: the queue fills up and stays full.
	for i := range BatchQueueSize {
		submit(t, a, rec(uint64(i+1), 200))
	}
	b := a.NewBatch()
	is.True(b.Add(rec(1000, 200), rawHead("GET /x HTTP/1.1"), nil))
	is.True(b.Add(rec(1001, 200), rawHead("GET /y HTTP/1.1"), nil))
	is.True(!a.SubmitBatch(b))
	is.Equal(a.HistoryDropped(), uint64(2))
	is.Equal(a.Stats().HistoryDropped, uint64(2))

	// Once running, the queued batches are applied and recycled.
	startActor(t, a)
	h, err := a.History(testCtx(t), HistoryFilter{})
	is.NoErr(err)
	is.Equal(len(h), BatchQueueSize)
	// Recycled batches are reused instead of allocated.
	allocated := a.Stats().BatchesAllocated
	b = a.NewBatch()
	is.Equal(b.Len(), 0)
	is.Equal(a.Stats().BatchesAllocated, allocated)
}

func TestActorPublishDropsWhenQueueFull(t *testing.T) {
	is := is.New(t)
	a := newActor(t, testConfig()) // not running
	for range PublishQueueSize {
		is.True(a.Publish("x", "", nil))
	}
	is.True(!a.Publish("x", "", nil))
	is.Equal(a.Stats().EventsDropped, uint64(1))
}

func TestActorPersistFailure(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	// Make the parent directory impossible to create: a file sits there.
	is.NoErr(os.WriteFile(filepath.Dir(cfg.StateFile), []byte("x"), 0o600))
	stop := startActor(t, a)

	_, err := a.CreateMock(testCtx(t), decode(t, mockJSON("GET", "/p")))
	var se *Error
	is.True(errors.As(err, &se))
	is.Equal(se.Kind, KindInternal)
	is.Equal(se.Code, CodePersistFailed)
	is.True(errors.Unwrap(se) != nil)
	// The change is kept in memory and retried.
	is.Equal(a.Snapshot().Len(), 1)
	is.Equal(a.Stats().PersistFailures, uint64(1))
	is.True(stop() != nil) // the final write fails too, and Run says so
}

func TestActorCoalescesQueuedWrites(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	entered := make(chan struct{}, 10)
	release := make(chan struct{})
	var mu sync.Mutex
	var writes []string // the mock files written, in order
	var first sync.Once
	a.writeFile = func(path string, data []byte) error {
		first.Do(func() {
			entered <- struct{}{}
			<-release
		})
		var m Mock
		if err := json.Unmarshal(data, &m); err != nil {
			return err
		}
		mu.Lock()
		writes = append(writes, m.PathPattern)
		mu.Unlock()
		return writeStateFile(path, data)
	}
	startActor(t, a)
	ctx := testCtx(t)

	errs := make(chan error, 4)
	go func() { _, err := a.CreateMock(ctx, decode(t, mockJSON("GET", "/0"))); errs <- err }()
	<-entered // the first write is in progress and blocked
	for i := 1; i <= 3; i++ {
		go func() { _, err := a.CreateMock(ctx, decode(t, mockJSON("GET", fmt.Sprintf("/%d", i)))); errs <- err }()
	}
	// Wait until all three are applied in memory (and queued for writing).
	deadline := time.Now().Add(waitLimit)
	for a.Snapshot().Len() < 4 {
		if time.Now().After(deadline) {
			t.Fatal("mocks not applied")
		}
		time.Sleep(time.Millisecond) // polling, not an assertion
	}
	close(release)
	for range 4 {
		is.NoErr(<-errs)
	}
	mu.Lock()
	defer mu.Unlock()
	is.Equal(len(writes), 4)                     // each mock written once: the first is not written again
	is.Equal(writes[0], "/0")                    //
	is.Equal(a.Stats().PersistWrites, uint64(2)) // three queued changes, one write
	is.Equal(len(readState(t, cfg.StateFile).Mocks), 4)
}

func TestActorFlushesHistoryOnStop(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	cfg.HistoryFlushInterval = time.Hour // only the stop flush can write it
	a := newActor(t, cfg)
	stop := startActor(t, a)
	submit(t, a, rec(1, 200), rec(2, 404))
	_, err := a.History(testCtx(t), HistoryFilter{}) // barrier: the batch is applied
	is.NoErr(err)
	_, err = os.Stat(cfg.StateFile)
	is.True(errors.Is(err, os.ErrNotExist)) // never written per request
	is.NoErr(stop())
	ps := readState(t, cfg.StateFile)
	is.Equal(len(ps.History), 2)
	is.Equal(ps.History[1].Status, 404)

	// A new actor on the same file starts with that history.
	b := newActor(t, cfg)
	startActor(t, b)
	h, err := b.History(testCtx(t), HistoryFilter{})
	is.NoErr(err)
	is.Equal(len(h), 2)
}

func TestActorFlushesHistoryPeriodically(t *testing.T) {
	cfg := actorConfig(t)
	cfg.HistoryFlushInterval = 10 * time.Millisecond
	a := newActor(t, cfg)
	startActor(t, a)
	submit(t, a, rec(1, 200))
	deadline := time.Now().Add(waitLimit)
	for {
		// The file is renamed into place before the write is counted: wait for both.
		data, err := os.ReadFile(filepath.Join(StoreDir(cfg.StateFile), historyLog))
		if err == nil && strings.Contains(string(data), "0000000000000001") && a.Stats().PersistWrites >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history never flushed (file read: %v; %d writes counted)", err, a.Stats().PersistWrites)
		}
		time.Sleep(5 * time.Millisecond) // polling, not an assertion
	}
}

func TestActorCorruptFileIsSetAside(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	is.NoErr(os.MkdirAll(filepath.Dir(cfg.StateFile), 0o755))
	is.NoErr(os.WriteFile(cfg.StateFile, []byte(`{"version":1,"mocks":{}}`), 0o600))
	a := newActor(t, cfg)
	is.Equal(a.Snapshot().Len(), 0)
	backup := fmt.Sprintf("%s.corrupt.%d", cfg.StateFile, t0.Unix())
	data, err := os.ReadFile(backup)
	is.NoErr(err)
	is.Equal(string(data), `{"version":1,"mocks":{}}`)
	_, err = os.Stat(cfg.StateFile)
	is.True(errors.Is(err, os.ErrNotExist))
}

func TestActorRefusesNewerFileVersion(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	is.NoErr(os.MkdirAll(filepath.Dir(cfg.StateFile), 0o755))
	is.NoErr(os.WriteFile(cfg.StateFile, []byte(`{"version":2,"mocks":[],"history":[]}`), 0o600))
	a, err := New(cfg, nil)
	is.True(a == nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "version 2"))
	// The file is left alone.
	data, _ := os.ReadFile(cfg.StateFile)
	is.Equal(string(data), `{"version":2,"mocks":[],"history":[]}`)
}

func TestActorLoadsExistingState(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	is.NoErr(os.MkdirAll(filepath.Dir(cfg.StateFile), 0o755))
	is.NoErr(os.WriteFile(cfg.StateFile, []byte(`{"version":1,"mocks":[
		{"id":"keep","method":"GET","path_pattern":"/k","status":200},
		{"id":"skip","method":"GET","path_pattern":"/k"}],"history":[]}`), 0o600))
	a := newActor(t, cfg)
	m, ok := a.Snapshot().MockByID("keep")
	is.True(ok)
	is.Equal(m.PathPattern, "/k")
	is.Equal(a.Snapshot().Len(), 1)
}

func TestActorSubscriptionNotify(t *testing.T) {
	is := is.New(t)
	a := newActor(t, testConfig())
	stop := startActor(t, a)
	sub := a.Subscribe()
	other := a.Subscribe()
	other.Unsubscribe()
	other.Unsubscribe() // idempotent

	is.True(a.Publish("x", "", nil))
	select {
	case _, ok := <-sub.Notify():
		is.True(ok)
	case <-time.After(waitLimit):
		t.Fatal("no notification")
	}
	// Many publications while nobody reads: at most one pending signal, and
	// the actor never waits for the subscriber.
	for range 50 {
		submit(t, a, rec(1, 200))
	}
	_, err := a.Events(testCtx(t), 0, 1, nil) // barrier
	is.NoErr(err)
	is.Equal(len(sub.Notify()), 1)
	select {
	case <-other.Notify():
		t.Fatal("unsubscribed but notified")
	default:
	}

	is.NoErr(stop())
	<-sub.Notify() // drain the pending signal
	_, ok := <-sub.Notify()
	is.True(!ok) // closed on stop
	_, ok = <-a.Subscribe().Notify()
	is.True(!ok) // born closed after stop
}

func TestActorStopped(t *testing.T) {
	is := is.New(t)
	a := newActor(t, testConfig())
	stop := startActor(t, a)
	is.NoErr(stop())
	<-a.Done()
	ctx := testCtx(t)
	_, err := a.CreateMock(ctx, decode(t, mockJSON("GET", "/x")))
	is.Equal(KindOf(err), KindUnavailable)
	_, err = a.History(ctx, HistoryFilter{})
	is.Equal(KindOf(err), KindUnavailable)
	_, err = a.Events(ctx, 0, 1, nil)
	is.Equal(KindOf(err), KindUnavailable)
	is.True(!a.Publish("x", "", nil))
	b := a.NewBatch()
	is.True(b.Add(rec(1, 200), nil, nil))
	is.True(!a.SubmitBatch(b))
	is.Equal(a.HistoryDropped(), uint64(1))
	is.True(a.Snapshot() != nil) // still readable
	is.True(a.Run(context.Background()) != nil)
	a.Interrupt(nil) // idempotent
}

func TestActorContextCancelled(t *testing.T) {
	is := is.New(t)
	a := newActor(t, testConfig()) // never run: requests wait
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.ListMocks(ctx)
	var se *Error
	is.True(errors.As(err, &se))
	is.Equal(se.Kind, KindUnavailable)
	is.Equal(se.Code, CodeCanceled)
	is.True(errors.Is(err, context.Canceled))
}

func TestActorRunStopsWithContext(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	_, err := a.CreateMock(testCtx(t), decode(t, mockJSON("GET", "/c")))
	is.NoErr(err)
	cancel()
	select {
	case err := <-errc:
		is.NoErr(err)
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
	}
	is.Equal(len(readState(t, cfg.StateFile).Mocks), 1)
}

// TestActorConcurrentUse exercises every entry point from many goroutines,
// for the race detector.
func TestActorConcurrentUse(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	cfg.HistoryFlushInterval = 5 * time.Millisecond
	a := newActor(t, cfg)
	stop := startActor(t, a)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			sub := a.Subscribe()
			defer sub.Unsubscribe()
			for i := range 30 {
				b := a.NewBatch()
				for j := range 20 {
					b.Add(rec(uint64(g*10000+i*100+j), 200), rawHead("GET /c HTTP/1.1"), []byte("x"))
				}
				a.SubmitBatch(b)
				a.Snapshot().MatchMock([]byte("GET"), []byte(fmt.Sprintf("/g%d/%d", g, i)), nil)
				if i%10 == 0 {
					if _, err := a.CreateMock(ctx, decode(t, mockJSON("GET", fmt.Sprintf("/g%d/%d", g, i)))); err != nil {
						t.Error(err)
					}
				}
				a.Publish("x", "", nil)
				if _, err := a.Events(ctx, 0, 5, nil); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	is.Equal(a.Snapshot().Len(), 12)
	is.NoErr(stop())
	ps := readState(t, cfg.StateFile)
	is.Equal(len(ps.Mocks), 12)
	is.True(len(ps.History) >= DefaultHistoryLimit && len(ps.History) <= 2*DefaultHistoryLimit) // the log is compacted at twice the limit
	back, err := New(cfg, nil)
	is.NoErr(err)
	is.Equal(back.model.history.n, DefaultHistoryLimit) // the newest limit load
	st := a.Stats()
	is.Equal(st.RecordsCaptured+st.HistoryDropped, uint64(4*30*20))
}

// After the actor has stopped, TrySubmitBatch takes the batch (drops and counts its records)
// and says so: a caller that kept it would later share it with whoever NewBatch hands the
// recycled batch to.
func TestTrySubmitBatchAfterStopTakesTheBatch(t *testing.T) {
	is := is.New(t)
	a := newActor(t, actorConfig(t))
	stop := startActor(t, a)
	is.NoErr(stop())
	b := a.NewBatch()
	is.True(b.Add(Record{TraceID: 1}, rawHead("GET /after-stop HTTP/1.1", "Host: h"), nil))
	is.True(a.TrySubmitBatch(b)) // b left the caller
	is.Equal(a.HistoryDropped(), uint64(1))
	is.True(a.NewBatch() == b) // recycled: handed out again, and only once
}
