package state

import (
	"encoding/json"
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
	Status      *int
	Headers     map[string]string
	HasHeaders  bool
	Body        *string
	ContentType *string
	// Match is the request criteria object beyond method and path (mock.DecodeCriteria),
	// as given; HasMatch with a nil Match (a null "match") means none.
	Match    json.RawMessage
	HasMatch bool
	// Priority is 1 (the highest) to 1000; nil when absent or null.
	Priority *int
}

// mockKeys are the keys a mock payload may hold: the mock's fields, and what the API adds
// (timestamps, hit counts: ignored), so that a mock read from the API can be sent back as it is.
var mockKeys = []string{"id", "method", "path_pattern", "path_regex", "status", "headers", "body", "content_type",
	"match", "priority", "created_at", "updated_at", "hits", "last_hit_at"}

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
	if raw, ok := present(obj, "status"); ok {
		// Values far out of range become -1 (reported as out of range, not as "not an
		// integer"), so that the int conversion can never wrap into the valid range.
		v, _, ok := decodeIntOrString(raw)
		if !ok {
			return in, invalidMock(msgStatusInt)
		}
		st := clampInt(v)
		in.Status = &st
	}
	if _, ok := obj["headers"]; ok {
		in.HasHeaders = true
		if raw, ok := present(obj, "headers"); ok {
			hm, ok := decodeObject(raw)
			if !ok {
				return in, invalidMock(msgHeadersObj)
			}
			in.Headers = make(map[string]string, len(hm))
			for k, v := range hm {
				s, ok := decodeString(v)
				if !ok {
					return in, invalidMock(msgHeaderStr)
				}
				in.Headers[k] = s
			}
		}
	}
	if raw, ok := present(obj, "body"); ok {
		s, ok := decodeBodyText(raw)
		if !ok {
			return in, invalidMock("body must be valid json")
		}
		in.Body = &s
	}
	if in.ContentType, e = str("content_type", msgCT); e != nil {
		return in, e
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
	return in, nil
}
