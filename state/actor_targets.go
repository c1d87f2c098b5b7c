package state

import (
	"context"
	"time"
)

// TargetSnapshot returns the current immutable TargetSnapshot, for the
// proxy's and the runner's non-blocking reads. It never blocks, takes no lock
// and does not allocate; it works before Run and after the actor stops.
func (a *Actor) TargetSnapshot() *TargetSnapshot { return a.targetSnap.Load() }

// ListTargets returns the targets in insertion order (never nil).
func (a *Actor) ListTargets(ctx context.Context) ([]Target, error) {
	return callIn(ctx, a, fileTargets, func(m *Model, _ time.Time) ([]Target, *Error, bool) {
		out := make([]Target, len(m.targets))
		for i, t := range m.targets {
			out[i] = *t
		}
		return out, nil, false
	})
}

// GetTarget returns a target by id (not_found "target not found").
func (a *Actor) GetTarget(ctx context.Context, id string) (Target, error) {
	return callIn(ctx, a, fileTargets, func(m *Model, _ time.Time) (Target, *Error, bool) {
		t, ok := m.targetByID[id]
		if !ok {
			return Target{}, newErr(KindNotFound, CodeNotFound, msgTargetNF), false
		}
		return *t, nil, false
	})
}

// CreateTarget validates and stores a target (see Model.CreateTarget). It is
// in TargetSnapshot when it returns, and with a TargetFile it returns only
// once the target is on disk; if that write fails the error is KindInternal
// persist_failed and the target stays in memory, saved by the next
// successful write.
func (a *Actor) CreateTarget(ctx context.Context, in TargetInput) (Target, error) {
	return callIn(ctx, a, fileTargets, func(m *Model, now time.Time) (Target, *Error, bool) {
		t, e := m.CreateTarget(in, now)
		if e != nil {
			return Target{}, e, false
		}
		return *t, nil, true
	})
}

// UpdateTarget merges and re-validates a target (see Model.UpdateTarget);
// visibility and durability as for CreateTarget.
func (a *Actor) UpdateTarget(ctx context.Context, id string, in TargetInput) (Target, error) {
	return callIn(ctx, a, fileTargets, func(m *Model, now time.Time) (Target, *Error, bool) {
		t, e := m.UpdateTarget(id, in, now)
		if e != nil {
			return Target{}, e, false
		}
		return *t, nil, true
	})
}

// DeleteTarget removes a target (not_found if absent); visibility and
// durability as for CreateTarget.
func (a *Actor) DeleteTarget(ctx context.Context, id string) error {
	_, err := callIn(ctx, a, fileTargets, func(m *Model, _ time.Time) (struct{}, *Error, bool) {
		if e := m.DeleteTarget(id); e != nil {
			return struct{}{}, e, false
		}
		return struct{}{}, nil, true
	})
	return err
}
