package importer

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func ex(source, method, target string, status int, body string, headers ...Header) Exchange {
	return Exchange{Source: source, Method: method, Target: target, Status: status, Body: []byte(body), Headers: headers}
}

// decoded is one item's mock as a generic object.
func decoded(t *testing.T, it Item) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(it.Mock, &m); err != nil {
		t.Fatalf("%s: mock is not JSON: %v", it.Source, err)
	}
	return m
}

func TestInferGeneralisesIDsWhenAnswersAgree(t *testing.T) {
	is := is.New(t)
	items := Infer([]Exchange{
		ex("a", "GET", "/orders/42/lines/7d3f0c2e-1b2a-4c5d-8e9f-0a1b2c3d4e5f", 200, `{"ok":true}`),
		ex("b", "GET", "/orders/43/lines/00000000-1b2a-4c5d-8e9f-0a1b2c3d4e5f", 200, `{"ok":true}`),
		ex("c", "GET", "/blobs/0123456789abcdef0123", 200, "x"),
		ex("d", "GET", "/blobs/abc", 200, "short words stay"),
	})
	is.Equal(len(items), 3)
	m := decoded(t, items[0])
	is.Equal(m["path_pattern"], "/orders/{id}/lines/{id2}")
	is.Equal(items[0].Source, "a, b") // both exchanges became this mock
	is.Equal(decoded(t, items[1])["path_pattern"], "/blobs/{id}")
	is.Equal(decoded(t, items[2])["path_pattern"], "/blobs/abc")
}

func TestInferKeepsPathsWhoseAnswersDiffer(t *testing.T) {
	is := is.New(t)
	items := Infer([]Exchange{
		ex("1", "GET", "/users/1", 200, `{"name":"Ann"}`),
		ex("2", "GET", "/users/2", 200, `{"name":"Bob"}`),
	})
	is.Equal(len(items), 2)
	is.Equal(decoded(t, items[0])["path_pattern"], "/users/1")
	is.Equal(decoded(t, items[0])["body"], `{"name":"Ann"}`)
	is.Equal(decoded(t, items[1])["path_pattern"], "/users/2")
}

func TestInferSequencesRepeatsAndDropsVolatileHeaders(t *testing.T) {
	is := is.New(t)
	h := func(n, v string) Header { return Header{n, v} }
	items := Infer([]Exchange{
		ex("1", "get", "http://api.example/jobs/9/status?verbose=1", 202, "queued", h("Date", "x"), h("X-Request-Id", "r1"), h("Content-Type", "text/plain"), h("Vary", "A"), h("vary", "B")),
		ex("2", "GET", "/jobs/9/status?verbose=1", 202, "queued", h("Date", "y"), h("Content-Type", "text/plain"), h("Vary", "A"), h("Vary", "B"), h("Set-Cookie", "s=1")),
		ex("3", "GET", "/jobs/9/status?verbose=1", 200, "done", h("Content-Type", "text/plain"), h("Content-Length", "4")),
		ex("4", "GET", "/jobs/9/status", 200, "plain"),
	})
	is.Equal(len(items), 2)
	m := decoded(t, items[0])
	is.Equal(m["method"], "GET")
	is.Equal(m["path_pattern"], "/jobs/{id}/status")
	is.Equal(m["after_last"], "repeat_last")
	is.Equal(m["match"], map[string]any{"query": map[string]any{"verbose": map[string]any{"equals": "1"}}})
	rs := m["responses"].([]any)
	is.Equal(len(rs), 3) // queued, queued, done: the order and the repeat are kept
	first := rs[0].(map[string]any)
	is.Equal(first["status"], float64(202))
	is.Equal(first["headers"], map[string]any{"Content-Type": "text/plain", "Vary": "A, B"})
	is.Equal(rs[2].(map[string]any)["body"], "done")
	plain := decoded(t, items[1])
	is.Equal(plain["match"], nil) // no query, no query criterion
	is.Equal(plain["body"], "plain")
}

func TestInferBodiesAndFailures(t *testing.T) {
	is := is.New(t)
	items := Infer([]Exchange{
		ex("bin", "GET", "/img", 200, "\xff\xd8\xff"),
		ex("star", "GET", "/files/*/{x}", 200, "literal"),
		{Source: "cut", Method: "GET", Target: "/big", Status: 200, BodyTruncated: true},
		ex("zero", "GET", "/blocked", 0, ""),
		ex("upgrade", "GET", "/ws", 101, ""),
		ex("data", "GET", "data:text/plain,hi", 200, ""),
		ex("method", "GE T", "/x", 200, ""),
		{Source: "problem", Problem: "response.content.text is not valid base64"},
	})
	is.Equal(len(items), 8)
	is.Equal(decoded(t, items[0])["body_base64"], "/9j/")
	is.Equal(decoded(t, items[1])["path_regex"], `^/files/\*/\{x\}$`)
	want := map[string]string{"cut": "truncated", "zero": "status 0", "upgrade": "status 101", "data": "not a path", "method": "method", "problem": "base64"}
	for _, it := range items[2:] {
		is.True(it.Mock == nil)
		is.True(strings.Contains(it.Error, want[it.Source])) // each failure says why
	}
}
