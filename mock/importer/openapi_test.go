package importer

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/matryer/is"
)

// The documents in testdata/openapi are the OpenAPI Initiative's examples, copied from
// github.com/OAI/learn.openapis.org (examples/, commit cff6533ce5444b144946ef6ae2722c34ef6769e0;
// CC BY 4.0), renamed <version>-<name>; see testdata/openapi/README.md.

func readDoc(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/openapi/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mocksBySource(t *testing.T, items []Item) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, it := range items {
		if it.Error != "" {
			t.Fatalf("%s: %s", it.Source, it.Error)
		}
		var m map[string]any
		if err := json.Unmarshal(it.Mock, &m); err != nil {
			t.Fatal(err)
		}
		out[it.Source] = m
	}
	return out
}

func TestOpenAPIPetstore(t *testing.T) {
	is := is.New(t)
	for _, name := range []string{"v3.0-petstore.yaml", "v3.0-petstore.json"} {
		items, err := OpenAPI(readDoc(t, name), 7, Limits{})
		is.NoErr(err)
		m := mocksBySource(t, items)
		is.Equal(len(m), 9) // GET /pets: default, 200, 500; POST /pets: default, 201, 500; GET /pets/{petId}: same
		d := m["GET /pets/{petId}"]
		is.Equal(d["path_pattern"], "/pets/{petId}")
		is.Equal(d["status"], 200.0)
		is.Equal(d["content_type"], "application/json")
		is.True(d["match"] == nil && d["priority"] == nil)
		var pet map[string]any
		is.NoErr(json.Unmarshal([]byte(d["body"].(string)), &pet)) // generated from the Pet schema
		is.True(pet["id"] != nil && pet["name"] != nil)
		e := m["GET /pets/{petId} 500 (Prefer: code=500)"]
		is.Equal(e["status"], 500.0)
		is.Equal(e["priority"], 4.0)
		is.Equal(e["match"], map[string]any{"headers": map[string]any{"Prefer": map[string]any{"matches": `(^|[,;\s])code=500($|[,;\s])`}}})
		is.Equal(m["POST /pets"]["status"], 201.0)
		is.Equal(m["POST /pets"]["body"], nil) // no content
		// The x-next header of GET /pets 200 is generated from its schema.
		is.True(m["GET /pets"]["headers"].(map[string]any)["x-next"] != "")
	}
	// The same seed gives the same mocks; another seed other generated values.
	a, _ := OpenAPI(readDoc(t, "v3.0-petstore.yaml"), 7, Limits{})
	b, _ := OpenAPI(readDoc(t, "v3.0-petstore.yaml"), 7, Limits{})
	c, _ := OpenAPI(readDoc(t, "v3.0-petstore.yaml"), 8, Limits{})
	is.Equal(a, b)
	is.True(string(a[0].Mock) != string(c[0].Mock) || string(a[3].Mock) != string(c[3].Mock))
}

func TestOpenAPIExpandedAndExamples(t *testing.T) {
	is := is.New(t)
	items, err := OpenAPI(readDoc(t, "v3.0-petstore-expanded.yaml"), 1, Limits{})
	is.NoErr(err)
	m := mocksBySource(t, items)
	is.Equal(m["DELETE /pets/{id}"]["status"], 204.0)
	is.Equal(m["GET /pets/{id}"]["status"], 200.0)
	// allOf of NewPet and the id object.
	var pet map[string]any
	is.NoErr(json.Unmarshal([]byte(m["GET /pets/{id}"]["body"].(string)), &pet))
	is.True(pet["id"] != nil && pet["name"] != nil)

	items, err = OpenAPI(readDoc(t, "v3.0-api-with-examples.yaml"), 1, Limits{})
	is.NoErr(err)
	m = mocksBySource(t, items)
	is.True(strings.Contains(m["GET /"]["body"].(string), "v2.0")) // named examples: the first by name (foo)
	// A named example is chosen with Prefer: example=foo.
	ex := m["GET / 200 (Prefer: example=foo)"]
	is.Equal(ex["priority"], 4.0)
	both := m["GET / 300 (Prefer: code=300, example=foo)"]
	is.Equal(both["priority"], 3.0)
	is.Equal(both["status"], 300.0)
}

func TestOpenAPI31(t *testing.T) {
	is := is.New(t)
	items, err := OpenAPI(readDoc(t, "v3.1-tictactoe.yaml"), 1, Limits{})
	is.NoErr(err)
	m := mocksBySource(t, items)
	d := m["GET /board/{row}/{column}"]
	is.Equal(d["status"], 200.0)
	is.True(d["body"] != nil)
	is.Equal(m["PUT /board/{row}/{column} 400 (Prefer: code=400)"]["status"], 400.0)

	// 3.1 schema keywords: type arrays, const, examples.
	doc := `openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /things/{id}:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  kind: {const: thing}
                  name: {type: [string, "null"], examples: [Rex]}
`
	items, err = OpenAPI([]byte(doc), 1, Limits{})
	is.NoErr(err)
	is.Equal(mocksBySource(t, items)["GET /things/{id}"]["body"], `{"kind":"thing","name":"Rex"}`)

	// A recursive schema is generated to a bounded depth.
	rec := `{"openapi":"3.1.0","info":{"title":"t","version":"1"},"paths":{"/tree":{"get":{"responses":{"200":{"description":"ok",` +
		`"content":{"application/json":{"schema":{"$ref":"#/components/schemas/Node"}}}}}}}},` +
		`"components":{"schemas":{"Node":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},` +
		`"children":{"type":"array","items":{"$ref":"#/components/schemas/Node"}}}}}}}`
	items, err = OpenAPI([]byte(rec), 1, Limits{})
	is.NoErr(err)
	body := mocksBySource(t, items)["GET /tree"]["body"].(string)
	is.True(strings.Count(body, `"children"`) > 1 && strings.Count(body, `"children"`) <= maxGenDepth)

	_, err = OpenAPI(readDoc(t, "v3.1-webhook-example.yaml"), 1, Limits{})
	var ie *Error
	is.True(errors.As(err, &ie))
	is.Equal(ie.Field, "paths")
	is.True(strings.Contains(ie.Message, "webhooks"))
}

func TestOpenAPIHostile(t *testing.T) {
	pet := readDoc(t, "v3.0-petstore.yaml")
	deep := "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\nx: " + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "\n"
	cases := []struct {
		name, doc, field, contains string
	}{
		{"swagger 2.0", string(readDoc(t, "v2.0-petstore.yaml")), "openapi", "Swagger 2.0 is not supported"},
		{"swagger json", `{"swagger":"2.0"}`, "openapi", "Swagger"},
		{"version 4", "openapi: 4.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n", "openapi", `"4.0.0" is not supported`},
		{"version 3.2", `{"openapi":"3.2.0","paths":{}}`, "openapi", "not supported"},
		{"numeric version", `{"openapi":3.0}`, "openapi", "must be a string"},
		{"no version", "info: {title: t}\n", "openapi", "is missing"},
		{"truncated json", `{"openapi":"3.0.0","paths":{"/a":{"get":`, "body", "is not JSON"},
		{"truncated yaml", string(pet[:len(pet)/2]) + "\n  - [", "body", ""},
		{"deep json", `{"openapi":"3.0.0","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "body", "nests deeper"},
		{"deep yaml", deep, "body", "nests deeper"},
		{"not an object", "- 1\n- 2\n", "body", "not an OpenAPI document"},
		{"no paths", "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\n", "paths", "no operations"},
		{"external ref", `{"openapi":"3.0.0","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"$ref":"/etc/passwd#/x"}}}}}}`, "body", ""},
		{"too big", string(pet), "body", "more than the 100"},
		{"alias bomb", "openapi: 3.0.0\ninfo: {title: t, version: '1'}\na: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n" +
			"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n" +
			"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\npaths: {}\n", "body", "aliasing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			lim := Limits{}
			if c.name == "too big" {
				lim.MaxBytes = 100
			}
			items, err := OpenAPI([]byte(c.doc), 1, lim)
			var ie *Error
			is.True(errors.As(err, &ie)) // a whole-input error
			is.Equal(items, nil)
			is.Equal(ie.Field, c.field)
			is.True(strings.Contains(ie.Message, c.contains)) // the message says what is wrong
		})
	}
}

func TestOpenAPIPaths(t *testing.T) {
	is := is.New(t)
	for _, c := range []struct{ in, pattern, regex string }{
		{"/pets/{petId}", "/pets/{petId}", ""},
		{"/files/{name}.json", "/files/*.json", ""},
		{"/a/{pet-id}", "/a/{pet_id}", ""},
		{"/a*b/{x}", "", `/a\*b/[^/]+`},
	} {
		p, r, _ := mockPath(c.in)
		is.Equal(p, c.pattern)
		is.Equal(r, c.regex)
	}
}

func TestDetectAndImport(t *testing.T) {
	is := is.New(t)
	for _, c := range []struct{ data, want string }{
		{string(readDoc(t, "v3.0-petstore.yaml")), FormatOpenAPI},
		{string(readDoc(t, "v3.0-petstore.json")), FormatOpenAPI},
		{`{"log":{"version":"1.2","entries":[]}}`, FormatHAR},
		{`{"request":{},"response":{}}`, FormatWireMock},
		{`{"mappings":[]}`, FormatWireMock},
		{`{"mocks":[]}`, FormatOwnhttp},
		{`{"method":"GET","path_pattern":"/a"}`, FormatOwnhttp},
	} {
		f, err := Detect([]File{{Data: []byte(c.data)}})
		is.NoErr(err)
		is.Equal(f, c.want)
	}
	f, err := Detect([]File{{Name: "mappings/a.json"}, {Name: "__files/b"}})
	is.NoErr(err)
	is.Equal(f, FormatWireMock)
	for _, bad := range []string{`{"x":1}`, "hello", ``} {
		_, err := Detect([]File{{Data: []byte(bad)}})
		var ie *Error
		is.True(errors.As(err, &ie))
		is.Equal(ie.Field, "format")
	}

	format, items, err := Import("", []File{{Data: []byte(`{"mocks":[{"method":"GET","path_pattern":"/a","source":"file:x"},{"body_file":"b"}]}`)}}, 1, Limits{})
	is.NoErr(err)
	is.Equal(format, FormatOwnhttp)
	is.Equal(len(items), 2)
	is.Equal(items[0].Source, "body#mocks[0]")
	is.Equal(string(items[0].Mock), `{"method":"GET","path_pattern":"/a"}`)
	is.True(items[1].Error != "")

	for _, c := range []struct {
		files []File
		field string
	}{
		{[]File{{Name: "../a.json", Data: []byte("{}")}}, "files"},
		{[]File{{Name: "/etc/passwd", Data: []byte("{}")}}, "files"},
		{[]File{{Name: "mappings/../../a", Data: []byte("{}")}}, "files"},
		{[]File{{Name: "a", Data: []byte("{}")}, {Name: "a", Data: []byte("{}")}}, "files"},
		{nil, "body"},
	} {
		_, _, err := Import("", c.files, 1, Limits{})
		var ie *Error
		is.True(errors.As(err, &ie))
		is.Equal(ie.Field, c.field)
	}
	_, _, err = Import("nope", []File{{Data: []byte("{}")}}, 1, Limits{})
	var ie *Error
	is.True(errors.As(err, &ie))
	is.Equal(ie.Field, "format")
}
