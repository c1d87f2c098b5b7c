package state

import (
	"bytes"
	"slices"

	"ownhttp/mock"
)

// Snapshot is an immutable view of the mocks, built by the actor after every
// change and published through an atomic pointer (Actor.Snapshot). Any number
// of goroutines may use a Snapshot concurrently, for as long as they like; it
// and everything it references are never modified after publication.
type Snapshot struct {
	mocks    []*Mock // insertion order
	byID     map[string]*Mock
	exact    [numSlots]map[string][]*Mock // exact patterns, keyed by path, by precedence
	patterns [numSlots][]*Mock            // parameter and wildcard patterns, by precedence
	// criteria is set when a mock has request criteria: only then does matching need the
	// request beyond its method and path.
	criteria bool
	// minPatternPriority is, per slot, the highest priority (lowest number) of a pattern
	// mock: an exact match at least as high needs no look at the patterns.
	minPatternPriority [numSlots]int
	// byFirst holds, for each literal first segment, the patterns that can match a path
	// starting with it (those with that literal first, and those starting with a parameter
	// or "*"), in precedence order; anyFirst holds the latter alone, for other paths. A
	// lookup then tries only the patterns that can match.
	byFirst  [numSlots]map[string][]*Mock
	anyFirst [numSlots][]*Mock
}

// newSnapshot indexes mocks (in insertion order). It takes ownership of the
// slice.
func newSnapshot(mocks []*Mock) *Snapshot {
	s := &Snapshot{mocks: mocks, byID: make(map[string]*Mock, len(mocks))}
	for i := range s.exact {
		s.exact[i] = make(map[string][]*Mock)
	}
	for i := range s.minPatternPriority {
		s.minPatternPriority[i] = maxPriority + 1
	}
	for _, m := range mocks {
		s.byID[m.ID] = m
		s.criteria = s.criteria || m.criteria != nil
		for _, slot := range mockSlots(m.Method) {
			if m.pat.exact() {
				s.exact[slot][m.PathPattern] = append(s.exact[slot][m.PathPattern], m)
			} else {
				s.patterns[slot] = append(s.patterns[slot], m)
				s.minPatternPriority[slot] = min(s.minPatternPriority[slot], m.priority())
			}
		}
	}
	for i := range s.exact {
		for _, list := range s.exact[i] {
			slices.SortStableFunc(list, compareCriteria)
		}
	}
	for i := range s.patterns {
		slices.SortStableFunc(s.patterns[i], comparePrecedence)
		s.byFirst[i] = make(map[string][]*Mock)
		for _, m := range s.patterns[i] { // in precedence order, so every list keeps it
			if first, ok := m.pat.firstLiteral(); ok {
				if _, seen := s.byFirst[i][first]; !seen {
					s.byFirst[i][first] = append([]*Mock(nil), s.anyFirst[i]...)
				}
				s.byFirst[i][first] = append(s.byFirst[i][first], m)
				continue
			}
			s.anyFirst[i] = append(s.anyFirst[i], m)
			for k := range s.byFirst[i] {
				s.byFirst[i][k] = append(s.byFirst[i][k], m)
			}
		}
	}
	return s
}

// mockSlots are the method slots a mock method serves: one, or all for ANY.
func mockSlots(method string) []int {
	if method == MethodAny {
		return allSlots[:]
	}
	if slot := methodIndexString(method); slot >= 0 {
		return []int{slot}
	}
	return nil // cannot happen: validated
}

var allSlots = [numSlots]int{slotGET, slotPOST, slotPUT, slotDELETE, slotPATCH}

// comparePrecedence orders non-exact patterns: the highest priority first;
// then the most specific: more literal segments; then without a wildcard
// before with one; then more parameters (a longer prefix before a wildcard);
// then compareCriteria.
func comparePrecedence(a, b *Mock) int {
	pa, pb := a.pat, b.pat
	switch {
	case a.priority() != b.priority():
		return a.priority() - b.priority()
	case pa.literals != pb.literals:
		return pb.literals - pa.literals
	case pa.wildcard != pb.wildcard:
		if pa.wildcard {
			return 1
		}
		return -1
	case pa.params != pb.params:
		return pb.params - pa.params
	}
	return compareCriteria(a, b)
}

// compareCriteria orders mocks on equally specific paths: the highest priority first;
// then a named method before ANY; then more request criteria first (a mock that asks
// more of a request is tried before one that asks less); then creation order.
func compareCriteria(a, b *Mock) int {
	switch ca, cb := a.criteria.Len(), b.criteria.Len(); {
	case a.priority() != b.priority():
		return a.priority() - b.priority()
	case (a.Method == MethodAny) != (b.Method == MethodAny):
		if a.Method == MethodAny {
			return 1
		}
		return -1
	case ca != cb:
		return cb - ca
	case a.seq < b.seq:
		return -1
	case a.seq > b.seq:
		return 1
	}
	return 0
}

// HasCriteria reports whether a mock has request criteria beyond method and path: only
// then does MatchMock need the request.
func (s *Snapshot) HasCriteria() bool { return s != nil && s.criteria }

// MatchMock returns the mock answering a request, if any. method is the
// request method as on the wire (case-sensitive; HEAD matches GET mocks);
// path is the raw request path — anything from '?' on is ignored; req is the
// rest of the request for mocks with criteria (query, headers, body), or nil to
// ask whether a mock with that method serves the path whatever its criteria.
// The highest priority comes first; among equal priorities an exact pattern
// before any other, then patterns in the order of comparePrecedence; on one
// path, a named method before ANY and mocks with more criteria first: the first
// whose criteria hold answers. It does not allocate when no mock on the way has
// body criteria, and no argument is retained. For HEAD the caller writes the
// head only, as for any HEAD response.
func (s *Snapshot) MatchMock(method, path []byte, req *mock.Request) (*Mock, bool) {
	if s == nil {
		return nil, false
	}
	slot := methodSlot(method)
	if slot < 0 {
		return nil, false
	}
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	var exact *Mock
	for _, m := range s.exact[slot][string(path)] {
		if req == nil || m.criteria.Match(req) {
			exact = m
			break
		}
	}
	if exact != nil && exact.priority() <= s.minPatternPriority[slot] {
		return exact, true // no pattern can come before it
	}
	for _, m := range s.candidates(slot, path) {
		if exact != nil && m.priority() >= exact.priority() {
			break // the rest come after the exact match
		}
		if m.pat.match(path) && (req == nil || m.criteria.Match(req)) {
			return m, true
		}
	}
	return exact, exact != nil
}

// candidates returns the non-exact patterns of a method slot that can match path (by its
// first segment), in precedence order.
func (s *Snapshot) candidates(slot int, path []byte) []*Mock {
	first := path
	if len(first) > 0 {
		first = first[1:]
	}
	if i := bytes.IndexByte(first, '/'); i >= 0 {
		first = first[:i]
	}
	if c, ok := s.byFirst[slot][string(first)]; ok {
		return c
	}
	return s.anyFirst[slot]
}

// Mocks returns the mocks in insertion order. The slice is shared: do not
// modify it.
func (s *Snapshot) Mocks() []*Mock {
	if s == nil {
		return nil
	}
	return s.mocks
}

// MockByID returns the mock with the given id.
func (s *Snapshot) MockByID(id string) (*Mock, bool) {
	if s == nil {
		return nil, false
	}
	m, ok := s.byID[id]
	return m, ok
}

// Len returns the number of mocks.
func (s *Snapshot) Len() int {
	if s == nil {
		return 0
	}
	return len(s.mocks)
}
