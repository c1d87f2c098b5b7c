package state

import (
	"context"
	"errors"
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

// LoadFileMocks applies the first load of the mock files (see Model.ReplaceFileMocks)
// before Run, as New loads the store: the caller owns the model until Run starts, and
// calling it after that is a programming error that changes nothing (every change gets
// the error). Nothing is published: the load is summed up by its caller.
func (a *Actor) LoadFileMocks(changes []FileMocks) []error {
	out := make([]error, len(changes))
	if a.started.Load() {
		for i := range out {
			out[i] = errors.New("state: LoadFileMocks called after Run")
		}
		return out
	}
	errs, changed := a.model.ReplaceFileMocks(changes, a.cfg.Now())
	for i, e := range errs {
		if e != nil {
			out[i] = e
		}
	}
	if changed {
		a.snap.Store(a.model.Snapshot())
	}
	return out
}
