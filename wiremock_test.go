package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// A WireMock root (testdata/wiremock: stubs modelled on WireMock's documentation) loaded
// with --mocks-dir answers as WireMock's documentation says: URL forms, query, header,
// cookie and body patterns, priority, jsonBody, bodyFileName, a templated response, a
// scenario, a fixed delay (marked in history) and a connection reset; what cannot be
// imported is listed in GET /api/mocks/sources.
func TestWireMockMocksDir(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false", "--mocks-dir", "testdata/wiremock")
		l := newLabClient(t, s)
		wireMockAnswers(t, l)

		// Sources: every mapping file loaded; the proxy is listed as unsupported.
		list := expectJSON[[]struct {
			Path        string   `json:"path"`
			Mocks       int      `json:"mocks"`
			Error       string   `json:"error"`
			Unsupported []string `json:"unsupported"`
		}](l, "GET", "/api/mocks/sources", "", 200, "sources")
		is.Equal(len(list), 5) // __files/users/42.json is a body, not a mock file
		for _, src := range list {
			is.Equal(src.Error, "")
			if src.Path == "mappings/delays-and-faults.json" {
				is.Equal(src.Mocks, 3)
				is.Equal(len(src.Unsupported), 1)
				is.True(strings.Contains(src.Unsupported[0], "response.proxyBaseUrl: proxying is not imported"))
			}
		}
	})
}

// wireMockAnswers checks the answers WireMock's documentation gives for the stubs of
// testdata/wiremock, however they were loaded.
func wireMockAnswers(t *testing.T, l *labClient) {
	t.Helper()
	is := is.New(t)
	type want struct {
		method, target, body string
		headers              []string
		status               int
		answer, ctype        string
	}
	for _, w := range []want{
		// URL forms: url is path and query exactly, urlPath the path alone.
		{"GET", "/some/thing", "", nil, 200, "Hello world!", "text/plain"},
		{"GET", "/search?q=wiremock", "", nil, 200, "found", ""},
		{"GET", "/search?q=other", "", nil, 404, "", ""},
		{"GET", "/path/only?any=thing", "", nil, 200, "path only", ""},
		{"PUT", "/thing/matching/123", "", nil, 204, "", ""},
		{"PUT", "/thing/matching/abc", "", nil, 405, "", ""}, // no mock: the fallback's answer to PUT
		{"GET", "/pattern/abc", "", nil, 200, "pattern", ""},
		{"GET", "/contacts/12345/addresses/99876", "", nil, 200, `{"kind":"address"}`, "application/json"},
		// Query, header and cookie patterns: all must hold.
		{"DELETE", "/everything?search_term=WireMock", "", []string{"Accept: text/xml", "Cookie: session=ab12345cd"}, 200, "everything matched", ""},
		{"GET", "/everything?search_term=WireMock", "", []string{"Accept: text/xml", "Cookie: session=nope"}, 404, "", ""},
		{"GET", "/everything?search_term=Other", "", []string{"Accept: text/xml", "Cookie: session=12345"}, 404, "", ""},
		// Body patterns: equalToJson ignoring array order and extra elements, a JSON path.
		{"POST", "/orders", `{"items":["b","a"],"total":3,"note":"x"}`, nil, 201, `{"created":true}`, "application/json"},
		{"POST", "/orders", `{"items":["b","a"],"total":4}`, nil, 404, "", ""},
		// Priority 1 answers before the default 5, even against an exact path.
		{"GET", "/priority/item", "", nil, 503, "maintenance", ""},
		// bodyFileName, read from __files.
		{"GET", "/users/42", "", nil, 200, `{"id":42,"name":"Ada"}`, "application/json"},
		// A response-template.
		{"POST", "/echo-user/7?q=hi", `{"name":"Ada"}`, nil, 200, "user 7 q=hi name=Ada", "text/plain"},
		// A stub whose proxy is not imported answers with its own status.
		{"GET", "/proxied", "", nil, 200, "", ""},
	} {
		r := l.do(w.method, w.target, w.body, w.headers...)
		if r.status != w.status || w.status < 400 && string(r.body) != w.answer {
			t.Fatalf("%s %s: %d %q, want %d %q", w.method, w.target, r.status, r.body, w.status, w.answer)
		}
		if w.ctype != "" {
			is.Equal(r.header.Get("Content-Type"), w.ctype)
		}
	}

	// The scenario: Started, then the POST moves it on.
	is.Equal(string(l.do("GET", "/todo/items", "").body), `{"items":["Buy milk"]}`)
	is.Equal(l.do("POST", "/todo/items", "Cancel newsletter subscription").status, 201)
	is.Equal(string(l.do("GET", "/todo/items", "").body), `{"items":["Buy milk","Cancel newsletter subscription"]}`)
	is.Equal(l.do("POST", "/todo/items", "Cancel newsletter subscription").status, 404) // Started is required

	// The fixed delay is a latency, as history shows.
	r := l.do("GET", "/delayed", "")
	is.Equal(string(r.body), "late")
	e := l.waitEntry(r.header.Get("X-Request-ID"))
	is.Equal(e.Fault, "latency")
	is.True(e.LatencyMS >= 50)

	// CONNECTION_RESET_BY_PEER resets the connection.
	_, err := l.send("GET", "/fault", "")
	is.True(err != nil)
	is.True(testkit.IsReset(err) || strings.Contains(err.Error(), "EOF"))
}

// The same WireMock root through POST /api/import (a bundle, as ownhttp mocks import DIR
// sends it) gives the same answers; the proxy stub is listed as unsupported in the report.
func TestWireMockImportAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		l := newLabClient(t, s)
		var files []map[string]string
		root := "testdata/wiremock"
		is.NoErr(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			files = append(files, map[string]string{"name": filepath.ToSlash(rel), "content": string(b)})
			return err
		}))
		bundle, _ := json.Marshal(map[string]any{"files": files})
		r := l.do("POST", "/api/import?format=wiremock", string(bundle), "Content-Type: application/vnd.ownhttp.bundle+json")
		is.Equal(r.status, 201)
		var rep struct {
			Created, Failed int
			Items           []struct {
				Source      string   `json:"source"`
				Unsupported []string `json:"unsupported"`
			} `json:"items"`
		}
		r.decode(t, &rep)
		is.Equal(rep.Failed, 0)
		is.True(rep.Created > 10)
		proxyListed := false
		for _, it := range rep.Items {
			for _, u := range it.Unsupported {
				proxyListed = proxyListed || strings.Contains(u, "proxyBaseUrl")
			}
		}
		is.True(proxyListed) // what cannot be carried is listed, not dropped
		wireMockAnswers(t, l)
	})
}
