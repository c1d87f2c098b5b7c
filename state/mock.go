package state

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"ownhttp/mock"
)

// Mock is a stored mock route. Its JSON form (MarshalJSON, mock_json.go) has the original
// project's fields id, method, path_pattern, status, headers, body, content_type,
// created_at and updated_at, then ours when set: path_regex (instead of path_pattern),
// body_base64 (instead of body), priority, match, responses and after_last (instead of
// status, headers, body and content_type), template, seed, state, and source for a mock
// loaded from a mock file.
//
// Rules (spec §4.1, with our fixes):
//   - method: GET, POST, PUT, PATCH or DELETE (PATCH is our addition), or ANY; any
//     case in, upper case stored. HEAD requests match GET mocks.
//   - path_pattern or path_regex: see mock.Path; one that could match any reserved path
//     is refused with KindForbidden.
//   - the answer: a MockResponse (status, headers, body, content_type; see there), or a
//     sequence of them (Responses).
//
// A *Mock reachable from a Snapshot, and every Mock returned by the Actor, is
// immutable and shared: never modify it, its Headers map or its byte slices. Its
// counters and its state machine are the exceptions (Hit, Hits, Serve: atomic, shared by
// its copies). HeaderLines and BodyBytes stay valid forever (they are never reused).
type Mock struct {
	ID          string `json:"id"`
	Method      string `json:"method"`
	PathPattern string `json:"path_pattern,omitempty"` // "" when PathRegex is set
	// PathRegex is an RE2 regex the whole path must match, instead of a PathPattern.
	PathRegex string `json:"path_regex,omitempty"`
	// MockResponse is the answer of a plain mock: status, headers, body, content_type.
	// A sequence leaves it zero and has Responses instead.
	MockResponse
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	// Priority orders mocks before their specificity does: 1 is the highest; 0 (absent)
	// means DefaultPriority.
	Priority int `json:"priority,omitempty"`
	// Match holds the request criteria beyond method and path (query, headers, cookies,
	// form, body: see package mock), compact JSON; absent when there are none.
	Match json.RawMessage `json:"match,omitempty"`
	// Source is "" for a mock created through the API (the store persists those) and
	// "file:<path relative to its mocks directory>" for one loaded from a mock file (the
	// files are its source of truth: it is never persisted, and the API cannot change it).
	Source string `json:"source,omitempty"`

	// Responses are a sequence mock's answers, served in order, one per hit (issue #15);
	// AfterLast says what follows the last: AfterLastRepeat (the default), AfterLastLoop
	// or AfterLastNotFound. nil for a plain mock.
	Responses []MockResponse `json:"responses,omitempty"`
	AfterLast string         `json:"after_last,omitempty"`
	// Template makes the status, header values and text bodies templates over the
	// request (package mock's Handlebars dialect).
	Template bool `json:"template,omitempty"`
	// Seed, when set, replaces the server's seed for this mock's random template values.
	Seed *int64 `json:"seed,omitempty"`
	// State ties the mock to a named state machine: it answers only in state Requires
	// (when set), and moves the machine to Sets (when set) once it answered.
	State *MockState `json:"state,omitempty"`
	// Plan is how the mock's answers behave on the wire (latency and faults, issue #16),
	// decided per hit by Decide; nil for a mock without one (the JSON fields "latency" and
	// "faults").
	Plan *mock.Plan `json:"-"`

	// RouteKey is the metrics route key of this mock's responses, method and
	// pattern ("GET /users/{id}"), computed once so serving needs no
	// concatenation.
	RouteKey string `json:"-"`

	pat      *mock.Path     // compiled PathPattern or PathRegex
	criteria *mock.Criteria // compiled Match; nil: every request on the path
	seq      uint64         // creation order, for precedence ties
	hits     *mockHits      // shared by every version of the mock; see Hit
	machine  *stateMachine  // State's machine; nil without State
}

// The messages of invalid_mock errors.
const (
	msgMethod        = "method must be one of GET, POST, PUT, PATCH, DELETE or ANY"
	msgPriority      = "priority must be an integer from 1 (the highest) to 1000"
	msgPathSlash     = "path_pattern must start with /"
	msgReserved      = "path_pattern is reserved"
	msgPathBoth      = "give path_pattern or path_regex, not both"
	msgReservedRegex = "path_regex can match a reserved path"
	msgStatusInt     = "status must be an integer"
	msgStatusRng     = "status must be between 200 and 599"
	msgHeadersObj    = "headers must be an object"
	msgHeaderStr     = "header values must be strings"
	msgBodySize      = "body exceeds max mock body size"
	msgCT            = "content_type must be a non-empty string"
	msgDupPath       = "method/path already exists"
	msgDupID         = "mock id already exists"
	msgLimit         = "max mock routes reached"
	msgMockNF        = "mock not found"
)

// MethodAny is the mock method that matches every request method.
const MethodAny = "ANY"

// DefaultPriority is the priority of a mock that gives none; maxPriority the lowest one.
const (
	DefaultPriority = 5
	maxPriority     = 1000
)

// Path returns the mock's path_pattern, or "~" and its path_regex: how it is named in
// metrics routes and messages.
func (m *Mock) Path() string {
	if m.PathRegex != "" {
		return "~" + m.PathRegex
	}
	return m.PathPattern
}

// priority is m's effective priority.
func (m *Mock) priority() int {
	if m.Priority == 0 {
		return DefaultPriority
	}
	return m.Priority
}

// Limits on mock fields (ours; the spec has none).
const (
	maxIDLen         = 64
	maxMockHeaders   = 64
	maxHeaderNameLen = 256
	maxHeaderValLen  = 8192
)

// mockFields is a complete mock before validation.
type mockFields struct {
	id, method, path, pathRegex string
	priority                    int
	match                       json.RawMessage
	responseFields                               // a plain mock's answer
	responses                   []responseFields // a sequence's, instead
	afterLast                   string
	template                    bool
	seed                        *int64
	state                       *MockState
	latency, faults             json.RawMessage // the wire plan's parts; nil when absent
}

// newFields returns the fields of a mock before its input applies: status 200,
// content_type application/json, templated when the server says so.
func (m *Model) newFields() mockFields {
	return mockFields{responseFields: defaultResponse(), template: m.cfg.MockTemplates}
}

// validatedMock is the outcome of validating mockFields.
type validatedMock struct {
	method    string
	pat       *mock.Path
	match     json.RawMessage // compact; nil when there are no criteria
	criteria  *mock.Criteria
	response  MockResponse   // a plain mock's
	responses []MockResponse // a sequence's
	afterLast string
	state     *MockState
	plan      *mock.Plan // nil: none
}

// validateFields checks everything that does not depend on other mocks.
// Order: method, path_pattern (syntax, then reserved), status, headers, body
// size, content_type.
func validateFields(f mockFields, maxBody int) (validatedMock, *Error) {
	var v validatedMock
	method := strings.ToUpper(f.method)
	if method != MethodAny && methodIndexString(method) < 0 {
		return v, invalidMock(msgMethod)
	}
	if f.priority < 0 || f.priority > maxPriority {
		return v, invalidMock(msgPriority)
	}
	v.method = method
	if f.path != "" && f.pathRegex != "" {
		return v, invalidMock(msgPathBoth)
	}
	text, regex := f.path, false
	if f.pathRegex != "" {
		text, regex = f.pathRegex, true
	}
	pat, e := compilePath(text, regex)
	if e != nil {
		return v, e
	}
	if reserved(pat) {
		if regex {
			return v, newErr(KindForbidden, CodeInvalidMock, msgReservedRegex)
		}
		return v, newErr(KindForbidden, CodeInvalidMock, msgReserved)
	}
	v.pat = pat
	if len(f.responses) > 0 {
		if len(f.responses) > maxMockResponses {
			return v, invalidMock("responses may hold at most 1000 entries")
		}
		v.responses = make([]MockResponse, len(f.responses))
		for i, rf := range f.responses {
			r, e := validateResponse(rf, maxBody, "responses["+strconv.Itoa(i)+"].", f.template)
			if e != nil {
				return v, e
			}
			v.responses[i] = r
		}
		v.afterLast = f.afterLast
		if v.afterLast == "" {
			v.afterLast = AfterLastRepeat
		}
	} else {
		r, e := validateResponse(f.responseFields, maxBody, "", f.template)
		if e != nil {
			return v, e
		}
		v.response = r
		if f.afterLast != "" {
			return v, invalidMock("after_last needs responses")
		}
	}
	if f.state != nil {
		if e := f.state.validate(); e != nil {
			return v, e
		}
		st := *f.state
		v.state = &st
	}
	if f.latency != nil || f.faults != nil {
		plan, err := mock.DecodePlanParts(f.latency, f.faults)
		if err != nil {
			return v, invalidMock(err.Error())
		}
		if !plan.IsZero() {
			v.plan = plan
		}
	}
	if len(f.match) > 0 {
		crit, err := mock.DecodeCriteria(f.match, "match")
		if err != nil {
			var fe *mock.FieldError
			if errors.As(err, &fe) {
				return v, invalidMock(fe.Error())
			}
			return v, invalidMock("match: " + err.Error())
		}
		var b bytes.Buffer
		if err := json.Compact(&b, f.match); err != nil {
			return v, invalidMock("match must be an object")
		}
		if crit.Len() > 0 { // {} is no criteria at all
			v.match, v.criteria = b.Bytes(), crit
		}
	}
	return v, nil
}

// ---- Model ----

// Mocks returns the mocks in insertion order. The slice is never modified
// after it is returned (changes replace it), so it may be shared.
func (m *Model) Mocks() []*Mock { return m.mocks }

// Mock returns the mock with the given id.
func (m *Model) Mock(id string) (*Mock, bool) {
	x, ok := m.byID[id]
	return x, ok
}

// Snapshot builds an immutable Snapshot of the current mocks.
func (m *Model) Snapshot() *Snapshot {
	m.machines.prune(m.mocks)
	s := newSnapshot(m.mocks)
	s.seed = m.cfg.MockSeed
	return s
}

// overlay sets the fields the input gives on f (create starts from the defaults, update from
// the stored mock).
func (in *MockInput) overlay(f *mockFields) {
	if in.Method != nil {
		f.method = *in.Method
	}
	// One of path_pattern and path_regex replaces the other.
	if in.PathPattern != nil {
		f.path, f.pathRegex = *in.PathPattern, ""
	}
	if in.PathRegex != nil {
		f.pathRegex = *in.PathRegex
		if in.PathPattern == nil {
			f.path = ""
		}
	}
	// responses replace the plain answer and the other way round.
	if in.HasResponses {
		f.responses = nil
		for i := range in.Responses {
			rf := defaultResponse()
			in.Responses[i].overlay(&rf)
			f.responses = append(f.responses, rf)
		}
		f.responseFields = defaultResponse()
		if in.Responses == nil {
			f.afterLast = ""
		}
	}
	if in.ResponseInput.given() {
		f.responses, f.afterLast = nil, ""
	}
	in.ResponseInput.overlay(&f.responseFields)
	if in.AfterLast != nil {
		f.afterLast = *in.AfterLast
	}
	if in.Template != nil {
		f.template = *in.Template
	}
	if in.HasSeed {
		f.seed = in.Seed
	}
	if in.HasState {
		f.state = in.State
	}
	if in.HasMatch {
		f.match = in.Match
	}
	if in.Priority != nil {
		f.priority = *in.Priority
	}
	if in.HasLatency {
		f.latency = in.Latency
	}
	if in.HasFaults {
		f.faults = in.Faults
	}
}

// CreateMock validates in and adds the mock. Errors: invalid_mock
// (KindInvalid, or KindForbidden for a reserved path), duplicate_mock
// (KindConflict), mock_limit (KindTooLarge), and KindInternal if the random
// source fails.
func (m *Model) CreateMock(in MockInput, now time.Time) (*Mock, *Error) {
	f := m.newFields()
	in.overlay(&f)
	if in.ID != nil && *in.ID != "" {
		if msg := mockIDError(*in.ID); msg != "" {
			return nil, invalidMock(msg)
		}
		f.id = *in.ID
	}
	ts := FormatTime(now)
	return m.insert(f, ts, ts, true)
}

// insert validates f against the fields rules and the other mocks, then
// appends it. An empty f.id gets a random one. create applies the configured
// limits, MaxMockBodyBytes and MaxMocks: they bound what the API creates, and
// the loader inserts stored mocks without them.
func (m *Model) insert(f mockFields, createdAt, updatedAt string, create bool) (*Mock, *Error) {
	maxBody := math.MaxInt
	if create {
		maxBody = m.cfg.MaxMockBodyBytes
	}
	v, e := validateFields(f, maxBody)
	if e != nil {
		return nil, e
	}
	if e := m.checkConflicts(v, f.id, ""); e != nil {
		return nil, e
	}
	if create && m.apiMockCount() >= m.cfg.MaxMocks {
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
	x := m.newMock(f, v, createdAt, updatedAt, m.seq)
	mocks := make([]*Mock, len(m.mocks), len(m.mocks)+1)
	copy(mocks, m.mocks)
	m.mocks = append(mocks, x)
	m.byID[x.ID] = x
	return x, nil
}

// FromFile reports whether the mock was loaded from a mock file.
func (x *Mock) FromFile() bool { return strings.HasPrefix(x.Source, SourceFilePrefix) }

// SourceFilePrefix starts the Source of a mock loaded from a mock file.
const SourceFilePrefix = "file:"

// newMock builds a validated mock, bound to its state machine (made when it is the first
// mock to name it).
func (m *Model) newMock(f mockFields, v validatedMock, createdAt, updatedAt string, seq uint64) *Mock {
	x := mockOf(f, v, createdAt, updatedAt, seq)
	made := false
	if x.State != nil {
		x.machine, made = m.machines.get(x.State.Name)
	}
	m.restored(x, made)
	return x
}

// mockOf builds a validated mock not bound to a state machine (a dry run's would-be mock).
func mockOf(f mockFields, v validatedMock, createdAt, updatedAt string, seq uint64) *Mock {
	x := &Mock{
		ID:           f.id,
		Method:       v.method,
		PathPattern:  f.path,
		PathRegex:    f.pathRegex,
		MockResponse: v.response,
		Responses:    v.responses,
		AfterLast:    v.afterLast,
		Template:     f.template,
		Seed:         f.seed,
		State:        v.state,
		CreatedAt:    createdAt,
		UpdatedAt:    updatedAt,
		Match:        v.match,
		Priority:     f.priority,
		Plan:         v.plan,
		pat:          v.pat,
		criteria:     v.criteria,
		seq:          seq,
		hits:         &mockHits{},
	}
	x.RouteKey = x.Method + " " + x.Path()
	return x
}

// fields returns the fields x was built from, for an update to apply its input to.
func (x *Mock) fields() mockFields {
	f := mockFields{id: x.ID, method: x.Method, path: x.PathPattern, pathRegex: x.PathRegex,
		priority: x.Priority, match: x.Match, afterLast: x.AfterLast, template: x.Template,
		seed: x.Seed, state: x.State, latency: x.Plan.LatencyJSON(), faults: x.Plan.FaultsJSON()}
	if x.Responses != nil {
		for i := range x.Responses {
			f.responses = append(f.responses, x.Responses[i].fieldsOf())
		}
		f.responseFields = defaultResponse()
	} else {
		f.responseFields = x.MockResponse.fieldsOf()
	}
	return f
}

// checkConflicts reports a duplicate id, or a mock (other than self) with the
// same method, an equivalent pattern (equal once parameter names are ignored)
// and the same criteria: mocks on one route may coexist when their criteria
// differ (the most specific is tried first, see Snapshot.MatchMock).
func (m *Model) checkConflicts(v validatedMock, id, self string) *Error {
	if id != "" && id != self {
		if _, dup := m.byID[id]; dup {
			return newErr(KindConflict, CodeDuplicateMock, msgDupID)
		}
	}
	key := routeKey(v.method, v.pat, v.match, v.state)
	for _, x := range m.mocks {
		if x.ID != self && x.routeKey() == key {
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
// the merged mock is validated in full, exactly as on create, except that
// MaxMockBodyBytes bounds only a body the update gives (a stored mock loaded
// over the limit can still be changed otherwise). updated_at
// becomes now; created_at and the mock's position are kept. Errors: not_found
// (KindNotFound) and those of CreateMock.
func (m *Model) UpdateMock(id string, in MockInput, now time.Time) (*Mock, *Error) {
	old, ok := m.byID[id]
	if !ok {
		return nil, newErr(KindNotFound, CodeNotFound, msgMockNF)
	}
	if e := ReadOnlyError(old); e != nil {
		return nil, e
	}
	f := old.fields()
	in.overlay(&f)
	maxBody := m.cfg.MaxMockBodyBytes
	if in.Body == nil {
		maxBody = math.MaxInt
	}
	v, e := validateFields(f, maxBody)
	if e != nil {
		return nil, e
	}
	if e := m.checkConflicts(v, "", id); e != nil {
		return nil, e
	}
	x := m.newMock(f, v, old.CreatedAt, FormatTime(now), old.seq)
	x.hits = old.hits
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
	if e := ReadOnlyError(old); e != nil {
		return e
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
