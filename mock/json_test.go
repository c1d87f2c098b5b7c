package mock

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/matryer/is"
)

func TestDecodeJSON(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name    string
		body    string
		want    string // RenderJSON of the value, when no error
		wantErr string // substring of the error
	}{
		{name: "object", body: `{"b":1.50,"a":[true,null,"x"]}`, want: `{"a":[true,null,"x"],"b":1.50}`},
		{name: "scalar", body: `12345678901234567890`, want: `12345678901234567890`},
		{name: "null", body: `null`, want: `null`},
		{name: "surrounding whitespace", body: " \t\r\n[1] \n\t ", want: `[1]`},
		{name: "empty", body: ``, wantErr: "body is empty"},
		{name: "blank", body: "  \n", wantErr: "body is empty"},
		{name: "trailing garbage", body: `{"a":1}x`, wantErr: "body is not JSON: data after the value at offset 7"},
		{name: "second value", body: `1 2`, wantErr: "body is not JSON"},
		{name: "trailing bracket", body: `[1]]`, wantErr: "body is not JSON"},
		{name: "invalid", body: `{"a":}`, wantErr: "body is not JSON"},
		{name: "unterminated", body: `{"a":[1,2`, wantErr: "body is not JSON"},
		{name: "depth 64 accepted", body: nest(64), want: nest(64)},
		{name: "depth 65 refused", body: nest(65), wantErr: "body nests deeper than 64 levels"},
		{name: "mixed depth 65 refused", body: strings.Repeat(`{"a":[`, 32) + `{}` + strings.Repeat(`]}`, 32), wantErr: "deeper than 64"},
		{name: "hostile 100000 [", body: strings.Repeat("[", 100000), wantErr: "body nests deeper than 64 levels"},
		{name: "brackets in strings not counted", body: `["` + strings.Repeat("[{", 100) + `"]`, want: `["` + strings.Repeat("[{", 100) + `"]`},
		{name: "escaped quote keeps string open", body: `["\"` + strings.Repeat("[", 100) + `"]`, want: `["\"` + strings.Repeat("[", 100) + `"]`},
		{name: "escaped backslash closes string", body: `["\\",` + nest(64) + `]`, wantErr: "deeper than 64"},
		{name: "closers do not go negative", body: `]]]]` + nest(65), wantErr: "deeper than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			v, err := DecodeJSON([]byte(tt.body))
			if tt.wantErr != "" {
				is.True(err != nil) // want an error
				is.True(strings.Contains(err.Error(), tt.wantErr))
				is.Equal(v, nil)
				return
			}
			is.NoErr(err)
			is.Equal(RenderJSON(v), tt.want)
		})
	}
}

func TestDecodeJSONNumbersStayExact(t *testing.T) {
	is := is.New(t)
	v, err := DecodeJSON([]byte(`{"n":12345678901234567891}`))
	is.NoErr(err)
	is.Equal(v.(map[string]any)["n"], json.Number("12345678901234567891"))
}

// A body nested far past MaxJSONDepth is refused by the linear depth scan before any
// recursive decode (no clock: the error says which check refused it).
func TestDecodeJSONHostileIsRefusedByTheScan(t *testing.T) {
	is := is.New(t)
	body := []byte(strings.Repeat("[", 100000) + strings.Repeat(`{"a":`, 100000))
	_, err := DecodeJSON(body)
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "nests deeper than")) // the scan's error, not the decoder's
	is.Equal(JSONTooDeep(body, MaxJSONDepth), MaxJSONDepth)     // refused at the first bracket past the limit
}

func decodeForTest(t *testing.T, s string) any {
	t.Helper()
	v, err := DecodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestEqualJSON(t *testing.T) {
	const (
		strict  = 0
		order   = 1 // ignoreArrayOrder
		extra   = 2 // ignoreExtraFields
		lenient = order | extra
	)
	deep := func(n int, leaf string) string {
		return strings.Repeat(`{"a":[`, n/2) + leaf + strings.Repeat(`]}`, n/2)
	}
	tests := []struct {
		name             string
		expected, actual string
		flags            int
		want             bool
	}{
		{"1 vs 1.0", `1`, `1.0`, strict, true},
		{"1 vs 1e0", `1`, `1e0`, strict, true},
		{"1.0 vs 1E+0", `1.0`, `1E+0`, strict, true},
		{"100 vs 1e2", `100`, `1e2`, strict, true},
		{"0.5 vs 5e-1", `0.5`, `5e-1`, strict, true},
		{"0 vs -0", `0`, `-0.0`, strict, true},
		{"0 vs 0e99", `0`, `0e99`, strict, true},
		{"-1 vs 1", `-1`, `1`, strict, false},
		{"1 vs 2", `1`, `2`, strict, false},
		{"big integers differ", `12345678901234567890`, `12345678901234567891`, strict, false},
		{"big integers equal", `12345678901234567890`, `1234567890123456789e1`, strict, true},
		{"0.1 vs 0.10000000000000001", `0.1`, `0.10000000000000001`, strict, false},
		{"0.1 vs 0.100", `0.1`, `0.100`, strict, true},
		{"huge exponents", `1e1000000000`, `10e999999999`, strict, true},
		{"huge exponents differ", `1e1000000000`, `1e1000000001`, strict, false},
		{"exponents beyond int64", `1e99999999999999999999`, `10e99999999999999999998`, strict, true},
		{"exponents beyond int64 differ", `1e99999999999999999999`, `1e99999999999999999998`, strict, false},
		{"exponent beyond int64 vs small", `1e-99999999999999999999`, `0`, strict, false},
		{"string vs number", `"1"`, `1`, strict, false},
		{"number vs string", `1`, `"1"`, lenient, false},
		{"true vs 1", `true`, `1`, strict, false},
		{"null vs false", `null`, `false`, strict, false},
		{"null vs null", `null`, `null`, strict, true},
		{"strings", `"a\u00e9"`, `"aé"`, strict, true},
		{"strings differ", `"a"`, `"A"`, lenient, false},
		{"null vs missing", `{"a":null}`, `{}`, lenient, false},
		{"missing vs null", `{}`, `{"a":null}`, strict, false},
		{"missing vs null, extra ignored", `{}`, `{"a":null}`, extra, true},
		{"object vs array", `{}`, `[]`, lenient, false},
		{"nested objects equal", `{"a":{"b":[1,{"c":2}]}}`, `{"a":{"b":[1.0,{"c":2e0}]}}`, strict, true},
		{"nested extra field", `{"a":{"b":1}}`, `{"a":{"b":1,"c":2}}`, strict, false},
		{"nested extra field ignored", `{"a":{"b":1}}`, `{"a":{"b":1,"c":2},"d":3}`, extra, true},
		{"extra field in array element ignored", `[{"b":1}]`, `[{"b":1,"c":2}]`, extra, true},
		{"expected field missing", `{"a":1,"b":2}`, `{"a":1,"c":2}`, extra, false},
		{"arrays in order", `[1,2,3]`, `[1,2,3]`, strict, true},
		{"arrays out of order", `[1,2,3]`, `[3,1,2]`, strict, false},
		{"arrays out of order ignored", `[1,2,3]`, `[3,1,2]`, order, true},
		{"arrays with duplicates", `[1,1,2]`, `[1,2,2]`, order, false},
		{"arrays with duplicates reordered", `[1,1,2]`, `[2,1,1]`, order, true},
		{"arrays of different lengths", `[1,2]`, `[1,2,2]`, lenient, false},
		{"empty arrays", `[]`, `[]`, strict, true},
		{"nested arrays reordered", `[[1,2],[3,4]]`, `[[4,3],[2,1]]`, order, true},
		{"nested arrays reordered, strict", `[[1,2],[3,4]]`, `[[4,3],[2,1]]`, strict, false},
		{"greedy trap, both flags", `[{"a":1},{"a":1,"b":2}]`, `[{"a":1,"b":2},{"a":1}]`, lenient, true},
		{"greedy trap, extra only", `[{"a":1},{"a":1,"b":2}]`, `[{"a":1,"b":2},{"a":1}]`, extra, false},
		{"greedy trap, order only", `[{"a":1},{"a":1,"b":2}]`, `[{"a":1,"b":2},{"a":1}]`, order, true},
		{"augmenting path needed", `[{"a":1},{"a":1,"b":2},{"c":3}]`, `[{"a":1,"b":2,"c":3},{"a":1,"b":2},{"a":1,"c":3}]`, lenient, true},
		{"no perfect pairing", `[{"a":1},{"a":1,"b":2},{"b":2}]`, `[{"a":1,"b":2},{"a":1},{"a":1}]`, lenient, false},
		{"augmenting path found", `[{"a":1},{"a":1,"b":2},{"c":3}]`, `[{"a":1,"c":3},{"a":1,"b":2},{"c":3,"d":4}]`, lenient, true},
		{"depth 64 equal", deep(64, `1`), deep(64, `1.0`), strict, true},
		{"depth 64 differ", deep(64, `1`), deep(64, `2`), lenient, false},
		{"depth 64 wide differ", deep(62, `1,[2,3],[3,2]`), deep(62, `1,[3,2],[3,3]`), lenient, false},
		{"depth 64 wide equal", deep(62, `1,[2,3],[3,2]`), deep(62, `[3,2],[3,2],1`), lenient, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			e, a := decodeForTest(t, tt.expected), decodeForTest(t, tt.actual)
			is.Equal(EqualJSON(e, a, tt.flags&order != 0, tt.flags&extra != 0), tt.want)
		})
	}
}

func TestEqualJSONHandBuiltNumbers(t *testing.T) {
	loop := map[string]any{}
	loop["self"] = loop
	tests := []struct {
		name             string
		expected, actual any
		want             bool
	}{
		{"json.Number vs float64", json.Number("1.0"), 1.0, true},
		{"json.Number vs int", json.Number("1e1"), 10, true},
		{"json.Number vs int64", json.Number("12345678901234567"), int64(12345678901234567), true},
		{"int64 vs json.Number off by one", int64(12345678901234567), json.Number("12345678901234568"), false},
		{"float64 0.1 is decimal 0.1", 0.1, json.Number("0.1"), true},
		{"float64 vs int", 3.0, 3, true},
		{"float64 differ", 0.1, 0.2, false},
		{"int vs string", 1, "1", false},
		{"invalid json.Number", json.Number("1x"), json.Number("1x"), false},
		{"NaN", json.Number("1"), fakeNaN(), false},
		{"unsupported type", []string{"a"}, []string{"a"}, false},
		{"nested hand-built", map[string]any{"a": []any{1, 2.5}}, map[string]any{"a": []any{json.Number("1"), json.Number("25e-1")}}, true},
		{"cyclic values end", loop, loop, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			is.Equal(EqualJSON(tt.expected, tt.actual, true, true), tt.want)
		})
	}
}

func fakeNaN() float64 {
	zero := 0.0
	return zero / zero
}

func TestEqualJSONLargeUnorderedArrays(t *testing.T) {
	for _, n := range []int{1000, 1100} { // below and above the dense memo threshold
		for _, wrap := range []bool{false, true} {
			t.Run(fmt.Sprintf("n=%d objects=%v", n, wrap), func(t *testing.T) {
				is := is.New(t)
				elem := func(i int) any {
					if wrap {
						return map[string]any{"i": []any{i}}
					}
					return i
				}
				var e, a []any
				for i := range n { // rotated by one: out of order, within MaxJSONCompareSteps
					e = append(e, elem(i))
					a = append(a, elem((i+n-1)%n))
				}
				is.True(EqualJSON(e, a, true, false))
				is.True(!EqualJSON(e, a, false, false))
				a[0] = elem(n)
				is.True(!EqualJSON(e, a, true, false))
			})
		}
	}
}

func TestRenderJSON(t *testing.T) {
	long := func(r string, n int) any { return []any{strings.Repeat(r, n)} }
	tests := []struct {
		name string
		v    any
		want string // exact, or prefix when cut
		cut  bool
	}{
		{name: "sorted keys", v: map[string]any{"b": json.Number("1.50"), "a": []any{true, nil}}, want: `{"a":[true,null],"b":1.50}`},
		{name: "no html escaping", v: "<a&b>", want: `"<a&b>"`},
		{name: "scalar", v: nil, want: `null`},
		{name: "exactly 512 bytes", v: []any{strings.Repeat("x", 508)}, want: `["` + strings.Repeat("x", 508) + `"]`},
		{name: "ascii cut", v: []any{strings.Repeat("x", 1000)}, want: `["` + strings.Repeat("x", 507), cut: true},
		{name: "two-byte runes cut before a rune", v: long("é", 400), want: `["` + strings.Repeat("é", 253), cut: true},
		{name: "three-byte runes cut before a rune", v: long("€", 400), want: `["` + strings.Repeat("€", 169), cut: true},
		{name: "unrenderable", v: fakeNaN(), want: `NaN`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := is.New(t)
			got := RenderJSON(tt.v)
			is.True(len(got) <= 512)
			is.True(utf8.ValidString(got))
			if tt.cut {
				is.Equal(got, tt.want+"…")
				return
			}
			is.Equal(got, tt.want)
		})
	}
}
