package state

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"time"
)

// Model is the pure core: mocks, the history ring, the event ring, scenarios
// and their runs, and targets. It has no goroutines, does no I/O other than
// reading its injected random source, and never reads the clock: every
// method that stamps a time takes now. It is not safe for concurrent use:
// exactly one goroutine owns it (the Actor's).
type Model struct {
	cfg     Config
	mocks   []*Mock // insertion order; replaced (copy-on-write) on every change
	byID    map[string]*Mock
	seq     uint64
	history historyRing
	events  eventRing

	scenarios  []*Scenario // insertion order; replaced (copy-on-write) on every change
	scenByID   map[string]*Scenario
	runs       map[string][]*RunReport // by scenario id, oldest first, at most MaxRunsPerScenario
	runByID    map[string]*RunReport
	targets    []*Target // insertion order; replaced (copy-on-write) on every change
	targetByID map[string]*Target
}

// NewModel returns an empty model. cfg's zero fields take their defaults;
// StateFile, Now and HistoryFlushInterval are not used by the Model.
func NewModel(cfg Config) *Model {
	cfg = cfg.withDefaults()
	return &Model{
		cfg:        cfg,
		byID:       make(map[string]*Mock),
		history:    newHistoryRing(cfg.HistoryLimit),
		events:     newEventRing(cfg.EventBufferSize, cfg.Engine),
		scenByID:   make(map[string]*Scenario),
		runs:       make(map[string][]*RunReport),
		runByID:    make(map[string]*RunReport),
		targetByID: make(map[string]*Target),
	}
}

// randomID returns 2*n random lower-case hex characters for which taken is
// false. what names the kind of id in errors.
func (m *Model) randomID(n int, taken func(string) bool, what string) (string, *Error) {
	b := make([]byte, n)
	for range 8 {
		if _, err := io.ReadFull(m.cfg.Rand, b); err != nil {
			return "", &Error{Kind: KindInternal, Code: CodeInternal, Message: "cannot generate a " + what + " id", cause: err}
		}
		if id := hex.EncodeToString(b); !taken(id) {
			return id, nil
		}
	}
	return "", newErr(KindInternal, CodeInternal, "cannot generate a unique "+what+" id")
}

// Mocks returns the mocks in insertion order. The slice is never modified
// after it is returned (changes replace it), so it may be shared.
func (m *Model) Mocks() []*Mock { return m.mocks }

// Mock returns the mock with the given id.
func (m *Model) Mock(id string) (*Mock, bool) {
	x, ok := m.byID[id]
	return x, ok
}

// Snapshot builds an immutable Snapshot of the current mocks.
func (m *Model) Snapshot() *Snapshot { return newSnapshot(m.mocks) }

// overlay sets the fields the input gives on f (create starts from the defaults, update from
// the stored mock).
func (in *MockInput) overlay(f *mockFields) {
	if in.Method != nil {
		f.method = *in.Method
	}
	if in.PathPattern != nil {
		f.path = *in.PathPattern
	}
	if in.Status != nil {
		f.status = *in.Status
	}
	if in.HasHeaders {
		f.headers = in.Headers
	}
	if in.Body != nil {
		f.body = *in.Body
	}
	if in.ContentType != nil {
		f.contentType = *in.ContentType
	}
}

// CreateMock validates in and adds the mock. Errors: invalid_mock
// (KindInvalid, or KindForbidden for a reserved path), duplicate_mock
// (KindConflict), mock_limit (KindTooLarge), and KindInternal if the random
// source fails.
func (m *Model) CreateMock(in MockInput, now time.Time) (*Mock, *Error) {
	f := mockFields{status: 200, contentType: "application/json"}
	in.overlay(&f)
	if in.ID != nil && *in.ID != "" {
		if !validID(*in.ID) {
			return nil, invalidMock("id must be 1 to 64 letters, digits, '.', '_' or '-'")
		}
		f.id = *in.ID
	}
	ts := FormatTime(now)
	return m.insert(f, ts, ts)
}

// insert validates f against the fields rules and the other mocks, then
// appends it. An empty f.id gets a random one.
func (m *Model) insert(f mockFields, createdAt, updatedAt string) (*Mock, *Error) {
	v, e := validateFields(f, m.cfg.MaxMockBodyBytes)
	if e != nil {
		return nil, e
	}
	if e := m.checkConflicts(v, f.id, ""); e != nil {
		return nil, e
	}
	if len(m.mocks) >= m.cfg.MaxMocks {
		return nil, newErr(KindTooLarge, CodeMockLimit, msgLimit)
	}
	if f.id == "" {
		id, e := m.newID()
		if e != nil {
			return nil, e
		}
		f.id = id
	}
	m.seq++
	x := newMock(f, v, createdAt, updatedAt, m.seq)
	mocks := make([]*Mock, len(m.mocks), len(m.mocks)+1)
	copy(mocks, m.mocks)
	m.mocks = append(mocks, x)
	m.byID[x.ID] = x
	return x, nil
}

func newMock(f mockFields, v validatedMock, createdAt, updatedAt string, seq uint64) *Mock {
	x := &Mock{
		ID:          f.id,
		Method:      v.method,
		PathPattern: f.path,
		Status:      f.status,
		Headers:     v.headers,
		Body:        f.body,
		ContentType: v.contentType,
		CreatedAt:   createdAt,
		UpdatedAt:   updatedAt,
		pat:         v.pat,
		seq:         seq,
	}
	x.buildResponse()
	return x
}

// checkConflicts reports a duplicate id, or a mock (other than self) with the
// same method and an equivalent pattern (equal once parameter names are
// ignored).
func (m *Model) checkConflicts(v validatedMock, id, self string) *Error {
	if id != "" && id != self {
		if _, dup := m.byID[id]; dup {
			return newErr(KindConflict, CodeDuplicateMock, msgDupID)
		}
	}
	for _, x := range m.mocks {
		if x.ID != self && x.Method == v.method && x.pat.canonical == v.pat.canonical {
			return newErr(KindConflict, CodeDuplicateMock, msgDupPath)
		}
	}
	return nil
}

// newID returns 10 random lower-case hex characters not used by any mock.
func (m *Model) newID() (string, *Error) {
	var b [5]byte
	for range 8 {
		if _, err := io.ReadFull(m.cfg.Rand, b[:]); err != nil {
			return "", &Error{Kind: KindInternal, Code: CodeInternal, Message: "cannot generate a mock id", cause: err}
		}
		id := hex.EncodeToString(b[:])
		if _, used := m.byID[id]; !used {
			return id, nil
		}
	}
	return "", newErr(KindInternal, CodeInternal, "cannot generate a unique mock id")
}

// UpdateMock applies a partial update: every field present in in replaces
// the old value (headers as a whole), the id in the payload is ignored, and
// the merged mock is validated in full, exactly as on create. updated_at
// becomes now; created_at and the mock's position are kept. Errors: not_found
// (KindNotFound) and those of CreateMock.
func (m *Model) UpdateMock(id string, in MockInput, now time.Time) (*Mock, *Error) {
	old, ok := m.byID[id]
	if !ok {
		return nil, newErr(KindNotFound, CodeNotFound, msgMockNF)
	}
	f := mockFields{
		id: old.ID, method: old.Method, path: old.PathPattern, status: old.Status,
		headers: old.Headers, body: old.Body, contentType: old.ContentType,
	}
	in.overlay(&f)
	v, e := validateFields(f, m.cfg.MaxMockBodyBytes)
	if e != nil {
		return nil, e
	}
	if e := m.checkConflicts(v, "", id); e != nil {
		return nil, e
	}
	x := newMock(f, v, old.CreatedAt, FormatTime(now), old.seq)
	mocks := make([]*Mock, len(m.mocks))
	for i, y := range m.mocks {
		if y == old {
			y = x
		}
		mocks[i] = y
	}
	m.mocks = mocks
	m.byID[id] = x
	return x, nil
}

// DeleteMock removes a mock. Error: not_found (KindNotFound).
func (m *Model) DeleteMock(id string) *Error {
	old, ok := m.byID[id]
	if !ok {
		return newErr(KindNotFound, CodeNotFound, msgMockNF)
	}
	mocks := make([]*Mock, 0, len(m.mocks))
	for _, y := range m.mocks {
		if y != old {
			mocks = append(mocks, y)
		}
	}
	m.mocks = mocks
	delete(m.byID, id)
	return nil
}

// ApplyBatch records every exchange of b: a history entry unless SkipHistory,
// and a request.completed event unless the path is under /api/events/ (so
// that polling the event API does not flood the ring it reads). It returns
// the number of history entries and events added. b is only read.
func (m *Model) ApplyBatch(b *Batch) (entries, events int) {
	// Only the last HistoryLimit history entries of a batch can survive.
	skipBefore := 0
	if kept := m.countHistory(b); kept > len(m.history.buf) {
		skipBefore = kept - len(m.history.buf)
	}
	seen := 0
	for i := 0; i < b.n; i++ {
		s := &b.slots[i]
		head, body := b.bytes(i)
		if !s.SkipHistory {
			seen++
			if seen > skipBefore {
				m.history.pushRaw(&s.Record, head, body, s.bodyKept)
				entries++
			}
		}
		line, _ := cutLine(head)
		if isEventsRequest(line) {
			continue // the live-event endpoints never feed themselves
		}
		m.events.pushRequest(&s.Record, line)
		events++
	}
	return entries, events
}

// isEventsRequest reports whether a request line targets /api/events/.
func isEventsRequest(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return false
	}
	return bytes.HasPrefix(line[sp+1:], []byte("/api/events/"))
}

func (m *Model) countHistory(b *Batch) int {
	n := 0
	for i := 0; i < b.n; i++ {
		if !b.slots[i].SkipHistory {
			n++
		}
	}
	return n
}

// AddHistory appends an entry as it is (used when loading). The oldest
// entry is dropped when the ring is full.
func (m *Model) AddHistory(e HistoryEntry) {
	if e.at.IsZero() {
		e.at = parseTS(e.TS)
	}
	m.history.push(e)
}

// History returns the entries kept by f, oldest first (with f.Limit, the
// newest Limit of them, still oldest first). Error: invalid_filter
// (KindInvalid) for an unparseable status, from_ts, to_ts or limit.
func (m *Model) History(f HistoryFilter) ([]HistoryEntry, *Error) {
	p, e := f.parse()
	if e != nil {
		return nil, e
	}
	out := []HistoryEntry{}
	for i := 0; i < m.history.n; i++ {
		if x := m.history.at(i); p.keep(x) {
			out = append(out, *x)
		}
	}
	if p.limit > 0 && len(out) > p.limit {
		out = out[len(out)-p.limit:]
	}
	return out, nil
}

// HistoryEntry returns the most recent entry with the given request_id.
// Error: not_found (KindNotFound) "request id not found".
func (m *Model) HistoryEntry(requestID string) (HistoryEntry, *Error) {
	for i := m.history.n - 1; i >= 0; i-- {
		if x := m.history.at(i); x.RequestID == requestID {
			return *x, nil
		}
	}
	return HistoryEntry{}, newErr(KindNotFound, CodeNotFound, "request id not found")
}

// Publish appends an event stamped now and returns its id. payload must be
// a JSON object (nil means {}); it is retained, not copied.
func (m *Model) Publish(typ, traceID string, payload json.RawMessage, now time.Time) uint64 {
	return m.events.push(FormatTime(now), typ, traceID, payload)
}

// Events returns the oldest limit events with id > since whose type is in
// topics (all types when topics is empty); see EventPage. limit < 1 means
// 200, and limit is capped at 1000.
func (m *Model) Events(since uint64, limit int, topics []string) EventPage {
	return m.events.page(since, limit, topics, m.cfg.RefreshMs)
}

// PlaygroundState is the body of GET /api/playground/state, and also the
// state file's format.
type PlaygroundState struct {
	Version int            `json:"version"`
	Mocks   []Mock         `json:"mocks"`
	History []HistoryEntry `json:"history"`
}

// PlaygroundState returns copies of the mocks and of the whole history.
func (m *Model) PlaygroundState() PlaygroundState {
	ps := PlaygroundState{Version: FileVersion, Mocks: make([]Mock, len(m.mocks)), History: m.history.all()}
	for i, x := range m.mocks {
		ps.Mocks[i] = *x
	}
	return ps
}
