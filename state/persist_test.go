package state

import (
	"errors"
	"testing"

	"github.com/matryer/is"
)

func TestLoadRejectsBadShapes(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		corrupt bool // else too new
	}{
		{"not json", `{"version":1,`, true},
		{"array", `[]`, true},
		{"null", `null`, true},
		{"string", `"x"`, true},
		{"mocks not a list", `{"version":1,"mocks":{},"history":[]}`, true},
		{"history not a list", `{"version":1,"mocks":[],"history":"x"}`, true},
		{"version not a number", `{"version":"1"}`, true},
		{"version fraction", `{"version":1.5}`, true},
		{"version 2", `{"version":2,"mocks":[],"history":[]}`, false},
		{"version huge", `{"version":99999}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			_, err := newTestModel().Load([]byte(tt.data), t0)
			is.True(err != nil)
			var c errCorrupt
			var n errTooNew
			is.Equal(errors.As(err, &c), tt.corrupt)
			is.Equal(errors.As(err, &n), !tt.corrupt)
		})
	}
}

func TestLoadKeepsValidSkipsInvalid(t *testing.T) {
	is := is.New(t)
	data := `{
	  "mocks": [
	    {"id":"ok1","method":"get","path_pattern":"/a","status":"201","headers":{"X-A":"1"},"body":"hi",
	     "content_type":"text/plain","created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-03T03:04:05+00:00"},
	    {"id":"noTS","method":"POST","path_pattern":"/b"},
	    "not an object",
	    {"method":"GET","path_pattern":"/noid"},
	    {"id":"bad status","method":"GET","path_pattern":"/c"},
	    {"id":"res","method":"GET","path_pattern":"/echo/x"},
	    {"id":"onexx","method":"GET","path_pattern":"/d","status":101},
	    {"id":"dup","method":"GET","path_pattern":"/a"},
	    {"id":"ok1","method":"PUT","path_pattern":"/z"},
	    {"id":"hdr","method":"GET","path_pattern":"/e","headers":{"X":"a\nb"}}
	  ],
	  "history": [
	    {"request_id":"r1","path":"/old"},
	    {"request_id":"r2","method":"GET","path":"/x?token=t","ts":"2026-01-01T00:00:00Z",
	     "replay_input":{"method":"GET","path":"/x","raw_target":"/x?token=t","http_version":"HTTP/1.1",
	                     "headers":{"Authorization":"Bearer t","host":"h"},"body":""}},
	    5,
	    {"request_id":"r3","replay_input":{}}
	  ]
	}`
	m := NewModel(Config{HistoryLimit: 3, Rand: &countingReader{}})
	notes, err := m.Load([]byte(data), t0)
	is.NoErr(err)
	is.Equal(len(m.Mocks()), 2)
	a, _ := m.Mock("ok1")
	is.Equal(a.Method, "GET")
	is.Equal(a.Status, 201)
	is.Equal(a.CreatedAt, "2026-01-02T03:04:05Z")
	is.Equal(a.UpdatedAt, "2026-01-03T03:04:05Z")
	is.Equal(string(a.HeaderLines), "Content-Type: text/plain\r\nX-A: 1\r\n")
	b, _ := m.Mock("noTS")
	is.Equal(b.CreatedAt, "2026-11-26T10:00:00Z") // missing timestamps become now
	skipped := map[int]bool{}
	for _, n := range notes {
		if n.What == "mock" {
			skipped[n.Index] = true
		}
	}
	is.Equal(skipped, map[int]bool{2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true, 9: true})

	// History trimmed to the newest 3 of the file (r2, 5, r3); 5 is skipped.
	h, _ := m.History(HistoryFilter{})
	is.Equal(len(h), 2)
	is.Equal(h[0].RequestID, "r2")
	is.Equal(h[0].Path, "/x?token=[redacted]")
	is.Equal(h[0].ReplayInput.RawTarget, "/x?token=[redacted]")
	is.Equal(h[0].ReplayInput.Headers["Authorization"], Redacted)
	is.Equal(h[1].RequestID, "r3")
	is.True(h[1].ReplayInput == nil)
	from, e := m.History(HistoryFilter{FromTS: "2025-12-31T00:00:00Z"})
	is.True(e == nil)
	is.Equal(len(from), 1) // r3 has no ts and never matches a time filter
}

func TestLoadEmptyAndMinimal(t *testing.T) {
	is := is.New(t)
	for _, data := range []string{`{}`, `{"version":1}`, `{"version":null,"mocks":null,"history":null}`, `{"version":0}`} {
		m := newTestModel()
		notes, err := m.Load([]byte(data), t0)
		is.NoErr(err)
		is.Equal(len(notes), 0)
		is.Equal(len(m.Mocks()), 0)
	}
}

// Loading stays lenient where the API is strict: entries written by another build may hold
// keys this one does not know, at any level; they load with those keys ignored, and nothing
// is set aside.
func TestLoadIgnoresUnknownKeys(t *testing.T) {
	is := is.New(t)
	m := newTestModel()
	notes, err := m.Load([]byte(`{"version":1,"mocks":[
		{"id":"m1","method":"GET","path_pattern":"/a","delay_ms":5,"description":"from a newer build"}]}`), t0)
	is.NoErr(err)
	is.Equal(len(notes), 0)
	is.Equal(len(m.Mocks()), 1)

	notes, err = m.LoadScenarios([]byte(`{"version":1,"scenarios":[{"id":"s1","name":"S","tags":["x"],
		"defaults":{"stop_on_fail":false,"retries":2},
		"steps":[{"method":"GET","path":"/","timeout_ms":5,"chaos":{"mode":"none","jitter":1},
		"expect":{"status":201,"json_path":"$.x"}}]}]}`), t0)
	is.NoErr(err)
	is.Equal(len(notes), 0)
	sc, ok := m.Scenario("s1")
	is.True(ok)
	is.Equal(sc.Defaults.StopOnFail, false)
	is.Equal(sc.Steps[0].Expect.Status, []int{201})

	notes, err = m.LoadTargets([]byte(`{"version":1,"targets":[
		{"id":"t1","name":"T","base_url":"http://h","headers":{"x":"y"}}]}`), t0)
	is.NoErr(err)
	is.Equal(len(notes), 0)
	_, ok = m.Target("t1")
	is.True(ok)
}
