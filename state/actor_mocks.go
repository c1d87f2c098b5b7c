package state

import (
	"context"
	"time"
)

// CreateMock validates and stores a mock (see Model.CreateMock for errors).
// With a StateFile it returns only once the mock is on disk; if that write
// fails the error is KindInternal persist_failed, and the mock stays in
// memory (and in the Snapshot) and is saved by the next successful write.
func (a *Actor) CreateMock(ctx context.Context, in MockInput) (Mock, error) {
	return call(ctx, a, func(m *Model, now time.Time) (Mock, *Error, bool) {
		x, e := m.CreateMock(in, now)
		if e != nil {
			return Mock{}, e, false
		}
		return *x, nil, true
	})
}

// UpdateMock applies a partial update (see Model.UpdateMock); durability as
// for CreateMock.
func (a *Actor) UpdateMock(ctx context.Context, id string, in MockInput) (Mock, error) {
	return call(ctx, a, func(m *Model, now time.Time) (Mock, *Error, bool) {
		x, e := m.UpdateMock(id, in, now)
		if e != nil {
			return Mock{}, e, false
		}
		return *x, nil, true
	})
}

// DeleteMock removes a mock (not_found if absent); durability as for
// CreateMock.
func (a *Actor) DeleteMock(ctx context.Context, id string) error {
	_, err := call(ctx, a, func(m *Model, _ time.Time) (struct{}, *Error, bool) {
		if e := m.DeleteMock(id); e != nil {
			return struct{}{}, e, false
		}
		return struct{}{}, nil, true
	})
	return err
}

// GetMock returns a mock by id (not_found if absent).
func (a *Actor) GetMock(ctx context.Context, id string) (Mock, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (Mock, *Error, bool) {
		x, ok := m.Mock(id)
		if !ok {
			return Mock{}, newErr(KindNotFound, CodeNotFound, msgMockNF), false
		}
		return *x, nil, false
	})
}

// ListMocks returns the mocks in insertion order (never nil).
func (a *Actor) ListMocks(ctx context.Context) ([]Mock, error) {
	return call(ctx, a, func(m *Model, _ time.Time) ([]Mock, *Error, bool) {
		out := make([]Mock, len(m.mocks))
		for i, x := range m.mocks {
			out[i] = *x
		}
		return out, nil, false
	})
}

// History returns the filtered history, oldest first (see Model.History).
func (a *Actor) History(ctx context.Context, f HistoryFilter) ([]HistoryEntry, error) {
	return call(ctx, a, func(m *Model, _ time.Time) ([]HistoryEntry, *Error, bool) {
		h, e := m.History(f)
		return h, e, false
	})
}

// HistoryEntry returns the most recent entry with the given request id, for
// replay (not_found "request id not found" if absent). An entry whose
// ReplayInput is nil cannot be replayed.
func (a *Actor) HistoryEntry(ctx context.Context, requestID string) (HistoryEntry, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (HistoryEntry, *Error, bool) {
		e, err := m.HistoryEntry(requestID)
		return e, err, false
	})
}

// Events returns a page of events (see Model.Events and EventPage). The
// caller may keep the page; it shares nothing mutable with the actor.
func (a *Actor) Events(ctx context.Context, since uint64, limit int, topics []string) (EventPage, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (EventPage, *Error, bool) {
		return m.Events(since, limit, topics), nil, false
	})
}

// PlaygroundState returns {"version":1,"mocks":[…],"history":[…]}.
func (a *Actor) PlaygroundState(ctx context.Context) (PlaygroundState, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (PlaygroundState, *Error, bool) {
		return m.PlaygroundState(), nil, false
	})
}
