package state

import (
	"bytes"
	"slices"

	"ownhttp/mock"
)

// NearMiss is a mock that came close to answering a request no mock matched: each of its
// conditions (method, path, then its criteria) with what it expected, what the request had
// and whether it held.
type NearMiss struct {
	ID          string       `json:"id"`
	Method      string       `json:"method"`
	PathPattern string       `json:"path_pattern,omitempty"`
	PathRegex   string       `json:"path_regex,omitempty"`
	Source      string       `json:"source,omitempty"`
	Missed      int          `json:"missed"` // conditions that did not hold
	Checks      []mock.Check `json:"checks"`
}

// NearMisses returns at most max mocks that come closest to answering a request that no
// mock matched, closest first: the mocks whose path pattern or regex matches path (the raw path,
// the query cut off), whatever their method, ranked by how many of their conditions failed
// (a wrong method counts as one; HEAD is GET), then a mock of the request's method before
// one of another, then in matching precedence. sameMethod
// reports whether one of them has the request's method (it failed on its criteria only).
// method and path are as for MatchMock; req carries the rest of the request. It allocates:
// it is for requests nothing matched.
func (s *Snapshot) NearMisses(method, path []byte, req *mock.Request, max int) (out []NearMiss, sameMethod bool) {
	if s == nil || max <= 0 {
		return nil, false
	}
	if req == nil {
		req = &mock.Request{} // no criteria anywhere: nothing reads it
	}
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	want := methodSlot(method)
	type candidate struct {
		m      *Mock
		checks []mock.Check
		missed int
		method bool // the mock serves the request's method
		order  int
	}
	var cands []candidate
	seen := map[*Mock]bool{} // an ANY mock is in every slot
	order := 0
	for slot := range numSlots {
		var onPath []*Mock
		for _, e := range s.exact[slot][string(path)] {
			onPath = append(onPath, e.m)
		}
		for _, e := range s.candidates(slot, path) {
			if e.m.pat.Match(path) {
				onPath = append(onPath, e.m)
			}
		}
		for _, m := range onPath {
			if seen[m] {
				continue
			}
			seen[m] = true
			serves := slot == want || m.Method == MethodAny
			sameMethod = sameMethod || serves
			checks := append([]mock.Check{
				{Field: "method", Expected: m.Method, Actual: string(method), Matched: serves},
				{Field: "path", Expected: m.Path(), Actual: string(path), Matched: true},
			}, m.criteria.Explain(req)...)
			if m.machine != nil && m.State.Requires != "" {
				now := m.machine.Current()
				checks = append(checks, mock.Check{Field: "state." + m.State.Name, Expected: m.State.Requires,
					Actual: now, Matched: now == m.State.Requires})
			}
			missed := 0
			for _, c := range checks {
				if !c.Matched {
					missed++
				}
			}
			cands = append(cands, candidate{m: m, checks: checks, missed: missed, method: serves, order: order})
			order++
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		switch {
		case a.missed != b.missed:
			return a.missed - b.missed
		case a.method != b.method: // as many misses: the request's method first
			if a.method {
				return -1
			}
			return 1
		}
		return a.order - b.order
	})
	for _, c := range cands[:min(max, len(cands))] {
		m := c.m
		out = append(out, NearMiss{ID: m.ID, Method: m.Method, PathPattern: m.PathPattern, PathRegex: m.PathRegex, Source: m.Source,
			Missed: c.missed, Checks: c.checks})
	}
	return out, sameMethod
}
