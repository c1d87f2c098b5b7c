package importer

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Header is one header field as recorded; names keep their recorded case.
type Header struct {
	Name, Value string
}

// Exchange is one recorded request and its answer: a history entry, a HAR entry, an
// exchange seen in record mode.
type Exchange struct {
	// Source names the exchange in the report ("history 7f3a…", "log.entries[3]").
	Source string
	Method string
	// Target is the request target as sent: path and query ("/users/42?full=1"); an
	// absolute URL is cut to its path and query.
	Target string
	Status int
	// Headers are the response's header fields.
	Headers []Header
	// Body is the response body as the client received it (no transfer coding).
	Body []byte
	// BodyTruncated marks a body cut by whoever recorded it: such an exchange cannot
	// become a mock that answers what the upstream answered, and fails.
	BodyTruncated bool
	// Problem, when set, is why the exchange cannot become a mock (no response recorded,
	// a body encoding that would not decode); the item fails with it.
	Problem string
}

// Inference rules. Infer is what record mode, POST /api/mocks/from-history and the HAR
// importer share:
//
//   - A path segment that looks like an id — all digits, a UUID, or 16 or more hex digits —
//     becomes a parameter ({id}, then {id2}, {id3} … in one path) when the answers do not
//     depend on it: every recorded path the pattern covers got the same answer. When they
//     did not (GET /users/1 and GET /users/2 answered different users), each path stays
//     exact so each gets its own answer back.
//   - Requests are grouped by method, path and query. A group whose requests carry a
//     query matches on each of its parameters (equals); a group without one has no query
//     criterion.
//   - Volatile response header fields are dropped: Date, Set-Cookie, Content-Length,
//     Transfer-Encoding, Connection, Keep-Alive, Age, trace and request ids
//     (volatileHeaders). Repeated fields are joined with ", ".
//   - Repeats of one request that got different answers become a sequence (responses in
//     the order recorded, then repeat_last); identical answers collapse into one.
//   - A body that is UTF-8 text is kept as text; anything else as body_base64.
//
// The output has one Item per mock, in the order of each group's first exchange, followed
// by one failed Item per exchange that could not be used.
func Infer(exchanges []Exchange) []Item {
	type group struct {
		method, path string
		query        url.Values
		hasQuery     bool
		answers      []answer
		sources      []string
	}
	var (
		failed []Item
		groups []*group
		index  = map[string]*group{}
	)
	for _, ex := range exchanges {
		if msg := exchangeProblem(ex); msg != "" {
			failed = append(failed, Item{Source: ex.Source, Error: msg})
			continue
		}
		path, rawQuery, _ := strings.Cut(targetOf(ex.Target), "?")
		query, _ := url.ParseQuery(rawQuery)
		method := strings.ToUpper(ex.Method)
		key := method + " " + path + "?" + canonicalQuery(query)
		g := index[key]
		if g == nil {
			g = &group{method: method, path: path, query: query, hasQuery: len(query) > 0}
			index[key] = g
			groups = append(groups, g)
		}
		g.answers = append(g.answers, answerOf(ex))
		g.sources = append(g.sources, ex.Source)
	}

	// Generalise ids: groups whose paths differ only in id segments share a pattern when
	// all their answers agree.
	type family struct {
		pattern string
		members []*group
	}
	var families []*family
	byPattern := map[string]*family{}
	for _, g := range groups {
		key := g.method + " " + idPattern(g.path) + "?" + canonicalQuery(g.query)
		f := byPattern[key]
		if f == nil {
			f = &family{pattern: idPattern(g.path)}
			byPattern[key] = f
			families = append(families, f)
		}
		f.members = append(f.members, g)
	}

	var items []Item
	for _, f := range families {
		shared := true
		first := f.members[0].answers
		for _, g := range f.members[1:] {
			if !slices.EqualFunc(first, g.answers, answer.equal) {
				shared = false
				break
			}
		}
		for i, g := range f.members {
			if shared && i > 0 {
				items[len(items)-1].Source += ", " + strings.Join(g.sources, ", ")
				continue
			}
			pattern, exact := g.path, true
			if shared {
				pattern, exact = f.pattern, f.pattern == g.path
			}
			items = append(items, Item{
				Source: strings.Join(g.sources, ", "),
				Mock:   mockJSON(g.method, pattern, exact, g.query, g.hasQuery, g.answers),
			})
		}
	}
	return append(items, failed...)
}

// exchangeProblem is why ex cannot become a mock, or "".
func exchangeProblem(ex Exchange) string {
	switch {
	case ex.Problem != "":
		return ex.Problem
	case ex.Method == "" || !isToken(ex.Method):
		return "the request has no valid method"
	case !strings.HasPrefix(targetOf(ex.Target), "/"):
		return "the request target " + strconv.Quote(ex.Target) + " is not a path"
	case ex.Status == 0:
		return "no response was recorded (status 0: the request failed or was blocked)"
	case ex.Status < 200 || ex.Status > 599:
		return "status " + strconv.Itoa(ex.Status) + " cannot be mocked (only 200 to 599)"
	case ex.BodyTruncated:
		return "the response body was truncated when it was recorded (raise --max-history-body-bytes and record again)"
	}
	return ""
}

// targetOf cuts an absolute URL to its path and query; a target that is one already is
// returned as it is.
func targetOf(target string) string {
	if strings.HasPrefix(target, "/") {
		return target
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return target
	}
	out := u.EscapedPath()
	if out == "" {
		out = "/"
	}
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// canonicalQuery is a query's parameters in a stable order, for grouping.
func canonicalQuery(q url.Values) string { return q.Encode() }

var (
	uuidSegment = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	longHex     = regexp.MustCompile(`^[0-9a-fA-F]{16,}$`)
	allDigits   = regexp.MustCompile(`^[0-9]+$`)
)

// looksLikeID reports whether a path segment is an id: all digits, a UUID, or 16 or more
// hex digits.
func looksLikeID(seg string) bool {
	return allDigits.MatchString(seg) || uuidSegment.MatchString(seg) || longHex.MatchString(seg)
}

// idPattern is path with each id segment replaced by a parameter: {id}, {id2}, {id3} ….
// A path holding a character patterns give a meaning to ('*', '{', '}') is returned as it
// is: it is matched exactly (mockJSON), never generalised.
func idPattern(path string) string {
	if strings.ContainsAny(path, patternSpecials) {
		return path
	}
	segs := strings.Split(path, "/")
	n := 0
	for i, s := range segs {
		if looksLikeID(s) {
			n++
			if n == 1 {
				segs[i] = "{id}"
			} else {
				segs[i] = "{id" + strconv.Itoa(n) + "}"
			}
		}
	}
	return strings.Join(segs, "/")
}

// volatileHeaders are response fields that differ on every answer or describe the
// transfer rather than the answer (lower case).
var volatileHeaders = map[string]bool{
	"date": true, "set-cookie": true, "content-length": true, "transfer-encoding": true,
	"connection": true, "keep-alive": true, "age": true, "expires": true,
	"x-request-id": true, "x-correlation-id": true, "x-trace-id": true, "x-amzn-trace-id": true,
	"x-amzn-requestid": true, "x-amz-request-id": true, "x-amz-id-2": true, "x-cloud-trace-context": true,
	"traceparent": true, "tracestate": true, "x-b3-traceid": true, "x-b3-spanid": true,
	"x-b3-parentspanid": true, "x-b3-sampled": true, "b3": true, "request-id": true,
	"x-runtime": true, "server-timing": true, "x-response-time": true, "cf-ray": true,
	"x-ownhttp-request-id": true, "x-ownhttp-trace-id": true, "x-served-by": true, "x-timer": true,
}

// answer is one recorded response as a mock gives it back.
type answer struct {
	status  int
	headers [][2]string // sorted by name, names as recorded, volatile ones dropped
	body    []byte
}

func (a answer) equal(b answer) bool {
	return a.status == b.status && bytes.Equal(a.body, b.body) && slices.Equal(a.headers, b.headers)
}

func answerOf(ex Exchange) answer {
	joined := map[string]int{} // lower name → index in headers
	var headers [][2]string
	for _, h := range ex.Headers {
		lower := strings.ToLower(h.Name)
		if volatileHeaders[lower] || h.Name == "" || strings.HasPrefix(h.Name, ":") {
			continue
		}
		if i, ok := joined[lower]; ok {
			headers[i][1] += ", " + h.Value
			continue
		}
		joined[lower] = len(headers)
		headers = append(headers, [2]string{h.Name, h.Value})
	}
	slices.SortFunc(headers, func(a, b [2]string) int { return strings.Compare(strings.ToLower(a[0]), strings.ToLower(b[0])) })
	return answer{status: ex.Status, headers: headers, body: ex.Body}
}

// patternSpecials are the characters a path_pattern gives a meaning to.
const patternSpecials = "*{}"

// mockJSON renders one mock definition; exact marks a recorded path (not a pattern with
// parameters), which is matched as a regex when it holds patternSpecials.
func mockJSON(method, path string, exact bool, query url.Values, hasQuery bool, answers []answer) json.RawMessage {
	// Collapse identical answers that repeat one after another only when all are the same:
	// a sequence keeps its order and its repeats (A, A, B answers A twice, then B).
	distinct := answers[:1]
	for _, a := range answers[1:] {
		if !a.equal(answers[0]) {
			distinct = answers
			break
		}
	}
	m := map[string]any{"method": method}
	if exact && strings.ContainsAny(path, patternSpecials) {
		m["path_regex"] = "^" + regexp.QuoteMeta(path) + "$"
	} else {
		m["path_pattern"] = path
	}
	if hasQuery {
		crit := map[string]any{}
		for name, values := range query {
			// A repeated parameter is matched on its first value; the report of a
			// request with such a query still round-trips, since the first value is
			// what differs between recorded requests in practice.
			crit[name] = map[string]string{"equals": values[0]}
		}
		m["match"] = map[string]any{"query": crit}
	}
	if len(distinct) == 1 {
		maps := answerFields(distinct[0])
		for k, v := range maps {
			m[k] = v
		}
	} else {
		responses := make([]map[string]any, len(distinct))
		for i, a := range distinct {
			responses[i] = answerFields(a)
		}
		m["responses"] = responses
		m["after_last"] = "repeat_last"
	}
	out, _ := json.Marshal(m)
	return out
}

func answerFields(a answer) map[string]any {
	f := map[string]any{"status": a.status}
	headers := map[string]string{}
	for _, h := range a.headers {
		headers[h[0]] = h[1]
	}
	f["headers"] = headers
	if utf8.Valid(a.body) {
		f["body"] = string(a.body)
	} else {
		f["body_base64"] = base64.StdEncoding.EncodeToString(a.body)
	}
	return f
}
