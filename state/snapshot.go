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
	exact    [numSlots]map[string][]entry // exact patterns, keyed by path, by precedence
	patterns [numSlots][]*Mock            // parameter and wildcard patterns, by precedence
	// criteria is set when a mock has request criteria or requires a state: only then does
	// matching need the request beyond its method and path.
	criteria bool
	// minPatternPriority is, per slot, the highest priority (lowest number) of a pattern
	// mock: an exact match at least as high needs no look at the patterns.
	minPatternPriority [numSlots]int
	// byFirst holds, for each literal first segment, the patterns that can match a path
	// starting with it (those with that literal first, and those starting with a parameter
	// or "*"), in precedence order; anyFirst holds the latter alone, for other paths. A
	// lookup then tries only the patterns that can match.
	byFirst  [numSlots]map[string][]entry
	anyFirst [numSlots][]entry
	seed     int64 // the server's seed of template random values (Config.MockSeed)
}

// Seed returns the server's seed of template random values (see SeedFor).
func (s *Snapshot) Seed() int64 { return s.seed }

// entry is one mock of a lookup list. On the first mock of a run that a query parameter
// dispatches (buildEntries), run lets the lookup go straight to the mocks that can match.
type entry struct {
	m   *Mock
	run *dispatch
}

// dispatch is a run of consecutive mocks in a lookup list that share a path pattern and
// each ask the query parameter param to equal a value: byValue holds them by that value,
// in list order, so the lookup tries only those asking for the request's value.
type dispatch struct {
	n       int
	param   string
	byValue map[string][]*Mock
}

// minDispatchRun is the shortest run worth a dispatch.
const minDispatchRun = 4

// buildEntries makes the lookup list of list (in precedence order), with a dispatch on
// the first mock of every run of at least minDispatchRun mocks that share a path pattern
// and ask one query parameter to equal a value.
func buildEntries(list []*Mock) []entry {
	out := make([]entry, len(list))
	for i, m := range list {
		out[i].m = m
	}
	for i := 0; i < len(list); {
		j, param := dispatchRun(list, i)
		if j-i < minDispatchRun {
			i++
			continue
		}
		d := &dispatch{n: j - i, param: param, byValue: make(map[string][]*Mock)}
		for _, m := range list[i:j] {
			v, _ := m.criteria.QueryEquals(param)
			d.byValue[v] = append(d.byValue[v], m)
		}
		out[i].run = d
		i = j
	}
	return out
}

// dispatchRun returns the end of the longest run from i of mocks with list[i]'s pattern
// that all ask one query parameter to equal a value, and that parameter.
func dispatchRun(list []*Mock, i int) (int, string) {
	head := list[i]
	end, param := i+1, ""
	for _, name := range head.criteria.QueryEqualsNames() {
		j := i + 1
		for j < len(list) && list[j].pat.Canonical() == head.pat.Canonical() {
			if _, ok := list[j].criteria.QueryEquals(name); !ok {
				break
			}
			j++
		}
		if j > end {
			end, param = j, name
		}
	}
	return end, param
}

// firstMatch returns the first mock of a lookup list whose pattern matches path (exact
// lists: every one) and whose criteria and required state hold for req (nil: any,
// whatever the state), stopping before a mock
// whose priority is not above before's (when before is not nil: a better match found
// elsewhere). Runs with a dispatch try only the mocks asking for the request's value of
// their parameter; a pattern shared by consecutive mocks is matched once.
func firstMatch(list []entry, path []byte, req *mock.Request, before *Mock) *Mock {
	var lastPat *mock.Path
	lastOK := false
	for i := 0; i < len(list); {
		e := list[i]
		if before != nil && e.m.priority() >= before.priority() {
			return nil // the rest come after it
		}
		if e.m.pat != lastPat && (lastPat == nil || e.m.pat.Canonical() != lastPat.Canonical()) {
			lastPat, lastOK = e.m.pat, e.m.pat.Match(path)
		}
		if !lastOK {
			i++
			continue
		}
		if d := e.run; d != nil && req != nil {
			value, count := req.QueryValue(d.param)
			if count == 1 {
				for _, m := range d.byValue[string(value)] {
					if before != nil && m.priority() >= before.priority() {
						return nil
					}
					if m.admits() && m.criteria.MatchExceptQueryEquals(req, d.param) {
						return m
					}
				}
			}
			if count != 2 { // none, or one and none of its mocks matched: the run is done
				i += d.n
				continue
			}
		}
		if req == nil || e.m.admits() && e.m.criteria.Match(req) {
			return e.m
		}
		i++
	}
	return nil
}

// newSnapshot indexes mocks (in insertion order). It takes ownership of the
// slice.
func newSnapshot(mocks []*Mock) *Snapshot {
	s := &Snapshot{mocks: mocks, byID: make(map[string]*Mock, len(mocks))}
	exact := [numSlots]map[string][]*Mock{}
	for i := range s.exact {
		exact[i] = make(map[string][]*Mock)
		s.exact[i] = make(map[string][]entry)
	}
	for i := range s.minPatternPriority {
		s.minPatternPriority[i] = maxPriority + 1
	}
	for _, m := range mocks {
		s.byID[m.ID] = m
		s.criteria = s.criteria || m.criteria != nil || m.State != nil && m.State.Requires != ""
		for _, slot := range mockSlots(m.Method) {
			if m.pat.Exact() {
				exact[slot][m.PathPattern] = append(exact[slot][m.PathPattern], m)
			} else {
				s.patterns[slot] = append(s.patterns[slot], m)
				s.minPatternPriority[slot] = min(s.minPatternPriority[slot], m.priority())
			}
		}
	}
	for i := range exact {
		for path, list := range exact[i] {
			slices.SortStableFunc(list, compareCriteria)
			s.exact[i][path] = buildEntries(list)
		}
	}
	for i := range s.patterns {
		slices.SortStableFunc(s.patterns[i], comparePrecedence)
		byFirst := make(map[string][]*Mock)
		var anyFirst []*Mock
		for _, m := range s.patterns[i] { // in precedence order, so every list keeps it
			if first, ok := m.pat.FirstLiteral(); ok {
				if _, seen := byFirst[first]; !seen {
					byFirst[first] = append([]*Mock(nil), anyFirst...)
				}
				byFirst[first] = append(byFirst[first], m)
				continue
			}
			anyFirst = append(anyFirst, m)
			for k := range byFirst {
				byFirst[k] = append(byFirst[k], m)
			}
		}
		s.byFirst[i] = make(map[string][]entry, len(byFirst))
		for k, list := range byFirst {
			s.byFirst[i][k] = buildEntries(list)
		}
		s.anyFirst[i] = buildEntries(anyFirst)
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

// comparePrecedence orders non-exact paths: the highest priority first; then the most
// specific path (mock.Path.ComparePrecedence: a pattern before a regex, more literal
// segments, no final wildcard, more regex or glob segments, more parameters); then
// compareCriteria.
func comparePrecedence(a, b *Mock) int {
	if a.priority() != b.priority() {
		return a.priority() - b.priority()
	}
	if c := a.pat.ComparePrecedence(b.pat); c != 0 {
		return c
	}
	return compareCriteria(a, b)
}

// compareCriteria orders mocks on equally specific paths: the highest priority first;
// then a named method before ANY; then more request criteria first (a mock that asks
// more of a request is tried before one that asks less); then creation order.
func compareCriteria(a, b *Mock) int {
	switch ca, cb := a.specificity(), b.specificity(); {
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
	exact := firstMatch(s.exact[slot][string(path)], path, req, nil)
	if exact != nil && exact.priority() <= s.minPatternPriority[slot] {
		return exact, true // no pattern can come before it
	}
	if m := firstMatch(s.candidates(slot, path), path, req, exact); m != nil {
		return m, true
	}
	return exact, exact != nil
}

// candidates returns the non-exact patterns of a method slot that can match path (by its
// first segment), in precedence order.
func (s *Snapshot) candidates(slot int, path []byte) []entry {
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
