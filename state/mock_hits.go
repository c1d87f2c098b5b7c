package state

import (
	"sync/atomic"
	"time"
)

// mockHits counts the requests a mock answered: the one mutable part of a Mock. Every
// version of a mock shares it (an update or a replacement keeps it); the serving goroutines
// write it with atomic operations, and the actor zeroes it when history is cleared (the
// counts are about the requests in the journal). In memory only: a restart starts at 0.
type mockHits struct {
	n    atomic.Uint64
	last atomic.Int64 // Unix nanoseconds of the last hit; 0: none
	// served numbers the hits of a sequence or templated mock (its position, its random
	// values). Cleared by a reset of mock states, not by clearing history.
	served atomic.Uint64
}

// Hit counts a request the mock answered at now. Safe for concurrent use; it allocates
// nothing.
func (m *Mock) Hit(now time.Time) {
	if h := m.hits; h != nil {
		h.n.Add(1)
		h.last.Store(now.UnixNano())
	}
}

// Hits returns how many requests the mock answered since it was created, its file loaded
// or history cleared, and when it answered the last ("" for none, else FormatTime's form).
func (m *Mock) Hits() (n uint64, lastAt string) {
	h := m.hits
	if h == nil {
		return 0, ""
	}
	if last := h.last.Load(); last != 0 {
		lastAt = FormatTime(time.Unix(0, last))
	}
	return h.n.Load(), lastAt
}

func (h *mockHits) reset() {
	if h != nil {
		h.n.Store(0)
		h.last.Store(0)
	}
}
