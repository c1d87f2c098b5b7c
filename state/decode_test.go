package state

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/matryer/is"
)

func TestDecodeJSONObject(t *testing.T) {
	tests := []struct {
		name, body string
		wantMsg    string // "" means success
		wantKeys   int
	}{
		{"empty body is {}", "", "", 0},
		{"whitespace is {}", " \r\n\t", "", 0},
		{"object", `{"a":1,"b":2}`, "", 2},
		{"invalid utf-8", "{\"a\":\"\xff\"}", msgNotUTF8, 0},
		{"not json", `{"a":`, msgNotJSON, 0},
		{"trailing garbage", `{} x`, msgNotJSON, 0},
		{"array", `[1,2]`, msgNotObject, 0},
		{"string", `"x"`, msgNotObject, 0},
		{"number", `5`, msgNotObject, 0},
		{"null", `null`, msgNotObject, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			obj, e := DecodeJSONObject([]byte(tt.body))
			if tt.wantMsg == "" {
				is.True(e == nil)
				is.Equal(len(obj), tt.wantKeys)
				return
			}
			is.True(e != nil)
			is.Equal(e.Kind, KindInvalid)
			is.Equal(e.Code, CodeInvalidJSON)
			is.Equal(e.Message, tt.wantMsg)
		})
	}
}

// decodeIntOrString serves the mock status and the run seed: integral numbers, and strings
// holding a decimal integer; beyond int64 it saturates (not exact) instead of failing.
func TestDecodeIntOrString(t *testing.T) {
	tests := []struct {
		raw       string
		v         int64
		exact, ok bool
	}{
		{`201`, 201, true, true},
		{`2.01e2`, 201, true, true},
		{`"201"`, 201, true, true},
		{`" -7 "`, -7, true, true},
		{`"99999999999999999999"`, math.MaxInt64, false, true},
		{`"-99999999999999999999"`, math.MinInt64, false, true},
		{`1e400`, math.MaxInt64, false, true},
		{`1.5`, 0, false, false},
		{`"1.5"`, 0, false, false},
		{`"x"`, 0, false, false},
		{`true`, 0, false, false},
		{`[1]`, 0, false, false},
	}
	for _, tt := range tests {
		is := is.New(t)
		v, exact, ok := decodeIntOrString(json.RawMessage(tt.raw))
		is.Equal(ok, tt.ok)
		if ok {
			is.Equal(v, tt.v)
			is.Equal(exact, tt.exact)
		}
	}
}
