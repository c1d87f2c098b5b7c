package state

import (
	"bytes"
	"encoding/json"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"ownhttp/mock"
)

// Checks of issue #18: what a step reads from its response (a Query), the values it keeps
// for later steps (Capture) and what it asserts (Assertion, with a predicate). They are
// shared by scenario files, the API and the Hurl reader, and evaluated without I/O.
//
// A query is written as exactly one of these keys of its object:
//
//	"jsonpath": "$.id"        the values a JSON path selects in the body (mock.JSONPath)
//	"header": "Location"      a response header, repeated fields joined with ", "
//	"regex": "id=(\\d+)"      the first group (or the whole match) of an RE2 regex on the body
//	"cookie": "session"       the value of a Set-Cookie of that name
//	"capture": "name"         a variable (captured earlier, or given with --var)
//	"status": true            the response status
//	"body": true              the body as text
//	"duration": true          the step's latency in milliseconds
//
// A capture is {"name": "id", <query>, "secret": false}; an assertion is {<query>, "op":
// "==", "value": 42, "not": false}. Predicates (op): ==, !=, <, <=, >, >=, contains,
// starts_with, ends_with, matches (RE2), exists, is_empty, count (the number of items of a
// list or object, or of values a JSON path selects, == value), and the type checks
// is_string, is_number, is_integer, is_float, is_boolean, is_null, is_list, is_object,
// is_collection. "not": true negates any of them. The original kinds of expect (status,
// body_contains, header_equals, max_latency_ms) keep their meaning beside them.

// Query kinds.
const (
	QueryJSONPath = "jsonpath"
	QueryHeader   = "header"
	QueryRegex    = "regex"
	QueryCookie   = "cookie"
	QueryCapture  = "capture"
	QueryStatus   = "status"
	QueryBody     = "body"
	QueryDuration = "duration"
)

// queryKinds lists the query keys, those with an argument first.
var queryKinds = []string{QueryJSONPath, QueryHeader, QueryRegex, QueryCookie, QueryCapture, QueryStatus, QueryBody, QueryDuration}

// queryHasArg reports whether a query kind takes a text argument (the others take true).
func queryHasArg(kind string) bool {
	switch kind {
	case QueryStatus, QueryBody, QueryDuration:
		return false
	}
	return true
}

// Predicates.
const (
	OpEq           = "=="
	OpNe           = "!="
	OpLt           = "<"
	OpLe           = "<="
	OpGt           = ">"
	OpGe           = ">="
	OpContains     = "contains"
	OpStartsWith   = "starts_with"
	OpEndsWith     = "ends_with"
	OpMatches      = "matches"
	OpExists       = "exists"
	OpIsEmpty      = "is_empty"
	OpCount        = "count"
	OpIsString     = "is_string"
	OpIsNumber     = "is_number"
	OpIsInteger    = "is_integer"
	OpIsFloat      = "is_float"
	OpIsBoolean    = "is_boolean"
	OpIsNull       = "is_null"
	OpIsList       = "is_list"
	OpIsObject     = "is_object"
	OpIsCollection = "is_collection"
)

// opTakesValue tells, for every predicate, whether it compares with a value.
var opTakesValue = map[string]bool{
	OpEq: true, OpNe: true, OpLt: true, OpLe: true, OpGt: true, OpGe: true,
	OpContains: true, OpStartsWith: true, OpEndsWith: true, OpMatches: true, OpCount: true,
	OpExists: false, OpIsEmpty: false, OpIsString: false, OpIsNumber: false, OpIsInteger: false,
	OpIsFloat: false, OpIsBoolean: false, OpIsNull: false, OpIsList: false, OpIsObject: false,
	OpIsCollection: false,
}

// Bounds of checks.
const (
	maxChecksPerStep  = 100 // captures, and assertions
	maxCheckArgLen    = 1024
	maxCheckValueLen  = 8192
	maxVariableName   = 128
	maxRetryCount     = 1000
	maxRetryInterval  = 60_000 // ms
	maxRepeat         = 1000
	assertTypeAssert  = "assert"
	assertTypeCapture = "capture"
)

// Query is what a capture or an assertion reads from a step's response.
type Query struct {
	Kind string // one of the Query* kinds
	Arg  string // the path, header name, regex, cookie name or variable name; "" for the others

	path *mock.JSONPath // compiled Arg of a jsonpath query
	re   *regexp.Regexp // compiled Arg of a regex query
}

// String is how messages name the query: `jsonpath "$.id"`, `status`.
func (q Query) String() string {
	if !queryHasArg(q.Kind) {
		return q.Kind
	}
	return q.Kind + " " + strconv.Quote(q.Arg)
}

// appendJSON adds the query's key to a check's JSON object.
func (q Query) appendJSON(obj map[string]any) {
	if queryHasArg(q.Kind) {
		obj[q.Kind] = q.Arg
	} else {
		obj[q.Kind] = true
	}
}

// compile checks the argument and compiles it once.
func (q *Query) compile() string {
	if queryHasArg(q.Kind) && q.Arg == "" {
		return q.Kind + " must not be empty"
	}
	if len(q.Arg) > maxCheckArgLen {
		return q.Kind + " must be at most 1024 bytes"
	}
	switch q.Kind {
	case QueryJSONPath:
		p, err := mock.CompileJSONPath(q.Arg)
		if err != nil {
			return err.Error()
		}
		q.path = p
	case QueryRegex:
		re, err := regexp.Compile(q.Arg)
		if err != nil {
			return "regex: " + err.Error()
		}
		q.re = re
	case QueryHeader:
		if !isToken(q.Arg) {
			return "header must be a header name (an RFC 9110 token)"
		}
	}
	return ""
}

// Capture keeps a value of a step's response in a variable for the steps after it.
type Capture struct {
	Name  string
	Query Query
	// Secret marks the value secret: it is shown as *** in every report.
	Secret bool
}

// MarshalJSON writes {"name": …, <query>, "secret": …}.
func (c Capture) MarshalJSON() ([]byte, error) {
	obj := map[string]any{"name": c.Name}
	c.Query.appendJSON(obj)
	if c.Secret {
		obj["secret"] = true
	}
	return json.Marshal(obj)
}

// Assertion is one predicate on a query of a step's response.
type Assertion struct {
	Query Query
	Op    string
	Not   bool
	// Value is the expected value, compact JSON; nil for predicates without one. Strings
	// may hold {{variables}}, expanded when the step runs.
	Value json.RawMessage

	re *regexp.Regexp // compiled Value of a matches predicate without variables
}

// MarshalJSON writes {<query>, "op": …, "value": …, "not": …}.
func (a Assertion) MarshalJSON() ([]byte, error) {
	obj := map[string]any{"op": a.Op}
	a.Query.appendJSON(obj)
	if a.Value != nil {
		obj["value"] = a.Value
	}
	if a.Not {
		obj["not"] = true
	}
	return json.Marshal(obj)
}

// String is how a failure names the assertion: `jsonpath "$.state" not == "done"`.
func (a *Assertion) String() string {
	s := a.Query.String() + " "
	if a.Not {
		s += "not "
	}
	s += a.Op
	if a.Value != nil {
		s += " " + string(a.Value)
	}
	return s
}

// Retry makes a failing step run again (poll) until its checks pass: at most Count more
// times, IntervalMS apart.
type Retry struct {
	Count      int   `json:"count"`
	IntervalMS int64 `json:"interval_ms"`
}

// Include is a step that stands for the steps of another scenario file (ExpandIncludes).
type Include struct {
	File string            `json:"file"`
	Vars map[string]string `json:"vars,omitempty"` // parameters: the included file's variables
}

// IncludeScope is one level of include a step came through: its namespace (the include
// step's id, dotted below an outer include) and the parameters given there.
type IncludeScope struct {
	Namespace string            `json:"namespace"`
	Params    map[string]string `json:"params,omitempty"`
}

// ---- decoding ----

// decodeQuery finds the single query key of obj. what names the object in messages.
func decodeQuery(obj map[string]json.RawMessage, what string) (Query, string) {
	var q Query
	for _, k := range queryKinds {
		raw, ok := obj[k]
		if !ok {
			continue
		}
		if q.Kind != "" {
			return q, what + " must have exactly one query (" + strings.Join(queryKinds, ", ") + ")"
		}
		q.Kind = k
		if queryHasArg(k) {
			s, ok := decodeString(raw)
			if !ok {
				return q, what + "." + k + " must be a string"
			}
			q.Arg = s
		} else if b, ok := decodeBool(raw); !ok || !b {
			return q, what + "." + k + " must be true"
		}
	}
	if q.Kind == "" {
		return q, what + " must have exactly one query (" + strings.Join(queryKinds, ", ") + ")"
	}
	if msg := q.compile(); msg != "" {
		return q, what + "." + q.Kind + ": " + msg
	}
	return q, ""
}

func checkKeys(extra ...string) []string { return append(slices.Clone(queryKinds), extra...) }

// decodeCaptures decodes step n's captures list.
func decodeCaptures(raw json.RawMessage, n int) ([]Capture, *Error) {
	list, ok := decodeArray(raw)
	if !ok {
		return nil, stepErr(n, "captures must be a list")
	}
	if len(list) > maxChecksPerStep {
		return nil, stepErr(n, "captures may hold at most 100 items")
	}
	out := make([]Capture, 0, len(list))
	for i, item := range list {
		what := "captures[" + strconv.Itoa(i) + "]"
		obj, ok := decodeObject(item)
		if !ok {
			return nil, stepErr(n, what+" must be an object")
		}
		if msg := unknownField(obj, what+".", checkKeys("name", "secret")); msg != "" {
			return nil, stepErr(n, msg)
		}
		var c Capture
		if c.Name, ok = decodeString(obj["name"]); !ok || !validVariableName(c.Name) {
			return nil, stepErr(n, what+".name must be a variable name (letters, digits, _ and -, at most 128 bytes)")
		}
		if raw, ok := present(obj, "secret"); ok {
			if c.Secret, ok = decodeBool(raw); !ok {
				return nil, stepErr(n, what+".secret must be a boolean")
			}
		}
		var msg string
		if c.Query, msg = decodeQuery(obj, what); msg != "" {
			return nil, stepErr(n, msg)
		}
		if c.Query.Kind == QueryDuration {
			return nil, stepErr(n, what+": duration cannot be captured")
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeAssertions decodes a list of assertions; field names it ("expect.assert").
func decodeAssertions(raw json.RawMessage, n int, field string) ([]Assertion, *Error) {
	list, ok := decodeArray(raw)
	if !ok {
		return nil, stepErr(n, field+" must be a list")
	}
	if len(list) > maxChecksPerStep {
		return nil, stepErr(n, field+" may hold at most 100 items")
	}
	out := make([]Assertion, 0, len(list))
	for i, item := range list {
		a, e := decodeAssertion(item, n, field+"["+strconv.Itoa(i)+"]")
		if e != nil {
			return nil, e
		}
		out = append(out, a)
	}
	return out, nil
}

// decodeAssertion decodes one assertion object; what names it in messages.
func decodeAssertion(raw json.RawMessage, n int, what string) (Assertion, *Error) {
	var a Assertion
	obj, ok := decodeObject(raw)
	if !ok {
		return a, stepErr(n, what+" must be an object")
	}
	if msg := unknownField(obj, what+".", checkKeys("op", "value", "not")); msg != "" {
		return a, stepErr(n, msg)
	}
	var msg string
	if a.Query, msg = decodeQuery(obj, what); msg != "" {
		return a, stepErr(n, msg)
	}
	if a.Op, ok = decodeString(obj["op"]); !ok {
		return a, stepErr(n, what+".op must be one of "+opList())
	}
	if raw, ok := present(obj, "not"); ok {
		if a.Not, ok = decodeBool(raw); !ok {
			return a, stepErr(n, what+".not must be a boolean")
		}
	}
	if raw, ok := obj["value"]; ok {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil {
			return a, stepErr(n, what+".value must be JSON")
		}
		a.Value = buf.Bytes()
	}
	if msg := a.normalize(); msg != "" {
		return a, stepErr(n, what+"."+msg)
	}
	return a, nil
}

// normalize checks the predicate against its value and compiles what it can.
func (a *Assertion) normalize() string {
	takes, known := opTakesValue[a.Op]
	if !known {
		return "op must be one of " + opList()
	}
	if !takes {
		if a.Value != nil {
			return "value: " + a.Op + " takes no value"
		}
		return ""
	}
	if a.Value == nil {
		return "value is required by " + a.Op
	}
	if len(a.Value) > maxCheckValueLen {
		return "value must be at most 8192 bytes of JSON"
	}
	v, _ := mock.DecodeJSON(a.Value)
	switch a.Op {
	case OpLt, OpLe, OpGt, OpGe:
		if _, isNum := v.(json.Number); !isNum {
			if _, isStr := v.(string); !isStr {
				return "value: " + a.Op + " compares with a number or a string"
			}
		}
	case OpStartsWith, OpEndsWith, OpMatches:
		s, isStr := v.(string)
		if !isStr {
			return "value: " + a.Op + " takes a string"
		}
		if a.Op == OpMatches && !strings.Contains(s, "{{") {
			re, err := regexp.Compile(s)
			if err != nil {
				return "value: invalid regex: " + err.Error()
			}
			a.re = re
		}
	case OpCount:
		num, isNum := v.(json.Number)
		if _, err := num.Int64(); !isNum || err != nil {
			return "value: count takes an integer"
		}
	}
	return ""
}

func opList() string {
	return "==, !=, <, <=, >, >=, contains, starts_with, ends_with, matches, exists, is_empty, count, " +
		"is_string, is_number, is_integer, is_float, is_boolean, is_null, is_list, is_object, is_collection"
}

// validVariableName reports whether s can name a variable: 1 to 128 letters, digits, '_'
// and '-' (a '.' separates an include's namespace and is not allowed in a name given here).
func validVariableName(s string) bool {
	if s == "" || len(s) > maxVariableName {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isVarChar(s[i]) || s[i] == '.' {
			return false
		}
	}
	return true
}

func isVarChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// ---- evaluation ----

// checkInput is what checks read: the response view after chaos, the latency and the
// variables.
type checkInput struct {
	view      *ResponseView
	latencyMS float64
	lookup    func(name string) (string, bool)

	doc     any // the body decoded as JSON, once
	docErr  error
	decoded bool
}

// missing stands for a query that found nothing.
type missingValue struct{}

// evaluate runs q and returns what it found: a string, json.Number, bool, nil (JSON null),
// []any, map[string]any, or missingValue{}. why says what went wrong when it is missing.
func (in *checkInput) evaluate(q *Query) (v any, why string) {
	switch q.Kind {
	case QueryStatus:
		return json.Number(strconv.Itoa(in.view.Status)), ""
	case QueryBody:
		return in.view.Body, ""
	case QueryDuration:
		return json.Number(strconv.FormatFloat(RoundMS(in.latencyMS), 'f', -1, 64)), ""
	case QueryHeader:
		for _, k := range slices.Sorted(maps.Keys(in.view.Headers)) {
			if strings.EqualFold(k, q.Arg) {
				return in.view.Headers[k], ""
			}
		}
		return missingValue{}, "no header " + q.Arg
	case QueryCapture:
		if s, ok := in.lookup(q.Arg); ok {
			return s, ""
		}
		return missingValue{}, "no variable " + q.Arg
	case QueryCookie:
		if s, ok := setCookieValue(in.view.Headers["set-cookie"], q.Arg); ok {
			return s, ""
		}
		return missingValue{}, "no cookie " + q.Arg
	case QueryRegex:
		re := q.re
		if re == nil {
			var err error
			if re, err = regexp.Compile(q.Arg); err != nil {
				return missingValue{}, "invalid regex"
			}
		}
		m := re.FindStringSubmatch(in.view.Body)
		switch {
		case m == nil:
			return missingValue{}, "the body does not match"
		case len(m) > 1:
			return m[1], ""
		}
		return m[0], ""
	case QueryJSONPath:
		if !in.decoded {
			in.decoded = true
			in.doc, in.docErr = mock.DecodeJSON([]byte(in.view.Body))
		}
		if in.docErr != nil {
			return missingValue{}, "the body is not JSON"
		}
		p := q.path
		if p == nil {
			var err error
			if p, err = mock.CompileJSONPath(q.Arg); err != nil {
				return missingValue{}, "invalid JSON path"
			}
		}
		sel := p.Select(in.doc)
		switch len(sel) {
		case 0:
			return missingValue{}, "nothing selected"
		case 1:
			if !jsonPathIsMulti(q.Arg) {
				return sel[0], ""
			}
		}
		return sel, ""
	}
	return missingValue{}, "unknown query"
}

// jsonPathIsMulti reports whether a path may select several values (a wildcard, a list of
// items or recursive descent): its selection is then always a list.
func jsonPathIsMulti(expr string) bool {
	return strings.Contains(expr, "*") || strings.Contains(expr, "..") || strings.Contains(expr, ",")
}

// setCookieValue finds the value of cookie name in a Set-Cookie view value (fields joined
// with ", "; an Expires attribute holds ", " as well, which this tolerates).
func setCookieValue(header, name string) (string, bool) {
	for _, part := range strings.Split(header, ",") {
		kv, _, _ := strings.Cut(part, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok && k == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// captureText turns a captured value into a variable's text: strings as they are, other
// JSON values as compact JSON.
func captureText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// check evaluates an assertion whose Value already has its variables expanded (expected is
// the decoded value). It returns whether it holds and the actual value found.
func (in *checkInput) check(a *Assertion, expected any) (holds bool, actual any) {
	actual, _ = in.evaluate(&a.Query)
	holds = predicate(a, actual, expected)
	if a.Not {
		holds = !holds
	}
	return holds, actual
}

// predicate reports whether actual meets a's predicate (before negation).
func predicate(a *Assertion, actual, expected any) bool {
	_, isMissing := actual.(missingValue)
	if a.Op == OpExists {
		return !isMissing
	}
	if isMissing {
		return false
	}
	// Text sources (header, regex, capture, cookie, body) compare as numbers with a number.
	if s, ok := actual.(string); ok {
		if _, wantNum := expected.(json.Number); wantNum && a.Query.Kind != QueryJSONPath {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsInf(f, 0) {
				actual = json.Number(strconv.FormatFloat(f, 'f', -1, 64))
			}
		}
	}
	switch a.Op {
	case OpEq:
		return mock.EqualJSON(expected, actual, false, false)
	case OpNe:
		return !mock.EqualJSON(expected, actual, false, false)
	case OpLt, OpLe, OpGt, OpGe:
		c, ok := compareValues(actual, expected)
		if !ok {
			return false
		}
		switch a.Op {
		case OpLt:
			return c < 0
		case OpLe:
			return c <= 0
		case OpGt:
			return c > 0
		}
		return c >= 0
	case OpContains:
		switch x := actual.(type) {
		case string:
			s, ok := expected.(string)
			return ok && strings.Contains(x, s)
		case []any:
			for _, item := range x {
				if mock.EqualJSON(expected, item, false, false) {
					return true
				}
			}
		}
		return false
	case OpStartsWith, OpEndsWith:
		x, ok1 := actual.(string)
		s, ok2 := expected.(string)
		if !ok1 || !ok2 {
			return false
		}
		if a.Op == OpStartsWith {
			return strings.HasPrefix(x, s)
		}
		return strings.HasSuffix(x, s)
	case OpMatches:
		x, ok := actual.(string)
		if !ok {
			return false
		}
		re := a.re
		if re == nil {
			s, _ := expected.(string)
			var err error
			if re, err = regexp.Compile(s); err != nil {
				return false
			}
		}
		return re.MatchString(x)
	case OpIsEmpty:
		switch x := actual.(type) {
		case string:
			return x == ""
		case []any:
			return len(x) == 0
		case map[string]any:
			return len(x) == 0
		}
		return false
	case OpCount:
		num, _ := expected.(json.Number)
		want, err := num.Int64()
		if err != nil {
			return false
		}
		switch x := actual.(type) {
		case []any:
			return int64(len(x)) == want
		case map[string]any:
			return int64(len(x)) == want
		}
		return false
	}
	return typeCheck(a.Op, actual)
}

// typeCheck evaluates the is_* predicates.
func typeCheck(op string, v any) bool {
	switch op {
	case OpIsString:
		_, ok := v.(string)
		return ok
	case OpIsNumber:
		_, ok := v.(json.Number)
		return ok
	case OpIsInteger, OpIsFloat:
		num, ok := v.(json.Number)
		if !ok {
			return false
		}
		isInt := !strings.ContainsAny(string(num), ".eE")
		return isInt == (op == OpIsInteger)
	case OpIsBoolean:
		_, ok := v.(bool)
		return ok
	case OpIsNull:
		return v == nil
	case OpIsList:
		_, ok := v.([]any)
		return ok
	case OpIsObject:
		_, ok := v.(map[string]any)
		return ok
	case OpIsCollection:
		switch v.(type) {
		case []any, map[string]any:
			return true
		}
	}
	return false
}

// compareValues orders two numbers, or two strings; ok is false for anything else.
func compareValues(actual, expected any) (int, bool) {
	if an, ok := actual.(json.Number); ok {
		en, ok := expected.(json.Number)
		if !ok {
			return 0, false
		}
		a, err1 := strconv.ParseFloat(string(an), 64)
		e, err2 := strconv.ParseFloat(string(en), 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		switch {
		case a < e:
			return -1, true
		case a > e:
			return 1, true
		}
		return 0, true
	}
	as, ok1 := actual.(string)
	es, ok2 := expected.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(as, es), true
}

// shownValue is how a report shows a value found by a query (null when missing).
func shownValue(v any) json.RawMessage {
	if _, isMissing := v.(missingValue); isMissing {
		return json.RawMessage("null")
	}
	if s, ok := v.(string); ok {
		v = truncateText(s, MaxReportBodyBytes)
	}
	return toJSON(v)
}

// shownText is how a failure reason shows a value: its JSON, cut to 200 bytes, or
// "nothing" when the query found nothing.
func shownText(v any, why string) string {
	if _, isMissing := v.(missingValue); isMissing {
		if why != "" {
			return "nothing (" + why + ")"
		}
		return "nothing"
	}
	return truncateText(string(toJSON(v)), 200)
}
