package importer

import (
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// wm imports one mapping file (and body files) and returns its items.
func wm(t *testing.T, stub string, bodies ...File) []Item {
	t.Helper()
	items, err := WireMock(append([]File{{Name: "mappings/stub.json", Data: []byte(stub)}}, bodies...), Limits{})
	if err != nil {
		t.Fatalf("WireMock: %v", err)
	}
	return items
}

func TestWireMockStubs(t *testing.T) {
	cases := []struct {
		name, stub string
		mock       string // the mock JSON, exactly
		unsup      []string
	}{
		{"url with query", `{"request":{"method":"GET","url":"/some/thing?a=1&b=x%20y"},"response":{"status":200,"body":"Hello world!","headers":{"Content-Type":"text/plain"}}}`,
			`{"method":"GET","path_pattern":"/some/thing","match":{"query":{"a":{"equals":"1"},"b":{"equals":"x y"}}},"status":200,"headers":{"Content-Type":"text/plain"},"body":"Hello world!"}`,
			[]string{`request.url: the query must equal "a=1\u0026b=x%20y" exactly`}},
		{"urlPath, no method, default status", `{"request":{"urlPath":"/everything"},"response":{}}`,
			`{"method":"ANY","path_pattern":"/everything","status":200}`, nil},
		{"literal path with pattern syntax", `{"request":{"method":"GET","urlPath":"/a/{b}/*"},"response":{}}`,
			`{"method":"GET","path_regex":"/a/\\{b\\}/\\*","status":200}`, nil},
		{"urlPattern", `{"request":{"method":"PUT","urlPattern":"/thing/matching/[0-9]+"},"response":{"status":204}}`,
			`{"method":"PUT","path_regex":"/thing/matching/[0-9]+","status":204}`, nil},
		{"urlPattern with a query part", `{"request":{"urlPattern":"/search\\?q=.*"},"response":{}}`,
			`{"method":"ANY","path_regex":"/search","status":200}`, []string{"request.urlPattern: the part from \\? on matches the query"}},
		{"urlPathTemplate with pathParameters", `{"request":{"method":"GET","urlPathTemplate":"/contacts/{contactId}/addresses/{addressId}","pathParameters":{"contactId":{"equalTo":"12345"},"addressId":{"matches":"[0-9]+"}}},"response":{}}`,
			`{"method":"GET","path_pattern":"/contacts/{contactId:12345}/addresses/{addressId:[0-9]+}","status":200}`, nil},
		{"query, headers, cookies, basic auth, form", `{"request":{"method":"POST","urlPath":"/everything",
			"queryParameters":{"search_term":{"equalTo":"WireMock","caseInsensitive":true},"debug":{"absent":true}},
			"headers":{"Accept":{"contains":"xml"},"X-No":{"doesNotContain":"bad"}},
			"cookies":{"session":{"matches":".*12345.*"}},
			"formParameters":{"tna":{"doesNotMatch":"x+"}},
			"basicAuthCredentials":{"username":"jeff@example.com","password":"jeffteenjefftyjeff"}},"response":{"status":200}}`,
			`{"method":"POST","path_pattern":"/everything","match":{"cookies":{"session":{"matches":"^(?:.*12345.*)$"}},"form":{"tna":{"does_not_match":"^(?:x+)$"}},"headers":{"Accept":{"contains":"xml"},"Authorization":{"equals":"Basic amVmZkBleGFtcGxlLmNvbTpqZWZmdGVlbmplZmZ0eWplZmY="},"X-No":{"not":{"contains":"bad"}}},"query":{"debug":{"absent":true},"search_term":{"case_insensitive":true,"equals":"WireMock"}}},"status":200}`, nil},
		{"body patterns", `{"request":{"method":"POST","url":"/orders","bodyPatterns":[
			{"equalToJson":"{\"total\": 1, \"items\": [2, 1]}","ignoreArrayOrder":true,"ignoreExtraElements":true},
			{"matchesJsonPath":"$.items"},
			{"matchesJsonPath":{"expression":"$.name","contains":"Ada"}},
			{"or":[{"contains":"x"},{"not":{"contains":"y"}}]},
			{"equalToXml":"<a/>"}]},"response":{"status":201}}`,
			`{"method":"POST","path_pattern":"/orders","match":{"body":[{"equal_to_json":{"items":[2,1],"total":1},"ignore_array_order":true,"ignore_extra_fields":true},{"json_path":"$.items"},{"contains":"Ada","json_path":"$.name"},{"or":[{"contains":"x"},{"not":{"contains":"y"}}]}]},"status":201}`,
			[]string{"request.bodyPatterns[4]: equalToXml (XML) is not supported; the criterion is not imported"}},
		{"priority, jsonBody, headers", `{"priority":1,"request":{"method":"GET","url":"/p"},"response":{"status":200,"jsonBody":{"a":[1,2]},"headers":{"X-Multi":["a","b"],"Content-Length":"3"}}}`,
			`{"method":"GET","path_pattern":"/p","priority":1,"status":200,"headers":{"X-Multi":"a, b"},"body":{"a":[1,2]},"content_type":"application/json"}`,
			[]string{"response.headers.Content-Length: the server writes Content-Length itself"}},
		{"base64Body", `{"request":{"url":"/b"},"response":{"base64Body":"AAEC"}}`,
			`{"method":"ANY","path_pattern":"/b","status":200,"body_base64":"AAEC","content_type":"application/octet-stream"}`, nil},
		{"template", `{"request":{"urlPathPattern":"/users/[0-9]+"},"response":{"body":"{{request.path.[1]}} {{request.requestLine.query.x}} {{jsonPath request.body '$.a'}}","transformers":["response-template"],"headers":{"Content-Type":"text/plain"}}}`,
			`{"method":"ANY","path_regex":"/users/[0-9]+","status":200,"headers":{"Content-Type":"text/plain"},"body":"{{request.path.[1]}} {{request.query.x}} {{jsonPath request.body '$.a'}}","template":true}`, nil},
		{"unknown helper", `{"request":{"urlPath":"/x"},"response":{"body":"{{xPath request.body '/a'}}","transformers":["response-template"]}}`,
			`{"method":"ANY","path_pattern":"/x","status":200,"body":"{{xPath request.body '/a'}}","content_type":"text/plain; charset=utf-8","template":false}`,
			[]string{"response.body: response-template not imported"}},
		{"braces without transformer", `{"request":{"urlPath":"/x"},"response":{"body":"{{literal}}"}}`,
			`{"method":"ANY","path_pattern":"/x","status":200,"body":"{{literal}}","content_type":"text/plain; charset=utf-8","template":false}`, nil},
		{"delays", `{"request":{"urlPath":"/d"},"response":{"fixedDelayMilliseconds":10,"delayDistribution":{"type":"uniform","lower":15,"upper":25}}}`,
			`{"method":"ANY","path_pattern":"/d","status":200,"latency":{"uniform":{"max_ms":35,"min_ms":25}}}`, nil},
		{"lognormal", `{"request":{"urlPath":"/d"},"response":{"delayDistribution":{"type":"lognormal","median":80,"sigma":0.4}}}`,
			`{"method":"ANY","path_pattern":"/d","status":200,"latency":{"lognormal":{"median_ms":80,"sigma":0.4}}}`, nil},
		{"fault", `{"request":{"urlPath":"/f"},"response":{"fault":"CONNECTION_RESET_BY_PEER"}}`,
			`{"method":"ANY","path_pattern":"/f","status":200,"faults":[{"kind":"reset"}]}`, nil},
		{"dribble", `{"request":{"urlPath":"/f"},"response":{"body":"0123456789","chunkedDribbleDelay":{"numberOfChunks":5,"totalDuration":1000}}}`,
			`{"method":"ANY","path_pattern":"/f","status":200,"body":"0123456789","content_type":"text/plain; charset=utf-8","faults":[{"chunk_bytes":2,"every_ms":200,"kind":"drip"}]}`, nil},
		{"scenario", `{"scenarioName":"To do list","requiredScenarioState":"Started","newScenarioState":"Cancel newsletter item added","request":{"method":"POST","url":"/todo/items"},"response":{"status":201}}`,
			`{"method":"POST","path_pattern":"/todo/items","state":{"name":"To-do-list","requires":"started","sets":"Cancel-newsletter-item-added"},"status":201}`, nil},
		{"id kept, proxy and webhooks listed", `{"id":"8c5db8b0-2db4-4ad7-a99f-38c9b00da3f7","name":"n","request":{"urlPath":"/p"},"response":{"proxyBaseUrl":"http://otherhost.com","statusMessage":"Meh"},"postServeActions":[{"name":"webhook"}]}`,
			`{"id":"8c5db8b0-2db4-4ad7-a99f-38c9b00da3f7","method":"ANY","path_pattern":"/p","status":200}`,
			[]string{"name: mocks have no name", "postServeActions: webhooks", "response.proxyBaseUrl: proxying is not imported", "response.statusMessage"}},
		{"responseSequence", `{"request":{"urlPath":"/s"},"responseSequence":[{"status":202,"body":"pending"},{"status":200,"jsonBody":{"done":true}}]}`,
			`{"method":"ANY","path_pattern":"/s","responses":[{"status":202,"body":"pending","content_type":"text/plain; charset=utf-8"},{"status":200,"body":{"done":true},"content_type":"application/json"}]}`, nil},
		{"HEAD", `{"request":{"method":"HEAD","urlPath":"/h"},"response":{}}`,
			`{"method":"GET","path_pattern":"/h","status":200}`, []string{"request.method: HEAD is imported as GET"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			items := wm(t, c.stub)
			is.Equal(len(items), 1)
			is.Equal(items[0].Error, "")
			is.Equal(items[0].Source, "mappings/stub.json#0")
			is.Equal(string(items[0].Mock), c.mock)
			is.Equal(len(items[0].Unsupported), len(c.unsup)) // every unsupported part is listed, nothing more
			for i, u := range c.unsup {
				is.True(strings.HasPrefix(items[0].Unsupported[i], u) || strings.Contains(strings.Join(items[0].Unsupported, "\n"), u))
			}
		})
	}
}

func TestWireMockBodyFiles(t *testing.T) {
	is := is.New(t)
	items, err := WireMock([]File{
		{Name: "wm/mappings/sub/a.json", Data: []byte(`{"mappings":[
			{"request":{"urlPath":"/doc"},"response":{"bodyFileName":"docs/doc.json"}},
			{"request":{"urlPath":"/bin"},"response":{"bodyFileName":"logo.png"}},
			{"request":{"urlPath":"/up"},"response":{"bodyFileName":"../secret"}},
			{"request":{"urlPath":"/abs"},"response":{"bodyFileName":"/etc/passwd"}},
			{"request":{"urlPath":"/none"},"response":{"bodyFileName":"missing.json"}}]}`)},
		{Name: "wm/__files/docs/doc.json", Data: []byte(`{"doc":1}`)},
		{Name: "wm/__files/logo.png", Data: []byte{0x89, 'P', 'N', 'G', 0xff}},
	}, Limits{})
	is.NoErr(err)
	is.Equal(len(items), 5) // the __files are not mapping files
	is.Equal(string(items[0].Mock), `{"method":"ANY","path_pattern":"/doc","status":200,"body":"{\"doc\":1}","content_type":"application/json"}`)
	is.Equal(string(items[1].Mock), `{"method":"ANY","path_pattern":"/bin","status":200,"body_base64":"iVBOR/8=","content_type":"image/png"}`)
	is.Equal(items[2].Source, "wm/mappings/sub/a.json#2")
	is.Equal(items[2].Error, "mappings[2].response.bodyFileName: ../secret: must not hold .. (it is relative to __files and stays inside it)")
	is.Equal(items[3].Error, "mappings[3].response.bodyFileName: /etc/passwd: must be a path relative to __files")
	is.Equal(items[4].Error, "mappings[4].response.bodyFileName: missing.json: wm/__files/missing.json is not among the files given")
	for _, it := range items[2:] {
		is.Equal(it.Mock, nil) // a failed item has no mock
	}
}

func TestWireMockHostile(t *testing.T) {
	deep := `{"request":{"urlPath":"/x","headers":` + strings.Repeat(`{"a":`, 80) + `1` + strings.Repeat(`}`, 80) + `}}`
	one := func(name, data string) []File { return []File{{Name: name, Data: []byte(data)}} }
	cases := []struct {
		name  string
		files []File
		lim   Limits
		field string
		says  string
	}{
		{"truncated", one("mappings/a.json", `{"request":{"url":"/a"},"resp`), Limits{}, "mappings/a.json", "cut short"},
		{"not json", one("mappings/a.json", `<xml/>`), Limits{}, "mappings/a.json", "invalid JSON"},
		{"trailing data", one("mappings/a.json", `{"request":{}} {}`), Limits{}, "mappings/a.json", "data after the JSON value"},
		{"an array", one("mappings/a.json", `[{"request":{}}]`), Limits{}, "mappings/a.json", "must be a JSON object"},
		{"neither form", one("mappings/a.json", `{"method":"GET"}`), Limits{}, "mappings/a.json", "neither a WireMock stub"},
		{"mappings not a list", one("mappings/a.json", `{"mappings":{}}`), Limits{}, "mappings/a.json: mappings", "must be a list"},
		{"too deep", one("mappings/a.json", deep), Limits{}, "mappings/a.json", "deeper than 64"},
		{"too big", one("mappings/a.json", `{"request":{"url":"/a"},"response":{"body":"`+strings.Repeat("x", 2000)+`"}}`), Limits{MaxBytes: 1024}, "body", "more than the 1024"},
		{"too many", one("mappings/a.json", `{"mappings":[{},{},{}]}`), Limits{MaxItems: 2}, "mappings/a.json: mappings", "more than the 2"},
		{"dot dot name", one("../mappings/a.json", `{}`), Limits{}, "../mappings/a.json", "must not hold .."},
		{"absolute name", one("/etc/mappings/a.json", `{}`), Limits{}, "/etc/mappings/a.json", "relative"},
		{"no mappings", one("__files/a.json", `{}`), Limits{}, "body", "no WireMock stub mapping"},
		{"duplicate", []File{{Name: "a.json", Data: []byte(`{}`)}, {Name: "a.json", Data: []byte(`{}`)}}, Limits{}, "a.json", "twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			_, err := WireMock(c.files, c.lim)
			var e *Error
			is.True(errors.As(err, &e))
			is.Equal(e.Field, c.field)
			is.True(strings.Contains(e.Message, c.says)) // the message names the problem
		})
	}
}

// A stub of the wrong shape fails alone, naming its JSON path; a broken file among others
// fails alone, named by its file.
func TestWireMockHostileItems(t *testing.T) {
	cases := []struct{ stub, err string }{
		{`"GET /"`, "mappings[0].stub: must be an object"},
		{`{"response":{}}`, "mappings[0].request: must be an object"},
		{`{"request":{"method":7,"url":"/a"}}`, "mappings[0].request.method: must be a string"},
		{`{"request":{"method":"OPTIONS","url":"/a"}}`, `mappings[0].request.method: "OPTIONS" cannot be mocked`},
		{`{"request":{"url":"/a","urlPath":"/b"}}`, "mappings[0].request.urlPath: give one of url"},
		{`{"request":{"url":42}}`, "mappings[0].request.url: must be a string"},
		{`{"request":{"url":"a"}}`, "mappings[0].request.url: must start with /"},
		{`{"request":{"urlPattern":"/a(("}}`, "mappings[0].request.urlPattern:"},
		{`{"request":{"url":"/a","headers":{"X":"v"}}}`, "mappings[0].request.headers.X: must be a matcher object"},
		{`{"request":{"url":"/a","headers":{"Bad Name":{"equalTo":"v"}}}}`, `mappings[0].request.headers.Bad Name: "Bad Name" is not a header name`},
		{`{"request":{"url":"/a","queryParameters":{"q":{"equalTo":true}}}}`, "mappings[0].request.queryParameters.q.equalTo: must be a string"},
		{`{"request":{"url":"/a","queryParameters":{"q":{"equalTo":"a","contains":"b"}}}}`, "mappings[0].request.queryParameters.q: has contains and equalTo"},
		{`{"request":{"url":"/a","bodyPatterns":{"equalTo":"x"}}}`, "mappings[0].request.bodyPatterns: must be a list"},
		{`{"request":{"url":"/a","bodyPatterns":[{"equalToJson":"{nope"}]}}`, "mappings[0].request.bodyPatterns[0].equalToJson: is not JSON"},
		{`{"request":{"url":"/a"},"response":{"status":"200"}}`, "mappings[0].response.status: must be a whole number"},
		{`{"request":{"url":"/a"},"response":{"status":101}}`, "mappings[0].response.status: 101 is outside 200–599"},
		{`{"request":{"url":"/a"},"response":{"body":{"a":1}}}`, "mappings[0].response.body: must be a string (use jsonBody for JSON)"},
		{`{"request":{"url":"/a"},"response":{"body":"x","jsonBody":{}}}`, "mappings[0].response.jsonBody: give one of body"},
		{`{"request":{"url":"/a"},"response":{"base64Body":"!!"}}`, "mappings[0].response.base64Body: is not valid base64"},
		{`{"request":{"url":"/a"},"response":{"fixedDelayMilliseconds":-1}}`, "mappings[0].response.fixedDelayMilliseconds: must be a number"},
		{`{"request":{"url":"/a"},"response":{"fixedDelayMilliseconds":600000}}`, "mappings[0].response: the delay or fault does not hold: latency.fixed_ms"},
		{`{"request":{"url":"/a"},"response":{"chunkedDribbleDelay":{"numberOfChunks":0,"totalDuration":5}}}`, "mappings[0].response.chunkedDribbleDelay: must be"},
		{`{"request":{"url":"/a"},"priority":0}`, "mappings[0].priority: must be a whole number from 1"},
		{`{"request":{"url":"/a"},"requiredScenarioState":"Started"}`, "mappings[0].scenarioName: is missing"},
		{`{"request":{"url":"/a"},"response":{"bodyFileName":"{{request.path.[0]}}","transformers":["response-template"]}}`, "mappings[0].response.bodyFileName: a templated file name cannot be imported"},
	}
	for _, c := range cases {
		t.Run(c.err, func(t *testing.T) {
			is := is.New(t)
			items, err := WireMock([]File{{Name: "m.json", Data: []byte(`{"mappings":[` + c.stub + `]}`)}}, Limits{})
			is.NoErr(err)
			is.Equal(len(items), 1)
			is.Equal(items[0].Source, "m.json#0")
			is.True(strings.HasPrefix(items[0].Error, c.err)) // names the stub's field
			is.Equal(items[0].Mock, nil)
		})
	}
	is := is.New(t)
	items, err := WireMock([]File{
		{Name: "mappings/a.json", Data: []byte(`{"request":{"url":"/a"}`)},
		{Name: "mappings/b.json", Data: []byte(`{"request":{"url":"/b"}}`)},
	}, Limits{})
	is.NoErr(err)
	is.Equal(len(items), 2)
	is.Equal(items[0].Source, "mappings/a.json")
	is.True(strings.Contains(items[0].Error, "cut short"))
	is.Equal(items[1].Error, "")
}

func TestIsWireMock(t *testing.T) {
	is := is.New(t)
	is.True(IsWireMock([]byte(`{"request":{"url":"/"},"response":{}}`)))
	is.True(IsWireMock([]byte(` {"mappings":[]}`)))
	is.True(IsWireMock([]byte(`{"id":"x","response":{}}`)))
	is.True(!IsWireMock([]byte(`{"method":"GET","path_pattern":"/"}`)))
	is.True(!IsWireMock([]byte(`{"mocks":[]}`)))
	is.True(!IsWireMock([]byte(`[]`)))
	is.True(!IsWireMock([]byte(`{"request`)))
}
