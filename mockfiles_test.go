package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

type labSource struct {
	Dir      string `json:"dir"`
	Path     string `json:"path"`
	Mocks    int    `json:"mocks"`
	LoadedAt string `json:"loaded_at"`
	Error    string `json:"error"`
}

func (l *labClient) sources() map[string]labSource {
	l.t.Helper()
	list := expectJSON[[]labSource](l, "GET", "/api/mocks/sources", "", 200, "sources")
	out := map[string]labSource{}
	for _, s := range list {
		out[s.Path] = s
	}
	return out
}

// Mock files: loaded at start, served, read-only through the API, followed when they change,
// a broken file keeps its last good mocks with its error shown, a deleted file's mocks go,
// and body_file is read beside the file but never outside the directory.
func TestMockFiles(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		dir := t.TempDir()
		outside := t.TempDir()
		testkit.WriteFile(t, outside, "secret.txt", "secret")
		testkit.WriteFile(t, dir, "hello.json", `{"id":"hello","method":"GET","path_pattern":"/hello","content_type":"text/plain","body":"v1"}`)
		testkit.WriteFile(t, dir, "api/users.json", `{"mocks":[{"method":"GET","path_pattern":"/users","body":[1,2]},
			{"method":"GET","path_pattern":"/doc","content_type":"text/plain","body_file":"../bodies/doc.txt"}]}`)
		testkit.WriteFile(t, dir, "bodies/doc.txt", "from a body file")
		s := testkit.Start(t, run, engine, "--access-log=false", "--mocks-dir", dir)
		l := newLabClient(t, s)

		is.Equal(len(l.sources()), 2) // loaded before the server answers its first request
		is.Equal(len(l.listMocks()), 3)
		is.Equal(string(l.do("GET", "/hello", "").body), "v1")
		is.Equal(string(l.do("GET", "/users", "").body), "[1,2]")
		is.Equal(string(l.do("GET", "/doc", "").body), "from a body file")
		byID := map[string]labMock{}
		var raw struct {
			Mocks []struct {
				ID     string `json:"id"`
				Source string `json:"source"`
			} `json:"mocks"`
		}
		l.do("GET", "/api/mocks", "").decode(t, &raw)
		for _, m := range l.listMocks() {
			byID[m.ID] = m
		}
		_, ok := byID["file-api-users-1"] // the stable id from path and position
		is.True(ok)
		_, ok = byID["file-api-users-2"]
		is.True(ok)
		for _, m := range raw.Mocks {
			if m.ID == "hello" {
				is.Equal(m.Source, "file:hello.json")
			}
		}
		src := l.sources()
		is.Equal(src["api/users.json"].Mocks, 2)
		is.Equal(src["api/users.json"].Error, "")
		is.True(src["hello.json"].LoadedAt != "")

		// Read-only through the API: 409 read_only_mock naming the mock and its file.
		for _, method := range []string{"PUT", "PATCH", "DELETE"} {
			r := l.do(method, "/api/mocks/hello", `{"status":500}`)
			is.Equal(r.status, 409)
			is.True(strings.Contains(string(r.body), `"code":"read_only_mock"`))
			is.True(strings.Contains(string(r.body), "file:hello.json"))
		}
		// An API mock on the same route as a file mock is refused (the file mock is there first).
		is.Equal(l.do("POST", "/api/mocks", `{"method":"GET","path_pattern":"/hello"}`).status, 409)

		// A change applies without restart.
		testkit.WriteFile(t, dir, "hello.json", `{"id":"hello","method":"GET","path_pattern":"/hello","content_type":"text/plain","body":"v2"}`)
		testkit.Eventually(t, "change applied", func() bool { return string(l.do("GET", "/hello", "").body) == "v2" })

		// A broken file keeps its last good mocks; its error is shown.
		testkit.WriteFile(t, dir, "hello.json", `{"id":"hello","method":"GET","path_pattern":"/hello","status":"nope"`)
		testkit.Eventually(t, "error shown", func() bool { return l.sources()["hello.json"].Error != "" })
		is.Equal(string(l.do("GET", "/hello", "").body), "v2")
		// A validation error names the mock's position and field.
		testkit.WriteFile(t, dir, "hello.json", `{"mocks":[{"method":"GET","path_pattern":"/h2"},{"method":"GET","path_pattern":"/h3","status":99}]}`)
		testkit.Eventually(t, "position named", func() bool {
			e := l.sources()["hello.json"].Error
			return strings.Contains(e, "mocks[1]") && strings.Contains(e, "status")
		})
		is.Equal(string(l.do("GET", "/hello", "").body), "v2")
		is.Equal(l.do("GET", "/h2", "").status, 404) // all or nothing per file

		// body_file may not leave the directory, by path or by symbolic link.
		rel, err := filepath.Rel(filepath.Join(dir, "api"), filepath.Join(outside, "secret.txt"))
		is.NoErr(err)
		testkit.WriteFile(t, dir, "esc.json", `{"method":"GET","path_pattern":"/esc","body_file":`+quote(rel)+`}`)
		is.NoErr(os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "bodies", "link.txt")))
		testkit.WriteFile(t, dir, "link.json", `{"method":"GET","path_pattern":"/link","body_file":"bodies/link.txt"}`)
		testkit.Eventually(t, "escapes refused", func() bool {
			src := l.sources()
			return strings.Contains(src["esc.json"].Error, "escapes") && strings.Contains(src["link.json"].Error, "escapes")
		})
		is.Equal(l.do("GET", "/esc", "").status, 404)
		is.Equal(l.do("GET", "/link", "").status, 404)

		// A deleted file's mocks are removed.
		is.NoErr(os.Remove(filepath.Join(dir, "api", "users.json")))
		testkit.Eventually(t, "file removed", func() bool { _, ok := l.sources()["api/users.json"]; return !ok })
		is.Equal(l.do("GET", "/users", "").status, 404)
	})
}

func quote(s string) string {
	b, _ := json.Marshal(filepath.ToSlash(s))
	return string(b)
}

// A --mocks-dir that does not exist stops the start with an error naming the flag.
func TestMockFilesMissingDir(t *testing.T) {
	is := is.New(t)
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"--port", "0", "--mocks-dir", filepath.Join(t.TempDir(), "nope")}, &out, &errOut, nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "--mocks-dir"))
}

// ownhttp mocks export writes the API-created mocks as files that --mocks-dir loads back
// unchanged (all but source and timestamps); a differing file is not overwritten without
// --force.
func TestMockFilesExportRoundTrip(t *testing.T) {
	is := is.New(t)
	a := testkit.Start(t, run, "epoll", "--access-log=false")
	la := newLabClient(t, a)
	la.createMock(`{"id":"plain","method":"GET","path_pattern":"/a","content_type":"text/plain","body":"line1\nline2 \u00e9"}`)
	la.createMock(`{"method":"POST","path_pattern":"/b/{id}","status":201,"headers":{"X-One":"1","Location":"/b/1"},"body":{"k":[1,2]}}`)
	la.createMock(`{"method":"DELETE","path_pattern":"/c/*","status":204}`)
	la.createMock(`{"id":"crit","method":"GET","path_pattern":"/d","match":{"query":{"q":{"matches":"^[a-z]+$"}},"body":{"json_path":"$.a"}}}`)
	la.createMock(`{"id":"re","method":"ANY","path_regex":"/e/[0-9]+","priority":2}`)
	la.createMock(`{"id":"seg","method":"GET","path_pattern":"/f/{id:[a-f0-9]{4}}/*.png"}`)
	la.createMock(`{"id":"flow","method":"POST","path_pattern":"/g","template":true,"seed":9,"after_last":"loop",
		"responses":[{"status":202,"body":{"n":"{{request.query.n}}"}},{"body_base64":"AAE=","content_type":"application/octet-stream"}],
		"state":{"name":"g","sets":"done"},"latency":{"uniform":{"min_ms":1,"max_ms":3}},"faults":[{"kind":"reset","every":1000}]}`)
	want := la.listMocks()
	rawMock := func(l *labClient, id string) map[string]json.RawMessage {
		var got struct {
			Mock map[string]json.RawMessage `json:"mock"`
		}
		l.do("GET", "/api/mocks/"+id, "").decode(t, &got)
		for _, k := range []string{"created_at", "updated_at", "source", "hits", "last_hit_at", "sequence"} {
			delete(got.Mock, k)
		}
		return got.Mock
	}
	wantFlow := rawMock(la, "flow")

	dir := t.TempDir()
	var out, errOut strings.Builder
	err := run(t.Context(), []string{"mocks", "export", dir, "--server", a.URL()}, &out, &errOut, nil)
	is.NoErr(err)
	is.Equal(strings.Count(out.String(), "\n"), 7) // one line per file written

	b := testkit.Start(t, run, "threadpool", "--access-log=false", "--mocks-dir", dir)
	lb := newLabClient(t, b)
	testkit.Eventually(t, "export loaded", func() bool { return len(lb.sources()) == 7 })
	got := map[string]labMock{}
	for _, m := range lb.listMocks() {
		got[m.ID] = m
	}
	is.Equal(len(got), len(want))
	for _, w := range want {
		g := got[w.ID]
		g.CreatedAt, g.UpdatedAt = w.CreatedAt, w.UpdatedAt
		is.Equal(g, w)
	}
	is.Equal(string(lb.do("GET", "/a", "").body), "line1\nline2 é")
	gotFlow := rawMock(lb, "flow")
	is.Equal(len(gotFlow), len(wantFlow))
	for k, v := range wantFlow {
		is.Equal(string(gotFlow[k]), string(v)) // responses, state, template, seed, latency and faults survive the file
	}
	is.Equal(lb.do("PUT", "/e/12", "").status, 200)
	is.Equal(lb.do("GET", "/f/beef/x.png", "").status, 200)

	// Exporting again writes nothing (same content); a changed file needs --force.
	out.Reset()
	is.NoErr(run(t.Context(), []string{"mocks", "export", dir, "--server", a.URL()}, &out, &errOut, nil))
	is.Equal(out.String(), "")
	testkit.WriteFile(t, dir, "plain.json", `{}`)
	err = run(t.Context(), []string{"mocks", "export", dir, "--server", a.URL()}, &out, &errOut, nil)
	is.True(err != nil)
	is.True(strings.Contains(errOut.String(), "--force"))
	is.NoErr(run(t.Context(), []string{"mocks", "export", dir, "--server", a.URL(), "--force"}, &out, &errOut, nil))
	data, err := os.ReadFile(filepath.Join(dir, "plain.json"))
	is.NoErr(err)
	is.True(strings.Contains(string(data), `"id": "plain"`))
}

// The example mock files load without an error and answer as the README says (the cart
// machine, its templated add and its checkout sequence).
func TestExampleMockFiles(t *testing.T) {
	is := is.New(t)
	s := testkit.Start(t, run, "epoll", "--access-log=false", "--mocks-dir", filepath.Join("examples", "mocks"))
	l := newLabClient(t, s)
	testkit.Eventually(t, "examples loaded", func() bool { return len(l.sources()) > 0 })
	files, err := filepath.Glob(filepath.Join("examples", "mocks", "*.json"))
	is.NoErr(err)
	sub, err := filepath.Glob(filepath.Join("examples", "mocks", "*", "*.json"))
	is.NoErr(err)
	testkit.Eventually(t, "every example file", func() bool { return len(l.sources()) == len(files)+len(sub) })
	for _, src := range l.sources() {
		is.Equal(src.Error, "") // every file loads
		is.True(src.Mocks > 0)  // and holds mocks
	}
	is.Equal(string(l.do("GET", "/cart", "").body), `{"items":[]}`)
	r := l.do("POST", "/cart/items", `{"sku":"ABC-1"}`)
	is.Equal(r.status, 201)
	is.Equal(r.header.Get("Location"), "/cart/items/ABC-1")
	is.True(strings.HasPrefix(string(r.body), `{"added":"ABC-1","line":"`))
	is.Equal(string(l.do("GET", "/cart", "").body), `{"items":[{"sku":"ABC-1","qty":1}]}`)
	is.Equal(l.do("POST", "/cart/checkout", "").status, 202)
	is.Equal(l.do("POST", "/cart/checkout", "").status, 200)
	is.Equal(l.do("POST", "/cart/checkout", "").status, 200)
}
