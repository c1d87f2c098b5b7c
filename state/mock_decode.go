package state

import (
	"encoding/json"
	"strconv"
)

// MockInput is a decoded, type-checked mock payload whose values are not yet
// validated. A nil field (or HasHeaders false) means the key was absent or
// null: on create the default applies, on update the old value is kept. A null
// "headers" sets HasHeaders with a nil map, meaning "no headers".
type MockInput struct {
	ID          *string
	Method      *string
	PathPattern *string
	PathRegex   *string
	// ResponseInput is a plain mock's answer.
	ResponseInput
	// Responses are a sequence's answers; HasResponses with nil Responses (a null
	// "responses") makes the mock plain again.
	Responses    []ResponseInput
	HasResponses bool
	AfterLast    *string
	Template     *bool
	// Seed: HasSeed with a nil Seed (a null "seed") means the server's seed.
	Seed    *int64
	HasSeed bool
	// State: HasState with a nil State (a null "state") unties the mock from its machine.
	State    *MockState
	HasState bool
	// Match is the request criteria object beyond method and path (mock.DecodeCriteria),
	// as given; HasMatch with a nil Match (a null "match") means none.
	Match    json.RawMessage
	HasMatch bool
	// Priority is 1 (the highest) to 1000; nil when absent or null.
	Priority *int
	// Latency and Faults are the mock's wire plan (mock.DecodePlanParts), as given;
	// HasLatency or HasFaults with a nil value (null) removes that part.
	Latency, Faults       json.RawMessage
	HasLatency, HasFaults bool
}

// mockKeys are the keys a mock payload may hold: the mock's fields, and what the API adds
// (timestamps, hit counts: ignored), so that a mock read from the API can be sent back as it is.
var mockKeys = []string{"id", "method", "path_pattern", "path_regex", "status", "headers", "body", "body_base64",
	"content_type", "match", "priority", "responses", "after_last", "template", "seed", "state",
	"latency", "faults", "created_at", "updated_at", "hits", "last_hit_at", "sequence"}

// DecodeMockInput decodes a POST or PUT /api/mocks body. An unknown key is an
// invalid_mock error naming it (`unknown field "staus"`). Every wrong JSON type is a
// KindInvalid error (invalid_json for the body as a whole, invalid_mock for a field); it
// never panics. (Mocks loaded from a state file go through mockInputFromObject alone:
// unknown keys there are ignored.)
//
// Types accepted: id string; method string; path_pattern string; status an
// integral number or a string holding a decimal integer (the original used
// int()); headers an object of strings, or null for none; body any JSON value
// (a string is kept verbatim, anything else as its compact JSON text);
// content_type string. null for any other field counts as absent.
func DecodeMockInput(body []byte) (MockInput, *Error) {
	obj, err := DecodeJSONObject(body)
	if err != nil {
		return MockInput{}, err
	}
	if msg := UnknownField(obj, mockKeys...); msg != "" {
		return MockInput{}, invalidMock(msg)
	}
	return mockInputFromObject(obj)
}

func mockInputFromObject(obj map[string]json.RawMessage) (MockInput, *Error) {
	var in MockInput
	str := func(key, msg string) (*string, *Error) {
		raw, ok := present(obj, key)
		if !ok {
			return nil, nil
		}
		s, ok := decodeString(raw)
		if !ok {
			return nil, invalidMock(msg)
		}
		return &s, nil
	}
	var e *Error
	if in.ID, e = str("id", "id must be a string"); e != nil {
		return in, e
	}
	if in.Method, e = str("method", msgMethod); e != nil {
		return in, e
	}
	if in.PathPattern, e = str("path_pattern", msgPathSlash); e != nil {
		return in, e
	}
	if in.PathRegex, e = str("path_regex", "path_regex must be a string"); e != nil {
		return in, e
	}
	if in.PathRegex != nil && *in.PathRegex == "" {
		return in, invalidMock("path_regex must be a non-empty RE2 regex")
	}
	if in.ResponseInput, e = decodeResponseInput(obj, ""); e != nil {
		return in, e
	}
	if _, ok := obj["responses"]; ok {
		in.HasResponses = true
		if raw, ok := present(obj, "responses"); ok {
			if in.Responses, e = decodeResponses(raw); e != nil {
				return in, e
			}
			if in.ResponseInput.given() {
				return in, invalidMock("give responses or status, headers, body, body_base64 and content_type, not both")
			}
		}
	}
	if raw, ok := present(obj, "after_last"); ok {
		s, ok := decodeString(raw)
		if !ok || s != AfterLastRepeat && s != AfterLastLoop && s != AfterLastNotFound {
			return in, invalidMock(msgAfterLast)
		}
		in.AfterLast = &s
	}
	if raw, ok := present(obj, "template"); ok {
		b, ok := decodeBool(raw)
		if !ok {
			return in, invalidMock("template must be true or false")
		}
		in.Template = &b
	}
	if _, ok := obj["seed"]; ok {
		in.HasSeed = true
		if raw, ok := present(obj, "seed"); ok {
			v, exact, ok := decodeIntSat(raw)
			if !ok || !exact {
				return in, invalidMock("seed must be an integer")
			}
			in.Seed = &v
		}
	}
	if _, ok := obj["state"]; ok {
		in.HasState = true
		if raw, ok := present(obj, "state"); ok {
			if in.State, e = decodeMockState(raw); e != nil {
				return in, e
			}
		}
	}
	if raw, ok := present(obj, "priority"); ok {
		v, _, ok := decodeIntOrString(raw)
		if !ok {
			return in, invalidMock(msgPriority)
		}
		p := clampInt(v)
		if p < 1 || p > maxPriority {
			return in, invalidMock(msgPriority)
		}
		in.Priority = &p
	}
	if _, ok := obj["match"]; ok {
		in.HasMatch = true
		if raw, ok := present(obj, "match"); ok {
			in.Match = raw
		}
	}
	if _, ok := obj["latency"]; ok {
		in.HasLatency = true
		in.Latency, _ = present(obj, "latency")
	}
	if _, ok := obj["faults"]; ok {
		in.HasFaults = true
		in.Faults, _ = present(obj, "faults")
	}
	return in, nil
}

// decodeResponses decodes a sequence's "responses": a non-empty list of response objects.
func decodeResponses(raw json.RawMessage) ([]ResponseInput, *Error) {
	var list []json.RawMessage
	if firstByte(raw) != '[' || json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return nil, invalidMock("responses must be a non-empty list of responses")
	}
	out := make([]ResponseInput, len(list))
	for i, item := range list {
		prefix := "responses[" + strconv.Itoa(i) + "]."
		obj, ok := decodeObject(item)
		if !ok {
			return nil, invalidMock(prefix[:len(prefix)-1] + " must be an object")
		}
		if msg := UnknownField(obj, responseKeys...); msg != "" {
			return nil, invalidMock(prefix[:len(prefix)-1] + ": " + msg)
		}
		in, e := decodeResponseInput(obj, prefix)
		if e != nil {
			return nil, e
		}
		out[i] = in
	}
	return out, nil
}
