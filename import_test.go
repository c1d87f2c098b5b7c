package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/cli"
	"ownhttp/internal/testkit"
	"ownhttp/mock/importer"
)

// importAnswer is POST /api/import's answer.
type importAnswer struct {
	Error *struct {
		Code, Message, Field string
	} `json:"error"`
	Format  string `json:"format"`
	DryRun  bool   `json:"dry_run"`
	Partial bool   `json:"partial"`
	Created int    `json:"created"`
	Failed  int    `json:"failed"`
	Items   []struct {
		Source      string          `json:"source"`
		Status      string          `json:"status"`
		MockID      string          `json:"mock_id"`
		Mock        json.RawMessage `json:"mock"`
		Unsupported []string        `json:"unsupported"`
		Error       string          `json:"error"`
	} `json:"items"`
}

func importDoc(t *testing.T, l *labClient, query, body string, want int, headers ...string) importAnswer {
	t.Helper()
	r := l.do("POST", "/api/import"+query, body, headers...)
	if r.status != want {
		t.Fatalf("POST /api/import%s: status %d, want %d: %s", query, r.status, want, r.body)
	}
	var a importAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	return a
}

func petstore(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("mock/importer/testdata/openapi/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mockCount(t *testing.T, l *labClient) int {
	t.Helper()
	return len(expectJSON[[]json.RawMessage](l, "GET", "/api/mocks", "", 200, "mocks"))
}

// Issue #17: an OpenAPI document imported through POST /api/import answers as Prism does,
// the import is all or nothing unless partial=true, and a dry run creates nothing.
func TestImportOpenAPIRoundTrip(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := scServer(t, engine, "", "--access-log=false")
		l := newLabClient(t, s)

		// A dry run reports what would be created and creates nothing.
		dry := importDoc(t, l, "?dry_run=true", petstore(t, "v3.0-petstore.yaml"), 200)
		is.Equal(dry.Format, "openapi")
		is.True(dry.DryRun)
		is.Equal(len(dry.Items), 9)
		for _, it := range dry.Items {
			is.Equal(it.Status, "would_create")
		}
		is.Equal(mockCount(t, l), 0)

		a := importDoc(t, l, "?seed=3", petstore(t, "v3.0-petstore.yaml"), 201)
		is.Equal(a.Created, 9)
		is.Equal(a.Failed, 0)
		is.Equal(mockCount(t, l), 9)
		for _, it := range a.Items {
			is.Equal(it.Status, "created")
			is.True(it.MockID != "")
		}

		// GET /pets answers the lowest 2xx with a body generated from the Pets schema.
		r := l.do("GET", "/pets", "")
		is.Equal(r.status, 200)
		is.Equal(r.header.Get("Content-Type"), "application/json")
		var pets []map[string]any
		is.NoErr(json.Unmarshal(r.body, &pets))
		is.True(len(pets) > 0 && pets[0]["name"] != nil)
		is.True(r.header.Get("x-next") != "")
		// Prefer: code=… picks the other response (the default one, served as 500).
		r = l.do("GET", "/pets", "", "Prefer: code=500")
		is.Equal(r.status, 500)
		var e map[string]any
		is.NoErr(json.Unmarshal(r.body, &e))
		is.True(e["code"] != nil && e["message"] != nil) // the Error schema
		r = l.do("GET", "/pets/42", "")
		is.Equal(r.status, 200)
		r = l.do("POST", "/pets", `{"id":1,"name":"x"}`, "Content-Type: application/json")
		is.Equal(r.status, 201)

		// A HAR goes through the same endpoint (format detected).
		har := `{"log":{"version":"1.2","entries":[{"request":{"method":"GET","url":"http://x/har/ok"},` +
			`"response":{"status":202,"headers":[],"content":{"text":"from har"}}}]}}`
		h := importDoc(t, l, "", har, 201)
		is.Equal(h.Format, "har")
		is.Equal(h.Created, 1)
		r = l.do("GET", "/har/ok", "")
		is.Equal(r.status, 202)
		is.Equal(string(r.body), "from har")

		// The same document again: every item conflicts, nothing is created.
		again := importDoc(t, l, "", petstore(t, "v3.0-petstore.json"), 400)
		is.Equal(again.Error.Code, "invalid_import")
		is.Equal(again.Error.Field, "items")
		is.Equal(again.Failed, 9)
		is.Equal(again.Created, 0)
		is.True(strings.Contains(again.Items[0].Error, "already exists"))
		is.Equal(mockCount(t, l), 10)

		// Named examples and Prefer: example=…; "/" is the server's own (refused, 403 on
		// POST /api/mocks), so only partial=true imports the rest.
		a = importDoc(t, l, "?format=openapi&partial=true", petstore(t, "v3.0-api-with-examples.yaml"), 201)
		is.Equal(a.Created, 6)
		is.Equal(a.Failed, 6)
		is.Equal(a.Items[0].Error, "path_pattern is reserved")
		r = l.do("GET", "/v2", "")
		is.Equal(r.status, 200)
		is.True(strings.Contains(string(r.body), "v2.0"))
		r = l.do("GET", "/v2", "", "Prefer: code=203, example=foo")
		is.Equal(r.status, 203)
		is.True(strings.Contains(string(r.body), "23.253.228.211"))
	})
}

// All or nothing, partial=true, and the hostile inputs: each a 400 naming the problem, or a
// 413 past --max-import-bytes; nothing is half imported.
func TestImportHostile(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		// The bound is the default, 50 MiB; under the race detector, which makes moving 50 MiB
		// through the engines take minutes, a 4 MiB bound shows the same edges.
		bound := int64(importer.DefaultMaxBytes)
		if raceEnabled {
			bound = 4 << 20
		}
		s := scServer(t, engine, "", "--access-log=false", fmt.Sprintf("--max-import-bytes=%d", bound))
		l := newLabClient(t, s)

		mixed := `{"mocks":[{"method":"GET","path_pattern":"/a","body":"a"},{"method":"GET","path_pattern":"/a"},{"method":"BREW","path_pattern":"/b"}]}`
		a := importDoc(t, l, "", mixed, 400)
		is.Equal(a.Format, "ownhttp")
		is.Equal(a.Failed, 2)
		is.Equal(a.Items[0].Status, "skipped")
		is.Equal(a.Items[1].Status, "failed")
		is.Equal(a.Items[2].Status, "failed")
		is.Equal(mockCount(t, l), 0) // nothing half imported

		a = importDoc(t, l, "?partial=true&dry_run=true", mixed, 200)
		is.Equal(a.Items[0].Status, "would_create")
		is.Equal(mockCount(t, l), 0)
		a = importDoc(t, l, "?partial=true", mixed, 201)
		is.Equal(a.Created, 1)
		is.Equal(a.Failed, 2)
		is.Equal(mockCount(t, l), 1)
		is.Equal(string(l.do("GET", "/a", "").body), "a")

		deep := `{"openapi":"3.0.0","x":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`
		pet := petstore(t, "v3.0-petstore.yaml")
		bundle := func(names ...string) string {
			var files []string
			for _, n := range names {
				files = append(files, fmt.Sprintf(`{"name":%q,"content":"{}"}`, n))
			}
			return `{"files":[` + strings.Join(files, ",") + `]}`
		}
		const bt = "Content-Type: application/vnd.ownhttp.bundle+json"
		for _, c := range []struct {
			name, query, body, field, contains string
			headers                            []string
		}{
			{"swagger 2.0", "", petstore(t, "v2.0-petstore.yaml"), "openapi", "Swagger 2.0 is not supported", nil},
			{"openapi 4", "", `{"openapi":"4.0.0"}`, "openapi", "not supported", nil},
			{"truncated openapi", "", pet[:len(pet)/3] + "\n  - [", "body", "", nil},
			{"truncated json", "?format=openapi", `{"openapi":"3.0.0","paths":{`, "body", "is not JSON", nil},
			{"truncated har", "?format=har", `{"log":{"version":"1.2","entries":[`, "body", "", nil},
			{"deep nesting", "", deep, "body", "nests deeper", nil},
			{"undetectable", "", `{"hello":"world"}`, "format", "cannot tell", nil},
			{"unknown format", "?format=postman", `{}`, "format", "postman", nil},
			{"truncated wiremock", "?format=wiremock", `{"request":{"url":"/x"},"response":`, "body.json", "", nil},
			{"wiremock body file out of the bundle", "", bundle("mappings/a.json", "__files/../../x"), "files", "", []string{bt}},
			{"bad partial", "?partial=maybe", pet, "partial", "true or false", nil},
			{"bad seed", "?seed=x", pet, "seed", "integer", nil},
			{"bundle with ..", "", bundle("mappings/../../etc/passwd"), "files", "..", []string{bt}},
			{"bundle absolute", "", bundle("/etc/passwd"), "files", "relative", []string{bt}},
			{"bundle duplicate", "", bundle("mappings/a.json", "mappings/a.json"), "files", "twice", []string{bt}},
			{"bundle junk", "", `{"files":"x"}`, "body", "bundle", []string{bt}},
			{"empty", "", ``, "body", "", nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				is := is.New(t)
				a := importDoc(t, l, c.query, c.body, 400, c.headers...)
				is.True(a.Error != nil)
				is.Equal(a.Error.Code, "invalid_import")
				is.Equal(a.Error.Field, c.field)
				is.True(strings.Contains(a.Error.Message, c.contains)) // the message names the problem
			})
		}
		is.Equal(mockCount(t, l), 1)

		// Size: past the bound is a 413 before the body is read; at the bound, junk is a 400.
		c := s.Dial(t)
		fmt.Fprintf(c, "POST /api/import HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", s.Addr, bound+1)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		is.NoErr(err)
		is.Equal(resp.StatusCode, 413)
		c.Close()
		junk := strings.Repeat("x", int(bound))
		a = importDoc(t, l, "", junk, 400)
		is.Equal(a.Error.Field, "format")
		// Other routes keep --max-body-bytes.
		r := l.do("POST", "/api/mocks", strings.Repeat("x", 600<<10))
		is.Equal(r.status, 413)
	})
}

// ownhttp mocks import sends a file, or a directory as a bundle, prints the per-item report
// and exits 0 only when every item was imported (3 when some were not, 1 when the input was
// refused as a whole).
func TestCLIMocksImport(t *testing.T) {
	is := is.New(t)
	s := scServer(t, "threadpool", "", "--access-log=false")
	l := newLabClient(t, s)
	var out, errOut strings.Builder
	cmd := func(args ...string) error {
		out.Reset()
		errOut.Reset()
		return run(t.Context(), append([]string{"mocks", "import"}, append(args, "--server", s.URL())...), &out, &errOut, nil)
	}
	pet := "mock/importer/testdata/openapi/v3.0-petstore.yaml"

	is.NoErr(cmd(pet, "--dry-run"))
	is.True(strings.Contains(out.String(), "would_create GET /pets/{petId} ("))
	is.True(strings.HasSuffix(out.String(), "openapi: would create 9 of 9, 0 failed\n"))
	is.Equal(mockCount(t, l), 0)

	is.NoErr(cmd(pet))
	is.True(strings.Contains(out.String(), "created GET /pets ("))
	is.True(strings.Contains(out.String(), "  unsupported: the default response is served as 500"))
	is.True(strings.HasSuffix(out.String(), "openapi: created 9 of 9, 0 failed\n"))
	is.Equal(l.do("GET", "/pets", "", "Prefer: code=500").status, 500)

	// Again: all or nothing refuses it (exit 3) and says why for each item.
	is.Equal(cmd(pet), cli.ExitCode(3))
	is.True(strings.Contains(out.String(), "failed GET /pets: method/path already exists"))
	is.True(strings.Contains(errOut.String(), "nothing was imported"))

	// A directory goes as a bundle (one file: its format is detected; more files without
	// mappings/ need --format).
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "a.json", `{"method":"GET","path_pattern":"/from-dir","body":"dir"}`)
	is.NoErr(cmd(dir))
	is.True(strings.Contains(out.String(), "created a.json"))
	is.Equal(string(l.do("GET", "/from-dir", "").body), "dir")

	// --partial imports what it can and still exits 3.
	testkit.WriteFile(t, dir, "b.json", `{"method":"GET","path_pattern":"/from-dir"}`)
	testkit.WriteFile(t, dir, "c.json", `{"method":"GET","path_pattern":"/c"}`)
	is.Equal(cmd(dir), cli.ExitCode(1))
	is.True(strings.Contains(errOut.String(), "format"))
	is.Equal(cmd(dir, "--format", "ownhttp", "--partial"), cli.ExitCode(3))
	is.True(strings.Contains(out.String(), "created c.json"))
	is.True(strings.HasSuffix(out.String(), "ownhttp: created 1 of 3, 2 failed\n"))

	is.Equal(cmd(filepath.Join(dir, "missing.json")), cli.ExitCode(1))
}
