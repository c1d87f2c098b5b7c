package state

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestStoreDir(t *testing.T) {
	is := is.New(t)
	is.Equal(StoreDir("data/server_state.json"), "data/server_state")
	is.Equal(StoreDir("state"), "state.d")
	is.Equal(StoreDir("x.JSON"), "x.JSON.d")
	is.Equal(StoreDir(".json"), ".json.d")
	is.Equal(StoreDir(""), "")
}

// A file written by the single-file build (version 1) migrates once: everything in it is
// in the store, store.json is written, one log line names both paths, and the old file is
// kept untouched and no longer read.
func TestStoreMigratesVersion1File(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	legacy := writeLegacyStateFile(t, cfg)
	var logs bytes.Buffer
	a, err := New(cfg, logged(&logs))
	is.NoErr(err)
	is.Equal(a.Snapshot().Len(), 2)
	is.Equal(a.model.history.n, 2)
	is.Equal(strings.Count(logs.String(), "migrated"), 1)
	is.True(strings.Contains(logs.String(), "file="+cfg.StateFile))
	is.True(strings.Contains(logs.String(), "store="+StoreDir(cfg.StateFile)))

	ps := readState(t, cfg.StateFile)
	is.Equal(ps.Version, StoreVersion)
	is.Equal(len(ps.Mocks), 2)
	is.Equal(ps.Mocks[0].ID, "mk_legacy1")
	is.Equal(ps.Mocks[1].ID, "mk_legacy2")
	is.Equal(len(ps.History), 2)
	is.Equal(ps.History[0].ReplayInput.Headers["authorization"], "[redacted]")
	kept, err := os.ReadFile(cfg.StateFile)
	is.NoErr(err)
	is.Equal(kept, legacy) // the old file is kept as it was

	// Once migrated, the old file is no longer read: changing it changes nothing.
	is.NoErr(os.WriteFile(cfg.StateFile, []byte(`{"version":1,"mocks":[]}`), 0o600))
	logs.Reset()
	b, err := New(cfg, logged(&logs))
	is.NoErr(err)
	is.Equal(b.Snapshot().Len(), 2)
	is.Equal(b.model.history.n, 2)
	is.True(!strings.Contains(logs.String(), "migrated"))
}

// A migration a crash cut short (no store.json yet) runs again and leaves each history
// entry once, not appended a second time.
func TestStoreMigrationAgainAfterCrash(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	writeLegacyStateFile(t, cfg)
	_, err := New(cfg, nil)
	is.NoErr(err)
	is.NoErr(os.Remove(filepath.Join(StoreDir(cfg.StateFile), "store.json"))) // the crash
	var logs bytes.Buffer
	b, err := New(cfg, logged(&logs))
	is.NoErr(err)
	is.Equal(strings.Count(logs.String(), "migrated"), 1)
	is.Equal(b.model.history.n, 2)
	is.Equal(len(readHistoryLog(t, StoreDir(cfg.StateFile))), 2)
}

// writeLegacyStateFile puts a file written by the single-file build (9fd65cb) at the
// state file's path and returns its bytes.
func writeLegacyStateFile(t *testing.T, cfg Config) []byte {
	t.Helper()
	legacy, err := os.ReadFile(filepath.Join("..", "testdata", "server_state_v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.StateFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.StateFile, legacy, 0o600); err != nil {
		t.Fatal(err)
	}
	return legacy
}

// A legacy file from a newer build still refuses to start when there is no store yet.
func TestStoreLegacyTooNewRefuses(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	is.NoErr(os.MkdirAll(filepath.Dir(cfg.StateFile), 0o755))
	is.NoErr(os.WriteFile(cfg.StateFile, []byte(`{"version":7}`), 0o600))
	_, err := New(cfg, nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "version 7"))
	is.NoErr(os.WriteFile(cfg.StateFile, []byte(`{"version":1}`), 0o600))
	is.NoErr(os.MkdirAll(StoreDir(cfg.StateFile), 0o700))
	is.NoErr(os.WriteFile(filepath.Join(StoreDir(cfg.StateFile), "store.json"), []byte(`{"version":3}`), 0o600))
	_, err = New(cfg, nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "--state-file"))
}

// One change writes one entry file; a deleted entry's file is gone when the call returns;
// a mock from a mock file is never written.
func TestStoreWritesOnlyTheChange(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	var written []string
	a.writeFile = func(path string, data []byte) error {
		written = append(written, filepath.Base(path)) // the writer goroutine only
		return writeStateFile(path, data)
	}
	stop := startActor(t, a)
	ctx := testCtx(t)
	var ids []string
	for i := range 5 {
		m, err := a.CreateMock(ctx, decode(t, mockJSON("GET", fmt.Sprintf("/%d", i))))
		is.NoErr(err)
		ids = append(ids, m.ID)
	}
	is.NoErr(a.DeleteMock(ctx, ids[2]))
	_, err := os.Stat(filepath.Join(StoreDir(cfg.StateFile), "mocks", ids[2]+".json"))
	is.True(os.IsNotExist(err))
	is.NoErr(stop())
	want := []string{}
	for _, id := range ids {
		want = append(want, id+".json")
	}
	is.Equal(written, want) // each mock once, nothing rewritten by the others
	fi, err := os.Stat(filepath.Join(StoreDir(cfg.StateFile), "mocks", ids[0]+".json"))
	is.NoErr(err)
	is.Equal(fi.Mode().Perm(), os.FileMode(0o600))
	di, err := os.Stat(filepath.Join(StoreDir(cfg.StateFile), "mocks"))
	is.NoErr(err)
	is.Equal(di.Mode().Perm(), os.FileMode(0o700))
	is.Equal(len(readState(t, cfg.StateFile).Mocks), 4)
}

func TestStoreNeverWritesFileMocks(t *testing.T) {
	is := is.New(t)
	is.Equal(len(apiMocks([]*Mock{{ID: "a", Source: SourceFilePrefix + "x.json"}, {ID: "b"}, {ID: "c", Source: SourceFilePrefix + "y"}})), 1)
	list := []*Mock{{ID: "a"}, {ID: "b"}}
	is.Equal(&apiMocks(list)[0], &list[0]) // no copy when none is from a file
}

// A mock file that does not load is renamed to <name>.corrupt.<ts>, named in the log, and
// the others load.
func TestStoreSetsAsideCorruptEntryFile(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	stop := startActor(t, a)
	ctx := testCtx(t)
	var ids []string
	for i := range 3 {
		m, err := a.CreateMock(ctx, decode(t, mockJSON("GET", fmt.Sprintf("/%d", i))))
		is.NoErr(err)
		ids = append(ids, m.ID)
	}
	is.NoErr(stop())
	bad := filepath.Join(StoreDir(cfg.StateFile), "mocks", ids[1]+".json")
	is.NoErr(os.WriteFile(bad, []byte(`{"id":"`), 0o600))
	var logs bytes.Buffer
	b, err := New(cfg, logged(&logs))
	is.NoErr(err)
	is.Equal(b.Snapshot().Len(), 2)
	backup := fmt.Sprintf("%s.corrupt.%d", bad, t0.Unix())
	data, err := os.ReadFile(backup)
	is.NoErr(err)
	is.Equal(string(data), `{"id":"`) // kept, never deleted
	is.Equal(strings.Count(logs.String(), "set aside"), 1)
	is.True(strings.Contains(logs.String(), backup))
}

// A torn last line of the history log (a crash mid-append) is copied to a side file; the
// good lines load and the log is rewritten before the next append.
func TestStoreTornHistoryLine(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	stop := startActor(t, a)
	submit(t, a, rec(1, 200), rec(2, 200))
	is.NoErr(stop())
	log := filepath.Join(StoreDir(cfg.StateFile), historyLog)
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	is.NoErr(err)
	_, err = f.WriteString(`{"request_id":"torn","met`)
	is.NoErr(err)
	is.NoErr(f.Close())

	var logs bytes.Buffer
	b, err := New(cfg, logged(&logs))
	is.NoErr(err)
	is.Equal(b.model.history.n, 2)
	side := fmt.Sprintf("%s.rejected.%d.jsonl", log, t0.Unix())
	data, err := os.ReadFile(side)
	is.NoErr(err)
	is.Equal(string(data), `{"request_id":"torn","met`+"\n")
	is.True(strings.Contains(logs.String(), "history lines set aside"))

	stop = startActor(t, b)
	submit(t, b, rec(3, 200))
	is.NoErr(stop())
	h := readHistoryLog(t, StoreDir(cfg.StateFile)) // parses every line: the torn one is gone
	is.Equal(len(h), 3)
	is.Equal(h[2].TraceID, "0000000000000003")
}

// The log rotates: history.jsonl never passes the limit, history.1.jsonl holds the log as
// it was when it filled up, so the two hold the newest entries (at least the limit, at most
// twice) and no line is written twice. ClearHistory rewrites the log empty.
func TestStoreRotateAndClearHistory(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	cfg.HistoryLimit = 3
	a := newActor(t, cfg)
	stop := startActor(t, a)
	ctx := testCtx(t)
	store := StoreDir(cfg.StateFile)
	for i := range 7 {
		submit(t, a, rec(uint64(i+1), 200))
		_, err := a.CreateMock(ctx, decode(t, mockJSON("GET", fmt.Sprintf("/%d", i)))) // a write carries the new history
		is.NoErr(err)
		h := readHistoryLog(t, store)
		is.True(len(h) >= min(i+1, 3) && len(h) <= 6)
		is.Equal(h[len(h)-1].TraceID, fmt.Sprintf("%016d", i+1)) // the newest last, once
		current, err := os.ReadFile(filepath.Join(store, historyLog))
		is.NoErr(err)
		is.True(bytes.Count(current, []byte{'\n'}) <= 3)
	}
	is.NoErr(stop())
	b := newActor(t, cfg) // a restart loads the newest three, in order
	var ids []string
	for _, e := range b.model.history.all() {
		ids = append(ids, e.TraceID)
	}
	is.Equal(ids, []string{"0000000000000005", "0000000000000006", "0000000000000007"})

	stop = startActor(t, b)
	_, err := b.ClearHistory(ctx)
	is.NoErr(err)
	is.Equal(len(readHistoryLog(t, store)), 0)
	_, err = os.Stat(filepath.Join(store, historyPrevious))
	is.True(errors.Is(err, os.ErrNotExist))
	submit(t, b, rec(9, 200))
	is.NoErr(stop())
	h := readHistoryLog(t, store)
	is.Equal(len(h), 1)
	is.Equal(h[0].TraceID, "0000000000000009")
}

// Scenarios, runs and targets are entry files too, and reload.
func TestStoreScenariosRunsTargetsReload(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	a := newActor(t, cfg)
	stop := startActor(t, a)
	ctx := testCtx(t)
	sc, err := a.CreateScenario(ctx, decodeScenario(t, minimalScenario("s")))
	is.NoErr(err)
	x, err := a.CreateTarget(ctx, TargetInput{Name: ptr("t"), BaseURL: ptr("http://x")})
	is.NoErr(err)
	is.NoErr(stop())
	_, err = os.Stat(filepath.Join(StoreDir(cfg.ScenarioFile), "scenarios", sc.ID+".json"))
	is.NoErr(err)
	_, err = os.Stat(filepath.Join(StoreDir(cfg.TargetFile), "targets", x.ID+".json"))
	is.NoErr(err)
	b := newActor(t, cfg)
	is.Equal(len(b.model.Scenarios()), 1)
	is.Equal(b.TargetSnapshot().Len(), 1)
}
