package state

// Clearing history and resetting the lab (issue #13).

// EventSystemReset is published after POST /api/reset, with the ResetSummary as payload.
const EventSystemReset = "system.reset"

// HistoryLen returns how many entries the history ring holds.
func (m *Model) HistoryLen() int { return m.history.n }

// ResetSummary says what a Reset removed. Its JSON is the body of POST /api/reset and the
// payload of the system.reset event.
type ResetSummary struct {
	MocksDeleted    int `json:"mocks_deleted"`     // mocks created through the API
	MocksKept       int `json:"mocks_kept"`        // mocks loaded from mock files
	HistoryCleared  int `json:"history_cleared"`   // history entries removed
	MockStatesReset int `json:"mock_states_reset"` // stateful mocks set back to their start
}

// Reset brings the lab back to a fresh start: it deletes every mock created through the API
// (DeleteAllMocks), clears the history (ClearHistory) and sets every stateful mock back to
// its initial state and counters (resetMockStates). Scenarios, their runs, targets and the
// event ring are kept: they are the lab's tools, not its traffic, and the events a client
// has seen stay valid.
func (m *Model) Reset() ResetSummary {
	s := ResetSummary{MocksDeleted: m.DeleteAllMocks(), HistoryCleared: m.HistoryLen()}
	m.ClearHistory()
	s.MocksKept = len(m.mocks)
	s.MockStatesReset = m.resetMockStates()
	return s
}
