package state

import (
	"context"
	"fmt"
	"time"
)

// Batch create of mocks (issue #17): an import creates its mocks in one message to the
// actor, so that it is atomic (all or nothing), durable in one write, and never
// interleaved with another change.

// BatchOptions are the options of a batch create.
type BatchOptions struct {
	// Partial creates the valid mocks even when some inputs fail; without it, one failed
	// input means nothing is created.
	Partial bool
	// DryRun validates and reports, creating nothing.
	DryRun bool
}

// BatchItem is the outcome of one input of a batch create, at the input's index.
type BatchItem struct {
	// Mock is the mock created, or the one that would have been created (a dry run, or a
	// valid input of an all-or-nothing batch that failed: then Created is false). It is
	// the zero Mock when Err is set. A dry run's mock carries the id it would have been
	// given; another create may take that id.
	Mock Mock
	// Created reports whether Mock was stored.
	Created bool
	// Err says why the input was refused (what CreateMock would say, or a duplicate of
	// another input of the batch: duplicate_mock naming its index).
	Err *Error
}

// BatchReport is the outcome of a batch create.
type BatchReport struct {
	Items   []BatchItem // one per input, in input order
	Created int         // how many mocks were stored
	Failed  int         // how many inputs were refused
}

// CreateMocks validates and stores many mocks in one message (see Model.CreateMocks);
// durability as for CreateMock, with one write for the whole batch. The error is only the
// actor's (stopped, ctx ended) or the write's (persist_failed: the mocks stay in memory, as
// for CreateMock); refused inputs are reported in the items.
func (a *Actor) CreateMocks(ctx context.Context, ins []MockInput, opt BatchOptions) (BatchReport, error) {
	return call(ctx, a, func(m *Model, now time.Time) (BatchReport, *Error, bool) {
		r := m.CreateMocks(ins, opt, now)
		return r, nil, r.Created > 0
	})
}

// batchEntry is one validated input waiting to be inserted.
type batchEntry struct {
	f mockFields
	v validatedMock
}

// CreateMocks validates every input as CreateMock would — its fields, MaxMockBodyBytes, its
// id, conflicts with the stored mocks — and against the inputs before it (the same id, or
// the same route and criteria: duplicate_mock naming that input's index). MaxMocks bounds
// the API mocks after the batch: the inputs past the room left are refused with
// mock_limit. Then, unless opt.DryRun, it stores the valid inputs in order when every input
// is valid or opt.Partial is set, and none otherwise. Stored mocks share created_at.
func (m *Model) CreateMocks(ins []MockInput, opt BatchOptions, now time.Time) BatchReport {
	ts := FormatTime(now)
	rep := BatchReport{Items: make([]BatchItem, len(ins))}
	entries := make([]*batchEntry, len(ins))
	ids := make(map[string]int, len(ins))  // ids given or drawn in the batch → input index
	keys := make(map[string]int, len(ins)) // route keys of the batch → input index
	room := m.cfg.MaxMocks - m.apiMockCount()
	for i := range ins {
		in := &ins[i]
		f := m.newFields()
		in.overlay(&f)
		e := func() *Error {
			if in.ID != nil && *in.ID != "" {
				if msg := mockIDError(*in.ID); msg != "" {
					return invalidMock(msg)
				}
				f.id = *in.ID
			}
			v, e := validateFields(f, m.cfg.MaxMockBodyBytes)
			if e != nil {
				return e
			}
			if e := m.checkConflicts(v, f.id, ""); e != nil {
				return e
			}
			if j, dup := ids[f.id]; dup && f.id != "" {
				return newErr(KindConflict, CodeDuplicateMock, fmt.Sprintf("%s (the id of item %d of the batch)", msgDupID, j))
			}
			key := routeKey(v.method, v.pat, v.match, v.state)
			if j, dup := keys[key]; dup {
				return newErr(KindConflict, CodeDuplicateMock, fmt.Sprintf("%s (the route of item %d of the batch)", msgDupPath, j))
			}
			if room <= 0 {
				return newErr(KindTooLarge, CodeMockLimit, msgLimit)
			}
			room--
			if f.id != "" {
				ids[f.id] = i
			}
			keys[key] = i
			entries[i] = &batchEntry{f: f, v: v}
			return nil
		}()
		if e != nil {
			rep.Items[i].Err = e
			rep.Failed++
		}
	}
	// Draw the missing ids, unique among the stored mocks and the batch.
	for i, en := range entries {
		if en == nil || en.f.id != "" {
			continue
		}
		id, e := m.newBatchID(ids)
		if e != nil {
			entries[i], rep.Items[i].Err = nil, e
			rep.Failed++
			continue
		}
		en.f.id, ids[id] = id, i
	}
	store := !opt.DryRun && (rep.Failed == 0 || opt.Partial)
	if !store {
		for i, en := range entries {
			if en != nil {
				rep.Items[i].Mock = *mockOf(en.f, en.v, ts, ts, 0)
			}
		}
		return rep
	}
	mocks := make([]*Mock, len(m.mocks), len(m.mocks)+len(ins)-rep.Failed)
	copy(mocks, m.mocks)
	for i, en := range entries {
		if en == nil {
			continue
		}
		m.seq++
		x := m.newMock(en.f, en.v, ts, ts, m.seq)
		mocks = append(mocks, x)
		m.byID[x.ID] = x
		rep.Items[i].Mock, rep.Items[i].Created = *x, true
		rep.Created++
	}
	m.mocks = mocks
	return rep
}

// newBatchID is newID avoiding the ids of the batch too.
func (m *Model) newBatchID(taken map[string]int) (string, *Error) {
	for range 8 {
		id, e := m.newID()
		if e != nil {
			return "", e
		}
		if _, used := taken[id]; !used {
			return id, nil
		}
	}
	return "", newErr(KindInternal, CodeInternal, "cannot generate a unique mock id")
}
