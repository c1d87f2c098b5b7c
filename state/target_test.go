package state

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"
)

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
	is.Equal(bareTarget(*a), Target{ID: "00010203", Name: "fixture", BaseURL: "http://127.0.0.1:9000", Enabled: true, TimeoutMS: 5000,
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
	in, de := DecodeTarget([]byte(`{"id":"zzz","timeout_ms":100,"created_at":"ignored"}`), true)
	is.True(de == nil)
	u, e := m.UpdateTarget(a.ID, in, later)
	is.True(e == nil)
	is.Equal(bareTarget(*u), Target{ID: a.ID, Name: "fixture", BaseURL: "http://127.0.0.1:9000", Enabled: true, TimeoutMS: 100,
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
	is.Equal(bareTarget(*t1), Target{ID: "t1", Name: "one", BaseURL: "http://a", Enabled: true, TimeoutMS: 10,
		CreatedAt: "2026-01-01T00:00:00Z", UpdatedAt: FormatTime(t0)})
	_, err = newTestModel().LoadTargets([]byte(`{"targets":{}}`), t0)
	var c errCorrupt
	is.True(errors.As(err, &c))
}

// bareTarget is t without its hit counters (shared by pointer, so never equal to a fresh
// target's).
func bareTarget(t Target) Target {
	t.hits = nil
	return t
}
