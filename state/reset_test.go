package state

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

func upsert(m *Model, id, body string, now time.Time) (*Mock, bool, *Error) {
	in, e := DecodeMockInput([]byte(body))
	if e != nil {
		return nil, false, e
	}
	return m.UpsertMock(id, in, now)
}

// fromFile marks a stored mock as loaded from a mock file (the loader does, in another file).
func fromFile(m *Model, id string) {
	old := m.byID[id]
	x := *old
	x.Source = SourceFilePrefix + id + ".json"
	m.replaceMock(old, &x)
}

func TestUpsertMockCreatesThenReplaces(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	mustCreate(t, m, `{"id":"first","method":"GET","path_pattern":"/first"}`)

	x, created, e := upsert(m, "u1", `{"method":"post","path_pattern":"/u","status":201,"headers":{"X-A":"1"},"body":"one"}`, t0)
	is.True(e == nil)
	is.True(created)
	is.Equal(x.ID, "u1")
	is.Equal(x.Method, "POST")
	is.Equal(x.CreatedAt, FormatTime(t0))
	is.Equal(m.Mocks()[1].ID, "u1") // appended

	later := t0.Add(time.Minute)
	y, created, e := upsert(m, "u1", `{"id":"u1","method":"GET","path_pattern":"/u2"}`, later)
	is.True(e == nil)
	is.True(!created)
	is.Equal(y.CreatedAt, FormatTime(t0))    // kept
	is.Equal(y.UpdatedAt, FormatTime(later)) // new
	is.Equal(y.Status, 200)                  // a replacement: absent fields take the create defaults
	is.Equal(y.Headers, map[string]string{})
	is.Equal(y.Body, "")
	is.Equal(y.ContentType, "application/json")
	is.Equal(len(m.Mocks()), 2)
	is.Equal(m.Mocks()[1], y) // same position
	got, ok := m.Mock("u1")
	is.True(ok)
	is.Equal(got, y)
	_, ok = m.Snapshot().MatchMock([]byte("GET"), []byte("/u2"), nil)
	is.True(ok)
	_, ok = m.Snapshot().MatchMock([]byte("POST"), []byte("/u"), nil)
	is.True(!ok) // the old route is gone
}

func TestUpsertMockRefusals(t *testing.T) {
	m := newTestModel()
	mustCreate(t, m, `{"id":"first","method":"GET","path_pattern":"/first"}`)
	mustCreate(t, m, `{"id":"file","method":"GET","path_pattern":"/file"}`)
	fromFile(m, "file")
	for _, tc := range []struct {
		name, id, body string
		kind           Kind
		code, msg      string
	}{
		{"id differs from the path", "a", `{"id":"b","method":"GET","path_pattern":"/a"}`, KindInvalid, CodeInvalidMock, "id in the body must equal the id in the path"},
		{"invalid path id", "a..b/c", `{"method":"GET","path_pattern":"/a"}`, KindInvalid, CodeInvalidMock, ""},
		{"no method", "a", `{"path_pattern":"/a"}`, KindInvalid, CodeInvalidMock, msgMethod},
		{"replace without method", "first", `{"path_pattern":"/first"}`, KindInvalid, CodeInvalidMock, msgMethod},
		{"create onto another mock", "a", `{"method":"GET","path_pattern":"/first"}`, KindConflict, CodeDuplicateMock, msgDupPath},
		{"replace onto another mock", "first", `{"method":"GET","path_pattern":"/file"}`, KindConflict, CodeDuplicateMock, msgDupPath},
		{"reserved", "a", `{"method":"GET","path_pattern":"/api/reset"}`, KindForbidden, CodeInvalidMock, msgReserved},
		{"file mock", "file", `{"method":"GET","path_pattern":"/file","body":"x"}`, KindConflict, CodeReadOnlyMock, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			_, _, e := upsert(m, tc.id, tc.body, t0)
			is.True(e != nil)
			is.Equal(e.Kind, tc.kind)
			is.Equal(e.Code, tc.code)
			if tc.msg != "" {
				is.Equal(e.Message, tc.msg)
			}
			is.Equal(len(m.Mocks()), 2) // nothing stored
		})
	}
}

func TestUpsertMockLimit(t *testing.T) {
	is := is.New(t)
	cfg := testConfig()
	cfg.MaxMocks = 1
	m := NewModel(cfg)
	mustCreate(t, m, `{"id":"only","method":"GET","path_pattern":"/only"}`)
	_, _, e := upsert(m, "more", `{"method":"GET","path_pattern":"/more"}`, t0)
	is.Equal(e.Code, CodeMockLimit)
	_, created, e := upsert(m, "only", `{"method":"GET","path_pattern":"/changed"}`, t0)
	is.True(e == nil) // a replacement is not a new mock
	is.True(!created)
}

func TestDeleteAllMocksKeepsFileMocks(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	is.Equal(m.DeleteAllMocks(), 0)
	mustCreate(t, m, mockJSON("GET", "/a"))
	mustCreate(t, m, `{"id":"file","method":"GET","path_pattern":"/file"}`)
	mustCreate(t, m, mockJSON("POST", "/b"))
	fromFile(m, "file")
	before := m.Mocks()

	is.Equal(m.DeleteAllMocks(), 2)
	is.Equal(len(before), 3) // the old slice is never modified (snapshots share it)
	is.Equal(len(m.Mocks()), 1)
	is.Equal(m.Mocks()[0].ID, "file")
	_, ok := m.Mock("file")
	is.True(ok)
	_, ok = m.Snapshot().MatchMock([]byte("GET"), []byte("/a"), nil)
	is.True(!ok)
	is.Equal(m.DeleteAllMocks(), 0)
	mustCreate(t, m, mockJSON("GET", "/a")) // the same route can be made again
}

func TestResetClearsMocksAndHistory(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	mustCreate(t, m, mockJSON("GET", "/a"))
	mustCreate(t, m, `{"id":"file","method":"GET","path_pattern":"/file"}`)
	fromFile(m, "file")
	for i := range 3 {
		m.AddHistory(HistoryEntry{RequestID: strings.Repeat("a", i+1), Method: "GET", Path: "/a", TS: FormatTime(t0)})
	}
	sc, e := m.CreateScenario(Scenario{Name: "kept", Steps: []Step{{ID: "s", Method: "GET", Path: "/"}}}, t0)
	is.True(e == nil)
	events := m.Events(0, 10, nil).LatestID

	s := m.Reset()
	is.Equal(s, ResetSummary{MocksDeleted: 1, MocksKept: 1, HistoryCleared: 3, MockStatesReset: 0})
	is.Equal(m.HistoryLen(), 0)
	h, e := m.History(HistoryFilter{})
	is.True(e == nil)
	is.Equal(len(h), 0)
	_, ok := m.Scenario(sc.ID)
	is.True(ok)                                     // scenarios are kept
	is.Equal(m.Events(0, 10, nil).LatestID, events) // so are events

	m.AddHistory(HistoryEntry{RequestID: "b", Method: "GET", Path: "/after", TS: FormatTime(t0)})
	is.Equal(m.HistoryLen(), 1) // the ring works after a clear
	is.Equal(m.Reset(), ResetSummary{MocksKept: 1, HistoryCleared: 1})
}

// ClearHistory is acknowledged once the state file no longer holds the entries.
func TestActorClearHistoryIsDurable(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)
	_, err := a.CreateMock(ctx, decode(t, mockJSON("GET", "/kept")))
	is.NoErr(err)
	submit(t, a, rec(1, 200), rec(2, 404))
	h, err := a.History(ctx, HistoryFilter{})
	is.NoErr(err)
	is.Equal(len(h), 2) // the request applies queued batches first

	n, err := a.ClearHistory(ctx)
	is.NoErr(err)
	is.Equal(n, 2)
	ps := readState(t, cfg.StateFile)
	is.Equal(len(ps.History), 0)
	is.Equal(len(ps.Mocks), 1)

	submit(t, a, rec(3, 200))
	sum, err := a.Reset(ctx)
	is.NoErr(err)
	is.Equal(sum, ResetSummary{MocksDeleted: 1, HistoryCleared: 1})
	ps = readState(t, cfg.StateFile)
	is.Equal(len(ps.History), 0)
	is.Equal(len(ps.Mocks), 0)
	is.Equal(a.Snapshot().Len(), 0)
}

func TestActorUpsertAndDeleteAll(t *testing.T) {
	is := is.New(t)
	cfg := actorConfig(t)
	a := newActor(t, cfg)
	startActor(t, a)
	ctx := testCtx(t)
	x, created, err := a.UpsertMock(ctx, "m1", decode(t, mockJSON("GET", "/m1")))
	is.NoErr(err)
	is.True(created)
	is.Equal(x.ID, "m1")
	_, created, err = a.UpsertMock(ctx, "m1", decode(t, mockJSON("GET", "/m1b")))
	is.NoErr(err)
	is.True(!created)
	ps := readState(t, cfg.StateFile)
	is.Equal(ps.Mocks[0].PathPattern, "/m1b")
	_, _, err = a.UpsertMock(ctx, "m2", decode(t, `{"id":"other","method":"GET","path_pattern":"/m2"}`))
	is.Equal(KindOf(err), KindInvalid)
	var se *Error
	is.True(errors.As(err, &se))
	is.True(strings.Contains(se.Message, "id"))

	n, err := a.DeleteAllMocks(ctx)
	is.NoErr(err)
	is.Equal(n, 1)
	is.Equal(len(readState(t, cfg.StateFile).Mocks), 0)
}

func TestSSEEventIDRoundTrip(t *testing.T) {
	is := is.New(t)
	is.Equal(SSEEventID(0, 7), "7")
	is.Equal(SSEEventID(1765000000000, 7), "1765000000000-7")
	for _, tc := range []struct {
		in              string
		epoch, id       uint64
		hasEpoch, valid bool
	}{
		{"7", 0, 7, false, true},
		{" 7 ", 0, 7, false, true},
		{"1765000000000-7", 1765000000000, 7, true, true},
		{"0-0", 0, 0, true, true},
		{"18446744073709551615-18446744073709551615", 1<<64 - 1, 1<<64 - 1, true, true},
		// hostile
		{"", 0, 0, false, false},
		{"-", 0, 0, false, false},
		{"-1", 0, 0, false, false},
		{"1-", 0, 0, false, false},
		{"1-2-3", 0, 0, false, false},
		{"+1", 0, 0, false, false},
		{"1-+2", 0, 0, false, false},
		{"x-1", 0, 0, false, false},
		{"18446744073709551616-1", 0, 0, false, false},
		{"1-18446744073709551616", 0, 0, false, false},
		{"1 - 2", 0, 0, false, false},
		{"1\n-2", 0, 0, false, false},
	} {
		epoch, id, hasEpoch, ok := ParseSSEEventID(tc.in)
		if ok != tc.valid || epoch != tc.epoch || id != tc.id || hasEpoch != tc.hasEpoch {
			t.Errorf("ParseSSEEventID(%q) = %d, %d, %v, %v; want %d, %d, %v, %v",
				tc.in, epoch, id, hasEpoch, ok, tc.epoch, tc.id, tc.hasEpoch, tc.valid)
		}
	}
}

// An actor stamps every frame with its epoch, and pages carry it.
func TestActorEpochInFramesAndPages(t *testing.T) {
	is := is.New(t)
	cfg := testConfig()
	a := newActor(t, cfg)
	startActor(t, a)
	is.Equal(a.Epoch(), uint64(t0.UnixMilli()))
	p, err := a.Events(testCtx(t), 0, 10, nil)
	is.NoErr(err)
	is.Equal(p.Epoch, a.Epoch())
	is.Equal(len(p.Events), 1)
	is.True(strings.HasPrefix(string(p.Events[0].Frame()), "id: "+SSEEventID(a.Epoch(), 1)+"\n"))
}
