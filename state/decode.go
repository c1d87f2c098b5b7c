package state

// Lenient JSON decoding shared by every kind (mocks, scenarios, targets) and by the state
// files. A decoder reads one json.RawMessage and reports whether it had the wanted type; the
// caller turns false into its own error, naming the field. Rules common to all: a key whose
// value is null counts as absent (present); no helper panics, whatever the input. Values are
// read leniently; keys are not, for API input: the Decode* functions refuse a key their object
// does not know (UnknownField), while the state-file loader ignores it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The messages of invalid_json errors, shared by every JSON endpoint.
const (
	msgNotUTF8   = "body must be utf-8"
	msgNotJSON   = "body must be valid json"
	msgNotObject = "top-level json must be an object"
)

// DecodeJSONObject decodes a request body the way every JSON endpoint does:
// an empty (or all-whitespace) body is {}; invalid UTF-8, invalid JSON or a
// non-object top level is a KindInvalid invalid_json error with the spec's
// message. The returned values alias nothing in body.
func DecodeJSONObject(body []byte) (map[string]json.RawMessage, *Error) {
	if !utf8.Valid(body) {
		return nil, newErr(KindInvalid, CodeInvalidJSON, msgNotUTF8)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	if !json.Valid(trimmed) {
		return nil, newErr(KindInvalid, CodeInvalidJSON, msgNotJSON)
	}
	if trimmed[0] != '{' {
		return nil, newErr(KindInvalid, CodeInvalidJSON, msgNotObject)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, newErr(KindInvalid, CodeInvalidJSON, msgNotJSON)
	}
	return obj, nil
}

// UnknownField names the first key of obj (in byte order) that is not one of known, as the
// message `unknown field "key"`, or returns "" when every key is known. API input is checked
// with it so that a misspelled field is refused rather than silently ignored; state files are
// not (a file written by another build may hold fields this one does not know).
func UnknownField(obj map[string]json.RawMessage, known ...string) string {
	return unknownField(obj, "", known)
}

// unknownField is UnknownField with prefix ("expect.") before the key in the message.
func unknownField(obj map[string]json.RawMessage, prefix string, known []string) string {
	first, found := "", false
	for k := range obj {
		if !slices.Contains(known, k) && (!found || k < first) {
			first, found = k, true
		}
	}
	if !found {
		return ""
	}
	if len(first) > maxFieldNameInMessage {
		first = first[:maxFieldNameInMessage] + "…"
	}
	return "unknown field " + strconv.Quote(prefix+first)
}

// maxFieldNameInMessage bounds how much of an unknown field's name an error message repeats.
const maxFieldNameInMessage = 64

// present returns obj[key] when it exists and is not null.
func present(obj map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := obj[key]
	if !ok || string(bytes.TrimSpace(raw)) == "null" {
		return nil, false
	}
	return raw, true
}

// firstByte returns the first non-space byte of raw, or 0.
func firstByte(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func decodeString(raw json.RawMessage) (string, bool) {
	var s string
	if firstByte(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func decodeBool(raw json.RawMessage) (bool, bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

func decodeObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if firstByte(raw) != '{' || json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

func decodeArray(raw json.RawMessage) ([]json.RawMessage, bool) {
	var list []json.RawMessage
	if firstByte(raw) != '[' || json.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	if list == nil {
		list = []json.RawMessage{}
	}
	return list, true
}

// decodeNumber returns the literal of a JSON number, or false.
func decodeNumber(raw json.RawMessage) (string, bool) {
	c := firstByte(raw)
	if c != '-' && (c < '0' || c > '9') {
		return "", false
	}
	var num json.Number
	if json.Unmarshal(raw, &num) != nil {
		return "", false
	}
	return num.String(), true
}

// decodeInt accepts a JSON number with an integral value that fits in an
// int64 (5, 5.0, 5e2).
func decodeInt(raw json.RawMessage) (int64, bool) {
	v, exact, ok := decodeIntSat(raw)
	return v, ok && exact
}

// decodeIntSat accepts a JSON number with an integral value; one beyond the
// int64 range saturates (exact is false), so that range checks report it as
// too large rather than as not an integer.
func decodeIntSat(raw json.RawMessage) (v int64, exact, ok bool) {
	lit, ok := decodeNumber(raw)
	if !ok {
		return 0, false, false
	}
	if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return v, true, true
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !math.IsInf(f, 0) || f != math.Trunc(f) {
		return 0, false, false // a fraction, or a number too close to 0
	}
	switch {
	case f < -(1 << 63):
		return math.MinInt64, false, true
	case f >= 1<<63:
		return math.MaxInt64, false, true
	}
	return int64(f), true, true
}

// decodeIntOrString accepts what decodeIntSat accepts, and also a string holding a decimal
// integer with optional surrounding blanks ("201"): the original server used int(). A string
// beyond the int64 range saturates as a number does (exact false).
func decodeIntOrString(raw json.RawMessage) (v int64, exact, ok bool) {
	s, isStr := decodeString(raw)
	if !isStr {
		return decodeIntSat(raw)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return v, false, true // ParseInt saturates
	}
	return v, err == nil, err == nil
}

// decodeFloat accepts any finite JSON number.
func decodeFloat(raw json.RawMessage) (float64, bool) {
	lit, ok := decodeNumber(raw)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// decodeScalarText converts a string, number or boolean to text: a string
// as is, a number or boolean as its JSON literal.
func decodeScalarText(raw json.RawMessage) (string, bool) {
	if s, ok := decodeString(raw); ok {
		return s, true
	}
	if b, ok := decodeBool(raw); ok {
		return strconv.FormatBool(b), true
	}
	return decodeNumber(raw)
}

// decodeBodyText returns a string value verbatim, or any other JSON value as
// its compact JSON text.
func decodeBodyText(raw json.RawMessage) (string, bool) {
	if firstByte(raw) == '"' {
		return decodeString(raw)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return "", false
	}
	return buf.String(), true
}

// clampInt converts v to int, mapping values beyond ±1e9 to -1 so that a
// conversion can never wrap into a valid range.
func clampInt(v int64) int {
	if v < -1e9 || v > 1e9 {
		return -1
	}
	return int(v)
}

// decodeStamp returns obj[key] as a timestamp in our form (FormatTime), or def when it is
// absent, not a string or not an RFC 3339 time.
func decodeStamp(obj map[string]json.RawMessage, key, def string) string {
	if raw, ok := present(obj, key); ok {
		if s, ok := decodeString(raw); ok {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				return FormatTime(t)
			}
		}
	}
	return def
}
