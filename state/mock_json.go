package state

import "encoding/json"

// mockWire is a Mock's JSON form, in the original project's order (id, method,
// path_pattern, status, headers, body, content_type, created_at, updated_at) with ours
// after: a plain mock shows its answer's fields, a sequence shows responses and
// after_last instead.
type mockWire struct {
	ID          string             `json:"id"`
	Method      string             `json:"method"`
	PathPattern string             `json:"path_pattern,omitempty"`
	PathRegex   string             `json:"path_regex,omitempty"`
	Status      json.RawMessage    `json:"status,omitempty"`
	Headers     *map[string]string `json:"headers,omitempty"`
	Body        json.RawMessage    `json:"body,omitempty"`
	BodyBase64  string             `json:"body_base64,omitempty"`
	ContentType *string            `json:"content_type,omitempty"`
	CreatedAt   string             `json:"created_at"`
	UpdatedAt   string             `json:"updated_at"`
	Priority    int                `json:"priority,omitempty"`
	Match       json.RawMessage    `json:"match,omitempty"`
	Responses   []responseJSON     `json:"responses,omitempty"`
	AfterLast   string             `json:"after_last,omitempty"`
	Template    bool               `json:"template,omitempty"`
	Seed        *int64             `json:"seed,omitempty"`
	State       *stateWire         `json:"state,omitempty"`
	Latency     json.RawMessage    `json:"latency,omitempty"`
	Faults      json.RawMessage    `json:"faults,omitempty"`
	Source      string             `json:"source,omitempty"`
	// What the mock did, in a MockView only.
	Hits      *uint64   `json:"hits,omitempty"`
	LastHitAt string    `json:"last_hit_at,omitempty"`
	Sequence  *Sequence `json:"sequence,omitempty"`
}

// stateWire is a mock's state: the machine's current state beside it in a MockView.
type stateWire struct {
	MockState
	Current string `json:"current,omitempty"`
}

// MarshalJSON writes the mock as the API shows it and the store keeps it; DecodeMockInput
// reads it back to the same mock.
func (m Mock) MarshalJSON() ([]byte, error) {
	return json.Marshal(m.wire())
}

// MockView is a mock as the API shows it: its fields, how many requests it answered (since
// it was created or history last cleared) and when the last was, where a sequence stands
// and its state machine's current state.
type MockView struct{ Mock Mock }

// MarshalJSON writes the mock's fields, then hits, last_hit_at and sequence; its state
// gets current.
func (v MockView) MarshalJSON() ([]byte, error) {
	w := v.Mock.wire()
	n, last := v.Mock.Hits()
	w.Hits, w.LastHitAt, w.Sequence = &n, last, v.Mock.SequenceOf()
	if w.State != nil {
		w.State.Current = v.Mock.MachineNow()
	}
	return json.Marshal(w)
}

func (m *Mock) wire() mockWire {
	out := mockWire{ID: m.ID, Method: m.Method, PathPattern: m.PathPattern, PathRegex: m.PathRegex,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, Priority: m.Priority, Match: m.Match,
		AfterLast: m.AfterLast, Template: m.Template, Seed: m.Seed, Source: m.Source,
		Latency: m.Plan.LatencyJSON(), Faults: m.Plan.FaultsJSON()}
	if m.State != nil {
		out.State = &stateWire{MockState: *m.State}
	}
	if m.Responses != nil {
		out.Responses = make([]responseJSON, len(m.Responses))
		for i := range m.Responses {
			out.Responses[i] = m.Responses[i].toJSON()
		}
	} else {
		r := m.MockResponse.toJSON()
		out.Status, out.Headers, out.Body, out.BodyBase64, out.ContentType = r.Status, &r.Headers, r.Body, r.BodyBase64, &r.ContentType
	}
	return out
}
