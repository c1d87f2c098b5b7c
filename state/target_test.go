package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

func TestDecodeTarget(t *testing.T) {
	is := is.New(t)
	in, e := DecodeTarget([]byte(`{"id":"t1","name":"  fixture ","base_url":"  http://127.0.0.1:9000/api  ","enabled":false,
		"timeout_ms":2500,"extra":{"x":1}}`), false)
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
		{`{` + ok + `,"id":"a/b"}`, false, "id must be 1 to 64 letters, digits, '.', '_' or '-'"},
		{`{` + ok + `,"id":"local"}`, false, "id local is reserved"},
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

func mustTarget(t *testing.T, body string) TargetInput {
	t.Helper()
	in, e := DecodeTarget([]byte(body), false)
	if e != nil {
		t.Fatalf("decode %s: %v", body, e)
	}
	return in
}

func TestModelTargets(t *testing.T) {
	is := is.New(t)
	m := NewModel(Config{Rand: &countingReader{}, MaxTargets: 3})
	a, e := m.CreateTarget(mustTarget(t, `{"name":"fixture","base_url":"http://127.0.0.1:9000"}`), t0)
	is.True(e == nil)
	is.Equal(*a, Target{ID: "00010203", Name: "fixture", BaseURL: "http://127.0.0.1:9000", Enabled: true, TimeoutMS: 5000,
		CreatedAt: "2026-11-26T10:00:00Z", UpdatedAt: "2026-11-26T10:00:00Z"})
	is.Equal(a.Timeout(), 5*time.Second)

	_, e = m.CreateTarget(mustTarget(t, `{"name":"  FIXTURE ","base_url":"http://x"}`), t0)
	is.Equal(*e, Error{Kind: KindConflict, Code: CodeDuplicateTarget, Message: "target already exists"})
	_, e = m.CreateTarget(mustTarget(t, `{"id":"00010203","name":"other","base_url":"http://x"}`), t0)
	is.Equal(e.Code, CodeDuplicateTarget)
	_, e = m.CreateTarget(mustTarget(t, `{"id":"b","name":"b","base_url":"http://x"}`), t0)
	is.True(e == nil)
	_, e = m.CreateTarget(mustTarget(t, `{"name":"c","base_url":"http://x"}`), t0)
	is.True(e == nil) // at MaxTargets (3)
	_, e = m.CreateTarget(mustTarget(t, `{"name":"d","base_url":"http://x"}`), t0)
	is.Equal(*e, Error{Kind: KindTooLarge, Code: CodeTargetLimit, Message: "max targets reached"})
	_, e = m.CreateTarget(TargetInput{Name: ptr("go")}, t0) // a Go-built input is validated too
	is.Equal(e.Message, msgTargetScheme)

	// Update merges, then validates in full; the id and created_at stay.
	later := t0.Add(time.Minute)
	in, de := DecodeTarget([]byte(`{"id":"zzz","timeout_ms":100,"unknown":"dropped"}`), true)
	is.True(de == nil)
	u, e := m.UpdateTarget(a.ID, in, later)
	is.True(e == nil)
	is.Equal(*u, Target{ID: a.ID, Name: "fixture", BaseURL: "http://127.0.0.1:9000", Enabled: true, TimeoutMS: 100,
		CreatedAt: a.CreatedAt, UpdatedAt: FormatTime(later)})
	data, _ := json.Marshal(u)
	is.Equal(keysOf(t, data), []string{"base_url", "created_at", "enabled", "id", "name", "timeout_ms", "updated_at"})
	_, e = m.UpdateTarget(a.ID, TargetInput{Name: ptr("B")}, later)
	is.Equal(e.Code, CodeDuplicateTarget)
	_, e = m.UpdateTarget(a.ID, TargetInput{Name: ptr("Fixture")}, later)
	is.True(e == nil) // its own name
	_, e = m.UpdateTarget(a.ID, TargetInput{BaseURL: ptr("gopher://x")}, later)
	is.Equal(e.Code, CodeInvalidTarget)
	_, e = m.UpdateTarget(a.ID, TargetInput{TimeoutMS: ptr(0)}, later)
	is.Equal(e.Message, msgTargetTimeout)
	_, e = m.UpdateTarget("nope", TargetInput{}, later)
	is.Equal(*e, Error{Kind: KindNotFound, Code: CodeNotFound, Message: "target not found"})

	snap := m.TargetSnapshot()
	is.Equal(snap.Len(), 3)
	got, ok := snap.Target(a.ID)
	is.True(ok)
	is.Equal(got.Name, "Fixture")
	is.True(m.DeleteTarget("b") == nil)
	is.Equal(m.DeleteTarget("b").Kind, KindNotFound)
	_, ok = snap.Target("b")
	is.True(ok) // an old snapshot is never modified
	_, ok = m.TargetSnapshot().Target("b")
	is.True(!ok)
	is.Equal(len(m.Targets()), 2)

	var nilSnap *TargetSnapshot
	_, ok = nilSnap.Target("x")
	is.True(!ok)
	is.Equal(nilSnap.Len(), 0)
	is.Equal(len(nilSnap.Targets()), 0)
}

func TestLoadTargets(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	notes, err := m.LoadTargets([]byte(`{"version":1,"targets":[
		{"id":"t1","name":"one","base_url":"http://a","timeout_ms":10,"extra":"dropped","created_at":"2026-01-01T00:00:00Z"},
		{"name":"no id","base_url":"http://a"},
		{"id":"t2","name":"ONE","base_url":"http://a"},
		{"id":"t3","name":"bad","base_url":"http://a","timeout_ms":"abc"},
		[]]}`), t0)
	is.NoErr(err)
	is.Equal(len(notes), 4)
	is.Equal(len(m.Targets()), 1)
	t1, _ := m.Target("t1")
	is.Equal(*t1, Target{ID: "t1", Name: "one", BaseURL: "http://a", Enabled: true, TimeoutMS: 10,
		CreatedAt: "2026-01-01T00:00:00Z", UpdatedAt: FormatTime(t0)})
	_, err = newTestModel().LoadTargets([]byte(`{"targets":{}}`), t0)
	var c errCorrupt
	is.True(errors.As(err, &c))
}

func TestActorTargetsDurableAndSnapshot(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	a := newActor(t, cfg)
	is.Equal(a.TargetSnapshot().Len(), 0) // published by New, before Run
	startActor(t, a)
	ctx := testCtx(t)

	x, err := a.CreateTarget(ctx, mustTarget(t, `{"name":"fixture","base_url":"http://127.0.0.1:9000"}`))
	is.NoErr(err)
	// Visible to the proxy without a round trip as soon as the call returns…
	got, ok := a.TargetSnapshot().Target(x.ID)
	is.True(ok)
	is.Equal(*got, x)
	// …and already on disk.
	var f struct {
		Version int      `json:"version"`
		Targets []Target `json:"targets"`
	}
	read := func() {
		data, err := os.ReadFile(cfg.TargetFile)
		is.NoErr(err)
		is.NoErr(json.Unmarshal(data, &f))
	}
	read()
	is.Equal(f.Version, 1)
	is.Equal(f.Targets, []Target{x})

	u, err := a.UpdateTarget(ctx, x.ID, TargetInput{Enabled: ptr(false)})
	is.NoErr(err)
	is.True(!u.Enabled)
	read()
	is.True(!f.Targets[0].Enabled)
	g, err := a.GetTarget(ctx, x.ID)
	is.NoErr(err)
	is.Equal(g, u)
	list, err := a.ListTargets(ctx)
	is.NoErr(err)
	is.Equal(list, []Target{u})
	_, err = a.CreateTarget(ctx, mustTarget(t, `{"name":"FIXTURE","base_url":"http://x"}`))
	is.Equal(KindOf(err), KindConflict)

	is.NoErr(a.DeleteTarget(ctx, x.ID))
	read()
	is.Equal(len(f.Targets), 0)
	_, ok = a.TargetSnapshot().Target(x.ID)
	is.True(!ok)
	_, err = a.GetTarget(ctx, x.ID)
	is.Equal(KindOf(err), KindNotFound)
	is.Equal(KindOf(a.DeleteTarget(ctx, x.ID)), KindNotFound)
	is.Equal(a.Stats().PersistWrites, uint64(3))
}

func TestActorTargetFileCorruptOrTooNew(t *testing.T) {
	is := is.New(t)
	cfg := scenarioActorConfig(t)
	is.NoErr(os.MkdirAll(filepath.Dir(cfg.TargetFile), 0o755))
	is.NoErr(os.WriteFile(cfg.TargetFile, []byte(`not json`), 0o600))
	a := newActor(t, cfg)
	is.Equal(a.TargetSnapshot().Len(), 0)
	data, err := os.ReadFile(fmt.Sprintf("%s.corrupt.%d", cfg.TargetFile, t0.Unix()))
	is.NoErr(err)
	is.Equal(string(data), "not json")

	is.NoErr(os.WriteFile(cfg.TargetFile, []byte(`{"version":2,"targets":[]}`), 0o600))
	_, err = New(cfg, nil)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "--target-state-file"))
}
