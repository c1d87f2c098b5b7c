package state

import (
	"context"
	"time"
)

// UpsertMock creates or replaces the mock with the given id (see Model.UpsertMock) and
// reports whether it created it; durability as for CreateMock.
func (a *Actor) UpsertMock(ctx context.Context, id string, in MockInput) (Mock, bool, error) {
	type result struct {
		mock    Mock
		created bool
	}
	r, err := call(ctx, a, func(m *Model, now time.Time) (result, *Error, bool) {
		x, created, e := m.UpsertMock(id, in, now)
		if e != nil {
			return result{}, e, false
		}
		return result{*x, created}, nil, true
	})
	return r.mock, r.created, err
}

// DeleteAllMocks removes every mock created through the API and returns how many (see
// Model.DeleteAllMocks); durability as for CreateMock.
func (a *Actor) DeleteAllMocks(ctx context.Context) (int, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (int, *Error, bool) {
		n := m.DeleteAllMocks()
		return n, nil, n > 0
	})
}

// ClearHistory empties the history and returns how many entries it removed. Records
// captured before the call are cleared too (the actor applies queued batches first). With a
// StateFile it returns only once the file has been written without them.
func (a *Actor) ClearHistory(ctx context.Context) (int, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (int, *Error, bool) {
		n := m.HistoryLen()
		m.ClearHistory()
		return n, nil, true // always written: a history flush may be pending
	})
}

// Reset deletes the API's mocks, clears the history and resets stateful mocks (see
// Model.Reset); durability as for ClearHistory.
func (a *Actor) Reset(ctx context.Context) (ResetSummary, error) {
	return call(ctx, a, func(m *Model, _ time.Time) (ResetSummary, *Error, bool) {
		return m.Reset(), nil, true
	})
}
