package importer

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"ownhttp/mock"
)

// mockDef is the ownhttp mock a stub becomes, in the API's JSON (keys in a readable order).
type mockDef struct {
	ID          string         `json:"id,omitempty"`
	Method      string         `json:"method"`
	PathPattern string         `json:"path_pattern,omitempty"`
	PathRegex   string         `json:"path_regex,omitempty"`
	Priority    int            `json:"priority,omitempty"`
	Match       map[string]any `json:"match,omitempty"`
	State       *stateDef      `json:"state,omitempty"`
	*respDef
	Responses []*respDef       `json:"responses,omitempty"`
	Template  *bool            `json:"template,omitempty"`
	Latency   map[string]any   `json:"latency,omitempty"`
	Faults    []map[string]any `json:"faults,omitempty"`
}

type respDef struct {
	Status      int               `json:"status,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        json.RawMessage   `json:"body,omitempty"`
	BodyBase64  string            `json:"body_base64,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	bodyLen     int               // the body's size, for chunkedDribbleDelay
	templated   bool              // the body or a header holds "{{"
}

type stateDef struct {
	Name     string `json:"name"`
	Requires string `json:"requires,omitempty"`
	Sets     string `json:"sets,omitempty"`
}

// stubConv converts one stub; what it cannot carry goes to unsupported.
type stubConv struct {
	prefix      string // the stub's JSON path in its file ("mappings[2].") or ""
	body        BodyFiles
	unsupported []string
}

// skip lists a part of the stub the mock does not carry.
func (c *stubConv) skip(field, why string) {
	c.unsupported = append(c.unsupported, c.prefix+field+": "+why)
}

// fail is an error naming the stub's field.
func (c *stubConv) fail(field, format string, args ...any) error {
	return fmt.Errorf("%s%s: %s", c.prefix, field, fmt.Sprintf(format, args...))
}

// stub converts one stub mapping.
func (c *stubConv) stub(v any) (*mockDef, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, c.fail("stub", "must be an object with request and response")
	}
	m := &mockDef{}
	for _, k := range sortedKeys(obj) {
		val := obj[k]
		switch k {
		case "request", "response", "priority", "scenarioName", "requiredScenarioState", "newScenarioState", "responseSequence":
		case "id", "uuid":
			s, ok := val.(string)
			if !ok {
				return nil, c.fail(k, "must be a string")
			}
			if m.ID == "" && validID(s) {
				m.ID = s
			}
		case "name":
			c.skip(k, "mocks have no name; not kept")
		case "metadata":
			c.skip(k, "not kept")
		case "persistent", "insertionIndex":
			// WireMock's bookkeeping: a file mock is always kept, and order is ownhttp's own.
		case "postServeActions", "serveEventListeners":
			c.skip(k, "webhooks and post-serve actions are not imported")
		default:
			c.skip(k, "unknown field, not imported")
		}
	}
	req, ok := obj["request"].(map[string]any)
	if !ok {
		return nil, c.fail("request", "must be an object")
	}
	if err := c.request(req, m); err != nil {
		return nil, err
	}
	if v, ok := obj["priority"]; ok && v != nil {
		p, ok := intOf(v)
		if !ok || p < 1 {
			return nil, c.fail("priority", "must be a whole number from 1")
		}
		if p > 1000 {
			c.skip("priority", fmt.Sprintf("%d is beyond ownhttp's lowest priority; imported as 1000", p))
			p = 1000
		}
		m.Priority = int(p)
	}
	if err := c.scenario(obj, m); err != nil {
		return nil, err
	}
	seq, hasSeq := obj["responseSequence"]
	if hasSeq && seq != nil {
		list, ok := seq.([]any)
		if !ok || len(list) == 0 {
			return nil, c.fail("responseSequence", "must be a non-empty list of responses")
		}
		if _, ok := obj["response"]; ok {
			return nil, c.fail("responseSequence", "give response or responseSequence, not both")
		}
		tmpl := false
		for i, r := range list {
			f := fmt.Sprintf("responseSequence[%d]", i)
			ro, ok := r.(map[string]any)
			if !ok {
				return nil, c.fail(f, "must be an object")
			}
			rd, t, err := c.response(ro, f, m, true)
			if err != nil {
				return nil, err
			}
			tmpl = tmpl || t
			m.Responses = append(m.Responses, rd)
		}
		c.templateFlag(m, tmpl, "responseSequence")
	} else {
		ro, ok := obj["response"].(map[string]any)
		if !ok {
			if obj["response"] != nil {
				return nil, c.fail("response", "must be an object")
			}
			ro = map[string]any{} // WireMock's default: 200, no body
		}
		rd, tmpl, err := c.response(ro, "response", m, false)
		if err != nil {
			return nil, err
		}
		m.respDef = rd
		c.templateFlag(m, tmpl, "response")
		if err := c.dribble(ro, m); err != nil {
			return nil, err
		}
	}
	if err := c.checkPlan(m); err != nil {
		return nil, err
	}
	return m, nil
}

// validID reports whether s can be an ownhttp mock id.
func validID(s string) bool {
	if s == "" || len(s) > 64 || s == "." || s == ".." || s == "sources" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ---- request ----

var urlKeys = []string{"url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate"}

func (c *stubConv) request(req map[string]any, m *mockDef) error {
	match := map[string]any{}
	for _, k := range sortedKeys(req) {
		switch k {
		case "method", "url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate", "pathParameters",
			"queryParameters", "headers", "cookies", "formParameters", "bodyPatterns", "basicAuthCredentials":
		case "host", "port", "scheme", "clientIp":
			c.skip("request."+k, "matching on the "+k+" is not imported")
		case "multipartPatterns":
			c.skip("request."+k, "multipart matching is not imported")
		case "customMatcher":
			c.skip("request."+k, "custom matchers are not imported")
		default:
			c.skip("request."+k, "unknown field, not imported")
		}
	}
	// Method.
	m.Method = "ANY"
	if v, ok := req["method"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return c.fail("request.method", "must be a string")
		}
		switch u := strings.ToUpper(s); u {
		case "ANY", "GET", "POST", "PUT", "PATCH", "DELETE":
			m.Method = u
		case "HEAD":
			m.Method = "GET"
			c.skip("request.method", "HEAD is imported as GET (ownhttp answers HEAD from GET mocks), so GET requests match too")
		default:
			return c.fail("request.method", "%q cannot be mocked (ownhttp mocks answer GET, POST, PUT, PATCH, DELETE or ANY)", s)
		}
	}
	// URL.
	given := ""
	for _, k := range urlKeys {
		if v, ok := req[k]; ok && v != nil {
			if given != "" {
				return c.fail("request."+k, "give one of url, urlPath, urlPattern, urlPathPattern and urlPathTemplate (%s is given too)", given)
			}
			given = k
		}
	}
	query := map[string]any{}
	if given == "" {
		m.PathRegex = "/.*" // WireMock's "any URL"
	} else {
		s, ok := req[given].(string)
		if !ok {
			return c.fail("request."+given, "must be a string")
		}
		if err := c.url(given, s, req, m, query); err != nil {
			return err
		}
	}
	// Criteria.
	sections := []struct{ key, ours string }{{"queryParameters", "query"}, {"headers", "headers"}, {"cookies", "cookies"}, {"formParameters", "form"}}
	for _, sec := range sections {
		v, ok := req[sec.key]
		if !ok || v == nil {
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return c.fail("request."+sec.key, "must be an object of matchers by name")
		}
		out := map[string]any{}
		if sec.ours == "query" {
			out = query
		}
		for _, name := range sortedKeys(obj) {
			f := "request." + sec.key + "." + name
			if name == "" {
				return c.fail("request."+sec.key, "a name must not be empty")
			}
			if sec.ours == "headers" && !isToken(name) {
				return c.fail(f, "%q is not a header name", name)
			}
			got, why, err := c.matcher(obj[name], f, false, 0)
			if err != nil {
				return err
			}
			if why != "" {
				c.skip(f, why+"; the criterion is not imported")
				continue
			}
			if got == nil {
				continue // WireMock's "anything"
			}
			addCriterion(out, name, got)
		}
		if len(out) > 0 {
			match[sec.ours] = out
		}
	}
	if len(query) > 0 {
		match["query"] = query
	}
	if v, ok := req["basicAuthCredentials"]; ok && v != nil {
		o, ok := v.(map[string]any)
		u, uok := o["username"].(string)
		p, pok := o["password"].(string)
		if !ok || !uok || !pok {
			return c.fail("request.basicAuthCredentials", "must be {\"username\":…,\"password\":…}")
		}
		h, _ := match["headers"].(map[string]any)
		if h == nil {
			h = map[string]any{}
			match["headers"] = h
		}
		addCriterion(h, "Authorization", map[string]any{"equals": "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))})
	}
	if v, ok := req["bodyPatterns"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return c.fail("request.bodyPatterns", "must be a list of matchers")
		}
		var body []any
		for i, item := range list {
			f := fmt.Sprintf("request.bodyPatterns[%d]", i)
			got, why, err := c.matcher(item, f, true, 0)
			if err != nil {
				return err
			}
			if why != "" {
				c.skip(f, why+"; the criterion is not imported")
				continue
			}
			if got != nil {
				body = append(body, got)
			}
		}
		if len(body) > 0 {
			match["body"] = body
		}
	}
	if len(match) > 0 {
		raw, err := json.Marshal(match)
		if err != nil {
			return c.fail("request", "cannot encode the criteria: %s", err)
		}
		if _, err := mock.DecodeCriteria(raw, "match"); err != nil {
			return c.fail("request", "the criteria do not hold: %s", err)
		}
		m.Match = match
	}
	return nil
}

// addCriterion sets name's matcher, combining it with one already there.
func addCriterion(sec map[string]any, name string, m any) {
	if old, ok := sec[name]; ok {
		sec[name] = map[string]any{"and": []any{old, m}}
		return
	}
	sec[name] = m
}

// url maps one of WireMock's URL forms onto a path pattern or regex (and query criteria).
func (c *stubConv) url(kind, s string, req map[string]any, m *mockDef, query map[string]any) error {
	f := "request." + kind
	switch kind {
	case "url", "urlPath":
		p, q, hasQ := strings.Cut(s, "?")
		if kind == "urlPath" && hasQ {
			return c.fail(f, "must be a path without a query (use url for both)")
		}
		if !strings.HasPrefix(p, "/") {
			return c.fail(f, "must start with /")
		}
		c.literalPath(p, m)
		if hasQ {
			vals, err := url.ParseQuery(q)
			if err != nil {
				return c.fail(f, "has a malformed query: %s", err)
			}
			for _, name := range sortedKeys(vals) {
				if len(vals[name]) > 1 {
					c.skip(f, fmt.Sprintf("query parameter %q repeats; only its first value is required", name))
				}
				addCriterion(query, name, map[string]any{"equals": vals[name][0]})
			}
			c.skip(f, "the query must equal "+strconvQuote(q)+" exactly in WireMock; imported as each parameter equal to its value (other parameters and their order are not checked)")
		}
	case "urlPattern", "urlPathPattern":
		re := s
		if kind == "urlPattern" {
			if i := strings.Index(re, `\?`); i >= 0 {
				c.skip(f, "the part from \\? on matches the query, which ownhttp paths never see; only "+strconvQuote(re[:i])+" is imported")
				re = re[:i]
			}
		}
		re = strings.TrimSuffix(strings.TrimPrefix(re, "^"), "$")
		if _, err := mock.CompilePathRegex(re); err != nil {
			return c.fail(f, "%s", err)
		}
		m.PathRegex = re
	case "urlPathTemplate":
		if !strings.HasPrefix(s, "/") {
			return c.fail(f, "must start with /")
		}
		pat, err := c.pathTemplate(s, req)
		if err != nil {
			return err
		}
		if _, err := mock.CompilePathPattern(pat); err != nil {
			return c.fail(f, "%s", err)
		}
		m.PathPattern = pat
	}
	if kind != "urlPathTemplate" {
		if v, ok := req["pathParameters"]; ok && v != nil {
			c.skip("request.pathParameters", "applies to urlPathTemplate only; not imported")
		}
	}
	return nil
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// literalPath sets an exact path: a path pattern when it holds no pattern syntax, else a
// regex quoting it.
func (c *stubConv) literalPath(p string, m *mockDef) {
	if strings.ContainsAny(p, "{}*") {
		m.PathRegex = regexp.QuoteMeta(p)
		return
	}
	m.PathPattern = p
}

// pathTemplate turns a urlPathTemplate into a path pattern, constraining the {name}
// segments that pathParameters give an equalTo or matches for.
func (c *stubConv) pathTemplate(s string, req map[string]any) (string, error) {
	params := map[string]any{}
	if v, ok := req["pathParameters"]; ok && v != nil {
		o, ok := v.(map[string]any)
		if !ok {
			return "", c.fail("request.pathParameters", "must be an object of matchers by name")
		}
		params = o
	}
	used := map[string]bool{}
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		if len(seg) < 3 || seg[0] != '{' || seg[len(seg)-1] != '}' {
			continue
		}
		name := seg[1 : len(seg)-1]
		v, ok := params[name]
		if !ok {
			continue
		}
		used[name] = true
		f := "request.pathParameters." + name
		mo, ok := v.(map[string]any)
		if !ok {
			return "", c.fail(f, "must be a matcher object")
		}
		switch {
		case len(mo) == 1 && mo["equalTo"] != nil:
			t, ok := mo["equalTo"].(string)
			if !ok {
				return "", c.fail(f+".equalTo", "must be a string")
			}
			segs[i] = "{" + name + ":" + regexp.QuoteMeta(t) + "}"
		case len(mo) == 1 && mo["matches"] != nil:
			t, ok := mo["matches"].(string)
			if !ok {
				return "", c.fail(f+".matches", "must be a string")
			}
			segs[i] = "{" + name + ":" + t + "}"
		default:
			c.skip(f, "only equalTo and matches are imported for path parameters; not imported")
		}
	}
	for _, name := range sortedKeys(params) {
		if !used[name] {
			c.skip("request.pathParameters."+name, "the template has no {"+name+"}; not imported")
		}
	}
	return strings.Join(segs, "/"), nil
}

// ---- matchers ----

// modifiers are a WireMock matcher object's keys beside its operator.
var modifiers = map[string]bool{"caseInsensitive": true, "ignoreArrayOrder": true, "ignoreExtraElements": true,
	"enablePlaceholders": true, "placeholderOpening": true, "placeholderClosing": true, "exactMatch": true}

// matcher translates a WireMock matcher (StringValuePattern or ContentPattern) at field;
// body allows the body's JSON matchers. It returns the ownhttp matcher, or why it cannot
// be carried (why != ""), or an error when the stub itself is malformed. A nil matcher
// with no why is WireMock's "anything".
func (c *stubConv) matcher(v any, field string, body bool, depth int) (out map[string]any, why string, err error) {
	if depth > 16 {
		return nil, "matchers nest deeper than 16 levels", nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, "", c.fail(field, "must be a matcher object ({\"equalTo\":…})")
	}
	var ops []string
	for _, k := range sortedKeys(obj) {
		if !modifiers[k] {
			ops = append(ops, k)
		}
	}
	if len(ops) != 1 {
		if len(ops) == 0 {
			return nil, "", c.fail(field, "needs an operator (equalTo, contains, matches, …)")
		}
		return nil, "", c.fail(field, "has %s: a matcher takes one operator", strings.Join(ops, " and "))
	}
	op := ops[0]
	f := field + "." + op
	fold := false
	if fv, ok := obj["caseInsensitive"]; ok {
		b, ok := fv.(bool)
		if !ok {
			return nil, "", c.fail(field+".caseInsensitive", "must be true or false")
		}
		fold = b
	}
	for _, k := range []string{"enablePlaceholders", "placeholderOpening", "placeholderClosing"} {
		if obj[k] != nil && obj[k] != false {
			return nil, k + " (JSON placeholders) is not supported", nil
		}
	}
	if obj["exactMatch"] == true {
		return nil, "exactMatch is not supported", nil
	}
	str := func() (string, error) {
		switch s := obj[op].(type) {
		case string:
			return s, nil
		case json.Number:
			return s.String(), nil
		}
		return "", c.fail(f, "must be a string")
	}
	withFold := func(m map[string]any) map[string]any {
		if fold {
			m["case_insensitive"] = true
		}
		return m
	}
	switch op {
	case "equalTo":
		s, err := str()
		if err != nil {
			return nil, "", err
		}
		return withFold(map[string]any{"equals": s}), "", nil
	case "contains", "doesNotContain":
		s, err := str()
		if err != nil {
			return nil, "", err
		}
		m := withFold(map[string]any{"contains": s})
		if op == "doesNotContain" {
			return map[string]any{"not": m}, "", nil
		}
		return m, "", nil
	case "matches", "doesNotMatch":
		s, err := str()
		if err != nil {
			return nil, "", err
		}
		re := "^(?:" + s + ")$" // WireMock's regexes match the whole value
		if _, err := regexp.Compile(re); err != nil {
			return nil, fmt.Sprintf("%s %q is not an RE2 regex (%s)", op, s, strings.TrimPrefix(err.Error(), "error parsing regexp: ")), nil
		}
		key := "matches"
		if op == "doesNotMatch" {
			key = "does_not_match"
		}
		return withFold(map[string]any{key: re}), "", nil
	case "absent":
		b, ok := obj[op].(bool)
		if !ok {
			return nil, "", c.fail(f, "must be true or false")
		}
		return map[string]any{"absent": b}, "", nil
	case "anything":
		return nil, "", nil
	case "equalToJson":
		if !body {
			return nil, "equalToJson applies to the body only in ownhttp", nil
		}
		want := obj[op]
		if s, ok := want.(string); ok {
			if err := decodeJSON([]byte(s), &want); err != nil {
				return nil, "", c.fail(f, "is not JSON: %s", jsonProblem(err))
			}
		}
		m := map[string]any{"equal_to_json": want}
		for wk, ours := range map[string]string{"ignoreArrayOrder": "ignore_array_order", "ignoreExtraElements": "ignore_extra_fields"} {
			if bv, ok := obj[wk]; ok {
				b, ok := bv.(bool)
				if !ok {
					return nil, "", c.fail(field+"."+wk, "must be true or false")
				}
				if b {
					m[ours] = true
				}
			}
		}
		return m, "", nil
	case "matchesJsonPath":
		if !body {
			return nil, "matchesJsonPath applies to the body only in ownhttp", nil
		}
		switch jp := obj[op].(type) {
		case string:
			if _, err := mock.CompileJSONPath(jp); err != nil {
				return nil, fmt.Sprintf("JSON path %q is not supported (%s)", jp, err), nil
			}
			return map[string]any{"json_path": jp}, "", nil
		case map[string]any:
			expr, ok := jp["expression"].(string)
			if !ok {
				return nil, "", c.fail(f+".expression", "must be a string")
			}
			if _, err := mock.CompileJSONPath(expr); err != nil {
				return nil, fmt.Sprintf("JSON path %q is not supported (%s)", expr, err), nil
			}
			rest := map[string]any{}
			for k, v := range jp {
				if k != "expression" {
					rest[k] = v
				}
			}
			if len(rest) == 0 {
				return map[string]any{"json_path": expr}, "", nil
			}
			sub, why, err := c.matcher(rest, f, true, depth+1)
			if err != nil || why != "" || sub == nil {
				return nil, why, err
			}
			if _, nested := sub["json_path"]; nested {
				return nil, "a JSON path inside a JSON path is not supported", nil
			}
			sub["json_path"] = expr
			return sub, "", nil
		}
		return nil, "", c.fail(f, "must be a JSON path or {\"expression\":…}")
	case "and", "or":
		list, ok := obj[op].([]any)
		if !ok || len(list) == 0 {
			return nil, "", c.fail(f, "must be a non-empty list of matchers")
		}
		var subs []any
		for i, item := range list {
			sub, why, err := c.matcher(item, fmt.Sprintf("%s[%d]", f, i), body, depth+1)
			if err != nil || why != "" {
				return nil, why, err
			}
			if sub == nil {
				return nil, "\"anything\" inside " + op + " is not supported", nil
			}
			subs = append(subs, sub)
		}
		return map[string]any{op: subs}, "", nil
	case "not":
		sub, why, err := c.matcher(obj[op], f, body, depth+1)
		if err != nil || why != "" {
			return nil, why, err
		}
		if sub == nil {
			return nil, "not of \"anything\" is not supported", nil
		}
		return map[string]any{"not": sub}, "", nil
	case "binaryEqualTo":
		s, ok := obj[op].(string)
		if !ok {
			return nil, "", c.fail(f, "must be base64 text")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, "", c.fail(f, "is not valid base64")
		}
		if !body || !utf8.Valid(b) {
			return nil, "binaryEqualTo of bytes that are not UTF-8 text is not supported", nil
		}
		return map[string]any{"equals": string(b)}, "", nil
	case "equalToXml", "matchesXPath":
		return nil, op + " (XML) is not supported", nil
	case "before", "after", "equalToDateTime":
		return nil, op + " (date and time comparison) is not supported", nil
	case "hasExactly", "includes":
		return nil, op + " (multi-value matching) is not supported", nil
	case "matchesJsonSchema":
		return nil, "JSON Schema matching is not supported", nil
	}
	return nil, fmt.Sprintf("unknown matcher %q", op), nil
}

// ---- scenarios ----

// scenario maps WireMock's scenarioName, requiredScenarioState and newScenarioState onto
// a mock state machine; "Started", WireMock's first state, is ownhttp's "started".
func (c *stubConv) scenario(obj map[string]any, m *mockDef) error {
	strOf := func(k string) (string, error) {
		v, ok := obj[k]
		if !ok || v == nil {
			return "", nil
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return "", c.fail(k, "must be a non-empty string")
		}
		return s, nil
	}
	name, err := strOf("scenarioName")
	if err != nil {
		return err
	}
	req, err := strOf("requiredScenarioState")
	if err != nil {
		return err
	}
	set, err := strOf("newScenarioState")
	if err != nil {
		return err
	}
	if name == "" {
		if req != "" || set != "" {
			return c.fail("scenarioName", "is missing beside requiredScenarioState or newScenarioState")
		}
		return nil
	}
	if req == "" && set == "" {
		return nil // in any state, no transition: no machine needed
	}
	m.State = &stateDef{Name: stateName(name), Requires: stateName(req), Sets: stateName(set)}
	return nil
}

// stateName fits a WireMock scenario or state name to ownhttp's names (letters, digits,
// '.', '_', '-'; at most 64): "Started" is "started", every other character becomes '-'.
func stateName(s string) string {
	if s == "" {
		return ""
	}
	if s == "Started" {
		return "started"
	}
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if string(b) == "." || string(b) == ".." {
		return "-"
	}
	return string(b)
}

// ---- response ----

// serverHeaders are the fields the server writes itself; a mock may not set them.
var serverHeaders = map[string]bool{"content-length": true, "transfer-encoding": true, "connection": true,
	"keep-alive": true, "date": true, "server": true, "x-request-id": true}

// response converts a WireMock response definition; inSeq says it is an entry of a
// responseSequence (which carries no delays or faults). It returns whether the response
// asks for response templating.
func (c *stubConv) response(ro map[string]any, field string, m *mockDef, inSeq bool) (*respDef, bool, error) {
	rd := &respDef{Status: 200}
	tmpl := false
	for _, k := range sortedKeys(ro) {
		f := field + "." + k
		switch k {
		case "status", "headers", "body", "jsonBody", "base64Body", "bodyFileName", "transformers":
		case "fixedDelayMilliseconds", "delayDistribution", "chunkedDribbleDelay", "fault":
			if inSeq {
				c.skip(f, "delays and faults of one response of a sequence are not imported")
			}
		case "statusMessage":
			c.skip(f, "ownhttp sends the standard reason phrase")
		case "proxyBaseUrl":
			c.skip(f, "proxying is not imported; the mock answers with the stub's own status and body")
		case "additionalProxyRequestHeaders", "removeProxyRequestHeaders", "proxyUrlPrefixToRemove":
			c.skip(f, "proxying is not imported")
		case "transformerParameters":
			if o, ok := ro[k].(map[string]any); !ok || len(o) > 0 {
				c.skip(f, "transformer parameters are not imported")
			}
		default:
			c.skip(f, "unknown field, not imported")
		}
	}
	if v, ok := ro["status"]; ok && v != nil {
		s, ok := intOf(v)
		if !ok {
			return nil, false, c.fail(field+".status", "must be a whole number")
		}
		if s < 200 || s > 599 {
			return nil, false, c.fail(field+".status", "%d is outside 200–599, what an ownhttp mock may answer", s)
		}
		rd.Status = int(s)
	}
	if v, ok := ro["transformers"]; ok && v != nil {
		list, ok := v.([]any)
		if !ok {
			return nil, false, c.fail(field+".transformers", "must be a list of names")
		}
		for _, t := range list {
			name, ok := t.(string)
			if !ok {
				return nil, false, c.fail(field+".transformers", "must be a list of names")
			}
			if name == "response-template" {
				tmpl = true
			} else {
				c.skip(field+".transformers", fmt.Sprintf("transformer %q is not imported", name))
			}
		}
	}
	if v, ok := ro["headers"]; ok && v != nil {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false, c.fail(field+".headers", "must be an object of header values by name")
		}
		for _, name := range sortedKeys(obj) {
			f := field + ".headers." + name
			if !isToken(name) {
				return nil, false, c.fail(f, "%q is not a header name", name)
			}
			if serverHeaders[strings.ToLower(name)] {
				c.skip(f, "the server writes "+name+" itself")
				continue
			}
			var val string
			switch hv := obj[name].(type) {
			case string:
				val = hv
			case json.Number:
				val = hv.String()
			case []any:
				var vals []string
				for _, x := range hv {
					s, ok := x.(string)
					if !ok {
						return nil, false, c.fail(f, "must be a string or a list of strings")
					}
					vals = append(vals, s)
				}
				if len(vals) == 0 {
					continue
				}
				if strings.EqualFold(name, "Set-Cookie") && len(vals) > 1 {
					c.skip(f, "only the first of several Set-Cookie fields is imported")
					vals = vals[:1]
				}
				val = strings.Join(vals, ", ")
			default:
				return nil, false, c.fail(f, "must be a string or a list of strings")
			}
			if rd.Headers == nil {
				rd.Headers = map[string]string{}
			}
			rd.Headers[name] = val
		}
	}
	if err := c.responseBody(ro, field, rd, tmpl); err != nil {
		return nil, false, err
	}
	if !inSeq {
		if err := c.delays(ro, field, m); err != nil {
			return nil, false, err
		}
		if err := c.fault(ro, field, m); err != nil {
			return nil, false, err
		}
	}
	return rd, tmpl, nil
}

// responseBody sets the body from body, jsonBody, base64Body or bodyFileName, and the
// content type WireMock would leave unsaid (ownhttp always sends one).
func (c *stubConv) responseBody(ro map[string]any, field string, rd *respDef, tmpl bool) error {
	given := ""
	for _, k := range []string{"body", "jsonBody", "base64Body", "bodyFileName"} {
		if v, ok := ro[k]; ok && v != nil {
			if given != "" {
				return c.fail(field+"."+k, "give one of body, jsonBody, base64Body and bodyFileName (%s is given too)", given)
			}
			given = k
		}
	}
	ct := ""
	f := field + "." + given
	switch given {
	case "body":
		s, ok := ro[given].(string)
		if !ok {
			return c.fail(f, "must be a string (use jsonBody for JSON)")
		}
		rd.setText(s)
		ct = "text/plain; charset=utf-8"
		if looksJSON(s) {
			ct = "application/json"
		}
	case "jsonBody":
		raw, err := json.Marshal(ro[given])
		if err != nil {
			return c.fail(f, "cannot be encoded: %s", err)
		}
		if _, isStr := ro[given].(string); isStr {
			rd.setText(string(raw)) // a JSON string is sent as JSON, quotes included
		} else {
			rd.Body = raw
			rd.bodyLen = len(raw)
			rd.templated = strings.Contains(string(raw), "{{")
		}
		ct = "application/json"
	case "base64Body":
		s, ok := ro[given].(string)
		if !ok {
			return c.fail(f, "must be base64 text")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return c.fail(f, "is not valid base64")
		}
		rd.BodyBase64 = s
		rd.bodyLen = len(b)
		ct = "application/octet-stream"
	case "bodyFileName":
		name, ok := ro[given].(string)
		if !ok {
			return c.fail(f, "must be a string")
		}
		if strings.Contains(name, "{{") && tmpl {
			return c.fail(f, "a templated file name cannot be imported (the body would depend on the request)")
		}
		b, err := c.body(name)
		if err != nil {
			return c.fail(f, "%s: %s", name, err)
		}
		if utf8.Valid(b) {
			rd.setText(string(b))
		} else {
			rd.BodyBase64 = base64.StdEncoding.EncodeToString(b)
			rd.bodyLen = len(b)
		}
		ct = contentTypeOf(name)
	}
	for name := range rd.Headers {
		if strings.EqualFold(name, "Content-Type") {
			return nil
		}
		if strings.Contains(rd.Headers[name], "{{") {
			rd.templated = true
		}
	}
	if ct != "" {
		rd.ContentType = ct
	}
	return nil
}

func (rd *respDef) setText(s string) {
	raw, _ := json.Marshal(s)
	rd.Body = raw
	rd.bodyLen = len(s)
	rd.templated = rd.templated || strings.Contains(s, "{{")
}

// looksJSON reports whether s is a JSON object or array.
func looksJSON(s string) bool {
	t := strings.TrimSpace(s)
	return (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t))
}

// contentTypeOf names the content type of a body file by its extension (a fixed table, so
// that every machine imports the same mock).
func contentTypeOf(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".json":
		return "application/json"
	case ".xml":
		return "application/xml"
	case ".html", ".htm":
		return "text/html; charset=utf-8"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".csv":
		return "text/csv"
	case ".js":
		return "text/javascript"
	case ".css":
		return "text/css"
	case ".yaml", ".yml":
		return "application/yaml"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".svg":
		return "image/svg+xml"
	case ".pdf":
		return "application/pdf"
	}
	return "application/octet-stream"
}

// templateFlag decides the mock's template flag: true for WireMock's response-template
// transformer, once the templates compile in ownhttp's engine (else the response is sent
// as written and that is listed); false, explicitly, for a response holding "{{" without
// the transformer, so that --mock-templates does not change what WireMock would send.
func (c *stubConv) templateFlag(m *mockDef, tmpl bool, field string) {
	resps := m.Responses
	if m.respDef != nil {
		resps = []*respDef{m.respDef}
	}
	has := false
	for _, r := range resps {
		has = has || r.templated
	}
	if !tmpl {
		if has {
			f := false
			m.Template = &f
		}
		return
	}
	for i, r := range resps {
		where := field
		if m.Responses != nil {
			where = fmt.Sprintf("%s[%d]", field, i)
		}
		if r.Body != nil {
			r.Body = rewriteTemplateJSON(r.Body)
			var s string
			if json.Unmarshal(r.Body, &s) != nil {
				s = string(r.Body)
			}
			if _, err := mock.CompileTemplate(s, "body"); err != nil {
				c.skip(where+".body", "response-template not imported ("+err.Error()+"); the response is sent as written")
				f := false
				m.Template = &f
				return
			}
		}
		for _, name := range sortedKeys(r.Headers) {
			r.Headers[name] = rewriteTemplate(r.Headers[name])
			if _, err := mock.CompileTemplate(r.Headers[name], "headers."+name); err != nil {
				c.skip(where+".headers."+name, "response-template not imported ("+err.Error()+"); the response is sent as written")
				f := false
				m.Template = &f
				return
			}
		}
	}
	t := true
	m.Template = &t
}

// rewriteTemplate turns WireMock's older request.requestLine.* names into the request.*
// ones both understand.
func rewriteTemplate(s string) string {
	return strings.ReplaceAll(s, "request.requestLine.", "request.")
}

func rewriteTemplateJSON(raw json.RawMessage) json.RawMessage {
	if !strings.Contains(string(raw), "request.requestLine.") {
		return raw
	}
	return json.RawMessage(rewriteTemplate(string(raw)))
}

// delays maps fixedDelayMilliseconds and delayDistribution (WireMock adds the two) onto
// the mock's latency.
func (c *stubConv) delays(ro map[string]any, field string, m *mockDef) error {
	fixed := 0.0
	if v, ok := ro["fixedDelayMilliseconds"]; ok && v != nil {
		n, ok := numOf(v)
		if !ok || n < 0 {
			return c.fail(field+".fixedDelayMilliseconds", "must be a number of milliseconds, 0 or more")
		}
		fixed = n
	}
	v, ok := ro["delayDistribution"]
	if !ok || v == nil {
		if fixed > 0 {
			m.Latency = map[string]any{"fixed_ms": fixed}
		}
		return nil
	}
	f := field + ".delayDistribution"
	d, ok := v.(map[string]any)
	if !ok {
		return c.fail(f, "must be an object with a type")
	}
	num := func(k string) (float64, error) {
		n, ok := numOf(d[k])
		if !ok || n < 0 {
			return 0, c.fail(f+"."+k, "must be a number, 0 or more")
		}
		return n, nil
	}
	typ, _ := d["type"].(string)
	switch typ {
	case "lognormal":
		median, err := num("median")
		if err != nil {
			return err
		}
		sigma, err := num("sigma")
		if err != nil {
			return err
		}
		m.Latency = map[string]any{"lognormal": map[string]any{"median_ms": median, "sigma": sigma}}
		if fixed > 0 {
			c.skip(field+".fixedDelayMilliseconds", "cannot be added to a lognormal delay; only the distribution is imported")
		}
	case "uniform":
		lo, err := num("lower")
		if err != nil {
			return err
		}
		hi, err := num("upper")
		if err != nil {
			return err
		}
		m.Latency = map[string]any{"uniform": map[string]any{"min_ms": lo + fixed, "max_ms": hi + fixed}}
	case "fixed":
		ms, err := num("milliseconds")
		if err != nil {
			return err
		}
		m.Latency = map[string]any{"fixed_ms": ms + fixed}
	default:
		c.skip(f, fmt.Sprintf("distribution %q is not imported (lognormal, uniform or fixed)", typ))
		if fixed > 0 {
			m.Latency = map[string]any{"fixed_ms": fixed}
		}
	}
	return nil
}

// faultKinds maps WireMock's faults onto ownhttp's.
var faultKinds = map[string]string{
	"EMPTY_RESPONSE":           "empty",
	"MALFORMED_RESPONSE_CHUNK": "bad_chunk_syntax",
	"RANDOM_DATA_THEN_CLOSE":   "garbage",
	"CONNECTION_RESET_BY_PEER": "reset",
}

func (c *stubConv) fault(ro map[string]any, field string, m *mockDef) error {
	v, ok := ro["fault"]
	if !ok || v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		return c.fail(field+".fault", "must be a fault name")
	}
	kind, ok := faultKinds[s]
	if !ok {
		c.skip(field+".fault", fmt.Sprintf("fault %q is not imported", s))
		return nil
	}
	m.Faults = append(m.Faults, map[string]any{"kind": kind})
	return nil
}

// dribble maps chunkedDribbleDelay (the body in numberOfChunks pieces over totalDuration
// milliseconds) onto a drip fault.
func (c *stubConv) dribble(ro map[string]any, m *mockDef) error {
	v, ok := ro["chunkedDribbleDelay"]
	if !ok || v == nil {
		return nil
	}
	f := "response.chunkedDribbleDelay"
	d, ok := v.(map[string]any)
	n, nok := intOf(d["numberOfChunks"])
	total, tok := numOf(d["totalDuration"])
	if !ok || !nok || !tok || n < 1 || total < 0 {
		return c.fail(f, "must be {\"numberOfChunks\":N (1 or more),\"totalDuration\":milliseconds}")
	}
	size := m.bodyLen
	chunk := int64(math.Ceil(float64(size) / float64(n)))
	if chunk < 1 {
		chunk = 1
	}
	every := int64(math.Round(total / float64(n)))
	if every < 1 {
		every = 1
	}
	if m.respDef.templated && m.Template != nil && *m.Template {
		c.skip(f, "the pieces are sized for the template's text, not the rendered body")
	}
	m.Faults = append(m.Faults, map[string]any{"kind": "drip", "chunk_bytes": chunk, "every_ms": every})
	return nil
}

// checkPlan decodes the latency and faults as the server will.
func (c *stubConv) checkPlan(m *mockDef) error {
	if m.Latency == nil && m.Faults == nil {
		return nil
	}
	var lat, fl json.RawMessage
	if m.Latency != nil {
		lat, _ = json.Marshal(m.Latency)
	}
	if m.Faults != nil {
		fl, _ = json.Marshal(m.Faults)
	}
	if _, err := mock.DecodePlanParts(lat, fl); err != nil {
		return c.fail("response", "the delay or fault does not hold: %s", err)
	}
	return nil
}

// ---- values ----

func intOf(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func numOf(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
