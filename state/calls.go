package state

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// A step's expect.calls (issue #14): assertions on how many requests in the journal (the
// history) meet a query, counted once the step's request has been answered. An item is a
// request query in the language of POST /api/requests/count (DecodeRequestQuery: method,
// path_pattern, match, every key optional) plus exactly one bound, named as ownhttp
// verify's flags (--count, --at-least, --at-most):
//
//	{"method": "POST", "path_pattern": "/orders", "match": {"body": {"json_path": "$.sku", "equals": "A"}}, "count": 1}
//
// Evaluating them stays pure: the runner counts (CountCalls over a copy of the journal, or
// POST /api/requests/count from the command line) and hands the counts to RunPlan.Record.

// The bounds of an expect.calls item: its count must be exactly, at least or at most N.
const (
	CallsExactly = "count"
	CallsAtLeast = "at_least"
	CallsAtMost  = "at_most"
)

// maxCallBound bounds the N of an expect.calls item (no journal holds more requests).
const maxCallBound = 1_000_000_000

// callBounds are the bound keys of an expect.calls item, in the order messages list them.
var callBounds = []string{CallsExactly, CallsAtLeast, CallsAtMost}

// CallExpect is one expect.calls item. Its JSON form is the query's members and the bound,
// keys sorted: {"at_least":1,"method":"POST","path_pattern":"/orders"}.
type CallExpect struct {
	// Query is the request query: a compact JSON object in DecodeRequestQuery's language
	// (its method upper-cased when normalized). nil or {} selects every request.
	Query json.RawMessage
	// Bound is CallsExactly, CallsAtLeast or CallsAtMost; N (0 to 1e9) its value.
	Bound string
	N     int

	// query is Query compiled by normalizeExpect; read-only, shared by every copy.
	query *RequestQuery
}

// MarshalJSON writes the query's members and the bound as one object.
func (c CallExpect) MarshalJSON() ([]byte, error) {
	obj := map[string]json.RawMessage{}
	if len(c.Query) > 0 {
		if err := json.Unmarshal(c.Query, &obj); err != nil {
			return nil, err
		}
	}
	obj[c.Bound] = json.RawMessage(strconv.Itoa(c.N))
	return json.Marshal(obj)
}

// RequestQuery returns the call's compiled query. A CallExpect that was never normalized
// (built in Go, not part of a stored or decoded scenario) is compiled now, which may fail.
func (c *CallExpect) RequestQuery() (RequestQuery, *Error) {
	if c.query != nil {
		return *c.query, nil
	}
	return compileCallQuery(c.Query)
}

// Holds reports whether count meets the bound.
func (c *CallExpect) Holds(count int) bool {
	switch c.Bound {
	case CallsAtLeast:
		return count >= c.N
	case CallsAtMost:
		return count <= c.N
	}
	return count == c.N
}

// Label is how a failure reason names the call: its method (ANY when absent) and its path
// pattern (/* when absent), "POST /orders".
func (c *CallExpect) Label() string {
	var obj map[string]json.RawMessage
	json.Unmarshal(c.Query, &obj) // a normalized query is an object; otherwise the defaults
	method, path := "ANY", "/*"
	if s, ok := decodeString(obj["method"]); ok && s != "" {
		method = strings.ToUpper(s)
	}
	for _, key := range [...]string{"path_pattern", "path_regex"} {
		if s, ok := decodeString(obj[key]); ok && s != "" {
			path = s
			break
		}
	}
	return method + " " + path
}

// Expected says the bound as ownhttp verify does: "exactly 1", "at least 2", "at most 0".
func (c *CallExpect) Expected() string {
	switch c.Bound {
	case CallsAtLeast:
		return "at least " + strconv.Itoa(c.N)
	case CallsAtMost:
		return "at most " + strconv.Itoa(c.N)
	}
	return "exactly " + strconv.Itoa(c.N)
}

// CallCount is what a runner found for one expect.calls item: the number of journal
// entries that meet its query or, when Err is set, why there is no count (the assertion
// then fails with it).
type CallCount struct {
	N   int
	Err string
}

// CountCalls counts, for each call, the entries of h (a copy of the journal) that meet its
// query. It is pure.
func CountCalls(h []HistoryEntry, calls []CallExpect) []CallCount {
	out := make([]CallCount, len(calls))
	for i := range calls {
		q, e := calls[i].RequestQuery()
		if e != nil {
			out[i] = CallCount{Err: e.Message}
			continue
		}
		out[i] = CallCount{N: q.Count(h)}
	}
	return out
}

// Count returns how many entries of h meet q.
func (q RequestQuery) Count(h []HistoryEntry) int {
	m := q.Matcher()
	n := 0
	for i := range h {
		if m.Matches(&h[i]) {
			n++
		}
	}
	return n
}

// evaluateCall is the assertion of call given what the runner counted (nil: not counted),
// and its failure message ("" when it holds):
//
//	calls POST /orders expected at least 1 got 0
//	calls POST /orders: no count: connection refused
func evaluateCall(call *CallExpect, got *CallCount) (AssertionResult, string) {
	expected, err := call.MarshalJSON()
	if err != nil {
		expected = json.RawMessage("null")
	}
	r := AssertionResult{Type: AssertCalls, Expected: expected, Actual: json.RawMessage("null")}
	switch {
	case got == nil:
		return r, "calls " + call.Label() + ": no count: not counted"
	case got.Err != "":
		return r, "calls " + call.Label() + ": no count: " + got.Err
	}
	r.Actual = toJSON(got.N)
	r.Passed = call.Holds(got.N)
	if r.Passed {
		return r, ""
	}
	return r, "calls " + call.Label() + " expected " + call.Expected() + " got " + strconv.Itoa(got.N)
}

// callWhere names item i of a step's expect.calls in messages.
func callWhere(i int) string { return "expect.calls[" + strconv.Itoa(i) + "]" }

// callErr is an invalid_scenario error of step n about item i of its expect.calls: msg
// starts with the field (DecodeRequestQuery's messages do), which gets the item's place
// before it: `step 1: unknown field "expect.calls[0].cuont"`, `step 1:
// expect.calls[0].match.query.a.matches: invalid regex …`.
func callErr(n, i int, msg string) *Error {
	if rest, ok := strings.CutPrefix(msg, `unknown field "`); ok {
		return stepErr(n, `unknown field "`+callWhere(i)+"."+rest)
	}
	return stepErr(n, callWhere(i)+"."+msg)
}

// decodeCalls decodes a step's expect.calls: a list of objects, each a request query and
// exactly one bound. The query is checked by DecodeRequestQuery, unknown keys included,
// whether or not the scenario is decoded strictly (a stored scenario was checked when it
// was created).
func decodeCalls(raw json.RawMessage, n int) ([]CallExpect, *Error) {
	list, ok := decodeArray(raw)
	if !ok {
		return nil, stepErr(n, "expect.calls must be a list")
	}
	out := make([]CallExpect, 0, len(list))
	for i, item := range list {
		c, e := decodeCall(item, n, i)
		if e != nil {
			return nil, e
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeCall decodes item i of step n's expect.calls.
func decodeCall(raw json.RawMessage, n, i int) (CallExpect, *Error) {
	var c CallExpect
	obj, ok := decodeObject(raw)
	if !ok {
		return c, stepErr(n, callWhere(i)+" must be an object")
	}
	query := make(map[string]json.RawMessage, len(obj))
	var bounds []string
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(callBounds, k) {
			query[k] = obj[k]
			continue
		}
		v, ok := present(obj, k)
		if !ok {
			continue // null: absent
		}
		bounds = append(bounds, k)
		n64, exact, ok := decodeIntSat(v)
		if !ok {
			return c, stepErr(n, callWhere(i)+"."+k+" must be an integer")
		}
		if !exact || n64 < 0 || n64 > maxCallBound {
			return c, stepErr(n, callWhere(i)+"."+k+" must be between 0 and 1000000000")
		}
		c.Bound, c.N = k, int(n64)
	}
	c.Query, _ = json.Marshal(query) // members of a decoded object: cannot fail
	// The query is checked before the bound, so that a misspelt bound is named as an unknown
	// field. normalizeCalls compiles it again for keeps.
	if _, e := compileCallQuery(c.Query); e != nil {
		return c, callErr(n, i, e.Message)
	}
	if len(bounds) != 1 {
		return c, stepErr(n, callWhere(i)+" must have exactly one of count, at_least or at_most")
	}
	return c, nil
}

// normalizeCalls validates calls built in Go (or decoded) and returns a fresh slice whose
// queries are compact, their methods upper-cased, and compiled.
func normalizeCalls(calls []CallExpect, n int) ([]CallExpect, *Error) {
	if len(calls) == 0 {
		return nil, nil
	}
	out := make([]CallExpect, len(calls))
	for i, c := range calls {
		if !slices.Contains(callBounds, c.Bound) {
			return nil, stepErr(n, callWhere(i)+" must have exactly one of count, at_least or at_most")
		}
		if c.N < 0 || c.N > maxCallBound {
			return nil, stepErr(n, callWhere(i)+"."+c.Bound+" must be between 0 and 1000000000")
		}
		obj := map[string]json.RawMessage{}
		if len(c.Query) > 0 {
			var ok bool
			if obj, ok = decodeObject(c.Query); !ok {
				return nil, stepErr(n, callWhere(i)+" query must be an object")
			}
		}
		if s, ok := decodeString(obj["method"]); ok {
			obj["method"], _ = json.Marshal(strings.ToUpper(s))
		}
		query, err := json.Marshal(obj)
		if err != nil {
			return nil, stepErr(n, callWhere(i)+" query must be an object")
		}
		q, e := compileCallQuery(query)
		if e != nil {
			return nil, callErr(n, i, e.Message)
		}
		c.Query, c.query = query, &q
		out[i] = c
	}
	return out, nil
}

// compileCallQuery compiles a call's query (an empty one selects every request).
func compileCallQuery(query json.RawMessage) (RequestQuery, *Error) {
	if len(query) == 0 {
		query = json.RawMessage("{}")
	}
	return DecodeRequestQuery(query)
}
