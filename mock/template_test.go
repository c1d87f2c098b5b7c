package mock

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // region time zones compile on machines without zoneinfo

	"github.com/matryer/is"
)

// tplRequest is the request most template tests render against.
func tplRequest(query, body string, headers ...string) *RenderInput {
	q := &Request{}
	q.Reset([]byte(query), hdrs(headers...), []byte(body))
	return &RenderInput{
		Request:    q,
		Method:     []byte("POST"),
		Target:     []byte("/contacts/42/things?" + query),
		Path:       []byte("/contacts/42/things"),
		Host:       []byte("my.example.com:8080"),
		PathParams: []PathParam{{Name: "contactId", Value: []byte("42")}},
		Now:        time.Date(2024, 1, 31, 10, 20, 30, 0, time.UTC),
		Seed:       1,
	}
}

const tplBody = `{"outer":{"inner":"Stuff"},"names":["Ann","Bob","Cid"],"items":[{"id":1,"name":"One"},{"id":2,"name":"Two"},{"id":3,"name":"Three"}],"name":"transformed","count":3,"price":9.5,"flag":true,"nothing":null}`

func stdInput() *RenderInput {
	return tplRequest("search=my+first+post&things=1&things=2&things=3&ids%5B%5D=111&ids%5B%5D=222&ids%5B%5D=333&empty=",
		tplBody,
		"Host", "my.example.com:8080",
		"X-Request-Id", "abc-123",
		"Content-Type", "application/json",
		"Cookie", `JSESSIONID=s1; theme="dark"`,
		"Cookie", "JSESSIONID=s2",
		"X-Padded-Header", "  padded  ",
		"X-Plain-Header", "Content to encode",
		"X-Encoded-Header", "Q29udGVudCB0byBlbmNvZGU=",
		"ManyThings", "one",
		"ManyThings", "two",
		"MyDate", "Tue, 15 Jun 2021 15:16:17 GMT",
		"X-Html", "<a href=\"x\">&'`",
	)
}

type tplCase struct {
	name string
	src  string
	want string // exact output, or (with match) a regexp the output must match in full
	re   bool
}

func renderString(t *testing.T, src string, in *RenderInput) (string, error) {
	t.Helper()
	tp, err := CompileTemplate(src, "body")
	if err != nil {
		return "", err
	}
	out, err := tp.Render(nil, in)
	return string(out), err
}

func runTplCases(t *testing.T, in func() *RenderInput, cases []tplCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			got, err := renderString(t, tc.src, in())
			is.NoErr(err)
			if tc.re {
				if !regexp.MustCompile(`^(?s:` + tc.want + `)$`).MatchString(got) {
					t.Fatalf("%s\n got %q\nwant match of %q", tc.src, got, tc.want)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("%s\n got %q\nwant %q", tc.src, got, tc.want)
			}
		})
	}
}

// The request model, as WireMock's "The request model" documents it.
func TestTemplateRequestModel(t *testing.T) {
	runTplCases(t, stdInput, []tplCase{
		{"url", "{{{request.url}}}", "/contacts/42/things?search=my+first+post&things=1&things=2&things=3&ids%5B%5D=111&ids%5B%5D=222&ids%5B%5D=333&empty=", false},
		{"url escaped", "{{request.url}}", "/contacts/42/things?search&#x3D;my+first+post&amp;things&#x3D;1&amp;things&#x3D;2&amp;things&#x3D;3&amp;ids%5B%5D&#x3D;111&amp;ids%5B%5D&#x3D;222&amp;ids%5B%5D&#x3D;333&amp;empty&#x3D;", false},
		{"path", "{{request.path}}", "/contacts/42/things", false},
		{"path segment", "{{request.path.[0]}}|{{request.path.1}}|{{request.path.[2]}}|{{request.path.[3]}}", "contacts|42|things|", false},
		{"path segments", "{{request.pathSegments.[1]}} {{request.pathSegments.2}}", "42 things", false},
		{"path parameter", "{{request.path.contactId}}", "42", false},
		{"path each", "{{#each request.path}}[{{this}}]{{/each}}", "[contacts][42][things]", false},
		{"method", "{{request.method}}", "POST", false},
		{"query first", "{{request.query.search}}", "my first post", false},
		{"query nth", "{{request.query.things}} {{request.query.things.0}} {{request.query.things.first}} {{request.query.things.1}} {{request.query.things.[-1]}} {{request.query.things.last}}", "1 1 1 2 2 3", false},
		{"query missing", "[{{request.query.nope}}][{{request.query.things.7}}]", "[][]", false},
		{"query empty value present", "{{#if request.query.empty}}present{{/if}}", "present", false},
		{"query lookup special characters", "{{lookup request.query 'ids[].1'}}", "222", false},
		{"query each", "{{#each request.query.things}}{{@index}}={{this}};{{/each}}", "0=1;1=2;2=3;", false},
		{"query size", "{{size request.query.things}}", "3", false},
		{"host", "{{request.host}}", "my.example.com", false},
		{"port", "{{request.port}}", "8080", false},
		{"scheme", "{{request.scheme}}", "http", false},
		{"baseUrl", "{{request.baseUrl}}", "http://my.example.com:8080", false},
		{"header", "{{request.headers.X-Request-Id}}", "abc-123", false},
		{"header case-insensitive", "{{request.headers.x-request-id}}", "abc-123", false},
		{"header bracket", "{{request.headers.[X-Request-Id]}}", "abc-123", false},
		{"header nth", "{{request.headers.ManyThings}} {{request.headers.ManyThings.1}}", "one two", false},
		{"header escaped", "{{request.headers.X-Html}}", "&lt;a href&#x3D;&quot;x&quot;&gt;&amp;&#x27;&#x60;", false},
		{"header raw", "{{{request.headers.X-Html}}} {{& request.headers.X-Html}}", "<a href=\"x\">&'` <a href=\"x\">&'`", false},
		{"cookie", "{{request.cookies.JSESSIONID}} {{request.cookies.JSESSIONID.1}} {{request.cookies.theme}}", "s1 s2 dark", false},
		{"body", "{{{request.body}}}", tplBody, false},
		{"bodyAsBase64", "{{request.bodyAsBase64}}", "eyJvdXRlciI6eyJpbm5lciI6IlN0dWZmIn0sIm5hbWVzIjpbIkFubiIsIkJvYiIsIkNpZCJdLCJpdGVtcyI6W3siaWQiOjEsIm5hbWUiOiJPbmUifSx7ImlkIjoyLCJuYW1lIjoiVHdvIn0seyJpZCI6MywibmFtZSI6IlRocmVlIn1dLCJuYW1lIjoidHJhbnNmb3JtZWQiLCJjb3VudCI6MywicHJpY2UiOjkuNSwiZmxhZyI6dHJ1ZSwibm90aGluZyI6bnVsbH0&#x3D;", false},
		{"request id is a uuid", "{{request.id}}", `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`, true},
		{"root", "{{@root.request.method}}", "POST", false},
		{"unknown root name", "[{{nope}}][{{nope.deeper}}]", "[][]", false},
	})
}

func TestTemplateRequestModelEdges(t *testing.T) {
	is := is.New(t)
	in := tplRequest("", "")
	in.TLS = true
	in.Host = []byte("secure.example.com:443")
	got, err := renderString(t, "{{request.baseUrl}} {{request.scheme}} {{request.port}}", in)
	is.NoErr(err)
	is.Equal(got, "https://secure.example.com https 443") // the standard port is left out
	in.Host = []byte("[::1]:8443")
	got, err = renderString(t, "{{request.baseUrl}} {{request.host}}", in)
	is.NoErr(err)
	is.Equal(got, "https://[::1]:8443 [::1]")
	got, err = renderString(t, "[{{request.body}}][{{request.query.a}}][{{request.method}}]", &RenderInput{})
	is.NoErr(err)
	is.Equal(got, "[][][]") // no request at all
	got, err = renderString(t, "x{{request.query.a}}", nil)
	is.NoErr(err)
	is.Equal(got, "x")
}

// Handlebars syntax: comments, escaping, whitespace control, blocks and contexts.
func TestTemplateSyntax(t *testing.T) {
	runTplCases(t, stdInput, []tplCase{
		{"plain", "just text", "just text", false},
		{"comment", "a{{! a comment }}b{{!-- a {{long}} }} comment --}}c", "abc", false},
		{"escape", `\{{request.method}} {{request.method}}`, "{{request.method}} POST", false},
		{"escaped backslash", `\\{{request.method}}`, `\POST`, false},
		{"whitespace control", "a  {{~request.method~}}  \n b", "aPOSTb", false},
		{"whitespace control on blocks", "[\n  {{~#each request.query.things~}}\n  {{this}}\n  {{~/each~}}\n]", "[123]", false},
		{"standalone lines kept (as WireMock)", "{{#if true}}\nx\n{{/if}}\n", "\nx\n\n", false},
		{"raw block", "{{{{raw}}}}{{request.method}}{{{{/raw}}}}", "{{request.method}}", false},
		{"string literal", `{{'it\'s'}} {{"q\"q"}} {{'a\b'}}`, "it&#x27;s q&quot;q a\\b", false},
		{"number literal", "{{42}} {{-1.5}}", "42 -1.5", false},
		{"if else", "{{#if request.query.search}}yes{{else}}no{{/if}}{{#if request.query.nope}}yes{{else}}no{{/if}}", "yesno", false},
		{"else if chain", "{{#if request.query.nope}}a{{else if request.query.none}}b{{else if request.query.search}}c{{else}}d{{/if}}", "c", false},
		{"else unless chain", "{{#if false}}a{{else unless false}}b{{/if}}", "b", false},
		{"caret else", "{{#if false}}a{{^}}b{{/if}}", "b", false},
		{"unless", "{{#unless request.query.nope}}none{{/unless}}", "none", false},
		{"falsy values", "{{#if 0}}a{{/if}}{{#if ''}}b{{/if}}{{#if false}}c{{/if}}{{#if null}}d{{/if}}{{#if (array)}}e{{/if}}{{#if 1}}f{{/if}}{{#if (jsonPath request.body '$.outer')}}g{{/if}}", "fg", false},
		{"each array", "{{#each (jsonPath request.body '$.names')}}{{@index}}:{{this}}{{#unless @last}},{{/unless}}{{/each}}", "0:Ann,1:Bob,2:Cid", false},
		{"each first last", "{{#each (jsonPath request.body '$.names')}}{{@first}}{{@last}};{{/each}}", "first;;last;", false},
		{"each object", "{{#each (jsonPath request.body '$.outer')}}{{@key}}={{this}}{{/each}}", "inner=Stuff", false},
		{"each object in key order", "{{#each (parseJson '{\"b\":1,\"a\":2}')}}{{@key}}{{/each}}", "ab", false},
		{"each block params", "{{#each (jsonPath request.body '$.items') as |item i|}}{{i}}:{{item.name}} {{/each}}", "0:One 1:Two 2:Three ", false},
		{"each object block params", "{{#each (jsonPath request.body '$.outer') as |v k|}}{{k}}={{v}}{{/each}}", "inner=Stuff", false},
		{"each else", "{{#each (array)}}x{{else}}empty{{/each}}", "empty", false},
		{"each over missing", "{{#each request.query.nope}}x{{else}}none{{/each}}", "none", false},
		{"each over headers", "{{#each request.headers}}{{@key}};{{/each}}", "Content-Type;Cookie;Host;ManyThings;MyDate;X-Encoded-Header;X-Html;X-Padded-Header;X-Plain-Header;X-Request-Id;", false},
		{"each nested with parent", "{{#each (jsonPath request.body '$.items')}}{{name}}-{{../request.method}}-{{request.path.contactId}} {{/each}}", "One-POST-42 Two-POST-42 Three-POST-42 ", false},
		{"each index in nested with", "{{#each (jsonPath request.body '$.items')}}{{#with this}}{{@index}}{{id}}{{/with}}{{/each}}", "011223", false},
		{"each this path", "{{#each (jsonPath request.body '$.items')}}{{this.id}}{{./name}}{{/each}}", "1One2Two3Three", false},
		{"with", "{{#with (jsonPath request.body '$.outer')}}{{inner}}{{/with}}", "Stuff", false},
		{"with block param", "{{#with (jsonPath request.body '$.outer') as |o|}}{{o.inner}}{{/with}}", "Stuff", false},
		{"with else", "{{#with request.query.nope}}x{{else}}no{{/with}}", "no", false},
		{"section list", "{{#request.query.things}}[{{this}}]{{/request.query.things}}", "[1][2][3]", false},
		{"inverted section", "{{^request.query.nope}}none{{/request.query.nope}}{{^request.query.search}}none{{/request.query.search}}", "none", false},
		{"whole document, keys sorted", "{{{jsonPath request.body '$'}}}", `{"count":3,"flag":true,"items":[{"id":1,"name":"One"},{"id":2,"name":"Two"},{"id":3,"name":"Three"}],"name":"transformed","names":["Ann","Bob","Cid"],"nothing":null,"outer":{"inner":"Stuff"},"price":9.5}`, false},
		{"lookup dynamic", "{{lookup (jsonPath request.body '$.names') 1}} {{lookup (jsonPath request.body '$.outer') 'inner'}}", "Bob Stuff", false},
		{"subexpression nesting", "{{upper (lower (upper request.method))}}", "POST", false},
		{"json value paths", "{{#with (parseJson request.body)}}{{items.1.name}} {{items.[2].name}} {{names.0}}{{/with}}", "Two Three Ann", false},
	})
}

// Every helper, with the examples of WireMock's "Response Templating" page (and, for the
// string and conditional helpers, Handlebars.java's documentation); expected outputs are
// derived by hand from those pages.
func TestTemplateHelpers(t *testing.T) {
	runTplCases(t, stdInput, []tplCase{
		// jsonPath
		{"jsonPath value", "{{jsonPath request.body '$.outer.inner'}}", "Stuff", false},
		{"jsonPath object", "{{{jsonPath request.body '$.outer'}}}", `{"inner":"Stuff"}`, false},
		{"jsonPath object escaped", "{{jsonPath request.body '$.outer'}}", `{&quot;inner&quot;:&quot;Stuff&quot;}`, false},
		{"jsonPath default", "{{jsonPath request.body '$.size' default='M'}}", "M", false},
		{"jsonPath null takes default", "{{jsonPath request.body '$.nothing' default='none'}}", "none", false},
		{"jsonPath missing", "[{{jsonPath request.body '$.size'}}]", "[]", false},
		{"jsonPath number and bool", "{{jsonPath request.body '$.price'}} {{jsonPath request.body '$.count'}} {{jsonPath request.body '$.flag'}}", "9.5 3 true", false},
		{"jsonPath wildcard is a list", "{{{jsonPath request.body '$.items[*].name'}}}", `["One","Two","Three"]`, false},
		{"jsonPath negative index", "{{jsonPath request.body '$.names[-1]'}}", "Cid", false},
		{"jsonPath dynamic path", "{{jsonPath request.body (val '$.outer.inner')}}", "Stuff", false},
		{"jsonPath of a string", `{{jsonPath '{"a":{"b":7}}' '$.a.b'}}`, "7", false},
		{"jsonPath of parsed json", "{{jsonPath (parseJson request.body) '$.names[1]'}}", "Bob", false},
		// parseJson
		{"parseJson block", "{{#parseJson 'parsedObj'}}\n{\n  \"name\": \"transformed\"\n}\n{{/parseJson}}\n{{!- Now we can access the object as usual --}}\n{{parsedObj.name}}", "\n\ntransformed", false},
		{"parseJson param", "{{parseJson request.body 'bodyJson'}}{{bodyJson.name}}", "transformed", false},
		{"parseJson lookup", "{{lookup (parseJson request.body) 'name'}}", "transformed", false},
		{"parseJson array", "{{size (parseJson '[1,2]')}}", "2", false},
		{"parseJson empty", "{{size (parseJson '')}}{{size (parseJson '{ }')}}", "00", false},
		// toJson
		{"toJson array", "{{toJson (array 1 2 3)}}", "[ 1, 2, 3 ]", false},
		{"toJson nested", "{{{toJson (jsonPath request.body '$.items[0]')}}}", "{\n  \"id\" : 1,\n  \"name\" : \"One\"\n}", false},
		{"toJson empty", "{{{toJson (array)}}} {{{toJson (parseJson '{}')}}}", "[ ] { }", false},
		// formatJson
		{"formatJson pretty", "{{#formatJson}}{\"foo\":true,\"bar\":{\"baz\":false}}{{/formatJson}}", "{\n  \"foo\" : true,\n  \"bar\" : {\n    \"baz\" : false\n  }\n}", false},
		{"formatJson compact", "{{#formatJson format='compact'}}\n{\n    \"foo\" : true,\n    \"bar\" : {\n        \"baz\" : false\n    }\n}\n{{/formatJson}}", `{"foo":true,"bar":{"baz":false}}`, false},
		{"formatJson inline", `{{{formatJson '{"foo":true,"bar":{"baz":false}}'}}}`, "{\n  \"foo\" : true,\n  \"bar\" : {\n    \"baz\" : false\n  }\n}", false},
		{"formatJson variable", "{{#assign 'someJson'}} { \"foo\": true, \"bar\": { \"baz\": false } } {{/assign}}{{{formatJson someJson format='compact'}}}", `{"foo":true,"bar":{"baz":false}}`, false},
		{"formatJson arrays", `{{{formatJson '[1,[2,{"a":[]}],{}]'}}}`, "[ 1, [ 2, {\n  \"a\" : [ ]\n} ], { } ]", false},
		// escapeJson (ours; WireMock has none)
		{"escapeJson", `{{{escapeJson (val 'say "hi"\n')}}}`, `say \"hi\"\\n`, false},
		// now
		{"now", "{{now}}", "2024-01-31T10:20:30Z", false},
		{"now days", "{{now offset='3 days'}}", "2024-02-03T10:20:30Z", false},
		{"now seconds", "{{now offset='-24 seconds'}}", "2024-01-31T10:20:06Z", false},
		{"now years", "{{now offset='1 years'}}", "2025-01-31T10:20:30Z", false},
		{"now years formatted", "{{now offset='10 years' format='yyyy-MM-dd'}}", "2034-01-31", false},
		{"now months clamp", "{{now offset='1 months'}}", "2024-02-29T10:20:30Z", false},
		{"now long offset", "{{now offset='now +2 hours'}}", "2024-01-31T12:20:30Z", false},
		{"now timezone", "{{now timezone='Australia/Sydney' format='yyyy-MM-dd HH:mm:ssZ'}}", "2024-01-31 21:20:30+1100", false},
		{"now timezone iso", "{{now timezone='+02:00'}}", "2024-01-31T12:20:30+02:00", false},
		{"now epoch", "{{now offset='2 years' format='epoch'}}", "1769854830000", false},
		{"now unix", "{{now offset='2 years' format='unix'}}", "1769854830", false},
		{"now patterns", "{{now format=\"EEE, d MMM yyyy hh:mm:ss.SSS a 'week' w D XXX\"}}", "Wed, 31 Jan 2024 10:20:30.000 AM week 5 31 Z", false},
		{"now quoted", "{{now format=\"yyyy-MM-dd'T'HH:mm:ss''\"}}", "2024-01-31T10:20:30&#x27;", false},
		// date, parseDate, truncateDate
		{"parseDate rfc1123", "{{date (parseDate request.headers.MyDate)}}", "2021-06-15T15:16:17Z", false},
		{"parseDate iso", "{{date (parseDate '2021-06-15T15:16:17+02:00')}}", "2021-06-15T15:16:17+02:00", false},
		{"parseDate format", "{{date (parseDate '15/06/2021' format='dd/MM/yyyy')}}", "2021-06-15T00:00:00Z", false},
		{"parseDate unix", "{{date (parseDate '1623770177' format='unix')}}", "2021-06-15T15:16:17Z", false},
		{"parseDate epoch", "{{date (parseDate '1623770177000' format='epoch')}}", "2021-06-15T15:16:17Z", false},
		{"parseDate bad", "[{{date (parseDate 'not a date')}}]", "[2024-01-31T10:20:30Z]", false}, // date of nothing is now, as in WireMock
		{"truncateDate", "{{date (truncateDate (parseDate request.headers.MyDate) 'first day of month')}}", "2021-06-01T00:00:00Z", false},
		{"truncateDate more", "{{date (truncateDate (parseDate request.headers.MyDate) 'last day of month')}} {{date (truncateDate (parseDate request.headers.MyDate) 'first day of next year')}} {{date (truncateDate (parseDate request.headers.MyDate) 'first minute of hour')}}", "2021-06-30T00:00:00Z 2022-01-01T00:00:00Z 2021-06-15T15:00:00Z", false},
		{"date format", "{{date (parseDate request.headers.MyDate) format='dd/MM/yy'}}", "15/06/21", false},
		{"date offset", "{{date (parseDate request.headers.MyDate) offset='1 days'}}", "2021-06-16T15:16:17Z", false},
		{"dateFormat", "{{dateFormat (parseDate request.headers.MyDate) 'full'}}|{{dateFormat (parseDate request.headers.MyDate)}}|{{dateFormat (parseDate request.headers.MyDate) format='short'}}|{{dateFormat (parseDate request.headers.MyDate) 'yyyy'}}", "Tuesday, June 15, 2021|Jun 15, 2021|6/15/21|2021", false},
		// base64, urlEncode
		{"base64", "{{base64 request.headers.X-Plain-Header}}", "Q29udGVudCB0byBlbmNvZGU&#x3D;", false},
		{"base64 decode", "{{base64 request.headers.X-Encoded-Header decode=true}}", "Content to encode", false},
		{"base64 block", "{{#base64}}\nContent to encode\n{{/base64}}", "CkNvbnRlbnQgdG8gZW5jb2RlCg==", false},
		{"base64 block no padding", "{{#base64 padding=false}}\nContent to encode\n{{/base64}}", "CkNvbnRlbnQgdG8gZW5jb2RlCg", false},
		{"base64 block decode", "{{#base64 decode=true}}\nQ29udGVudCB0byBkZWNvZGUK\n{{/base64}}", "Content to decode\n", false},
		{"urlEncode", "{{urlEncode request.headers.X-Plain-Header}}", "Content+to+encode", false},
		{"urlEncode symbols", "{{{urlEncode 'a b&c=d/é~*'}}}", "a+b%26c%3Dd%2F%C3%A9%7E*", false},
		{"urlEncode decode", "{{urlEncode 'Content%20to+decode' decode=true}}", "Content to decode", false},
		{"urlEncode block", "{{#urlEncode}}Content to encode{{/urlEncode}}", "Content+to+encode", false},
		{"urlEncode block decode", "{{#urlEncode decode=true}}Content%20to%20decode{{/urlEncode}}", "Content to decode", false},
		// math, range, array helpers
		{"math", "{{math 1 '+' 2}} {{math 4 '-' 2}} {{math 2 '*' 3}} {{math 8 '/' 2}} {{math 10 '%' 3}}", "3 2 6 4 1", false},
		{"math decimals", "{{math 7 '/' 2}} {{math 7.0 '/' 2}} {{math 1.5 '+' 1}} {{math 0.1 '*' 3}} {{math 2 'x' 3}} {{math -7 '/' 2}}", "4 3.5 2.5 0.3 6 -4", false},
		{"math strings and json", "{{math '10' '+' (jsonPath request.body '$.count')}} {{math 'abc' '+' 1}} {{math request.query.things.2 '*' 2}}", "13 1 6", false},
		{"math big", "{{math 9223372036854775807 '+' 1}}", "9223372036854775808", false},
		{"range", "{{range 3 8}} {{range -2 2}}", "[3, 4, 5, 6, 7, 8] [-2, -1, 0, 1, 2]", false},
		{"range each", "{{#each (range 0 (randomInt lower=1 upper=2)) as |index|}}id: {{index}}\n{{/each}}", "id: 0\nid: 1\n", false},
		{"array", "{{array 1 'two' true}} {{array}}", "[1, two, true] []", false},
		{"arrayAdd", "{{arrayAdd (array 1 'three') 2 position=1}} {{arrayAdd (array 1 'three') 2 position='start'}} {{arrayAdd (array 1 'three') 2 position='end'}} {{arrayAdd (array 1 'three') 2}}", "[1, 2, three] [2, 1, three] [1, three, 2] [1, three, 2]", false},
		{"arrayRemove", "{{arrayRemove (array 1 2 'three') position=1}} {{arrayRemove (array 1 2 'three') position='start'}} {{arrayRemove (array 1 2 'three') position='end'}} {{arrayRemove (array 1 2 'three')}}", "[1, three] [2, three] [1, 2] [1, 2]", false},
		{"arrayJoin", "{{arrayJoin ',' (array 'One' 'Two' 'Three')}}|{{arrayJoin ' - ' 'a' 'b' 'c'}}|{{arrayJoin ', ' (range 1 5)}}|{{arrayJoin (pickRandom ':') (array 'One' 'Two' 'Three')}}|{{arrayJoin '' (array 'W' 'i' 'r' 'e' 'M' 'o' 'c' 'k' ' ' 'R' 'o' 'c' 'k' 's')}}", "One,Two,Three|a - b - c|1, 2, 3, 4, 5|One:Two:Three|WireMock Rocks", false},
		{"arrayJoin prefix suffix", "{{arrayJoin ',' (array 'One' 'Two' 'Three') prefix='[' suffix=']'}} {{arrayJoin ' * ' (array 1 2 3) prefix='(' suffix=')'}}", "[One,Two,Three] (1 * 2 * 3)", false},
		{"arrayJoin block", "{{#parseJson 'myThings'}}\n[\n  { \"id\": 1, \"name\": \"One\" },\n  { \"id\": 2, \"name\": \"Two\" },\n  { \"id\": 3, \"name\": \"Three\" }\n]\n{{/parseJson}}\n[{{#arrayJoin ',' myThings as |item|}}\n{\n\"name{{item.id}}\": \"{{item.name}}\"\n}\n{{/arrayJoin}}]", "\n[\n{\n\"name1\": \"One\"\n}\n,\n{\n\"name2\": \"Two\"\n}\n,\n{\n\"name3\": \"Three\"\n}\n]", false},
		{"arrayJoin block prefix", "{{#arrayJoin ',' (array 1 2) prefix='[' suffix=']' as |n|}}<{{n}}>{{/arrayJoin}}", "[<1>,<2>]", false},
		// contains, matches, conditionals
		{"contains", "{{#if (contains 'abcde' 'abc')}}YES{{/if}} {{#if (contains (array 'a' 'b' 'c') 'a')}}YES{{/if}} {{#if (contains 'abcde' 'x')}}YES{{else}}NO{{/if}}", "YES YES NO", false},
		{"contains block", "{{#contains 'abcde' 'abc'}}YES{{/contains}} {{#contains (array 'a' 'b' 'c') 'a'}}YES{{/contains}}", "YES YES", false},
		// A query parameter is a list (WireMock's ListOrSingle): contains tests its values.
		{"contains inline", "{{contains request.query.search 'first'}} {{contains request.query.things '2'}} {{contains request.query.search.0 'first'}}", "false true true", false},
		{"matches", "{{#if (matches '123' '[0-9]+')}}YES{{/if}} {{#matches '123' '[0-9]+'}}YES{{/matches}} {{matches '123a' '[0-9]+'}}", "YES YES false", false},
		{"eq", "{{eq 1 1}} {{eq request.method 'POST'}} {{eq 'a' 'b'}} {{eq 1 '1'}} {{eq request.query.things.1 2}} {{eq request.query.nope null}}", "true true false true true true", false},
		{"eq yes no", "{{eq 1 2 yes='y' no='n'}} {{neq 1 2 yes='y' no='n'}}", "n y", false},
		{"eq block", "{{#eq request.method 'POST'}}post{{else}}other{{/eq}} {{#neq 1 1}}x{{else}}same{{/neq}}", "post same", false},
		{"compare", "{{gt 3 2}} {{gte 2 2}} {{lt 'a' 'b'}} {{lte 3 2}} {{gt '10' 9}} {{lt request.query.nope 1}}", "true true true false true false", false},
		{"compare block", "{{val 10 assign='myVar'}}{{#lt myVar 20}}Less Than{{else}}More Than{{/lt}}", "Less Than", false},
		{"and or not", "{{and 1 'x' true}} {{and 1 0}} {{or 0 '' 'x'}} {{or 0 false}} {{not ''}} {{not 'x'}}", "true false true false true false", false},
		{"and block", "{{#and request.query.search request.method}}both{{/and}}{{#or request.query.nope request.query.none}}x{{else}}neither{{/or}}{{#not request.query.nope}}!{{/not}}", "bothneither!", false},
		// trim, size, formData, regexExtract
		{"trim", "[{{trim request.headers.X-Padded-Header}}]", "[padded]", false},
		{"trim block", "[{{#trim}}\n\n    Some stuff with whitespace\n\n{{/trim}}]", "[Some stuff with whitespace]", false},
		{"size", "{{size 'abcde'}} {{size request.query.things}} {{size (jsonPath request.body '$.items')}} {{size (jsonPath request.body '$.outer')}} {{size (jsonPath request.body '$.nope')}}", "5 3 3 1 0", false},
		{"regexExtract", "{{regexExtract 'abc-DEF-123' '[A-Z]+'}}", "DEF", false},
		{"regexExtract groups", "{{regexExtract 'abc-DEF-123' '([a-z]+)-([A-Z]+)-([0-9]+)' 'parts'}}{{parts.0}},{{parts.1}},{{parts.2}}", "abc,DEF,123", false},
		{"regexExtract default", "{{regexExtract 'abc' '[0-9]+' default='my default value'}}", "my default value", false},
		// val, assign
		{"val", "{{val request.query.nope or='default'}} {{val request.query.nope default='default'}} [{{val request.query.nope}}] {{val request.query.search or='default'}}", "default default [] my first post", false},
		{"val array", "{{val (array 1 2 3) default='123'}}", "[1, 2, 3]", false},
		{"val assign", "{{val 'value for myVar' assign='myVar'}}{{myVar}} {{val null or='other value for myVar' assign='myVar'}}{{myVar}}", "value for myVar other value for myVar", false},
		{"assign", "{{#assign 'myCapitalisedQuery'}} {{capitalize request.query.search}} {{/assign}}[{{myCapitalisedQuery}}]", "[My First Post]", false},
		// pickRandom (one value)
		{"pickRandom", "{{pickRandom '1' '2' '3'}}", "[123]", true},
		{"pickRandom list", "{{pickRandom (jsonPath request.body '$.names')}}", "Ann|Bob|Cid", true},
		{"pickRandom count", "{{pickRandom 1 2 3 4 5 count=3}}", `\[[1-5], [1-5], [1-5]\]`, true},
		// Handlebars.java string helpers
		{"capitalize", "{{capitalize request.query.search}} {{capitalize 'mY fIRST' fully=true}}", "My First Post My First", false},
		{"capitalizeFirst", "{{capitalizeFirst 'handlebars.java'}}", "Handlebars.java", false},
		{"center", "[{{center 'Handlebars.java' size=19}}] [{{center 'ab' size=6 pad='*'}}]", "[  Handlebars.java  ] [**ab**]", false},
		{"ljust rjust", "[{{ljust 'Handlebars.java' size=20}}] [{{rjust 'Handlebars.java' size=20}}] [{{rjust '7' 3 pad='0'}}]", "[Handlebars.java     ] [     Handlebars.java] [007]", false},
		{"cut", "{{cut 'String with spaces'}} {{cut 'a-b-c' '-'}}", "Stringwithspaces abc", false},
		{"defaultIfEmpty", "{{defaultIfEmpty '' 'nothing'}} {{defaultIfEmpty request.query.nope 'nothing'}} {{defaultIfEmpty 'x' 'nothing'}}", "nothing nothing x", false},
		{"join", "{{join (array 'a' 'b' 'c') ' // '}} {{join 'a' 'b' 'c' ' // '}} {{join (array 1 2) ',' prefix='<' suffix='>'}}", "a // b // c a // b // c &lt;1,2&gt;", false},
		{"substring", "{{substring 'Handlebars.java' 11}} {{substring 'Handlebars.java' 0 10}}", "java Handlebars", false},
		{"lower upper", "{{lower 'Still MAD At Yoko'}} {{upper 'Hello'}}", "still mad at yoko HELLO", false},
		{"slugify", "{{slugify ' Joel is a slug '}}", "joel-is-a-slug", false},
		{"stripTags", "{{stripTags (val '<b>bold</b> <i\n>text</i>')}}", "bold text", false},
		{"abbreviate", "{{abbreviate 'Handlebars rocks' 13}} {{abbreviate 'short' 13}}", "Handlebars... short", false},
		{"wordWrap", "{{wordWrap 'Joel is a slug' 5}}", "Joel\nis a\nslug", false},
		{"replace", "{{replace 'Handlebars ...' '...' 'rocks'}}", "Handlebars rocks", false},
		{"yesno", "{{yesno true}} {{yesno false}} {{yesno request.query.nope}} {{yesno true yes='aye'}}", "yes no maybe aye", false},
		{"isOdd isEven stripes", "{{isOdd 3}} {{isOdd 3 'rightBox'}} [{{isOdd 2}}] {{isEven 2}} {{isEven 4 'leftBox'}} {{stripes 3 'row-even' 'row-odd'}} {{stripes 2 'row-even' 'row-odd'}}", "odd rightBox [] even leftBox row-odd row-even", false},
		{"missing stays missing", "[{{upper request.query.nope}}{{trim request.query.nope}}{{capitalize request.query.nope}}{{replace request.query.nope 'a' 'b'}}]", "[]", false},
	})
}

func TestTemplateToJSONHeaders(t *testing.T) {
	// WireMock's toJson example: these two headers give this object.
	is := is.New(t)
	in := tplRequest("", "", "Authorization", "whatever", "Content-Type", "text/plain")
	got, err := renderString(t, "{{{toJson request.headers}}}", in)
	is.NoErr(err)
	is.Equal(got, "{\n  \"Authorization\" : \"whatever\",\n  \"Content-Type\" : \"text/plain\"\n}")
}

func TestTemplateFormData(t *testing.T) {
	body := "formField1=value1&formField3=hello%20world&multiValueField=a&multiValueField=b&multiValueField=c&noValue="
	runTplCases(t, func() *RenderInput { return tplRequest("", body) }, []tplCase{
		{"field", "{{formData request.body 'form' urlDecode=true}}{{form.formField3}}", "hello world", false},
		{"not decoded", "{{formData request.body 'form'}}{{form.formField3}}", "hello%20world", false},
		{"nth", "{{formData request.body 'form' urlDecode=true}}{{form.multiValueField.1}}, {{form.multiValueField.2}}", "b, c", false},
		{"first last", "{{formData request.body 'form' urlDecode=true}}{{form.multiValueField.first}}, {{form.multiValueField.last}}", "a, c", false},
		{"inline", "{{lookup (formData request.body) 'formField1'}}", "value1", false},
		{"empty values are left out", "{{formData request.body 'form'}}[{{form.noValue}}]", "[]", false},
	})
}

// Random values: the shapes WireMock documents, the bounds, and determinism.
func TestTemplateRandom(t *testing.T) {
	cases := []struct {
		src, re string
	}{
		{"{{randomValue length=33 type='ALPHANUMERIC'}}", `[a-z0-9]{33}`},
		{"{{randomValue length=12 type='ALPHANUMERIC' uppercase=true}}", `[A-Z0-9]{12}`},
		{"{{randomValue length=55 type='ALPHABETIC'}}", `[a-z]{55}`},
		{"{{randomValue length=27 type='ALPHABETIC' uppercase=true}}", `[A-Z]{27}`},
		{"{{randomValue length=10 type='NUMERIC'}}", `[0-9]{10}`},
		{"{{{randomValue length=5 type='ALPHANUMERIC_AND_SYMBOLS'}}}", `[!-@\[-~]{5}`},
		{"{{randomValue type='UUID'}}", `[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`},
		{"{{randomValue type='UUID' uppercase=true}}", `[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}`},
		{"{{randomValue length=32 type='HEXADECIMAL' uppercase=true}}", `[0-9A-F]{32}`},
		{"{{randomValue}}", `[a-z0-9]{36}`},
		{"{{randomValue length=0}}", ``},
		{"{{randomInt}}", `-?[0-9]{1,10}`},
		{"{{randomDecimal}}", `[0-9.E]+`},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			re := regexp.MustCompile(`^(?:` + tc.re + `)$`)
			for seed := range uint64(50) {
				in := stdInput()
				in.Seed = seed
				got, err := renderString(t, tc.src, in)
				if err != nil || !re.MatchString(got) {
					t.Fatalf("seed %d: %q, %v; want %s", seed, got, err, tc.re)
				}
			}
		})
	}
	bounds := []struct {
		src      string
		min, max float64
		hitEnds  bool
	}{
		{"{{randomInt lower=5 upper=9}}", 5, 8, true}, // upper is excluded, as in WireMock
		{"{{randomInt upper=54323}}", -1 << 31, 54322, false},
		{"{{randomInt lower=-24}}", -24, 1<<31 - 2, false},
		{"{{randomDecimal lower=-10.1 upper=-0.9}}", -10.1, -0.9, false},
		{"{{randomDecimal upper=12.5}}", 0, 12.5, false},
		{"{{randomDecimal lower=-24.01}}", -24.01, math.MaxFloat64, false},
	}
	for _, tc := range bounds {
		t.Run(tc.src, func(t *testing.T) {
			tp, err := CompileTemplate(tc.src, "body")
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := tc.max, tc.min
			for seed := range uint64(300) {
				in := stdInput()
				in.Seed = seed
				out, err := tp.Render(nil, in)
				if err != nil {
					t.Fatal(err)
				}
				var f float64
				if _, err := fmt.Sscan(string(out), &f); err != nil {
					t.Fatalf("%q: %v", out, err)
				}
				if f < tc.min || f > tc.max {
					t.Fatalf("seed %d: %v outside [%v, %v]", seed, f, tc.min, tc.max)
				}
				lo, hi = min(lo, f), max(hi, f)
			}
			if tc.hitEnds && (lo != tc.min || hi != tc.max) {
				t.Fatalf("300 draws span [%v, %v], want [%v, %v]", lo, hi, tc.min, tc.max)
			}
		})
	}
	t.Run("pickRandom count picks distinct values", func(t *testing.T) {
		for seed := range uint64(50) {
			in := stdInput()
			in.Seed = seed
			got, err := renderString(t, "{{#each (pickRandom 1 2 3 4 5 count=5)}}{{this}}{{/each}}", in)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range "12345" {
				if strings.Count(got, string(d)) != 1 {
					t.Fatalf("seed %d: %q is not a permutation of 12345", seed, got)
				}
			}
		}
	})
}

func TestTemplateDeterminism(t *testing.T) {
	is := is.New(t)
	src := "{{randomValue type='UUID'}} {{randomInt}} {{pickRandom 'a' 'b' 'c' 'd'}} {{randomValue length=20}} {{request.id}} {{randomDecimal}}"
	tp, err := CompileTemplate(src, "body")
	is.NoErr(err)
	render := func(seed uint64) string {
		in := stdInput()
		in.Seed = seed
		out, err := tp.Render(nil, in)
		is.NoErr(err)
		return string(out)
	}
	is.Equal(render(7), render(7)) // the same seed gives the same values in the same order
	a, b := render(7), render(8)
	is.True(strings.Fields(a)[0] != strings.Fields(b)[0]) // another seed, another UUID
	is.True(strings.Fields(a)[4] != strings.Fields(b)[4]) // and another request id
	// request.id does not consume the helpers' random stream.
	one, err := renderString(t, "{{randomValue type='UUID'}}", stdInput())
	is.NoErr(err)
	two, err := renderString(t, "{{request.id}}{{request.id}} {{randomValue type='UUID'}}", stdInput())
	is.NoErr(err)
	is.Equal(strings.Fields(two)[1], one)
	is.Equal(strings.Fields(two)[0][:36], strings.Fields(two)[0][36:]) // stable within a render
}

// A Template is shared by concurrent renders.
func TestTemplateConcurrentRenders(t *testing.T) {
	is := is.New(t)
	tp, err := CompileTemplate("{{request.query.n}}:{{#each (jsonPath request.body '$.items')}}{{name}}{{/each}}:{{randomValue type='UUID'}}", "body")
	is.NoErr(err)
	want := make([]string, 16)
	input := func(i int) *RenderInput {
		in := tplRequest(fmt.Sprintf("n=%d", i), tplBody)
		in.Seed = uint64(i)
		return in
	}
	for i := range want {
		out, err := tp.Render(nil, input(i))
		is.NoErr(err)
		want[i] = string(out)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(want)*20)
	for i := range want {
		wg.Go(func() {
			for range 20 {
				out, err := tp.Render(nil, input(i))
				if err != nil || string(out) != want[i] {
					errs <- fmt.Errorf("render %d: %q, %v", i, out, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// Render appends to what the caller's buffer holds, and leaves it alone on error.
func TestTemplateRenderAppends(t *testing.T) {
	is := is.New(t)
	tp, err := CompileTemplate("{{request.method}}", "body")
	is.NoErr(err)
	out, err := tp.Render([]byte("HTTP: "), stdInput())
	is.NoErr(err)
	is.Equal(string(out), "HTTP: POST")
	bad, err := CompileTemplate("x{{math 1 '/' 0}}", "body")
	is.NoErr(err)
	out, err = bad.Render([]byte("keep"), stdInput())
	is.True(err != nil)
	is.Equal(string(out), "keep")
	is.True(IsTemplate("a {{b}}"))
	is.True(!IsTemplate("a { b }"))
	is.Equal(tp.String(), "{{request.method}}")
}

func TestTemplateCompileErrors(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"line one\n    {{#each request.query.x}}\n{{this}}", 2, 5, "unclosed {{#each}}"},
		{"{{#if a}}x{{/each}}", 1, 11, "{{#if}} closed by {{/each}}"},
		{"{{^a}}x", 1, 1, "unclosed {{^a}}"},
		{"a {{foo bar}}", 1, 5, "unknown helper foo"},
		{"{{#foo bar}}{{/foo}}", 1, 4, "unknown helper foo"},
		{"{{upper (nope 1)}}", 1, 10, "unknown helper nope"},
		{"{{x.y z}}", 1, 3, "unknown helper x.y"},
		{"x\n  {{request.query", 2, 3, "unclosed {{ (want }})"},
		{"{{{request.body}}", 1, 1, "{{{ closed by }} (want }}})"},
		{"{{!-- comment", 1, 1, "unclosed comment {{!-- (want --}})"},
		{"{{/if}}", 1, 1, "{{/if}} closes no open block"},
		{"{{else}}", 1, 1, "{{else}} outside a block"},
		{"{{#if a}}{{else}}{{else}}{{/if}}", 1, 18, "a second {{else}} in one block"},
		{"{{> partial}}", 1, 1, "partials ({{> name}}) are not supported"},
		{"{{#> layout}}{{/layout}}", 1, 1, "partial blocks and decorators are not supported"},
		{"{{if a}}", 1, 3, "if is a block helper (write {{#if ...}}...{{/if}})"},
		{"{{#size 'a'}}{{/size}}", 1, 4, "size is not a block helper (write {{size ...}})"},
		{"{{#if a b}}{{/if}}", 1, 4, "if takes 1 argument, not 2"},
		{"{{eq 1}}", 1, 3, "eq takes 2 arguments, not 1"},
		{"{{math 1 '+'}}", 1, 3, "math takes 3 arguments, not 2"},
		{"{{size 'a' foo=1}}", 1, 16, "size takes no hash arguments (foo=)"},
		{"{{now fromat='x'}}", 1, 14, "now has no option fromat (it takes format, offset, timezone)"},
		{"{{eq a=1 2}}", 1, 10, "positional argument after a hash argument"},
		{"{{jsonPath request.body '$.a[?(@.b)]'}}", 1, 25, `jsonPath: json_path "$.a[?(@.b)]": at 4: filters ([?(...)]) are not supported`},
		{"{{jsonPath request.body 'a'}}", 1, 25, `jsonPath: json_path "a": at 0: must start with $`},
		{"{{matches request.body '(?<=a)b'}}", 1, 24, "matches: invalid named capture: `(?<=a)b`"},
		{"{{randomValue type='FOO'}}", 1, 20, `randomValue: type is one of ALPHANUMERIC, ALPHABETIC, NUMERIC, ALPHANUMERIC_AND_SYMBOLS, HEXADECIMAL, UUID, not "FOO"`},
		{"{{math 1 '^' 2}}", 1, 10, `math: "^" is not an operator (want + - * / %)`},
		{"{{now format='yyyy-qq'}}", 1, 14, `now: format: illegal pattern character 'q' in "yyyy-qq"`},
		{"{{now offset='3 fortnights'}}", 1, 14, `now: offset "3 fortnights": the unit is seconds, minutes, hours, days, months or years`},
		{"{{now timezone='Mars/Olympus_Mons'}}", 1, 16, `now: unknown time zone "Mars/Olympus_Mons"`},
		{"{{truncateDate (now) 'first day of week'}}", 1, 22, `truncateDate: "first day of week" is not a truncation (want one of first second of minute, first minute of hour, first hour of day, first day of month, first day of next month, last day of month, first day of year, first day of next year, last day of year)`},
		{"{{formatJson 'x' format='ugly'}}", 1, 25, `formatJson: format is pretty or compact, not "ugly"`},
		{"{{#each a as |x y z|}}{{/each}}", 1, 14, "as |...| takes one or two names"},
		{"{{#if a as |x|}}{{/if}}", 1, 4, "{{#if}} takes no block parameters"},
		{"{{'a' 1}}", 1, 3, "a literal takes no arguments"},
		{"{{a/../b}}", 1, 5, "../ only at the start of a path"},
		{"{{}}", 1, 3, "empty tag"},
		{"{{a.}}", 1, 4, "a path ends with a separator"},
		{"{{lookup 'a}}", 1, 10, "unterminated string"},
		{"{{#assign}}x{{/assign}}", 1, 4, "assign takes 1 argument, not 0"},
		{"é{{x y}}", 1, 4, "unknown helper x"}, // columns count characters
		{"{{{{raw}}}}x", 1, 1, "unclosed raw block {{{{raw}}}} (want {{{{/raw}}}})"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			_, err := CompileTemplate(tc.src, "body")
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("%q: got %v, want a TemplateError", tc.src, err)
			}
			want := fmt.Sprintf("body: line %d, column %d: %s", tc.line, tc.col, tc.msg)
			if err.Error() != want {
				t.Fatalf("%q:\n got %s\nwant %s", tc.src, err, want)
			}
			if te.Field != "body" || te.Line != tc.line || te.Column != tc.col || te.Message != tc.msg {
				t.Fatalf("fields: %+v", te)
			}
		})
	}
}

func TestTemplateRenderErrors(t *testing.T) {
	tests := []struct {
		src, msg string
	}{
		{"ok\n {{math 1 '/' 0}}", "headers.X-Id: line 2, column 2: math: division by zero"},
		{"{{randomInt lower=9 upper=5}}", "headers.X-Id: line 1, column 1: randomInt: lower (9) must be below upper (5)"},
		{"{{randomValue length=-1}}", "headers.X-Id: line 1, column 1: randomValue: length must be between 0 and 1048576, not -1"},
		{"{{regexExtract 'abc' '[0-9]+'}}", "headers.X-Id: line 1, column 1: regexExtract: nothing matched [0-9]+"},
		{"{{#each (array 1)}}\n  {{substring 'abc' 5}}{{/each}}", "headers.X-Id: line 2, column 3: substring: range [5, 3) is outside the text's 3 characters"},
		{"{{parseJson 'not json'}}", "headers.X-Id: line 1, column 1: parseJson: input is not JSON: invalid character 'o' in literal null (expecting 'u')"},
		{"{{now timezone=request.query.tz}}", `headers.X-Id: line 1, column 1: now: time zone "Europe/Paris": only UTC and fixed offsets (+02:00) can be computed at render time; give a region (Europe/Paris) as a literal`},
		{"{{jsonPath request.body request.query.tz}}", `headers.X-Id: line 1, column 1: jsonPath: json_path "Europe/Paris": at 0: must start with $`},
		{"{{base64 'a!' decode=true}}", "headers.X-Id: line 1, column 1: base64: input is not base64"},
		{"{{range 1 1000000}}", "headers.X-Id: line 1, column 1: range: range of 1000000 numbers is longer than 100000"},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			tp, err := CompileTemplate(tc.src, "headers.X-Id")
			if err != nil {
				t.Fatal(err)
			}
			_, err = tp.Render(nil, tplRequest("tz=Europe/Paris", tplBody))
			var re *RenderError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a RenderError", err)
			}
			if err.Error() != tc.msg {
				t.Fatalf("\n got %s\nwant %s", err, tc.msg)
			}
		})
	}
}

// What a body that is not JSON gives jsonPath: nothing, or the default (WireMock renders
// an [ERROR: ...] text instead).
func TestTemplateJSONPathOnText(t *testing.T) {
	is := is.New(t)
	got, err := renderString(t, "[{{jsonPath request.body '$.a'}}][{{jsonPath request.body '$.a' default='d'}}]", tplRequest("", "not json"))
	is.NoErr(err)
	is.Equal(got, "[][d]")
	got, err = renderString(t, "[{{jsonPath request.body '$.a'}}]", tplRequest("", ""))
	is.NoErr(err)
	is.Equal(got, "[]")
}

// Hostile templates and requests: every one ends quickly, with an error naming the budget,
// or is refused at compile time.
func TestTemplateHostile(t *testing.T) {
	array := "[" + strings.Repeat("1,", 999) + "1]"
	nested := strings.Repeat("{{#each (jsonPath request.body '$')}}", 10) + "x" + strings.Repeat("{{/each}}", 10)
	big := "[" + strings.Repeat("7,", 999_999) + "7]"
	deep := strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth)
	tests := []struct {
		name, src, body string
		err             string // "" for success
	}{
		{"nested each over 1000 elements", nested, array, "body: template exceeded its budget of 1000000 evaluation steps"},
		{"output cap", "{{#each (range 1 20000)}}" + strings.Repeat("x", 100) + "{{/each}}", "", "body: output exceeds 1048576 bytes"},
		{"output cap random", "{{#each (range 1 100)}}{{randomValue length=20000}}{{/each}}", "", "body: output exceeds 1048576 bytes"},
		{"huge random value", "{{randomValue length=2000000}}", "", "body: line 1, column 1: randomValue: length must be between 0 and 1048576, not 2000000"},
		{"each over a huge array", "{{#each (jsonPath request.body '$')}}{{this}}{{/each}}", big, "body: template exceeded its budget of 1000000 evaluation steps"},
		{"size of a huge array", "{{size (jsonPath request.body '$')}}", big, ""},
		{"wildcard over a huge array", "{{size (jsonPath request.body '$[*]')}}", big, ""},
		{"replace explosion", "{{replace " + strings.Repeat("(replace ", 7) + "request.body" + strings.Repeat(" 'a' 'aaaaaaaa')", 7) + " 'a' 'aaaaaaaa'}}", strings.Repeat("a", 1024), "body: output exceeds 1048576 bytes"},
		{"toJson of a deep body", "{{toJson (jsonPath request.body '$')}}", deep, ""},
		{"math on huge exponents", "{{math '1e1000' '*' '1e1000'}}", "", ""},
		{"deep variables", "{{#each (range 1 2000)}}{{val this assign=(upper (val this))}}{{/each}}", "", "body: line 1, column 25: val: more than 1024 variables"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No clock here: a timed assertion fails on a loaded machine. The bounds
			// under test are the evaluation budget and the output cap, checked by the
			// errors they give.
			_, err := renderString(t, tc.src, tplRequest("", tc.body))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err != "" && (err == nil || err.Error() != tc.err):
				t.Fatalf("got %v, want %s", err, tc.err)
			}
		})
	}
}

func TestTemplateCompileLimits(t *testing.T) {
	is := is.New(t)
	ok := strings.Repeat("{{#if a}}", MaxTemplateDepth) + strings.Repeat("{{/if}}", MaxTemplateDepth)
	_, err := CompileTemplate(ok, "body")
	is.NoErr(err)
	tooDeep := strings.Repeat("{{#if a}}", MaxTemplateDepth+1) + strings.Repeat("{{/if}}", MaxTemplateDepth+1)
	_, err = CompileTemplate(tooDeep, "body")
	is.Equal(err.Error(), "body: line 1, column 577: blocks nest deeper than 64 levels")
	parens := "{{upper " + strings.Repeat("(upper ", MaxTemplateDepth+1) + "'x'" + strings.Repeat(")", MaxTemplateDepth+1) + "}}"
	_, err = CompileTemplate(parens, "body")
	is.Equal(err.Error(), "body: line 1, column 457: subexpressions nest deeper than 64 levels")
	elseIfs := "{{#if a}}" + strings.Repeat("{{else if a}}", MaxTemplateDepth) + "{{/if}}"
	_, err = CompileTemplate(elseIfs, "body")
	is.True(err != nil && strings.Contains(err.Error(), "blocks nest deeper than 64 levels"))
	_, err = CompileTemplate(strings.Repeat("x", MaxTemplateSize+1), "body")
	is.Equal(err.Error(), "body: line 1, column 1: template is longer than 1048576 bytes")
	_, err = CompileTemplate(strings.Repeat("{{", 100_000), "body")
	is.True(err != nil)
	_, err = CompileTemplate(strings.Repeat("{{#each a}}", 100_000), "body")
	is.True(err != nil)
}

// No input makes Render panic (a recovered panic would surface as "internal error").
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"{{request.query.a}}", "{{#each (jsonPath request.body '$.a')}}{{@index}}{{this}}{{/each}}",
		"{{{toJson request.headers}}}", "{{math request.body '/' request.query.a}}", "{{now offset=request.query.a format=request.body}}",
		"{{#if (eq request.query.a 1)}}a{{else if b}}b{{else}}c{{/if}}", "{{~#with request.body as |b|~}}{{b}}{{/with}}",
		"{{lookup (parseJson request.body) request.query.a}}", "{{#arrayJoin ',' (range 1 3) as |i|}}{{i}}{{/arrayJoin}}",
		"{{formData request.body 'f' urlDecode=true}}{{f.a.1}}", "{{#base64 decode=true}}{{request.body}}{{/base64}}",
		"{{regexExtract request.body '(a+)(b*)' 'p'}}{{p.1}}", "{{date (parseDate request.body format=request.query.a)}}",
		"{{pickRandom (jsonPath request.body '$..*') count=2}}", "\\{{x}}{{!-- --}}{{{{raw}}}}{{{{/raw}}}}",
		"{{substring request.body request.query.a}}", "{{wordWrap request.body request.query.a}}",
	} {
		f.Add(s, `{"a":[1,"x",{"b":null}]}`, "a=2")
	}
	f.Fuzz(func(t *testing.T, src, body, query string) {
		tp, err := CompileTemplate(src, "body")
		if err != nil {
			var te *TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("compile error of type %T: %v", err, err)
			}
			return
		}
		in := tplRequest(query, body, "Cookie", query, "X-A", body)
		out, err := tp.Render(nil, in)
		if err != nil {
			var re *RenderError
			if !errors.As(err, &re) {
				t.Fatalf("render error of type %T: %v", err, err)
			}
			if strings.Contains(re.Message, "internal error") {
				t.Fatalf("%q panicked: %v", src, err)
			}
			return
		}
		if len(out) > MaxTemplateOutput+len(src) {
			t.Fatalf("output of %d bytes", len(out))
		}
	})
}

// benchTemplate is three request values and one JSON path into a 1 KiB body.
const benchTemplate = `{"id":"{{request.path.id}}","q":"{{request.query.q}}","trace":"{{request.headers.X-Trace-Id}}","name":"{{jsonPath request.body '$.user.name'}}"}`

func benchInput() *RenderInput {
	body := `{"user":{"name":"Ada Lovelace","email":"ada@example.com","roles":["admin","dev"]},"items":[` +
		strings.Repeat(`{"sku":"ABC-123","qty":2,"price":19.99},`, 23) + `{"sku":"END","qty":1,"price":1}]}`
	q := &Request{}
	q.Reset([]byte("q=search+term&page=2"), hdrs("Host", "api.example.com", "X-Trace-Id", "trace-0123456789", "Content-Type", "application/json"), []byte(body))
	return &RenderInput{Request: q, Method: []byte("POST"), Target: []byte("/users/1234?q=search+term&page=2"), Path: []byte("/users/1234"),
		Host: []byte("api.example.com"), PathParams: []PathParam{{Name: "id", Value: []byte("1234")}}, Now: time.Unix(1700000000, 0), Seed: 42}
}

func TestTemplateBenchShape(t *testing.T) {
	is := is.New(t)
	in := benchInput()
	is.True(len(in.Request.body) >= 1000 && len(in.Request.body) <= 1100)
	got, err := renderString(t, benchTemplate, in)
	is.NoErr(err)
	is.Equal(got, `{"id":"1234","q":"search term","trace":"trace-0123456789","name":"Ada Lovelace"}`)
}

// Rendering request values and a definite JSON path allocates nothing, whether the body
// is still text or matching decoded it already.
func TestTemplateRenderAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop entries")
	}
	tp, err := CompileTemplate(benchTemplate, "body")
	if err != nil {
		t.Fatal(err)
	}
	in := benchInput()
	q := in.Request
	query, headers, body := q.query, q.headers, q.body
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		q.Reset(query, headers, body) // nothing decoded: the path is read from the text
		if _, err := tp.Render(buf[:0], in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per render of a fresh request", allocs)
	}
	if _, err := q.json(); err != nil {
		t.Fatal(err)
	}
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := tp.Render(buf[:0], in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per render of a decoded request", allocs)
	}
}

func BenchmarkTemplateRender(b *testing.B) {
	tp, err := CompileTemplate(benchTemplate, "body")
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput()
	q := in.Request
	query, headers, body := q.query, q.headers, q.body
	buf := make([]byte, 0, 512)
	// A request nothing has decoded: the JSON path is read from the body's text.
	b.Run("fresh-request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q.Reset(query, headers, body)
			buf, _ = tp.Render(buf[:0], in)
		}
	})
	// A request whose body matching already decoded (body criteria).
	b.Run("body-decoded", func(b *testing.B) {
		q.Reset(query, headers, body)
		if _, err := q.json(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = tp.Render(buf[:0], in)
		}
	})
	// The body decoded for the template itself: a path that is not definite.
	wild, err := CompileTemplate(strings.Replace(benchTemplate, "$.user.name", "$..name", 1), "body")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode-in-render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q.Reset(query, headers, body)
			buf, _ = wild.Render(buf[:0], in)
		}
	})
}

// Reading a definite path from the body's text agrees with reading the decoded body.
func TestTemplateJSONPathRawAgreesWithDecoded(t *testing.T) {
	bodies := []string{
		tplBody,
		`{"a":1,"a":2}`, `{"a":{"b":1},"a":{"c":2}}`, ` { "a" : [ 1 , "x" , { "b" : null } ] } `,
		`{"k\u0065y":"v","key":"w"}`, `{"s":"esc\"aped\n","t":"plain é"}`, `[1,2,3]`, `[]`, `{}`,
		`{"a":1} x`, `{"a":01}`, `{"a":1,}`, `{"a":"\x"}`, "{\"a\":\"\x01\"}", `"str"`, `-0.5e+3`, `nul`, ``, `  `,
		`{"n":-12.5e-3,"b":true,"f":false,"z":null}`, strings.Repeat("[", 64) + strings.Repeat("]", 64), strings.Repeat("[", 65) + strings.Repeat("]", 65),
		"\"\xff\"", "{\"\xffa\":1,\"a\":\"x\xfe\"}", "{\"a\":{\"\xff\":1,\"b\":2}}", "{\"a\":[\"\xc3\"]}", "{\"\xff\":1}",
	}
	paths := []string{"$", "$.a", "$.a.b", "$.a.c", "$.a[0]", "$.a[-1]", "$.a[2].b", "$[0]", "$[-1]", "$[5]", "$.key", "$.s", "$.t", "$.n", "$.b", "$.f", "$.z", "$['a']", "$['\ufffd']"}
	for _, body := range bodies {
		for _, p := range paths {
			src := `[{{{jsonPath request.body "` + p + `" default='D'}}}]`
			tp, err := CompileTemplate(src, "body")
			if err != nil {
				t.Fatal(err)
			}
			in := tplRequest("", body)
			raw, err1 := tp.Render(nil, in)
			_, _ = in.Request.json()
			decoded, err2 := tp.Render(nil, in)
			if string(raw) != string(decoded) || (err1 == nil) != (err2 == nil) {
				t.Errorf("body %q path %s: text %q (%v), decoded %q (%v)", body, p, raw, err1, decoded, err2)
			}
			checkSelectValid(t, body, p)
		}
	}
}

// checkSelectValid checks that selectValid's one pass gives exactly what jsonValid and
// then rawSelect give.
func checkSelectValid(t *testing.T, body, path string) {
	t.Helper()
	p, err := CompileJSONPath(path)
	if err != nil || !definitePath(p) {
		return
	}
	doc := []byte(body)
	v, valid, found, fallback := selectValid(doc, p)
	if valid != jsonValid(doc) {
		t.Fatalf("body %q path %q: selectValid says valid %v", body, path, valid)
	}
	if !valid {
		return
	}
	v2, found2, fallback2 := rawSelect(doc, p)
	if string(v) != string(v2) || found != found2 || fallback != fallback2 {
		t.Fatalf("body %q path %q: selectValid %q %v %v, rawSelect %q %v %v", body, path, v, found, fallback, v2, found2, fallback2)
	}
}

func FuzzTemplateJSONPath(f *testing.F) {
	f.Add(`{"a":[1,{"b":"x"}]}`, "$.a[1].b")
	f.Add(`{"a":1,"a":{"b":2}}`, "$.a.b")
	f.Add(`[0, -1.5e3, "s\"", true, null]`, "$[-2]")
	f.Fuzz(func(t *testing.T, body, path string) {
		tp, err := CompileTemplate("{{{jsonPath request.body request.query.path default='D'}}}", "body")
		if err != nil {
			t.Fatal(err)
		}
		in := tplRequest("path="+urlQueryEscape(path), body)
		raw, err1 := tp.Render(nil, in)
		_, _ = in.Request.json()
		decoded, err2 := tp.Render(nil, in)
		if string(raw) != string(decoded) || (err1 == nil) != (err2 == nil) {
			t.Fatalf("body %q path %q: text %q (%v), decoded %q (%v)", body, path, raw, err1, decoded, err2)
		}
		if (jsonValid([]byte(body))) != (func() bool { _, err := DecodeJSON([]byte(body)); return err == nil }()) {
			t.Fatalf("jsonValid and DecodeJSON disagree on %q", body)
		}
		checkSelectValid(t, body, path)
	})
}

func urlQueryEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func TestTemplateOutputLimit(t *testing.T) {
	is := is.New(t)
	got, err := renderString(t, "{{randomValue length=1048576}}", stdInput())
	is.NoErr(err)
	is.Equal(len(got), MaxTemplateOutput) // at the limit
	_, err = renderString(t, "x{{randomValue length=1048576}}", stdInput())
	is.Equal(err.Error(), "body: output exceeds 1048576 bytes") // one past it
	_, err = CompileTemplate(strings.Repeat("x", MaxTemplateSize), "body")
	is.NoErr(err)
	// Path parameters as the integrator fills them (Path.Params) are request.path.NAME.
	in := tplRequest("", "")
	in.PathParams = []PathParam{{Name: "contactId", Value: in.Path[10:12]}}
	got, err = renderString(t, "{{request.path.contactId}}", in)
	is.NoErr(err)
	is.Equal(got, "42")
}

func TestTemplateNestedValues(t *testing.T) {
	is := is.New(t)
	_, err := renderString(t, "{{#each (range 1 200)}}{{val (array x) assign='x'}}{{/each}}{{x}}", stdInput())
	is.Equal(err.Error(), "body: line 1, column 61: value nests too deeply to write")
	got, err := renderString(t, "{{#each (range 1 3)}}{{val (array x) assign='x'}}{{/each}}{{x}}", stdInput())
	is.NoErr(err)
	is.Equal(got, "[[[]]]")
}
