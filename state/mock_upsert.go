package state

import "time"

// Upsert and bulk delete of mocks (issue #13).

// UpsertMock is PUT /api/mocks/{id}: a full replacement when the mock exists, a create with
// that id when it does not. It reports whether it created the mock.
//
// Replace: every field comes from in, absent fields take the create defaults (status 200,
// content_type application/json, no headers, empty body), exactly as a POST would build
// them; created_at and the mock's position are kept and updated_at becomes now. Create: the
// id must be a valid id, and MaxMocks applies. In both cases an id in the payload must equal
// id (invalid_mock naming the field otherwise), the body is bounded by MaxMockBodyBytes and
// the mock is validated in full. Errors: read_only_mock (KindConflict) for a mock loaded from
// a mock file, and those of CreateMock.
func (m *Model) UpsertMock(id string, in MockInput, now time.Time) (*Mock, bool, *Error) {
	if in.ID != nil && *in.ID != "" && *in.ID != id {
		return nil, false, invalidMock("id in the body must equal the id in the path")
	}
	f := m.newFields()
	f.id = id
	in.overlay(&f)
	old, ok := m.byID[id]
	if !ok {
		if msg := mockIDError(id); msg != "" {
			return nil, false, invalidMock(msg)
		}
		ts := FormatTime(now)
		x, e := m.insert(f, ts, ts, true)
		return x, e == nil, e
	}
	if e := ReadOnlyError(old); e != nil {
		return nil, false, e
	}
	v, e := validateFields(f, m.cfg.MaxMockBodyBytes)
	if e != nil {
		return nil, false, e
	}
	if e := m.checkConflicts(v, "", id); e != nil {
		return nil, false, e
	}
	x := m.newMock(f, v, old.CreatedAt, FormatTime(now), old.seq)
	x.hits = old.hits
	m.replaceMock(old, x)
	return x, false, nil
}

// replaceMock puts x where old was (copy-on-write).
func (m *Model) replaceMock(old, x *Mock) {
	mocks := make([]*Mock, len(m.mocks))
	for i, y := range m.mocks {
		if y == old {
			y = x
		}
		mocks[i] = y
	}
	m.mocks = mocks
	m.byID[x.ID] = x
}

// DeleteAllMocks removes every mock created through the API and returns how many it
// removed. Mocks loaded from mock files stay: their files are their source of truth.
func (m *Model) DeleteAllMocks() int {
	kept := make([]*Mock, 0, len(m.mocks))
	for _, x := range m.mocks {
		if x.FromFile() {
			kept = append(kept, x)
		}
	}
	n := len(m.mocks) - len(kept)
	if n == 0 {
		return 0
	}
	m.mocks = kept
	byID := make(map[string]*Mock, len(kept))
	for _, x := range kept {
		byID[x.ID] = x
	}
	m.byID = byID
	return n
}
