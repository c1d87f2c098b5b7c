package state

import (
	"context"
	"time"
)

// ReplaceFileMocks sends one message applying every change (see Model.ReplaceFileMocks);
// the loader batches a whole directory scan into one call, so a start with many files
// builds one Snapshot. The result has one error (or nil) per change.
func (a *Actor) ReplaceFileMocks(ctx context.Context, changes []FileMocks) ([]error, error) {
	errs, err := call(ctx, a, func(m *Model, now time.Time) ([]*Error, *Error, bool) {
		errs, changed := m.ReplaceFileMocks(changes, now)
		return errs, nil, changed
	})
	if err != nil {
		return nil, err
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		if e != nil {
			out[i] = e
		}
	}
	return out, nil
}
