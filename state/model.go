package state

import (
	"encoding/hex"
	"io"
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
	// historyEpoch counts ClearHistory calls: entries are numbered by
	// history.pushed within an epoch.
	historyEpoch uint64
	events       eventRing

	scenarios  []*Scenario // insertion order; replaced (copy-on-write) on every change
	scenByID   map[string]*Scenario
	runs       map[string][]*RunReport // by scenario id, oldest first, at most MaxRunsPerScenario
	runByID    map[string]*RunReport
	targets    []*Target // insertion order; replaced (copy-on-write) on every change
	targetByID map[string]*Target
	// machines are the mocks' named state machines (issue #15), by name.
	machines machineSet
	// toRestore is what mock-states.json saved, for the mocks and machines still to be made
	// (PersistMockState); nil without one.
	toRestore *persistedMockStates
	// historySecrets are the values history shows as *** (issue #18, history_secrets.go).
	historySecrets historySecrets
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
		machines:   machineSet{byName: make(map[string]*stateMachine)},
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
