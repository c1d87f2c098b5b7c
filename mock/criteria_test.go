package mock

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func hdrs(kv ...string) []Header {
	var out []Header
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return out
}

type req struct {
	query   string
	headers []Header
	body    string
}

func (q req) request() *Request {
	r := &Request{}
	r.Reset([]byte(q.query), q.headers, []byte(q.body))
	return r
}

func mustCriteria(t *testing.T, src string) *Criteria {
	t.Helper()
	c, err := DecodeCriteria([]byte(src), "match")
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return c
}

// Every matcher, on every source, matching and not.
func TestMatchers(t *testing.T) {
	tests := []struct {
		name     string
		criteria string
		req      req
		want     bool
	}{
		// query
		{"query equals (shorthand)", `{"query":{"page":"2"}}`, req{query: "page=2"}, true},
		{"query equals other", `{"query":{"page":"2"}}`, req{query: "page=3"}, false},
		{"query missing", `{"query":{"page":"2"}}`, req{query: "other=2"}, false},
		{"query decoded", `{"query":{"q":"a b&c"}}`, req{query: "q=a+b%26c"}, true},
		{"query name decoded", `{"query":{"a b":"1"}}`, req{query: "a%20b=1"}, true},
		{"query one of several", `{"query":{"tag":"x"}}`, req{query: "tag=y&tag=x"}, true},
		{"query empty value", `{"query":{"flag":""}}`, req{query: "flag"}, true},
		{"query malformed escape kept", `{"query":{"p":"%zz"}}`, req{query: "p=%zz"}, true},
		{"query contains", `{"query":{"q":{"contains":"ell"}}}`, req{query: "q=hello"}, true},
		{"query contains fold", `{"query":{"q":{"contains":"ELL","case_insensitive":true}}}`, req{query: "q=HeLLo"}, true},
		{"query equals fold", `{"query":{"q":{"equals":"Hello","case_insensitive":true}}}`, req{query: "q=hELLO"}, true},
		{"query equals case", `{"query":{"q":{"equals":"Hello"}}}`, req{query: "q=hello"}, false},
		{"query matches", `{"query":{"id":{"matches":"^[0-9]+$"}}}`, req{query: "id=123"}, true},
		{"query matches not", `{"query":{"id":{"matches":"^[0-9]+$"}}}`, req{query: "id=12a"}, false},
		{"query matches fold", `{"query":{"id":{"matches":"^ab$","case_insensitive":true}}}`, req{query: "id=AB"}, true},
		{"query does_not_match", `{"query":{"id":{"does_not_match":"^x"}}}`, req{query: "id=abc"}, true},
		{"query does_not_match missing", `{"query":{"id":{"does_not_match":"^x"}}}`, req{query: ""}, false},
		{"query absent", `{"query":{"debug":{"absent":true}}}`, req{query: "a=1"}, true},
		{"query absent but there", `{"query":{"debug":{"absent":true}}}`, req{query: "debug=1"}, false},
		{"query present", `{"query":{"debug":{"absent":false}}}`, req{query: "debug"}, true},
		{"query and", `{"query":{"n":{"and":[{"matches":"^[0-9]+$"},{"does_not_match":"^0"}]}}}`, req{query: "n=10"}, true},
		{"query and fails", `{"query":{"n":{"and":[{"matches":"^[0-9]+$"},{"does_not_match":"^0"}]}}}`, req{query: "n=01"}, false},
		{"query or", `{"query":{"s":{"or":["a","b"]}}}`, req{query: "s=b"}, true},
		{"query not", `{"query":{"s":{"not":"a"}}}`, req{query: "s=b"}, true},
		{"query not missing", `{"query":{"s":{"not":"a"}}}`, req{query: ""}, true},
		// headers
		{"header name case", `{"headers":{"X-Api-Key":"k1"}}`, req{headers: hdrs("x-api-key", "k1")}, true},
		{"header value", `{"headers":{"X-Api-Key":"k1"}}`, req{headers: hdrs("X-Api-Key", "k2")}, false},
		{"header repeated", `{"headers":{"Accept":{"contains":"json"}}}`, req{headers: hdrs("Accept", "text/html", "Accept", "application/json")}, true},
		{"header absent", `{"headers":{"Authorization":{"absent":true}}}`, req{headers: hdrs("Accept", "x")}, true},
		// cookies
		{"cookie", `{"cookies":{"session":"abc"}}`, req{headers: hdrs("Cookie", "theme=dark; session=abc")}, true},
		{"cookie quoted", `{"cookies":{"session":"abc"}}`, req{headers: hdrs("Cookie", `session="abc"`)}, true},
		{"cookie second header", `{"cookies":{"b":"2"}}`, req{headers: hdrs("Cookie", "a=1", "Cookie", "b=2")}, true},
		{"cookie name exact", `{"cookies":{"Session":"abc"}}`, req{headers: hdrs("Cookie", "session=abc")}, false},
		{"cookie missing", `{"cookies":{"s":{"absent":true}}}`, req{}, true},
		// form
		{"form", `{"form":{"name":"Ada Lovelace"}}`, req{body: "name=Ada+Lovelace&x=1"}, true},
		{"form other", `{"form":{"name":"Ada"}}`, req{body: "name=Bob"}, false},
		// body text
		{"body equals", `{"body":"hello"}`, req{body: "hello"}, true},
		{"body contains", `{"body":{"contains":"ell"}}`, req{body: "hello"}, true},
		{"body matches", `{"body":{"matches":"^h.*o$"}}`, req{body: "hello"}, true},
		{"body absent", `{"body":{"absent":true}}`, req{}, true},
		{"body absent not", `{"body":{"absent":true}}`, req{body: "x"}, false},
		{"body list all", `{"body":[{"contains":"a"},{"contains":"b"}]}`, req{body: "ab"}, true},
		{"body list one fails", `{"body":[{"contains":"a"},{"contains":"c"}]}`, req{body: "ab"}, false},
		// body JSON
		{"equal_to_json", `{"body":{"equal_to_json":{"a":1,"b":[1,2]}}}`, req{body: `{"b":[1,2.0],"a":1}`}, true},
		{"equal_to_json extra", `{"body":{"equal_to_json":{"a":1}}}`, req{body: `{"a":1,"b":2}`}, false},
		{"equal_to_json ignore extra", `{"body":{"equal_to_json":{"a":1},"ignore_extra_fields":true}}`, req{body: `{"a":1,"b":2}`}, true},
		{"equal_to_json order", `{"body":{"equal_to_json":[1,2]}}`, req{body: `[2,1]`}, false},
		{"equal_to_json ignore order", `{"body":{"equal_to_json":[1,2],"ignore_array_order":true}}`, req{body: `[2,1]`}, true},
		{"equal_to_json not json", `{"body":{"equal_to_json":{"a":1}}}`, req{body: `{"a":`}, false},
		{"json_path exists", `{"body":{"json_path":"$.user.id"}}`, req{body: `{"user":{"id":7}}`}, true},
		{"json_path missing", `{"body":{"json_path":"$.user.id"}}`, req{body: `{"user":{}}`}, false},
		{"json_path equals number", `{"body":{"json_path":"$.user.id","equals":"7"}}`, req{body: `{"user":{"id":7}}`}, true},
		{"json_path equals string", `{"body":{"json_path":"$.items[*].sku","equals":"B"}}`, req{body: `{"items":[{"sku":"A"},{"sku":"B"}]}`}, true},
		{"json_path matches", `{"body":{"json_path":"$.email","matches":"@example\\.com$"}}`, req{body: `{"email":"a@example.com"}`}, true},
		{"json_path absent", `{"body":{"json_path":"$.debug","absent":true}}`, req{body: `{"a":1}`}, true},
		{"json_path absent not json", `{"body":{"json_path":"$.debug","absent":true}}`, req{body: `not json`}, true},
		{"json_path equal_to_json", `{"body":{"json_path":"$.user","equal_to_json":{"id":7}}}`, req{body: `{"user":{"id":7.0}}`}, true},
		{"json_path object as text", `{"body":{"json_path":"$.user","contains":"\"id\":7"}}`, req{body: `{"user":{"id":7}}`}, true},
		{"body not", `{"body":{"not":{"json_path":"$.debug"}}}`, req{body: `{"a":1}`}, true},
		{"body or", `{"body":{"or":[{"json_path":"$.a"},{"json_path":"$.b"}]}}`, req{body: `{"b":1}`}, true},
		// several sources: all must hold
		{"all hold", `{"query":{"p":"1"},"headers":{"X":"y"},"body":{"contains":"z"}}`, req{query: "p=1", headers: hdrs("X", "y"), body: "z"}, true},
		{"one fails", `{"query":{"p":"1"},"headers":{"X":"y"},"body":{"contains":"z"}}`, req{query: "p=1", headers: hdrs("X", "n"), body: "z"}, false},
		{"empty criteria", `{}`, req{query: "anything"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			c := mustCriteria(t, tt.criteria)
			is.Equal(c.Match(tt.req.request()), tt.want)
			checks := c.Explain(tt.req.request())
			all := true
			for _, k := range checks {
				all = all && k.Matched
			}
			is.Equal(all, tt.want) // Explain agrees with Match
		})
	}
}

// Decoding is strict: an unknown or misplaced field, a bad regex or JSON path, two
// operators in one matcher, each is a *FieldError naming the field.
func TestDecodeCriteriaErrors(t *testing.T) {
	tests := []struct{ src, field, msg string }{
		{`[]`, "match", "must be an object"},
		{`{"querry":{}}`, "match.querry", "unknown field"},
		{`{"query":[]}`, "match.query", "must be an object"},
		{`{"query":{"a":5}}`, "match.query.a", "must be a string or a matcher object"},
		{`{"query":{"a":{"equalz":"x"}}}`, "match.query.a.equalz", "unknown field"},
		{`{"query":{"a":{}}}`, "match.query.a", "needs an operator"},
		{`{"query":{"a":{"equals":"x","contains":"y"}}}`, "match.query.a", "one operator"},
		{`{"query":{"a":{"equals":1}}}`, "match.query.a.equals", "must be a string"},
		{`{"query":{"a":{"matches":"(ab"}}}`, "match.query.a.matches", "invalid regex: missing closing )"},
		{`{"query":{"a":{"matches":"a**"}}}`, "match.query.a.matches", "invalid regex"},
		{`{"query":{"a":{"matches":"(?=x)"}}}`, "match.query.a.matches", "invalid regex"}, // no lookahead in RE2
		{`{"query":{"a":{"absent":"yes"}}}`, "match.query.a.absent", "true or false"},
		{`{"query":{"a":{"and":[]}}}`, "match.query.a.and", "non-empty list"},
		{`{"query":{"a":{"or":["x",{"nope":1}]}}}`, "match.query.a.or[1].nope", "unknown field"},
		{`{"query":{"a":{"absent":true,"case_insensitive":true}}}`, "match.query.a.case_insensitive", "applies to"},
		{`{"query":{"a":{"equal_to_json":{}}}}`, "match.query.a.equal_to_json", "unknown field"},
		{`{"query":{"a":{"json_path":"$.x"}}}`, "match.query.a.json_path", "unknown field"},
		{`{"headers":{"Bad Name":"x"}}`, "match.headers", "not a header name"},
		{`{"query":{"":"x"}}`, "match.query", "must not be empty"},
		{`{"body":[]}`, "match.body", "empty list"},
		{`{"body":{"json_path":"$.a["}}`, "match.body.json_path", "at "},
		{`{"body":{"json_path":5}}`, "match.body.json_path", "must be a string"},
		{`{"body":[{"contains":"a"},{"equal_to_json":{"a":1},"ignore_array_order":"x"}]}`, "match.body[1].ignore_array_order", "true or false"},
		{`{"body":{"contains":"a","ignore_extra_fields":true}}`, "match.body.ignore_extra_fields", "equal_to_json only"},
		{`{"body":{"not":` + strings.Repeat(`{"not":`, 20) + `"x"` + strings.Repeat("}", 20) + `}}`, "match.body", "nest deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			is := is.New(t)
			_, err := DecodeCriteria([]byte(tt.src), "match")
			var fe *FieldError
			is.True(errors.As(err, &fe))
			is.True(strings.HasPrefix(fe.Field, tt.field))
			if !strings.Contains(fe.Message, tt.msg) {
				t.Fatalf("%s: message %q, want it to hold %q", fe.Field, fe.Message, tt.msg)
			}
		})
	}
}

// Explain names each criterion, what it expects, what the request had and whether it held.
func TestExplain(t *testing.T) {
	is := is.New(t)
	c := mustCriteria(t, `{"query":{"page":"2","sort":{"absent":true}},"headers":{"X-Key":{"matches":"^k-","case_insensitive":true}},
		"body":{"json_path":"$.id","equals":"7"}}`)
	got := c.Explain(req{query: "page=3", headers: hdrs("x-key", "K-1"), body: `{"id":8}`}.request())
	is.Equal(got, []Check{
		{Field: "query.page", Expected: `equals "2"`, Actual: "3", Matched: false},
		{Field: "query.sort", Expected: "absent", Actual: "(absent)", Matched: true},
		{Field: "headers.X-Key", Expected: `matches "^k-" (case-insensitive)`, Actual: "K-1", Matched: true},
		{Field: "body", Expected: `json_path "$.id" equals "7"`, Actual: `{"id":8}`, Matched: false},
	})
	is.Equal(c.Len(), 4)
	var none *Criteria
	is.True(none.Match(req{}.request()))
	is.Equal(none.Len(), 0)
}

// The body is decoded once per request, however many criteria and mocks read it.
func TestBodyDecodedOnce(t *testing.T) {
	is := is.New(t)
	a := mustCriteria(t, `{"body":{"json_path":"$.a"}}`)
	b := mustCriteria(t, `{"body":[{"json_path":"$.b"},{"equal_to_json":{"a":1,"b":2}}]}`)
	r := req{body: `{"a":1,"b":2}`}.request()
	is.True(a.Match(r))
	doc := r.jsonDoc
	is.True(b.Match(r))
	is.True(r.jsonDone)
	is.Equal(RenderJSON(doc), RenderJSON(r.jsonDoc)) // the same decoding, not a second one
	r.Reset(nil, nil, []byte(`{"b":1}`))
	is.True(!r.jsonDone) // a new request decodes its own body
	is.True(!a.Match(r))
}

// Matching a request against criteria on query, headers and cookies allocates nothing.
func TestMatchAllocatesNothing(t *testing.T) {
	c := mustCriteria(t, `{"query":{"page":{"matches":"^[0-9]+$"},"q":{"contains":"LL","case_insensitive":true}},
		"headers":{"X-Api-Key":"k1","Accept":{"contains":"json"}},"cookies":{"session":{"absent":false}}}`)
	r := &Request{}
	h := hdrs("Accept", "application/json", "X-Api-Key", "k1", "Cookie", "a=1; session=xyz")
	query := []byte("page=12&q=he%6Clo+there")
	r.Reset(query, h, nil)
	if !c.Match(r) {
		t.Fatal("does not match")
	}
	allocs := testing.AllocsPerRun(200, func() {
		r.Reset(query, h, nil)
		c.Match(r)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per match", allocs)
	}
}

// Hostile criteria and requests: RE2 stays linear on the shapes that make backtracking
// engines explode, long and deep inputs are bounded.
func TestHostile(t *testing.T) {
	is := is.New(t)
	c := mustCriteria(t, `{"query":{"a":{"matches":"^(a+)+$"}},"body":{"matches":"(x+x+)+y"}}`)
	long := strings.Repeat("a", 100000) + "!"
	r := req{query: "a=" + long, body: strings.Repeat("x", 100000)}.request()
	is.True(!c.Match(r)) // returns (linear time), no match

	deep := mustCriteria(t, `{"body":{"json_path":"$..id"}}`)
	r = req{body: strings.Repeat("[", 100000)}.request()
	is.True(!deep.Match(r)) // too deep to decode: no match, no stack overflow

	wide := mustCriteria(t, `{"body":{"equal_to_json":[1,2,3],"ignore_array_order":true}}`)
	is.True(!wide.Match(req{body: "[" + strings.Repeat("1,", 50000) + "1]"}.request()))
}

// Unordered comparison of large arrays of large elements stops at its budget instead of
// holding the caller: it answers no match, quickly.
func TestEqualJSONBudget(t *testing.T) {
	is := is.New(t)
	var e, a strings.Builder
	e.WriteString("[")
	a.WriteString("[")
	const n = 1500
	for i := range n {
		if i > 0 {
			e.WriteString(",")
			a.WriteString(",")
		}
		fmt.Fprintf(&e, `{"k":%d,"pad":[1,2,3,4,5,6,7,8]}`, i)
		fmt.Fprintf(&a, `{"k":%d,"pad":[1,2,3,4,5,6,7,8]}`, n-1-i) // reversed: the worst order
	}
	e.WriteString("]")
	a.WriteString("]")
	want, err := DecodeJSON([]byte(e.String()))
	is.NoErr(err)
	got, err := DecodeJSON([]byte(a.String()))
	is.NoErr(err)
	is.True(!EqualJSON(want, got, true, false)) // over the budget: no match
	small, _ := DecodeJSON([]byte(`[{"k":1},{"k":2},{"k":3}]`))
	smallRev, _ := DecodeJSON([]byte(`[{"k":3},{"k":1},{"k":2}]`))
	is.True(EqualJSON(small, smallRev, true, false)) // within it: the pairing is found
}

func TestQueryValue(t *testing.T) {
	tests := []struct {
		query, name, value string
		count              int
	}{
		{"v=1", "v", "1", 1},
		{"a=2&v=1&b=3", "v", "1", 1},
		{"v=1&v=2", "v", "1", 2}, // counted up to two
		{"v=1&v=2&v=3", "v", "1", 2},
		{"v=a%20b+c", "v", "a b c", 1}, // decoded
		{"%76=x", "v", "x", 1},         // so is the name
		{"v", "v", "", 1},              // no '=': an empty value
		{"v=", "v", "", 1},
		{"w=1", "v", "", 0},
		{"", "v", "", 0},
		{"vv=1&v%=2", "v", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			is := is.New(t)
			value, count := req{query: tt.query}.request().QueryValue(tt.name)
			is.Equal(count, tt.count)
			if count == 1 {
				is.Equal(string(value), tt.value)
			}
		})
	}
}

// MatchExceptQueryEquals leaves out the one criterion a dispatch on the parameter decided,
// and only that one.
func TestMatchExceptQueryEquals(t *testing.T) {
	is := is.New(t)
	c := mustCriteria(t, `{"query":{"v":"1","w":"2"},"headers":{"X-T":"a"}}`)
	r := req{query: "v=9&w=2", headers: hdrs("X-T", "a")}.request()
	is.True(!c.Match(r))
	is.True(c.MatchExceptQueryEquals(r, "v"))  // v is not checked
	is.True(!c.MatchExceptQueryEquals(r, "w")) // v still is
	r = req{query: "v=1&w=2", headers: hdrs("X-T", "b")}.request()
	is.True(!c.MatchExceptQueryEquals(r, "v")) // the header still is
	ci := mustCriteria(t, `{"query":{"v":{"equals":"1","case_insensitive":true}}}`)
	is.True(!ci.MatchExceptQueryEquals(req{query: "v=2"}.request(), "v")) // not an exact equals: kept
	var none *Criteria
	is.True(none.MatchExceptQueryEquals(r, "v"))
}
