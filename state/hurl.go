package state

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Hurl reader (issue #18): the common part of Hurl's file format (hurl.dev, "Hurl
// File", "Request", "Response", "Capturing Response", "Asserting Response"), read into a
// scenario that runs like any other.
//
// Read: entries "METHOD URL" (GET, POST, PUT, PATCH, DELETE) with header lines;
// [QueryStringParams]/[Query], [FormParams]/[Form], [Cookies], [BasicAuth] and [Options]
// (delay, retry, retry-interval, repeat); bodies as JSON, ```multiline``` (with a language
// tag or none), `oneline`, base64,…; and hex,…; and XML (up to the next blank line); then an
// optional "HTTP <status>" or "HTTP *" line (HTTP/1.0, HTTP/1.1 and HTTP/2 are read as HTTP:
// the version is not checked) with expected headers, [Captures] (status, header, jsonpath,
// regex, body, cookie, variable queries, each optionally "redact") and [Asserts] (those
// queries and duration, an optional count filter, "not", and the predicates ==, !=, <, <=,
// >, >=, contains, includes, startsWith, endsWith, matches, exists, isEmpty, isString,
// isNumber, isInteger, isFloat, isBoolean, isCollection, isList, isObject, isNull), and an
// expected body (JSON compared as JSON, other text compared exactly). Comments (#) and
// strings with the escapes \" \\ \b \f \n \r \t \# and \u{…} are read as Hurl reads them.
//
// URLs: the requests go to the server the run is given, so an absolute URL keeps only its
// path and query, and a URL starting with a variable ({{host}}/users) drops that variable.
// Anything else (another method, section, option, query, filter or predicate, a file body,
// a multipart form) is an error naming its line: `hurl line 7: unknown section
// "[Foo]"`.

// MaxHurlBytes bounds a Hurl file.
const MaxHurlBytes = 8 << 20

// hurlOtherMethods are the methods Hurl knows that a step does not use (scenarioMethods are
// those it uses): an entry with one is an error naming its line.
var hurlOtherMethods = []string{"HEAD", "OPTIONS", "CONNECT", "TRACE"}

// ParseHurl reads a Hurl file into a normalized scenario named name (limits as
// DecodeScenario's). Errors are invalid_scenario, naming the line.
func ParseHurl(name string, data []byte, limits ScenarioLimits) (Scenario, *Error) {
	if len(data) > MaxHurlBytes {
		return Scenario{}, invalidScenario(fmt.Sprintf("hurl file is %d bytes, more than %d", len(data), MaxHurlBytes))
	}
	if !utf8.Valid(data) {
		return Scenario{}, invalidScenario("hurl file is not UTF-8")
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	p := hurlParser{lines: strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"), lim: limits.withDefaults()}
	sc := Scenario{Name: name, Defaults: ScenarioDefaults{StopOnFail: true}}
	var entryLines []int // the line of each entry's request
	for {
		p.skipBlank()
		entryLines = append(entryLines, p.i+1)
		st, ok, e := p.entry()
		if e != nil {
			return Scenario{}, e
		}
		if !ok {
			break
		}
		sc.Steps = append(sc.Steps, st)
		if len(sc.Steps) > p.lim.MaxSteps {
			return Scenario{}, newErr(KindTooLarge, CodeScenarioTooLarge, "scenario has too many steps")
		}
	}
	if e := normalizeScenario(&sc, p.lim); e != nil {
		// "step N: …" names the entry by its request line too.
		if rest, ok := strings.CutPrefix(e.Message, "step "); ok {
			num, _, _ := strings.Cut(rest, ":")
			if n, err := strconv.Atoi(num); err == nil && n >= 1 && n <= len(entryLines) {
				e = &Error{Kind: e.Kind, Code: e.Code, Message: "hurl line " + strconv.Itoa(entryLines[n-1]) + ": " + e.Message}
			}
		}
		return Scenario{}, e
	}
	return sc, nil
}

type hurlParser struct {
	lines []string
	i     int // next line, 0-based
	lim   ScenarioLimits
}

// hurlErr names line n (1-based).
func hurlErr(n int, format string, args ...any) *Error {
	return invalidScenario("hurl line " + strconv.Itoa(n) + ": " + fmt.Sprintf(format, args...))
}

// content returns line i without its comment and surrounding spaces.
func (p *hurlParser) content(i int) string {
	return strings.TrimSpace(stripHurlComment(p.lines[i]))
}

// skipBlank moves past blank and comment lines.
func (p *hurlParser) skipBlank() {
	for p.i < len(p.lines) && p.content(p.i) == "" {
		p.i++
	}
}

// stripHurlComment cuts a line at a # that is outside a "string" and not escaped.
func stripHurlComment(line string) string {
	inString := false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\':
			i++
		case c == '"':
			inString = !inString
		case c == '#' && !inString:
			return line[:i]
		}
	}
	return line
}

// sectionName returns the name of a "[Name]" line.
func sectionName(s string) (string, bool) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return "", false
	}
	name := s[1 : len(s)-1]
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "", false
		}
	}
	return name, true
}

// entry reads one request and its response; ok is false at the end of the file.
func (p *hurlParser) entry() (Step, bool, *Error) {
	p.skipBlank()
	if p.i >= len(p.lines) {
		return Step{}, false, nil
	}
	lineNo := p.i + 1
	method, rawURL, _ := strings.Cut(p.content(p.i), " ")
	rawURL = strings.TrimSpace(rawURL)
	switch {
	case slices.Contains(scenarioMethods, method):
	case slices.Contains(hurlOtherMethods, method):
		return Step{}, false, hurlErr(lineNo, "method %s is not supported (GET, POST, PUT, PATCH, DELETE)", method)
	default:
		return Step{}, false, hurlErr(lineNo, "expected a request line (METHOD URL), got %q", truncateText(p.content(p.i), 64))
	}
	p.i++
	path, e := hurlPath(rawURL, lineNo)
	if e != nil {
		return Step{}, false, e
	}
	st := Step{Method: method, Path: path, Headers: map[string]string{}, Name: truncateText(method+" "+rawURL, 200),
		Expect: Expect{AnyStatus: true}}
	if e := p.headers(st.Headers, true); e != nil {
		return st, false, e
	}
	var query []string
	var form []string
	for p.i < len(p.lines) {
		name, isSection := sectionName(p.content(p.i))
		if !isSection {
			break
		}
		secLine := p.i + 1
		p.i++
		pairs, e := p.pairs()
		if e != nil {
			return st, false, e
		}
		switch name {
		case "QueryStringParams", "Query":
			for _, kv := range pairs {
				query = append(query, hurlQueryEscape(kv[0])+"="+hurlQueryEscape(kv[1]))
			}
		case "FormParams", "Form":
			for _, kv := range pairs {
				form = append(form, hurlQueryEscape(kv[0])+"="+hurlQueryEscape(kv[1]))
			}
		case "Cookies":
			var list []string
			for _, kv := range pairs {
				list = append(list, kv[0]+"="+kv[1])
			}
			st.Headers["cookie"] = strings.Join(list, "; ")
		case "BasicAuth":
			if len(pairs) != 1 {
				return st, false, hurlErr(secLine, "[BasicAuth] takes one user: password line")
			}
			if strings.Contains(pairs[0][0]+pairs[0][1], "{{") {
				return st, false, hurlErr(secLine+1, "variables in [BasicAuth] are not supported; set an Authorization header")
			}
			st.Headers["authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(pairs[0][0]+":"+pairs[0][1]))
		case "Options":
			if e := hurlOptions(&st, pairs, secLine); e != nil {
				return st, false, e
			}
		default:
			return st, false, hurlErr(secLine, "unknown section %q (a request takes [QueryStringParams], [FormParams], [Cookies], [BasicAuth] and [Options])", "["+name+"]")
		}
	}
	if len(query) > 0 {
		sep := "?"
		if strings.Contains(st.Path, "?") {
			sep = "&"
		}
		st.Path += sep + strings.Join(query, "&")
	}
	p.skipBlank()
	isJSONBody := p.i < len(p.lines) && strings.HasPrefix(p.content(p.i), "{")
	body, hasBody, e := p.body()
	if e != nil {
		return st, false, e
	}
	switch {
	case hasBody:
		st.Body = body
		if _, set := st.Headers["content-type"]; !set && isJSONBody {
			st.Headers["content-type"] = "application/json"
		}
	case len(form) > 0:
		st.Body = strings.Join(form, "&")
		if _, set := st.Headers["content-type"]; !set {
			st.Headers["content-type"] = "application/x-www-form-urlencoded"
		}
	}
	p.skipBlank()
	if p.i < len(p.lines) && isHurlStatusLine(p.content(p.i)) {
		if e := p.response(&st); e != nil {
			return st, false, e
		}
	}
	return st, true, nil
}

// hurlPath turns an entry's URL into a step path (see the file comment).
func hurlPath(raw string, lineNo int) (string, *Error) {
	switch {
	case raw == "":
		return "", hurlErr(lineNo, "the request line has no URL")
	case strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://"):
		_, rest, _ := strings.Cut(raw, "://")
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			raw = rest[i:]
		} else {
			raw = "/"
		}
	case strings.HasPrefix(raw, "{{"):
		end := strings.Index(raw, "}}")
		if end < 0 {
			return "", hurlErr(lineNo, "unclosed {{ in the URL")
		}
		raw = raw[end+2:]
	}
	if raw == "" || raw[0] == '?' {
		raw = "/" + raw
	}
	if raw[0] != '/' {
		return "", hurlErr(lineNo, "the URL must be absolute (http://…), start with /, or with a {{variable}} followed by /")
	}
	if !validRequestTarget(raw) {
		return "", hurlErr(lineNo, "the URL must be printable ASCII without spaces")
	}
	return raw, nil
}

// hurlQueryEscape encodes a query key or value, keeping {{variables}} as they are (their
// values are escaped when the step runs).
func hurlQueryEscape(s string) string {
	var b strings.Builder
	for s != "" {
		i := strings.Index(s, "{{")
		j := -1
		if i >= 0 {
			j = strings.Index(s[i:], "}}")
		}
		if i < 0 || j < 0 {
			b.WriteString(url.QueryEscape(s))
			break
		}
		b.WriteString(url.QueryEscape(s[:i]))
		b.WriteString(s[i : i+j+2])
		s = s[i+j+2:]
	}
	return b.String()
}

// headers reads "Name: value" lines into h (lower-case names) until a line that is not one.
// request tells which part of the entry it is, for messages.
func (p *hurlParser) headers(h map[string]string, request bool) *Error {
	for p.i < len(p.lines) {
		line := p.content(p.i)
		if line == "" {
			if request {
				return nil
			}
			p.i++
			continue
		}
		if _, isSection := sectionName(line); isSection || isHurlStatusLine(line) || startsHurlBody(line) {
			return nil
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isToken(strings.TrimSpace(name)) {
			return nil // the body, or an error the caller reports
		}
		v, e := hurlUnescape(strings.TrimSpace(value), p.i+1)
		if e != nil {
			return e
		}
		k := strings.ToLower(strings.TrimSpace(name))
		if old, dup := h[k]; dup {
			v = old + ", " + v
		}
		h[k] = v
		p.i++
	}
	return nil
}

// pairs reads the "key: value" lines of a section.
func (p *hurlParser) pairs() ([][2]string, *Error) {
	var out [][2]string
	for p.i < len(p.lines) {
		line := p.content(p.i)
		if line == "" {
			p.i++
			continue
		}
		if _, isSection := sectionName(line); isSection || isHurlStatusLine(line) || startsHurlBody(line) {
			break
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			break
		}
		key, e := hurlUnescape(strings.TrimSpace(k), p.i+1)
		if e != nil {
			return nil, e
		}
		val, e := hurlUnescape(strings.TrimSpace(v), p.i+1)
		if e != nil {
			return nil, e
		}
		out = append(out, [2]string{key, val})
		p.i++
	}
	return out, nil
}

// hurlOptions applies an [Options] section.
func hurlOptions(st *Step, pairs [][2]string, secLine int) *Error {
	for i, kv := range pairs {
		line := secLine + 1 + i
		switch kv[0] {
		case "delay":
			ms, ok := hurlDurationMS(kv[1])
			if !ok {
				return hurlErr(line, "delay must be a duration (500, 500ms, 2s, 1m)")
			}
			st.DelayMS = ms
		case "retry":
			n, err := strconv.Atoi(kv[1])
			if err != nil || n < -1 {
				return hurlErr(line, "retry must be an integer, -1 or more")
			}
			if n == -1 || n > maxRetryCount {
				n = maxRetryCount
			}
			if st.Retry == nil {
				st.Retry = &Retry{IntervalMS: 1000} // Hurl's default interval
			}
			st.Retry.Count = n
		case "retry-interval":
			ms, ok := hurlDurationMS(kv[1])
			if !ok {
				return hurlErr(line, "retry-interval must be a duration (500, 500ms, 2s, 1m)")
			}
			if st.Retry == nil {
				st.Retry = &Retry{}
			}
			st.Retry.IntervalMS = ms
		case "repeat":
			n, err := strconv.Atoi(kv[1])
			if err != nil || n < 1 {
				return hurlErr(line, "repeat must be a positive integer")
			}
			st.Repeat = n
		default:
			return hurlErr(line, "option %q is not supported (delay, retry, retry-interval, repeat)", kv[0])
		}
	}
	return nil
}

// hurlDurationMS reads 500, 500ms, 2s or 1m as milliseconds.
func hurlDurationMS(s string) (int64, bool) {
	unit := int64(1)
	switch {
	case strings.HasSuffix(s, "ms"):
		s = strings.TrimSuffix(s, "ms")
	case strings.HasSuffix(s, "s"):
		s, unit = strings.TrimSuffix(s, "s"), 1000
	case strings.HasSuffix(s, "m"):
		s, unit = strings.TrimSuffix(s, "m"), 60_000
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 3_600_000 {
		return 0, false
	}
	return n * unit, true
}

func isHurlStatusLine(s string) bool {
	word, _, _ := strings.Cut(s, " ")
	return word == "HTTP" || word == "HTTP/1.0" || word == "HTTP/1.1" || word == "HTTP/2" || word == "HTTP/3"
}

func startsHurlBody(s string) bool {
	return s != "" && (s[0] == '{' && !strings.HasPrefix(s, "{{") || s[0] == '`' || s[0] == '<' ||
		s[0] == '[' && !isSectionLine(s) || strings.HasPrefix(s, "base64,") || strings.HasPrefix(s, "hex,") ||
		strings.HasPrefix(s, "file,"))
}

func isSectionLine(s string) bool { _, ok := sectionName(s); return ok }

// body reads a body if one starts here.
func (p *hurlParser) body() (string, bool, *Error) {
	p.skipBlank()
	if p.i >= len(p.lines) {
		return "", false, nil
	}
	start := p.i + 1
	first := strings.TrimSpace(p.lines[p.i])
	switch {
	case strings.HasPrefix(first, "```"):
		rest := strings.TrimPrefix(first, "```")
		if strings.HasSuffix(rest, "```") && len(rest) >= 3 { // ```line```
			p.i++
			return strings.TrimSuffix(rest, "```"), true, nil
		}
		p.i++
		var b strings.Builder
		for ; p.i < len(p.lines); p.i++ {
			if strings.TrimSpace(p.lines[p.i]) == "```" {
				p.i++
				return b.String(), true, nil
			}
			b.WriteString(p.lines[p.i])
			b.WriteByte('\n')
		}
		return "", false, hurlErr(start, "unclosed ``` body")
	case strings.HasPrefix(first, "`"):
		s := p.content(p.i)
		if len(s) < 2 || !strings.HasSuffix(s, "`") {
			return "", false, hurlErr(start, "unclosed ` body")
		}
		p.i++
		v, e := hurlUnescape(s[1:len(s)-1], start)
		return v, e == nil, e
	case strings.HasPrefix(first, "{") || strings.HasPrefix(first, "[") && !isSectionLine(first):
		return p.jsonBody(start)
	case strings.HasPrefix(first, "<"):
		var b strings.Builder
		for p.i < len(p.lines) && strings.TrimSpace(p.lines[p.i]) != "" && !isHurlStatusLine(strings.TrimSpace(p.lines[p.i])) {
			b.WriteString(p.lines[p.i])
			b.WriteByte('\n')
			p.i++
		}
		return b.String(), true, nil
	case strings.HasPrefix(first, "base64,") || strings.HasPrefix(first, "hex,"):
		var b strings.Builder
		for ; p.i < len(p.lines); p.i++ {
			b.WriteString(strings.TrimSpace(p.lines[p.i]))
			if strings.HasSuffix(strings.TrimSpace(p.lines[p.i]), ";") {
				p.i++
				break
			}
		}
		s := strings.TrimSuffix(b.String(), ";")
		if kind, payload, _ := strings.Cut(s, ","); kind == "hex" {
			raw, err := hex.DecodeString(payload)
			if err != nil || !utf8.Valid(raw) {
				return "", false, hurlErr(start, "hex body must be hexadecimal digits of UTF-8 text ending with ;")
			}
			return string(raw), true, nil
		} else {
			raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(payload), ""))
			if err != nil || !utf8.Valid(raw) {
				return "", false, hurlErr(start, "base64 body must be base64 of UTF-8 text ending with ;")
			}
			return string(raw), true, nil
		}
	case strings.HasPrefix(first, "file,"):
		return "", false, hurlErr(start, "file bodies are not supported")
	}
	return "", false, nil
}

// jsonBody reads a JSON body: lines until its brackets balance (strings and {{variables}}
// taken into account).
func (p *hurlParser) jsonBody(start int) (string, bool, *Error) {
	depth, inString := 0, false
	var b strings.Builder
	for ; p.i < len(p.lines); p.i++ {
		line := p.lines[p.i]
		for j := 0; j < len(line); j++ {
			c := line[j]
			switch {
			case inString && c == '\\':
				j++
			case c == '"':
				inString = !inString
			case inString:
			case c == '{' || c == '[':
				depth++
			case c == '}' || c == ']':
				depth--
			}
		}
		b.WriteString(line)
		b.WriteByte('\n')
		if depth <= 0 && !inString {
			p.i++
			return strings.TrimRight(b.String(), "\n"), true, nil
		}
	}
	return "", false, hurlErr(start, "unclosed JSON body")
}

// response reads "HTTP <status>", its headers, [Captures], [Asserts] and a body.
func (p *hurlParser) response(st *Step) *Error {
	lineNo := p.i + 1
	fields := strings.Fields(p.content(p.i))
	p.i++
	if len(fields) != 2 {
		return hurlErr(lineNo, "expected HTTP <status> or HTTP *")
	}
	if fields[1] != "*" {
		code, err := strconv.Atoi(fields[1])
		if err != nil || code < 100 || code > 599 {
			return hurlErr(lineNo, "status must be 100 to 599 or *")
		}
		st.Expect.Status, st.Expect.AnyStatus = []int{code}, false
	}
	var names, values []string
	times := map[string]int{}
	for p.i < len(p.lines) {
		line := p.content(p.i)
		name, value, ok := strings.Cut(line, ":")
		if line == "" || !ok || !isToken(strings.TrimSpace(name)) || isSectionLine(line) {
			break
		}
		v, e := hurlUnescape(strings.TrimSpace(value), p.i+1)
		if e != nil {
			return e
		}
		k := strings.ToLower(strings.TrimSpace(name))
		names, values = append(names, k), append(values, v)
		times[k]++
		p.i++
	}
	for i, k := range names { // a header listed twice is checked with contains (the view joins them)
		st.Expect.Assert = append(st.Expect.Assert, hurlHeaderAssert(k, values[i], times[k] > 1))
	}
	for p.i < len(p.lines) {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return nil
		}
		name, isSection := sectionName(p.content(p.i))
		if !isSection {
			break
		}
		secLine := p.i + 1
		p.i++
		switch name {
		case "Captures":
			if e := p.captures(st); e != nil {
				return e
			}
		case "Asserts":
			if e := p.asserts(st); e != nil {
				return e
			}
		default:
			return hurlErr(secLine, "unknown section %q (a response takes [Captures] and [Asserts])", "["+name+"]")
		}
	}
	if p.i < len(p.lines) && startsHurlBody(p.content(p.i)) {
		bodyLine := p.i + 1
		body, ok, e := p.body()
		if e != nil {
			return e
		}
		if ok {
			a := Assertion{Query: Query{Kind: QueryBody}, Op: OpEq, Value: toJSON(body)}
			var doc any
			if json.Unmarshal([]byte(body), &doc) == nil && !strings.Contains(body, "{{") {
				var buf bytes.Buffer
				json.Compact(&buf, []byte(body))
				a = Assertion{Query: Query{Kind: QueryJSONPath, Arg: "$"}, Op: OpEq, Value: buf.Bytes()}
			}
			if msg := a.Query.compile(); msg != "" {
				return hurlErr(bodyLine, "%s", msg)
			}
			st.Expect.Assert = append(st.Expect.Assert, a)
		}
	}
	return nil
}

func hurlHeaderAssert(name, value string, repeated bool) Assertion {
	op := OpEq
	if repeated {
		op = OpContains
	}
	a := Assertion{Query: Query{Kind: QueryHeader, Arg: name}, Op: op, Value: toJSON(value)}
	a.Query.compile()
	return a
}

// captures reads the "name: query" lines of [Captures].
func (p *hurlParser) captures(st *Step) *Error {
	for p.i < len(p.lines) {
		line := p.content(p.i)
		if line == "" || isSectionLine(line) || !strings.Contains(line, ":") || startsHurlBody(line) {
			return nil
		}
		lineNo := p.i + 1
		name, rest, _ := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !validVariableName(name) {
			return hurlErr(lineNo, "capture name %q must be letters, digits, _ and -", truncateText(name, 64))
		}
		sc := &hurlScanner{s: strings.TrimSpace(rest), line: lineNo}
		q, e := sc.query()
		if e != nil {
			return e
		}
		c := Capture{Name: name, Query: q}
		if sc.word("redact") {
			c.Secret = true
		}
		if !sc.done() {
			return hurlErr(lineNo, "unexpected %q after the query (filters are not supported)", truncateText(sc.rest(), 32))
		}
		if q.Kind == QueryDuration {
			return hurlErr(lineNo, "duration cannot be captured")
		}
		st.Captures = append(st.Captures, c)
		p.i++
	}
	return nil
}

// hurlPredicates maps Hurl's predicate names to ours.
var hurlPredicates = map[string]string{
	"==": OpEq, "!=": OpNe, "<": OpLt, "<=": OpLe, ">": OpGt, ">=": OpGe,
	"equals": OpEq, "notEquals": OpNe, "lessThan": OpLt, "lessThanOrEquals": OpLe,
	"greaterThan": OpGt, "greaterThanOrEquals": OpGe,
	"contains": OpContains, "includes": OpContains, "startsWith": OpStartsWith, "endsWith": OpEndsWith,
	"matches": OpMatches, "exists": OpExists, "isEmpty": OpIsEmpty,
	"isString": OpIsString, "isNumber": OpIsNumber, "isInteger": OpIsInteger, "isFloat": OpIsFloat,
	"isBoolean": OpIsBoolean, "isCollection": OpIsCollection, "isList": OpIsList, "isObject": OpIsObject,
	"isNull": OpIsNull,
}

// asserts reads the lines of [Asserts].
func (p *hurlParser) asserts(st *Step) *Error {
	for p.i < len(p.lines) {
		line := p.content(p.i)
		if line == "" || isSectionLine(line) || startsHurlBody(line) && !strings.HasPrefix(line, "body") {
			return nil
		}
		lineNo := p.i + 1
		sc := &hurlScanner{s: line, line: lineNo}
		q, e := sc.query()
		if e != nil {
			return e
		}
		count := sc.word("count")
		var a Assertion
		a.Query = q
		a.Not = sc.word("not")
		pred := sc.token()
		op, ok := hurlPredicates[pred]
		if !ok {
			return hurlErr(lineNo, "unknown predicate %q", truncateText(pred, 32))
		}
		a.Op = op
		if opTakesValue[op] {
			v, e := sc.value(op == OpMatches)
			if e != nil {
				return e
			}
			a.Value = v
		}
		if count {
			if a.Op != OpEq {
				return hurlErr(lineNo, "count supports == only")
			}
			a.Op = OpCount
		}
		if !sc.done() {
			return hurlErr(lineNo, "unexpected %q after the predicate", truncateText(sc.rest(), 32))
		}
		if msg := a.normalize(); msg != "" {
			return hurlErr(lineNo, "%s", msg)
		}
		st.Expect.Assert = append(st.Expect.Assert, a)
		p.i++
	}
	return nil
}

// hurlScanner reads the words and values of a capture or assert line.
type hurlScanner struct {
	s    string
	line int
}

func (s *hurlScanner) rest() string { return s.s }
func (s *hurlScanner) done() bool   { return strings.TrimSpace(s.s) == "" }

// token returns the next space-separated word.
func (s *hurlScanner) token() string {
	s.s = strings.TrimLeft(s.s, " \t")
	i := strings.IndexAny(s.s, " \t")
	if i < 0 {
		i = len(s.s)
	}
	w := s.s[:i]
	s.s = s.s[i:]
	return w
}

// word consumes w when it is the next word.
func (s *hurlScanner) word(w string) bool {
	t := strings.TrimLeft(s.s, " \t")
	if t == w || strings.HasPrefix(t, w+" ") || strings.HasPrefix(t, w+"\t") {
		s.s = t[len(w):]
		return true
	}
	return false
}

// query reads a query: status, body, duration, or header/jsonpath/regex/cookie/variable
// followed by a string.
func (s *hurlScanner) query() (Query, *Error) {
	kind := s.token()
	var q Query
	switch kind {
	case "status", "body", "duration":
		q.Kind = kind
	case "header", "jsonpath", "cookie", "variable", "regex":
		q.Kind = map[string]string{"variable": QueryCapture}[kind]
		if q.Kind == "" {
			q.Kind = kind
		}
		s.s = strings.TrimLeft(s.s, " \t")
		var arg string
		var e *Error
		if kind == "regex" && strings.HasPrefix(s.s, "/") {
			arg, e = s.regexLiteral()
		} else {
			arg, e = s.quoted()
		}
		if e != nil {
			return q, e
		}
		q.Arg = arg
	case "":
		return q, hurlErr(s.line, "expected a query")
	default:
		return q, hurlErr(s.line, "query %q is not supported (status, header, jsonpath, regex, body, cookie, variable, duration)", truncateText(kind, 32))
	}
	if msg := q.compile(); msg != "" {
		return q, hurlErr(s.line, "%s", msg)
	}
	return q, nil
}

// quoted reads a "string" with Hurl's escapes.
func (s *hurlScanner) quoted() (string, *Error) {
	if !strings.HasPrefix(s.s, `"`) {
		return "", hurlErr(s.line, "expected a \"quoted string\"")
	}
	for i := 1; i < len(s.s); i++ {
		switch s.s[i] {
		case '\\':
			i++
		case '"':
			v, e := hurlUnescape(s.s[1:i], s.line)
			s.s = s.s[i+1:]
			return v, e
		}
	}
	return "", hurlErr(s.line, "unclosed string")
}

// regexLiteral reads /pattern/ (a \/ stands for /).
func (s *hurlScanner) regexLiteral() (string, *Error) {
	var b strings.Builder
	for i := 1; i < len(s.s); i++ {
		c := s.s[i]
		if c == '\\' && i+1 < len(s.s) && s.s[i+1] == '/' {
			b.WriteByte('/')
			i++
			continue
		}
		if c == '/' {
			s.s = s.s[i+1:]
			return b.String(), nil
		}
		b.WriteByte(c)
	}
	return "", hurlErr(s.line, "unclosed /regex/")
}

// value reads a predicate value: a string, a number, true, false, null, or (for matches)
// a /regex/; returned as JSON.
func (s *hurlScanner) value(regexOK bool) (json.RawMessage, *Error) {
	s.s = strings.TrimLeft(s.s, " \t")
	switch {
	case strings.HasPrefix(s.s, `"`):
		v, e := s.quoted()
		return toJSON(v), e
	case strings.HasPrefix(s.s, "/") && regexOK:
		v, e := s.regexLiteral()
		return toJSON(v), e
	case strings.HasPrefix(s.s, "`"):
		end := strings.Index(s.s[1:], "`")
		if end < 0 {
			return nil, hurlErr(s.line, "unclosed ` string")
		}
		v := s.s[1 : end+1]
		s.s = s.s[end+2:]
		return toJSON(v), nil
	}
	w := s.token()
	switch w {
	case "true", "false", "null":
		return json.RawMessage(w), nil
	case "":
		return nil, hurlErr(s.line, "expected a value")
	}
	if _, err := strconv.ParseFloat(w, 64); err == nil && json.Valid([]byte(w)) {
		return json.RawMessage(w), nil
	}
	if strings.HasPrefix(w, "{{") && strings.HasSuffix(w, "}}") {
		return toJSON(w), nil
	}
	return nil, hurlErr(s.line, "value %q must be a \"string\", a number, true, false or null", truncateText(w, 32))
}

// hurlUnescape reads Hurl's escapes: \" \\ \b \f \n \r \t \# \u{hex}. Anything else after a
// backslash is an error naming the line.
func hurlUnescape(s string, line int) (string, *Error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", hurlErr(line, "a \\ ends the text")
		}
		switch s[i] {
		case '"', '\\', '#', '/', '`':
			b.WriteByte(s[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			end := strings.IndexByte(s[i:], '}')
			if !strings.HasPrefix(s[i:], "u{") || end < 0 {
				return "", hurlErr(line, "bad escape \\u: write \\u{hex}")
			}
			hexDigits := s[i+2 : i+end]
			n, err := strconv.ParseUint(hexDigits, 16, 32)
			if err != nil || len(hexDigits) == 0 || len(hexDigits) > 8 || !utf8.ValidRune(rune(n)) {
				return "", hurlErr(line, "bad escape \\u{%s}: not a Unicode scalar value", truncateText(hexDigits, 16))
			}
			b.WriteRune(rune(n))
			i += end
		default:
			return "", hurlErr(line, "bad escape \\%c", s[i])
		}
	}
	return b.String(), nil
}
