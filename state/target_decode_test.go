package state

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestDecodeTarget(t *testing.T) {
	is := is.New(t)
	in, e := DecodeTarget([]byte(`{"id":"t1","name":"  fixture ","base_url":"  http://127.0.0.1:9000/api  ","enabled":false,
		"timeout_ms":2500,"created_at":"x","updated_at":null}`), false)
	is.True(e == nil)
	is.Equal(*in.ID, "t1")
	is.Equal(*in.Name, "fixture")
	is.Equal(*in.BaseURL, "http://127.0.0.1:9000/api") // stored trimmed
	is.Equal(*in.Enabled, false)
	is.Equal(*in.TimeoutMS, 2500)

	// Partial (PUT): absent means "keep"; the id is ignored.
	in, e = DecodeTarget([]byte(`{"id":"other","timeout_ms":1.0e3}`), true)
	is.True(e == nil)
	is.Equal(in, TargetInput{TimeoutMS: ptr(1000)})
	in, e = DecodeTarget([]byte(``), true)
	is.True(e == nil)
	is.Equal(in, TargetInput{})
	in, e = DecodeTarget([]byte(`{"name":"n","base_url":"https://h","id":"","enabled":null,"timeout_ms":null}`), false)
	is.True(e == nil)
	is.Equal(in, TargetInput{Name: ptr("n"), BaseURL: ptr("https://h")})
}

func TestDecodeTargetErrors(t *testing.T) {
	const ok = `"name":"n","base_url":"http://h"`
	tests := []struct {
		body    string
		partial bool
		msg     string
	}{
		{`{"base_url":"http://h"}`, false, "name is required"},
		{`{"name":"  ","base_url":"http://h"}`, false, "name is required"},
		{`{"name":"  "}`, true, "name is required"},
		{`{"name":5,"base_url":"http://h"}`, false, "name must be a string"},
		{`{"name":"` + strings.Repeat("n", 257) + `","base_url":"http://h"}`, false, "name must be at most 256 bytes, without control characters"},
		{`{"name":"n"}`, false, "base_url must start with http:// or https://"},
		{`{"name":"n","base_url":"ftp://h"}`, false, "base_url must start with http:// or https://"},
		{`{"name":"n","base_url":"127.0.0.1:80"}`, false, "base_url must start with http:// or https://"},
		{`{"name":"n","base_url":5}`, false, "base_url must start with http:// or https://"},
		{`{"base_url":"//h"}`, true, "base_url must start with http:// or https://"},
		{`{"name":"n","base_url":"http://"}`, false, "base_url must include a host"},
		{`{"name":"n","base_url":"http:///path"}`, false, "base_url must include a host"},
		{`{"name":"n","base_url":"http://:80"}`, false, "base_url must include a host"},
		{`{"name":"n","base_url":"http://user:pw@h"}`, false, "base_url must not contain user info"},
		{`{"name":"n","base_url":"http://h/p?x=1"}`, false, "base_url must not contain a query"},
		{`{"name":"n","base_url":"http://h/p?"}`, false, "base_url must not contain a query"},
		{`{"name":"n","base_url":"http://h/p#f"}`, false, "base_url must not contain a fragment"},
		{`{"name":"n","base_url":"http://h:99999"}`, false, "base_url has an invalid port"},
		{`{"name":"n","base_url":"http://h:0"}`, false, "base_url has an invalid port"},
		{`{"name":"n","base_url":"http://h:x"}`, false, "base_url must be a valid absolute URL"},
		{`{"name":"n","base_url":"http://h h"}`, false, "base_url must be a valid absolute URL"},
		{`{"name":"n","base_url":"http://h/\u0000"}`, false, "base_url must be a valid absolute URL"},
		{`{"name":"n","base_url":"http://h/é"}`, false, "base_url must be a valid absolute URL"},
		{`{"name":"n","base_url":"http://[::1"}`, false, "base_url must be a valid absolute URL"},
		{`{"name":"n","base_url":"http://h/` + strings.Repeat("a", 2048) + `"}`, false, "base_url must be at most 2048 bytes"},
		{`{` + ok + `,"enabled":"true"}`, false, "enabled must be a boolean"},
		{`{` + ok + `,"enabled":1}`, false, "enabled must be a boolean"},
		{`{` + ok + `,"timeout_ms":"abc"}`, false, "timeout_ms must be an integer between 1 and 60000"},
		{`{` + ok + `,"timeout_ms":"5000"}`, false, "timeout_ms must be an integer between 1 and 60000"},
		{`{` + ok + `,"timeout_ms":0}`, false, "timeout_ms must be an integer between 1 and 60000"},
		{`{` + ok + `,"timeout_ms":60001}`, false, "timeout_ms must be an integer between 1 and 60000"},
		{`{` + ok + `,"timeout_ms":1.5}`, false, "timeout_ms must be an integer between 1 and 60000"},
		{`{` + ok + `,"timeout_ms":1e30}`, false, "timeout_ms must be an integer between 1 and 60000"},
		{`{"timeout_ms":[]}`, true, "timeout_ms must be an integer between 1 and 60000"},
		{`{` + ok + `,"id":5}`, false, "id must be a string"},
		{`{` + ok + `,"id":"a/b"}`, false, "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."},
		{`{` + ok + `,"id":"local"}`, false, "id local is reserved"},
		{`{` + ok + `,"id":"LoCaL"}`, false, "id local is reserved"},
		{`{` + ok + `,"id":"."}`, false, "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."},
		{`{` + ok + `,"id":".."}`, false, "id must be 1 to 64 letters, digits, '.', '_' or '-', and not . or .."},
		{`{"name":"n","base_url":"http://[fe80::1%25eth0]:80"}`, false, "base_url must not contain an IPv6 zone"},
		{`{"base_url":"http://[fe80::1%25en0]"}`, true, "base_url must not contain an IPv6 zone"},
		{`{` + ok + `,"timout_ms":5}`, false, `unknown field "timout_ms"`},
		{`{"enabeld":false}`, true, `unknown field "enabeld"`},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			is := is.New(t)
			_, e := DecodeTarget([]byte(tt.body), tt.partial)
			is.True(e != nil)
			is.Equal(*e, Error{Kind: KindInvalid, Code: CodeInvalidTarget, Message: tt.msg})
		})
	}
	is := is.New(t)
	for _, bad := range []string{`[]`, `"x"`, `{`, "\xff"} {
		_, e := DecodeTarget([]byte(bad), false)
		is.Equal(e.Code, CodeInvalidJSON)
	}
	// Limits: timeout_ms at both ends of its range.
	for _, v := range []string{"1", "60000"} {
		_, e := DecodeTarget([]byte(`{`+ok+`,"timeout_ms":`+v+`}`), false)
		is.True(e == nil)
	}
	for _, u := range []string{"HTTPS://H", "http://h:8080", "http://[::1]:9000/base/", "https://example.com/a/b"} {
		_, e := DecodeTarget([]byte(`{"name":"n","base_url":"`+u+`"}`), false)
		is.True(e == nil)
	}
}

// TestDecodeTargetHostile puts every JSON type in every field: each is a
// clean result, never a panic.
func TestDecodeTargetHostile(t *testing.T) {
	values := []string{`null`, `true`, `0`, `-1`, `1.5`, `1e999`, `"x"`, `""`, `[]`, `{}`, `[{"a":[]}]`}
	for _, v := range values {
		for _, k := range []string{"id", "name", "base_url", "enabled", "timeout_ms"} {
			for _, partial := range []bool{false, true} {
				body := fmt.Sprintf(`{"name":"n","base_url":"http://h",%q:%s}`, k, v)
				in, e := DecodeTarget([]byte(body), partial)
				if e != nil {
					if e.Kind != KindInvalid || e.Code != CodeInvalidTarget {
						t.Errorf("%s: %v", body, e)
					}
					continue
				}
				// Whatever was accepted validates as a complete target.
				m := newTestModel()
				if _, e := m.CreateTarget(in, t0); e != nil && !partial {
					t.Errorf("%s: decoded but not creatable: %v", body, e)
				}
			}
		}
	}
}

func FuzzDecodeTarget(f *testing.F) {
	f.Add([]byte(`{"id":"t1","name":"fixture","base_url":"http://127.0.0.1:9000","enabled":true,"timeout_ms":5000}`), false)
	f.Add([]byte(`{"timeout_ms":"abc"}`), true)
	f.Add([]byte(`{"name":"x","base_url":"https://u:p@h:1/a?b#c"}`), false)
	f.Fuzz(func(t *testing.T, body []byte, partial bool) {
		in, e := DecodeTarget(body, partial)
		if e != nil {
			if e.Kind != KindInvalid {
				t.Fatalf("kind %v", e.Kind)
			}
			return
		}
		m := newTestModel()
		x, e := m.CreateTarget(in, t0)
		if e != nil {
			if partial {
				return // a partial payload may lack name or base_url
			}
			t.Fatalf("decoded %q but create failed: %v", body, e)
		}
		// What is stored decodes again to itself.
		data, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		again, e := DecodeTarget(data, false)
		if e != nil || *again.ID != x.ID || *again.Name != x.Name || *again.BaseURL != x.BaseURL ||
			*again.Enabled != x.Enabled || *again.TimeoutMS != x.TimeoutMS {
			t.Fatalf("stored %s does not decode to itself: %v", data, e)
		}
	})
}
