package state

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
)

// Sequences and state machines (issue #15).
//
// A sequence mock answers with its responses in order, one per hit; its hit counter is
// shared by every version of the mock (like its hits) and advanced with one atomic add on
// the serving goroutine, so concurrent hits from any number of connections each get their
// own position. A state machine is named by the mocks that use it; its current state is an
// atomic value the serving goroutines read and write. The actor owns both for reset and
// for what the API shows; neither goes through its mailbox on a hit.

// What a sequence does after its last response.
const (
	AfterLastRepeat   = "repeat_last" // the last response again (the default)
	AfterLastLoop     = "loop"        // from the first again
	AfterLastNotFound = "not_found"   // 404: the sequence is used up
)

const msgAfterLast = "after_last must be one of repeat_last, loop or not_found"

// maxMockResponses bounds a sequence.
const maxMockResponses = 1000

// StateStarted is the state every machine starts in.
const StateStarted = "started"

// MockState ties a mock to a named state machine.
type MockState struct {
	Name     string `json:"name"`
	Requires string `json:"requires,omitempty"` // the state the mock answers in; "" for any
	Sets     string `json:"sets,omitempty"`     // the state the machine moves to once it answered
}

// mockStateKeys: "current" is what the API shows beside them (ignored on input).
var mockStateKeys = []string{"name", "requires", "sets", "current"}

func decodeMockState(raw json.RawMessage) (*MockState, *Error) {
	obj, ok := decodeObject(raw)
	if !ok {
		return nil, invalidMock("state must be an object with name, and requires or sets")
	}
	if msg := UnknownField(obj, mockStateKeys...); msg != "" {
		return nil, invalidMock("state: " + msg)
	}
	var st MockState
	for _, f := range []struct {
		key string
		dst *string
	}{{"name", &st.Name}, {"requires", &st.Requires}, {"sets", &st.Sets}} {
		if raw, ok := present(obj, f.key); ok {
			s, ok := decodeString(raw)
			if !ok {
				return nil, invalidMock("state." + f.key + " must be a string")
			}
			*f.dst = s
		}
	}
	return &st, nil
}

// validate checks a state's names: a machine name as an id is (letters, digits, '.', '_',
// '-'; at most 64), states the same, and at least one of requires and sets.
func (st *MockState) validate() *Error {
	if !validStateName(st.Name) {
		return invalidMock("state.name must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	for _, f := range []struct{ key, v string }{{"requires", st.Requires}, {"sets", st.Sets}} {
		if f.v != "" && !validStateName(f.v) {
			return invalidMock("state." + f.key + " must be 1 to 64 letters, digits, '.', '_' or '-'")
		}
	}
	if st.Requires == "" && st.Sets == "" {
		return invalidMock("state needs requires, sets or both")
	}
	return nil
}

func validStateName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// stateMachine is one named machine. Its state is read and moved by serving goroutines
// (atomic) and set or reset by the actor.
type stateMachine struct {
	name string
	cur  atomic.Pointer[string]
}

var startedState = StateStarted

// Current returns the machine's state.
func (sm *stateMachine) Current() string {
	if p := sm.cur.Load(); p != nil {
		return *p
	}
	return StateStarted
}

// set moves the machine to *s; s must never change (a mock's State.Sets, or a new string).
func (sm *stateMachine) set(s *string) {
	sm.cur.Store(s)
}

// machineSet holds the machines by name; owned by the Model (the actor).
type machineSet struct {
	byName map[string]*stateMachine
}

// get returns the machine named name, made in state started when it is new (made).
func (s *machineSet) get(name string) (sm *stateMachine, made bool) {
	sm = s.byName[name]
	if sm == nil {
		sm = &stateMachine{name: name}
		s.byName[name] = sm
		made = true
	}
	return sm, made
}

// prune forgets the machines no mock uses (their state goes with them).
func (s *machineSet) prune(mocks []*Mock) {
	used := make(map[string]bool, len(s.byName))
	for _, x := range mocks {
		if x.State != nil {
			used[x.State.Name] = true
		}
	}
	for name := range s.byName {
		if !used[name] {
			delete(s.byName, name)
		}
	}
}

// MachineState is a state machine as the API shows it: its name, current state and the
// mocks that use it.
type MachineState struct {
	Name  string   `json:"name"`
	State string   `json:"state"`
	Mocks []string `json:"mocks"`
}

// MachineStates returns every machine, by name.
func (m *Model) MachineStates() []MachineState {
	out := make([]MachineState, 0, len(m.machines.byName))
	for _, name := range slices.Sorted(maps.Keys(m.machines.byName)) {
		out = append(out, m.machineState(name))
	}
	return out
}

func (m *Model) machineState(name string) MachineState {
	ms := MachineState{Name: name, State: m.machines.byName[name].Current(), Mocks: []string{}}
	for _, x := range m.mocks {
		if x.State != nil && x.State.Name == name {
			ms.Mocks = append(ms.Mocks, x.ID)
		}
	}
	return ms
}

// MachineStateOf returns one machine. Error: not_found.
func (m *Model) MachineStateOf(name string) (MachineState, *Error) {
	if _, ok := m.machines.byName[name]; !ok {
		return MachineState{}, newErr(KindNotFound, CodeNotFound, "no mock uses state machine "+name)
	}
	return m.machineState(name), nil
}

// SetMachineState sets one machine's state (StateStarted resets it). Errors: not_found,
// invalid_mock_state for a bad state name.
func (m *Model) SetMachineState(name, state string) (MachineState, *Error) {
	sm, ok := m.machines.byName[name]
	if !ok {
		return MachineState{}, newErr(KindNotFound, CodeNotFound, "no mock uses state machine "+name)
	}
	if !validStateName(state) {
		return MachineState{}, newErr(KindInvalid, CodeInvalidMockState, "state must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	sm.set(&state)
	return m.machineState(name), nil
}

// resetMockStates sets every machine back to started and every mock's sequence to its
// first response; it returns how many machines and sequences it reset.
func (m *Model) resetMockStates() int {
	m.machines.prune(m.mocks) // a reset deletes the API's mocks first
	n := 0
	for _, sm := range m.machines.byName {
		sm.set(&startedState)
		n++
	}
	for _, x := range m.mocks {
		if x.Responses != nil || x.Template {
			x.hits.served.Store(0)
			if x.Responses != nil {
				n++
			}
		}
	}
	return n
}

// Sequence is where a sequence mock stands, as the API shows it.
type Sequence struct {
	Length   int    `json:"length"`
	Position int    `json:"position"` // the index of the response the next hit gets; -1: used up
	Served   uint64 `json:"served"`
}

// SequenceOf returns where a sequence mock stands; nil for a plain mock.
func (x *Mock) SequenceOf() *Sequence {
	if x.Responses == nil {
		return nil
	}
	n := x.hits.served.Load()
	_, pos := x.responseFor(n)
	return &Sequence{Length: len(x.Responses), Position: pos, Served: n}
}

// MachineNow returns the current state of the mock's machine ("" without one).
func (x *Mock) MachineNow() string {
	if x.machine == nil {
		return ""
	}
	return x.machine.Current()
}

// responseFor returns the response of hit n (0-based) and its index; nil and -1 when a
// not_found sequence is used up.
func (x *Mock) responseFor(n uint64) (*MockResponse, int) {
	if x.Responses == nil {
		return &x.MockResponse, 0
	}
	k := uint64(len(x.Responses))
	switch {
	case n < k:
	case x.AfterLast == AfterLastLoop:
		n %= k
	case x.AfterLast == AfterLastNotFound:
		return nil, -1
	default:
		n = k - 1
	}
	return &x.Responses[n], int(n)
}

// admits reports whether the mock's state machine is in the state the mock requires (true
// without a requirement).
func (x *Mock) admits() bool {
	return x.machine == nil || x.State.Requires == "" || x.machine.Current() == x.State.Requires
}

// Serve counts a hit of the mock and returns what answers it: the response (nil when a
// not_found sequence is used up) and the hit's number (0-based, for templates' random
// values). It moves the mock's state machine to State.Sets. Safe for concurrent use; it
// allocates nothing.
func (x *Mock) Serve() (*MockResponse, uint64) {
	var n uint64
	if x.Responses != nil || x.Template {
		n = x.hits.served.Add(1) - 1
	}
	r, _ := x.responseFor(n)
	if x.machine != nil && x.State.Sets != "" {
		x.machine.set(&x.State.Sets)
	}
	return r, n
}

// specificity is how much the mock asks of a request beyond method and path: its criteria,
// and a required state.
func (x *Mock) specificity() int {
	n := x.criteria.Len()
	if x.State != nil && x.State.Requires != "" {
		n++
	}
	return n
}

// mockStatesFile is where the main store keeps sequence positions and machine states
// (Config.PersistMockState).
const mockStatesFile = "mock-states.json"

// persistedMockStates is mock-states.json: each machine's state, and the hits served by
// each mock that counts them (sequences, templates), by mock id.
type persistedMockStates struct {
	Version  int               `json:"version"`
	Machines map[string]string `json:"machines"`
	Served   map[string]uint64 `json:"served"`
}

// mockStatesJSON renders the current positions and states (deterministic: keys sorted).
func (m *Model) mockStatesJSON() []byte {
	p := persistedMockStates{Version: 1, Machines: map[string]string{}, Served: map[string]uint64{}}
	for name, sm := range m.machines.byName {
		p.Machines[name] = sm.Current()
	}
	for _, x := range m.mocks {
		if n := x.hits.served.Load(); n > 0 {
			p.Served[x.ID] = n
		}
	}
	b, _ := json.Marshal(p) // maps of strings and numbers always marshal
	return b
}

// restoreMockStates reads a mock-states.json to restore: each machine and each mock gets
// its saved state or position when it is made (restored), whether it loads from the store
// or later from a mock file; a value is used once.
func (m *Model) restoreMockStates(data []byte) error {
	var p persistedMockStates
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	if p.Version != 1 {
		return fmt.Errorf("version %d is not 1", p.Version)
	}
	m.toRestore = &p
	return nil
}

// restored gives a new mock, and its machine when it is new, what mock-states.json saved
// for them (restoreMockStates).
func (m *Model) restored(x *Mock, newMachine bool) {
	p := m.toRestore
	if p == nil {
		return
	}
	if n, ok := p.Served[x.ID]; ok && (x.Responses != nil || x.Template) {
		x.hits.served.Store(n)
		delete(p.Served, x.ID)
	}
	if newMachine {
		if st, ok := p.Machines[x.State.Name]; ok && validStateName(st) {
			x.machine.set(&st)
			delete(p.Machines, x.State.Name)
		}
	}
}
