package state

import (
	"encoding/json"
	"fmt"
	"ownhttp/mock"
	"strings"
	"time"
)

// ReadOnlyError returns the read_only_mock error for x if it came from a mock file, and nil
// for a mock the API may change. Every path that changes or deletes mocks through the API
// calls it (UpdateMock, DeleteMock; bulk deletes skip such mocks).
func ReadOnlyError(x *Mock) *Error {
	if x == nil || !x.FromFile() {
		return nil
	}
	return newErr(KindConflict, CodeReadOnlyMock,
		"mock "+x.ID+" is read-only: it comes from "+x.Source+"; edit that file instead")
}

// FileMock is one mock read from a mock file: the API's mock JSON, plus body_file, a
// file beside the mock file whose content is the body (resolved by the loader, which
// then sets Input.Body).
type FileMock struct {
	Input    MockInput
	BodyFile string
}

// fileMockKeys are the keys a mock in a mock file may hold: the API's, plus body_file
// and source (ignored, so that an exported API listing loads back).
var fileMockKeys = append(append([]string(nil), mockKeys...), "body_file", "source")

// DecodeMockFile decodes a mock file: one mock object, or {"mocks":[…]}, in the API's
// JSON. Errors are invalid_mock naming the mock's position ("mocks[2]: …").
func DecodeMockFile(data []byte) ([]FileMock, *Error) {
	obj, e := DecodeJSONObject(data)
	if e != nil {
		return nil, e
	}
	raw, isList := obj["mocks"]
	if !isList {
		fm, e := decodeFileMock(obj)
		if e != nil {
			return nil, e
		}
		return []FileMock{fm}, nil
	}
	if msg := UnknownField(obj, "mocks"); msg != "" {
		return nil, invalidMock(msg)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, invalidMock("mocks must be an array of mock objects")
	}
	out := make([]FileMock, 0, len(items))
	for i, it := range items {
		o, e := DecodeJSONObject(it)
		if e != nil {
			return nil, invalidMock(fmt.Sprintf("mocks[%d]: must be an object", i))
		}
		fm, e := decodeFileMock(o)
		if e != nil {
			return nil, invalidMock(fmt.Sprintf("mocks[%d]: %s", i, e.Message))
		}
		out = append(out, fm)
	}
	return out, nil
}

func decodeFileMock(obj map[string]json.RawMessage) (FileMock, *Error) {
	if msg := UnknownField(obj, fileMockKeys...); msg != "" {
		return FileMock{}, invalidMock(msg)
	}
	in, e := mockInputFromObject(obj)
	if e != nil {
		return FileMock{}, e
	}
	fm := FileMock{Input: in}
	if raw, ok := present(obj, "body_file"); ok {
		s, ok := decodeString(raw)
		if !ok || s == "" {
			return FileMock{}, invalidMock("body_file must be a non-empty string")
		}
		if in.Body != nil {
			return FileMock{}, invalidMock("body and body_file are exclusive")
		}
		fm.BodyFile = s
	}
	return fm, nil
}

// FileMockID is the stable id of the n-th mock (from 0) of the mock file at rel (a
// slash-separated path relative to its mocks directory) when the mock names none:
// "file-<slug>-<n+1>", the slug being rel without ".json", lower-cased, every other
// character than a-z and 0-9 turned into '-', cut to fit the 64-character id limit.
func FileMockID(rel string, n int) string {
	rel = strings.TrimSuffix(rel, ".json")
	suffix := fmt.Sprintf("-%d", n+1)
	var b strings.Builder
	b.WriteString("file-")
	dash := true
	for _, c := range strings.ToLower(rel) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if len(s)+len(suffix) > maxIDLen {
		s = s[:maxIDLen-len(suffix)]
	}
	return s + suffix
}

// FileMocks replaces the mocks of one mock file. Source is "file:<rel>"; Mocks nil (or
// Removed) removes them all.
type FileMocks struct {
	Source  string
	Mocks   []FileMock // bodies resolved (BodyFile already read into Input.Body)
	Removed bool
}

// ReplaceFileMocks applies each change in order, each all or nothing: the mocks of the
// change's source are replaced by the new ones, validated as the API validates (without
// the API's limits --max-mock-routes and --max-mock-body-bytes: the files are the
// operator's own). A change that fails keeps that file's previous mocks, and its error
// names the mock's position. A file mock conflicting with another mock (an API mock, or
// one of another file) fails its file: the mock already serving keeps serving.
// errs has one entry per change (nil on success). The cost is linear in the mocks held
// plus those given, however many files change at once (a start loads every file in one
// call). Replaced mocks move to the end of the list.
func (m *Model) ReplaceFileMocks(changes []FileMocks, now time.Time) (errs []*Error, changed bool) {
	errs = make([]*Error, len(changes))
	if len(changes) == 0 {
		return errs, false
	}
	ts := FormatTime(now)
	before := m.mocks
	srcs := make(map[string]bool, len(changes))
	for _, c := range changes {
		srcs[c.Source] = true
	}
	old := map[string][]*Mock{}
	kept := make([]*Mock, 0, len(m.mocks))
	routes := make(map[string]bool, len(m.mocks))
	for _, x := range m.mocks {
		if srcs[x.Source] {
			old[x.Source] = append(old[x.Source], x)
			delete(m.byID, x.ID)
			continue
		}
		kept = append(kept, x)
		routes[x.routeKey()] = true
	}
	m.mocks = kept
	for i, c := range changes {
		if c.Removed {
			changed = changed || len(old[c.Source]) > 0
			old[c.Source] = nil
			continue
		}
		added, e := m.addFileMocks(c, ts, routes)
		if e != nil {
			errs[i] = e
			for _, y := range old[c.Source] { // the last good mocks stay
				m.mocks = append(m.mocks, y)
				m.byID[y.ID] = y
				routes[y.routeKey()] = true
			}
			old[c.Source] = nil
			continue
		}
		old[c.Source] = nil
		changed = changed || added >= 0
	}
	if !changed {
		m.mocks = before // nothing changed: keep the order as it was
	}
	return errs, changed
}

// routeKey identifies a route for the duplicate rule: method, canonical pattern, criteria
// and the state required.
func routeKey(method string, p *mock.Path, match []byte, st *MockState) string {
	requires := ""
	if st != nil {
		requires = st.Requires
	}
	return method + " " + p.Canonical() + " " + string(match) + " " + requires
}

// routeKey is x's key for the duplicate rule.
func (x *Mock) routeKey() string { return routeKey(x.Method, x.pat, x.Match, x.State) }

// addFileMocks validates and appends the mocks of one file, or appends none and returns
// the first mock's error, named by its position.
func (m *Model) addFileMocks(c FileMocks, ts string, routes map[string]bool) (int, *Error) {
	rel := strings.TrimPrefix(c.Source, SourceFilePrefix)
	start := len(m.mocks)
	fail := func(i int, id string, e *Error) (int, *Error) {
		for _, y := range m.mocks[start:] {
			delete(m.byID, y.ID)
			delete(routes, y.routeKey())
		}
		m.mocks = m.mocks[:start]
		return 0, &Error{Kind: e.Kind, Code: e.Code, Message: fmt.Sprintf("mocks[%d] (id %s): %s", i, id, e.Message)}
	}
	for i, fm := range c.Mocks {
		f := m.newFields()
		fm.Input.overlay(&f)
		if fm.Input.ID != nil && *fm.Input.ID != "" {
			f.id = *fm.Input.ID
		} else {
			f.id = FileMockID(rel, i)
		}
		if msg := mockIDError(f.id); msg != "" {
			return fail(i, f.id, invalidMock(msg))
		}
		v, e := validateFields(f, int(^uint(0)>>1))
		if e != nil {
			return fail(i, f.id, e)
		}
		if _, dup := m.byID[f.id]; dup {
			return fail(i, f.id, newErr(KindConflict, CodeDuplicateMock, msgDupID))
		}
		rk := routeKey(v.method, v.pat, v.match, v.state)
		if routes[rk] {
			return fail(i, f.id, newErr(KindConflict, CodeDuplicateMock, msgDupPath))
		}
		m.seq++
		x := m.newMock(f, v, ts, ts, m.seq)
		x.Source = c.Source
		m.mocks = append(m.mocks, x)
		m.byID[x.ID] = x
		routes[rk] = true
	}
	return len(c.Mocks), nil
}

// apiMockCount counts the mocks created through the API: --max-mock-routes caps them, and
// file mocks do not count (a directory may hold thousands; the operator chose them).
func (m *Model) apiMockCount() int {
	n := 0
	for _, x := range m.mocks {
		if !x.FromFile() {
			n++
		}
	}
	return n
}
