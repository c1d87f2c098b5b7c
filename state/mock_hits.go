package state

import (
	"sync/atomic"
	"time"

	"ownhttp/mock"
)

// mockHits counts the requests a mock answered: the one mutable part of a Mock. Every
// version of a mock shares it (an update or a replacement keeps it); the serving goroutines
// write it with atomic operations, and the actor zeroes it when history is cleared (the
// counts are about the requests in the journal). In memory only: a restart starts at 0.
type mockHits struct {
	n     atomic.Uint64
	last  atomic.Int64 // Unix nanoseconds of the last hit; 0: none
	first atomic.Int64 // Unix nanoseconds of the first hit since the count started; 0: none
	// served numbers the hits of a sequence or templated mock (its position, its random
	// values). Cleared by a reset of mock states, not by clearing history.
	served atomic.Uint64
}

// Hit counts a request the mock answered at now and returns its number (from 1) and the
// milliseconds since the first hit counted (0 for the first): what a wire plan decides by
// (Mock.Decide). Safe for concurrent use; it allocates nothing.
func (m *Mock) Hit(now time.Time) (hit uint64, sinceFirstMS int64) { return m.hits.hit(now) }

func (h *mockHits) hit(now time.Time) (hit uint64, sinceFirstMS int64) {
	if h == nil {
		return 0, 0
	}
	hit = h.n.Add(1)
	ns := now.UnixNano()
	h.last.Store(ns)
	first := h.first.Load()
	if first == 0 {
		if h.first.CompareAndSwap(0, ns) {
			return hit, 0
		}
		first = h.first.Load()
	}
	return hit, max(ns-first, 0) / int64(time.Millisecond)
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
		h.first.Store(0)
	}
}

// Decide is what the mock's wire plan decided for hit (Hit's numbers) under the server's
// seed, or the mock's own when it has one: a pure function of (seed, id, hit) and, for
// during_ms windows, sinceFirstMS. The zero Decision (no delay, no fault) without a plan.
func (m *Mock) Decide(serverSeed int64, hit uint64, sinceFirstMS int64) mock.Decision {
	seed := serverSeed
	if m.Seed != nil {
		seed = *m.Seed
	}
	return m.Plan.Decide(uint64(seed), m.ID, hit, sinceFirstMS)
}
