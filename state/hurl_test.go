package state

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// readHurl parses testdata/hurl/name or fails the test.
func readHurl(t *testing.T, name string) Scenario {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "hurl", name))
	if err != nil {
		t.Fatal(err)
	}
	sc, e := ParseHurl(name, data, ScenarioLimits{})
	if e != nil {
		t.Fatalf("%s: %v", name, e)
	}
	return sc
}

// assertionTexts lists a step's assertions as String writes them.
func assertionTexts(st Step) []string {
	var out []string
	for i := range st.Expect.Assert {
		out = append(out, st.Expect.Assert[i].String())
	}
	return out
}

// The files under testdata/hurl follow the examples of Hurl's documentation (hurl.dev:
// Hurl File, Request, Response, Capturing and Asserting Response).
func TestParseHurlDocumentedForms(t *testing.T) {
	is := is.New(t)
	sc := readHurl(t, "chain.hurl")
	is.Equal(len(sc.Steps), 3)

	login := sc.Steps[0]
	is.Equal(login.Method, "POST")
	is.Equal(login.Path, "/login") // the host goes: the run's server is the host
	is.Equal(login.Headers["accept"], "application/json")
	is.Equal(login.Headers["content-type"], "application/x-www-form-urlencoded")
	is.Equal(login.Body, "user=ann&password={{password}}")
	is.Equal(login.Expect.Status, []int{200})
	is.True(!login.Expect.AnyStatus)
	caps, _ := json.Marshal(login.Captures)
	is.Equal(string(caps), `[{"jsonpath":"$.token","name":"token","secret":true},{"cookie":"session","name":"session"}]`)
	is.Equal(assertionTexts(login), []string{
		`header "content-type" == "application/json"`,
		`jsonpath "$.token" is_string`,
		`jsonpath "$.roles" count 2`,
		`jsonpath "$.roles" contains "admin"`,
		`header "Content-Type" contains "json"`,
		`cookie "session" exists`,
	})

	get := sc.Steps[1]
	is.Equal(get.Path, "/api/users/{{user_id}}?expand=roles&q=a+b")
	is.Equal(get.Headers["authorization"], "Bearer {{token}}")
	is.True(get.Expect.AnyStatus) // HTTP *
	is.Equal(assertionTexts(get), []string{
		`status < 500`,
		`status != 404`,
		`duration < 1000`,
		`jsonpath "$.name" == "A beautiful ✈!"`,
		`jsonpath "$.id" >= 1`,
		`jsonpath "$.missing" not exists`,
		`jsonpath "$.ratio" is_float`,
		`jsonpath "$.date" matches "^\\d{4}-\\d{2}-\\d{2}$"`,
		`jsonpath "$.date" matches "^\\d{4}"`,
		`regex "id=(\\d+)" == "42"`,
		`body starts_with "{"`,
		`body ends_with "}"`,
		`jsonpath "$.tags" not is_empty`,
		`capture "token" exists`,
	})

	put := sc.Steps[2]
	is.Equal(put.Path, "/api/items/1?dry=1")
	is.Equal(put.Headers["x-token"], "BEEF #STEAK")
	is.Equal(put.Headers["content-type"], "application/json")
	is.Equal(put.Body, "{\n  \"name\": \"Frieda\",\n  \"tags\": [\"a\", \"b\"],\n  \"id\": {{id}}\n}")
	is.Equal(put.Expect.Status, []int{201})

	opts := readHurl(t, "options.hurl")
	is.Equal(len(opts.Steps), 3)
	is.Equal(*opts.Steps[0].Retry, Retry{Count: 10, IntervalMS: 250})
	is.Equal(opts.Steps[0].DelayMS, int64(1000))
	is.Equal(opts.Steps[1].Body, "line1\nline2\n")
	is.Equal(assertionTexts(opts.Steps[1]), []string{`body == "created"`})
	is.Equal(opts.Steps[2].Repeat, 2)
	is.Equal(opts.Steps[2].Expect.Status, []int{204})

	body := readHurl(t, "body.hurl")
	is.Equal(assertionTexts(body.Steps[0]), []string{`jsonpath "$" == {"id":1,"name":"Frieda"}`})
}

// A parsed Hurl file runs: its captures feed the next entries and its asserts decide.
func TestHurlRuns(t *testing.T) {
	is := is.New(t)
	sc := readHurl(t, "chain.hurl")
	p := NewRunPlan(sc, "r", 1, t0)
	p.SetVariables(Variables{Values: map[string]string{"user_id": "42", "password": "pw", "id": "7"}})
	is.True(p.Next())
	is.Equal(p.Request().Body, "user=ann&password=pw")
	res := p.Record(ResponseView{Status: 200, Headers: map[string]string{"content-type": "application/json",
		"set-cookie": "session=s1; Path=/"}, Body: `{"token":"T0K","roles":["admin","user"]}`}, 3)
	is.Equal(string(res.FailureReason), "")
	is.Equal(res.Captures["token"], SecretMask)
	is.True(p.Next())
	req := p.Request()
	is.Equal(req.Target, "/api/users/42?expand=roles&q=a+b")
	is.Equal(req.Headers["authorization"], "Bearer T0K")
	res = p.Record(ResponseView{Status: 200, Body: `{"name":"A beautiful ✈!","id":42,"ratio":0.5,"date":"2024-01-02","tags":[1],"x":"id=42"}`}, 3)
	is.Equal(string(res.FailureReason), "")
	is.True(p.Next())
	is.Equal(p.Request().Body, "{\n  \"name\": \"Frieda\",\n  \"tags\": [\"a\", \"b\"],\n  \"id\": 7\n}")
}

func TestParseHurlHostile(t *testing.T) {
	big := strings.Repeat("# padding\n", 1<<20) // 10 MiB
	for _, tc := range []struct{ name, src, msg string }{
		{"unknown request section", "GET /a\n[Foo]\nx: 1\n", `hurl line 2: unknown section "[Foo]" (a request takes [QueryStringParams], [FormParams], [Cookies], [BasicAuth] and [Options])`},
		{"unknown response section", "GET /a\nHTTP 200\n[Options]\nretry: 1\n", `hurl line 3: unknown section "[Options]" (a response takes [Captures] and [Asserts])`},
		{"multipart", "POST /a\n[MultipartFormData]\nf: file,a.txt;\n", `hurl line 2: unknown section "[MultipartFormData]" (a request takes [QueryStringParams], [FormParams], [Cookies], [BasicAuth] and [Options])`},
		{"bad escape in an assert", "GET /a\nHTTP 200\n[Asserts]\nbody == \"a\\qb\"\n", `hurl line 4: bad escape \q`},
		{"bad unicode escape", "GET /a\nHTTP 200\n[Asserts]\nbody == \"\\u{110000}\"\n", `hurl line 4: bad escape \u{110000}: not a Unicode scalar value`},
		{"unicode escape without braces", "GET /a\nHTTP 200\n[Asserts]\nbody == \"\\u0041\"\n", `hurl line 4: bad escape \u: write \u{hex}`},
		{"bad escape in a header", "GET /a\nx-a: \\z\n", `hurl line 2: bad escape \z`},
		{"backslash at the end", "GET /a\nx-a: a\\\n", `hurl line 2: a \ ends the text`},
		{"unclosed string", "GET /a\nHTTP 200\n[Asserts]\nheader \"x\n", `hurl line 4: unclosed string`},
		{"unclosed multiline body", "POST /a\n```\nabc\n", "hurl line 2: unclosed ``` body"},
		{"unclosed json body", "POST /a\n{\"a\": [1,\n", "hurl line 2: unclosed JSON body"},
		{"HEAD", "HEAD /a\n", "hurl line 1: method HEAD is not supported (GET, POST, PUT, PATCH, DELETE)"},
		{"not a request", "\n\nhello world\n", `hurl line 3: expected a request line (METHOD URL), got "hello world"`},
		{"lower-case method", "get /a\n", `hurl line 1: expected a request line (METHOD URL), got "get /a"`},
		{"no url", "GET\n", "hurl line 1: the request line has no URL"},
		{"relative url", "GET a/b\n", "hurl line 1: the URL must be absolute (http://…), start with /, or with a {{variable}} followed by /"},
		{"unknown query", "GET /a\nHTTP 200\n[Asserts]\nxpath \"//h1\" exists\n", `hurl line 4: query "xpath" is not supported (status, header, jsonpath, regex, body, cookie, variable, duration)`},
		{"unknown predicate", "GET /a\nHTTP 200\n[Asserts]\nstatus isDate\n", `hurl line 4: unknown predicate "isDate"`},
		{"filter in a capture", "GET /a\nHTTP 200\n[Captures]\nx: jsonpath \"$.a\" nth 0\n", `hurl line 4: unexpected " nth 0" after the query (filters are not supported)`},
		{"count with <", "GET /a\nHTTP 200\n[Asserts]\njsonpath \"$.a\" count > 1\n", `hurl line 4: count supports == only`},
		{"bad jsonpath", "GET /a\nHTTP 200\n[Asserts]\njsonpath \"a\" exists\n", `hurl line 4: json_path "a": at 0: must start with $`},
		{"bad regex", "GET /a\nHTTP 200\n[Asserts]\nbody matches /(/\n", "hurl line 4: value: invalid regex: error parsing regexp: missing closing ): `(`"},
		{"value of a wrong kind", "GET /a\nHTTP 200\n[Asserts]\nstatus == abc\n", `hurl line 4: value "abc" must be a "string", a number, true, false or null`},
		{"unknown option", "GET /a\n[Options]\nlocation: true\n", `hurl line 3: option "location" is not supported (delay, retry, retry-interval, repeat)`},
		{"bad delay", "GET /a\n[Options]\ndelay: soon\n", "hurl line 3: delay must be a duration (500, 500ms, 2s, 1m)"},
		{"bad status", "GET /a\nHTTP 2000\n", "hurl line 2: status must be 100 to 599 or *"},
		{"file body", "POST /a\nfile,data.bin;\n", "hurl line 2: file bodies are not supported"},
		{"bad base64", "POST /a\nbase64,!!!;\n", "hurl line 2: base64 body must be base64 of UTF-8 text ending with ;"},
		{"variables in basic auth", "GET /a\n[BasicAuth]\n{{u}}: {{p}}\n", "hurl line 3: variables in [BasicAuth] are not supported; set an Authorization header"},
		{"managed header", "GET /a\n\n# two\nGET /b\nContent-Length: 3\n", "hurl line 4: step 2: header content-length is managed by the runner"},
		{"empty file", "# nothing\n\n", "scenario must contain at least one step"},
		{"not UTF-8", "GET /\xff\n", "hurl file is not UTF-8"},
		{"10 MB", big + "GET /a\n", "hurl file is 10485767 bytes, more than 8388608"},
		{"too many entries", strings.Repeat("GET /a\n", 51), "scenario has too many steps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, e := ParseHurl("x", []byte(tc.src), ScenarioLimits{})
			if e == nil || e.Message != tc.msg {
				t.Fatalf("error = %v, want %q", e, tc.msg)
			}
		})
	}
	// A large file within the bound is read in one pass.
	var b strings.Builder
	b.WriteString("POST /big\n```\n")
	for b.Len() < 7<<20 {
		b.WriteString("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n")
	}
	b.WriteString("```\nHTTP 200\n")
	sc, e := ParseHurl("big", []byte(b.String()), ScenarioLimits{})
	if e != nil || len(sc.Steps) != 1 || len(sc.Steps[0].Body) < 7<<20-100 {
		t.Fatalf("big body: %v", e)
	}
}

func FuzzParseHurl(f *testing.F) {
	for _, name := range []string{"chain.hurl", "options.hurl", "body.hurl"} {
		data, err := os.ReadFile(filepath.Join("testdata", "hurl", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseHurl("f", data, ScenarioLimits{}) // never panics
	})
}
