package importer

import (
	"errors"
	"strings"
	"testing"

	"github.com/matryer/is"
)

const harDoc = `{"log":{"version":"1.2","creator":{"name":"test","version":"1"},"entries":[
 {"request":{"method":"GET","url":"https://shop.example/api/items/17?view=full","headers":[]},
  "response":{"status":200,"headers":[{"name":"content-type","value":"application/json"},{"name":"content-encoding","value":"gzip"},{"name":"date","value":"Sun"}],
   "content":{"mimeType":"application/json","text":"{\"id\":17}"}}},
 {"request":{"method":"GET","url":"https://shop.example/logo.png"},
  "response":{"status":200,"headers":[{"name":"content-type","value":"image/png"}],"content":{"text":"iVBORw==","encoding":"base64"}}},
 {"request":{"method":"GET","url":"https://shop.example/blocked"},"response":{"status":0,"headers":[],"content":{}}}
]}}`

func TestHARImport(t *testing.T) {
	is := is.New(t)
	items, err := HAR([]byte(harDoc), Limits{})
	is.NoErr(err)
	is.Equal(len(items), 3)
	m := decoded(t, items[0])
	is.Equal(m["path_pattern"], "/api/items/{id}")
	is.Equal(m["headers"], map[string]any{"content-type": "application/json"}) // no content-encoding, no date
	is.Equal(m["body"], `{"id":17}`)
	is.Equal(items[0].Source, "log.entries[0]")
	is.Equal(decoded(t, items[1])["body_base64"], "iVBORw==")
	is.Equal(items[2].Source, "log.entries[2]")
	is.True(strings.Contains(items[2].Error, "status 0"))
}

func TestHARHostile(t *testing.T) {
	big := `{"log":{"version":"1.2","entries":[` + strings.Repeat(" ", 2048) + `]}}`
	deep := `{"log":{"version":"1.2","entries":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}}`
	cases := []struct {
		name, doc, field, says string
		lim                    Limits
	}{
		{"truncated", harDoc[:len(harDoc)/2], "body", "cut short", Limits{}},
		{"not json", "<html>", "body", "invalid JSON", Limits{}},
		{"no log", `{"entries":[]}`, "log", "missing", Limits{}},
		{"wrong version", `{"log":{"version":"2.0","entries":[]}}`, "log.version", `"2.0" is not supported`, Limits{}},
		{"no version", `{"log":{"entries":[]}}`, "log.version", "missing", Limits{}},
		{"entries not a list", `{"log":{"version":"1.2","entries":{}}}`, "body", "must not be a JSON object", Limits{}},
		{"too big", big, "body", "more than the 1024", Limits{MaxBytes: 1024}},
		{"too deep", deep, "body", "deeper than 64", Limits{}},
		{"too many", `{"log":{"version":"1.2","entries":[{},{},{}]}}`, "log.entries", "more than the 2", Limits{MaxItems: 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			_, err := HAR([]byte(c.doc), c.lim)
			var e *Error
			is.True(errors.As(err, &e))
			is.Equal(e.Field, c.field)
			is.True(strings.Contains(e.Message, c.says)) // the message names the problem
		})
	}
	// An entry of the wrong shape fails alone, naming its index.
	is := is.New(t)
	items, err := HAR([]byte(`{"log":{"version":"1.2","entries":[{"request":"GET /"},{}]}}`), Limits{})
	is.NoErr(err)
	is.Equal(len(items), 2)
	is.Equal(items[0].Source, "log.entries[0]")
	is.True(strings.Contains(items[0].Error, "not a HAR entry"))
	is.True(strings.Contains(items[1].Error, "no request or no response"))
}
