package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type op uint8

const (
	opEquals op = iota
	opContains
	opMatches
	opDoesNotMatch
	opAbsent
	opAnd
	opOr
	opNot
	opEqualJSON // body only
	opJSONPath  // body only
)

// matcher is one compiled matcher. Immutable.
type matcher struct {
	op    op
	text  []byte // equals, contains: the operand (lower-cased for contains when fold)
	fold  bool   // case_insensitive
	re    *regexp.Regexp
	want  bool       // absent: true for absent, false for present
	subs  []*matcher // and, or; not: one
	json  any        // equal_to_json: the expected value
	order bool       // ignore_array_order
	extra bool       // ignore_extra_fields
	path  *JSONPath  // json_path
	then  *matcher   // json_path: what the selected values must meet; nil: they exist
	desc  string     // the matcher as text, for near-miss answers
}

// test reports whether the field value v (present false: the field is missing) meets m.
// It allocates nothing; fold contains uses r's scratch.
func (m *matcher) test(v []byte, present bool, r *Request) bool {
	switch m.op {
	case opAbsent:
		return present != m.want
	case opAnd:
		for _, s := range m.subs {
			if !s.test(v, present, r) {
				return false
			}
		}
		return true
	case opOr:
		for _, s := range m.subs {
			if s.test(v, present, r) {
				return true
			}
		}
		return false
	case opNot:
		return !m.subs[0].test(v, present, r)
	}
	if !present {
		return false
	}
	switch m.op {
	case opEquals:
		if m.fold {
			return bytes.EqualFold(v, m.text)
		}
		return bytes.Equal(v, m.text)
	case opContains:
		if m.fold {
			r.folded = appendLower(r.folded[:0], v)
			return bytes.Contains(r.folded, m.text)
		}
		return bytes.Contains(v, m.text)
	case opMatches:
		return m.re.Match(v)
	case opDoesNotMatch:
		return !m.re.Match(v)
	}
	return false
}

// testBody tests the body: text matchers see it as it is (an empty body is absent),
// JSON matchers see it decoded (a body that is not JSON meets none of them).
func (m *matcher) testBody(r *Request) bool {
	switch m.op {
	case opAnd:
		for _, s := range m.subs {
			if !s.testBody(r) {
				return false
			}
		}
		return true
	case opOr:
		for _, s := range m.subs {
			if s.testBody(r) {
				return true
			}
		}
		return false
	case opNot:
		return !m.subs[0].testBody(r)
	case opEqualJSON:
		doc, err := r.json()
		return err == nil && EqualJSON(m.json, doc, m.order, m.extra)
	case opJSONPath:
		doc, err := r.json()
		if err != nil {
			return m.then != nil && m.then.op == opAbsent && m.then.want
		}
		return m.then.testValues(m.path.Select(doc), r)
	}
	return m.test(r.body, len(r.body) > 0, r)
}

// testValues tests the values a JSON path selected: nil then means "exists"; absent is
// about whether any was selected; other matchers need one value to meet them (strings as
// their text, other values as compact JSON).
func (m *matcher) testValues(vals []any, r *Request) bool {
	if m == nil {
		return len(vals) > 0
	}
	switch m.op {
	case opAbsent:
		return (len(vals) > 0) != m.want
	case opNot:
		return !m.subs[0].testValues(vals, r)
	case opAnd:
		for _, s := range m.subs {
			if !s.testValues(vals, r) {
				return false
			}
		}
		return true
	case opOr:
		for _, s := range m.subs {
			if s.testValues(vals, r) {
				return true
			}
		}
		return false
	}
	for _, v := range vals {
		if m.op == opEqualJSON {
			if EqualJSON(m.json, v, m.order, m.extra) {
				return true
			}
			continue
		}
		var text []byte
		switch x := v.(type) {
		case string:
			text = []byte(x)
		case json.Number:
			text = []byte(x)
		default:
			text = []byte(RenderJSON(x))
		}
		if m.test(text, true, r) {
			return true
		}
	}
	return false
}

func appendLower(dst, s []byte) []byte {
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// FieldError is a criteria decoding error: Field names where, as a dotted path from the
// criteria's root ("match.query.page.matches"), Message what is wrong.
type FieldError struct {
	Field, Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// maxMatcherDepth bounds and/or/not nesting.
const maxMatcherDepth = 16

// DecodeCriteria decodes a mock's match object, named where in errors ("match"):
//
//	{"query":   {"<name>": <matcher>, …},
//	 "headers": {"<name>": <matcher>, …},   (names case-insensitive)
//	 "cookies": {"<name>": <matcher>, …},
//	 "form":    {"<name>": <matcher>, …},   (an application/x-www-form-urlencoded body)
//	 "body":    <matcher> or [<matcher>, …]}
//
// A matcher is a string (equals it) or an object with one operator: equals, contains,
// matches (an RE2 regex), does_not_match, absent (true or false), and, or (non-empty
// lists of matchers), not (a matcher); case_insensitive (true) modifies equals, contains,
// matches and does_not_match. Body matchers may also be equal_to_json (any JSON value;
// with ignore_array_order and ignore_extra_fields) or json_path (a JSONPath expression,
// alone meaning "selects something", or beside one operator that one selected value must
// meet). Every error is a *FieldError naming the field; an unknown key is one.
func DecodeCriteria(raw []byte, where string) (*Criteria, error) {
	obj, err := object(raw, where)
	if err != nil {
		return nil, err
	}
	c := &Criteria{}
	sections := []struct {
		key  string
		from source
	}{{"query", inQuery}, {"headers", inHeader}, {"cookies", inCookie}, {"form", inForm}}
	for _, sec := range sections {
		v, ok := obj[sec.key]
		if !ok {
			continue
		}
		field := where + "." + sec.key
		fields, err := object(v, field)
		if err != nil {
			return nil, err
		}
		names := make([]string, 0, len(fields))
		for name := range fields {
			if name == "" {
				return nil, fieldErr(field, "a name must not be empty")
			}
			if sec.from == inHeader && !isToken(name) {
				return nil, fieldErr(field, "%q is not a header name", name)
			}
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			f := field + "." + name
			m, err := decodeMatcher(fields[name], f, false, 0)
			if err != nil {
				return nil, err
			}
			c.checks = append(c.checks, criterion{from: sec.from, name: name, field: strings.TrimPrefix(f, where+"."), m: m})
		}
	}
	if v, ok := obj["body"]; ok {
		field := where + ".body"
		var list []json.RawMessage
		if t := bytes.TrimSpace(v); len(t) > 0 && t[0] == '[' {
			if err := json.Unmarshal(t, &list); err != nil {
				return nil, fieldErr(field, "must be a matcher or a list of matchers")
			}
			if len(list) == 0 {
				return nil, fieldErr(field, "must not be an empty list")
			}
		} else {
			list = []json.RawMessage{v}
		}
		for i, item := range list {
			f := field
			if len(list) > 1 || bytes.HasPrefix(bytes.TrimSpace(v), []byte("[")) {
				f = fmt.Sprintf("%s[%d]", field, i)
			}
			m, err := decodeMatcher(item, f, true, 0)
			if err != nil {
				return nil, err
			}
			c.checks = append(c.checks, criterion{from: inBody, field: strings.TrimPrefix(f, where+"."), m: m})
		}
	}
	for k := range obj {
		switch k {
		case "query", "headers", "cookies", "form", "body":
		default:
			return nil, fieldErr(where+"."+k, "unknown field (want query, headers, cookies, form or body)")
		}
	}
	return c, nil
}

// object decodes raw as a JSON object of raw members.
func object(raw []byte, field string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &obj) != nil {
		return nil, fieldErr(field, "must be an object")
	}
	return obj, nil
}

var operators = []string{"equals", "contains", "matches", "does_not_match", "absent", "and", "or", "not"}
var bodyOperators = []string{"equal_to_json"}

// decodeMatcher decodes one matcher at field; body allows the JSON matchers.
func decodeMatcher(raw []byte, field string, body bool, depth int) (*matcher, error) {
	if depth > maxMatcherDepth {
		return nil, fieldErr(field, "matchers nest deeper than %d levels", maxMatcherDepth)
	}
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, fieldErr(field, "must be a string or a matcher object")
		}
		return &matcher{op: opEquals, text: []byte(s), desc: "equals " + strconv.Quote(s)}, nil
	}
	obj, err := object(t, field)
	if err != nil {
		return nil, fieldErr(field, "must be a string or a matcher object")
	}
	allowed := append([]string{"case_insensitive"}, operators...)
	if body {
		allowed = append(allowed, "equal_to_json", "ignore_array_order", "ignore_extra_fields", "json_path")
	}
	for k := range obj {
		if !slices.Contains(allowed, k) {
			return nil, fieldErr(field+"."+k, "unknown field (want one of %s)", strings.Join(allowed, ", "))
		}
	}
	var ops []string
	for _, k := range append(slices.Clone(operators), bodyOperators...) {
		if _, ok := obj[k]; ok {
			ops = append(ops, k)
		}
	}
	var path *JSONPath
	if v, ok := obj["json_path"]; ok {
		var expr string
		if json.Unmarshal(v, &expr) != nil {
			return nil, fieldErr(field+".json_path", "must be a string")
		}
		p, err := CompileJSONPath(expr)
		if err != nil {
			return nil, fieldErr(field+".json_path", "%s", err.Error())
		}
		path = p
	}
	if len(ops) > 1 {
		return nil, fieldErr(field, "has %s: a matcher takes one operator (combine them with and, or, not)", strings.Join(ops, " and "))
	}
	if len(ops) == 0 {
		if path != nil {
			return &matcher{op: opJSONPath, path: path, desc: "json_path " + strconv.Quote(path.String()) + " exists"}, nil
		}
		return nil, fieldErr(field, "needs an operator (%s)", strings.Join(append(slices.Clone(operators), bodyOperators...), ", "))
	}
	opName := ops[0]
	m, err := decodeOperator(obj, opName, field, body, depth)
	if err != nil {
		return nil, err
	}
	if v, ok := obj["case_insensitive"]; ok {
		var fold bool
		if json.Unmarshal(v, &fold) != nil {
			return nil, fieldErr(field+".case_insensitive", "must be true or false")
		}
		switch m.op {
		case opEquals, opContains:
			m.fold = fold
			if fold {
				m.text = bytes.ToLower(m.text)
				m.desc += " (case-insensitive)"
			}
		case opMatches, opDoesNotMatch:
			if fold {
				m.re = regexp.MustCompile("(?i)" + m.re.String())
				m.desc += " (case-insensitive)"
			}
		default:
			return nil, fieldErr(field+".case_insensitive", "applies to equals, contains, matches and does_not_match only")
		}
	}
	for _, k := range []string{"ignore_array_order", "ignore_extra_fields"} {
		v, ok := obj[k]
		if !ok {
			continue
		}
		if m.op != opEqualJSON {
			return nil, fieldErr(field+"."+k, "applies to equal_to_json only")
		}
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return nil, fieldErr(field+"."+k, "must be true or false")
		}
		if k == "ignore_array_order" {
			m.order = b
		} else {
			m.extra = b
		}
	}
	if m.op == opEqualJSON && (m.order || m.extra) {
		var mods []string
		if m.order {
			mods = append(mods, "array order")
		}
		if m.extra {
			mods = append(mods, "extra fields")
		}
		m.desc += " (ignoring " + strings.Join(mods, " and ") + ")"
	}
	if path != nil {
		return &matcher{op: opJSONPath, path: path, then: m, desc: "json_path " + strconv.Quote(path.String()) + " " + m.desc}, nil
	}
	return m, nil
}

// decodeOperator decodes the operator opName of a matcher object.
func decodeOperator(obj map[string]json.RawMessage, opName, field string, body bool, depth int) (*matcher, error) {
	v := obj[opName]
	f := field + "." + opName
	str := func() (string, error) {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", fieldErr(f, "must be a string")
		}
		return s, nil
	}
	switch opName {
	case "equals", "contains":
		s, err := str()
		if err != nil {
			return nil, err
		}
		if opName == "equals" {
			return &matcher{op: opEquals, text: []byte(s), desc: "equals " + strconv.Quote(s)}, nil
		}
		return &matcher{op: opContains, text: []byte(s), desc: "contains " + strconv.Quote(s)}, nil
	case "matches", "does_not_match":
		s, err := str()
		if err != nil {
			return nil, err
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fieldErr(f, "invalid regex: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		}
		if opName == "matches" {
			return &matcher{op: opMatches, re: re, desc: "matches " + strconv.Quote(s)}, nil
		}
		return &matcher{op: opDoesNotMatch, re: re, desc: "does not match " + strconv.Quote(s)}, nil
	case "absent":
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return nil, fieldErr(f, "must be true or false")
		}
		if b {
			return &matcher{op: opAbsent, want: true, desc: "absent"}, nil
		}
		return &matcher{op: opAbsent, want: false, desc: "present"}, nil
	case "and", "or":
		var list []json.RawMessage
		if json.Unmarshal(v, &list) != nil || len(list) == 0 {
			return nil, fieldErr(f, "must be a non-empty list of matchers")
		}
		m := &matcher{op: opAnd}
		if opName == "or" {
			m.op = opOr
		}
		var descs []string
		for i, item := range list {
			s, err := decodeMatcher(item, fmt.Sprintf("%s[%d]", f, i), body, depth+1)
			if err != nil {
				return nil, err
			}
			m.subs = append(m.subs, s)
			descs = append(descs, s.desc)
		}
		m.desc = opName + "(" + strings.Join(descs, ", ") + ")"
		return m, nil
	case "not":
		s, err := decodeMatcher(v, f, body, depth+1)
		if err != nil {
			return nil, err
		}
		return &matcher{op: opNot, subs: []*matcher{s}, desc: "not(" + s.desc + ")"}, nil
	case "equal_to_json":
		want, err := DecodeJSON(v)
		if err != nil {
			return nil, fieldErr(f, "%s", err.Error())
		}
		return &matcher{op: opEqualJSON, json: want, desc: "equal to JSON " + RenderJSON(want)}, nil
	}
	return nil, fieldErr(f, "unknown operator")
}

// isToken reports whether s is an RFC 9110 token (a header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}
