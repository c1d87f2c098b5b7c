package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxJSONDepth is the deepest nesting of arrays and objects DecodeJSON accepts: `[[1]]` nests
// two levels. Everything that walks a decoded value (EqualJSON, RenderJSON, JSONPath.Select)
// recurses at most this deep on values DecodeJSON returned.
const MaxJSONDepth = 64

// jsonRenderMax is the longest text RenderJSON returns, in bytes, its "…" included.
const jsonRenderMax = 512

// DecodeJSON decodes a body holding exactly one JSON value, optionally surrounded by JSON
// whitespace. Numbers stay exact as json.Number; objects are map[string]any, arrays []any,
// and the rest string, bool or nil.
//
// A body nesting arrays and objects deeper than MaxJSONDepth is refused by a linear scan
// before any decoding, so a hostile body (100,000 `[`) costs one pass and no recursion.
// Errors carry a short lower-case message: "body is empty", "body is not JSON: …",
// "body nests deeper than 64 levels".
func DecodeJSON(body []byte) (any, error) {
	if err := jsonCheckDepth(body); err != nil {
		return nil, err
	}
	if len(bytes.TrimLeft(body, " \t\r\n")) == 0 {
		return nil, errors.New("body is empty")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %v", err)
	}
	off := dec.InputOffset()
	if rest := bytes.TrimLeft(body[off:], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("body is not JSON: data after the value at offset %d", int64(len(body)-len(rest)))
	}
	return v, nil
}

// jsonCheckDepth refuses a body whose arrays and objects nest deeper than MaxJSONDepth.
func jsonCheckDepth(body []byte) error {
	if JSONTooDeep(body, MaxJSONDepth) >= 0 {
		return fmt.Errorf("body nests deeper than %d levels", MaxJSONDepth)
	}
	return nil
}

// JSONTooDeep returns the offset of the first bracket or brace of data that opens level
// limit+1, or -1 when data nests no deeper than limit. It counts brackets and braces
// outside strings (a backslash in a string escapes the next byte) and leaves every other
// malformation to the decoder, so it can run before a decoder recurses.
func JSONTooDeep(data []byte, limit int) int {
	depth := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > limit {
				return i
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return -1
}

// EqualJSON reports whether actual matches expected, both decoded JSON values (as DecodeJSON
// returns them; hand-built values may also use float64, int and int64 for numbers).
//
// Numbers compare by exact decimal value: 1, 1.0 and 1e0 are equal, 12345678901234567890 and
// 12345678901234567891 are not. A float64 stands for its shortest decimal form (0.1 is the
// JSON number 0.1); NaN and infinities equal nothing. Strings, booleans and null compare by
// value and never equal a value of another type ("1" is not 1). An object key present in one
// object and missing in the other never matches, even when its value is null.
//
// With ignoreExtraFields, an actual object may hold keys the expected object lacks, at every
// depth. With ignoreArrayOrder, two arrays match when their elements can be paired one to one
// into matching pairs (found by bipartite matching, so no pairing is missed). Arrays of
// different lengths never match. Unordered comparison of two n-element arrays compares each
// pair of nested objects or arrays at most once (at most n² such comparisons) and scalars at
// worst n³ times; arrays already in the same order cost n comparisons.
//
// Recursion follows the nesting of the values, which DecodeJSON bounds to MaxJSONDepth;
// containers nested deeper than that (only hand-built values, or cyclic ones) never match.
//
// The work is bounded: a comparison that would look at more than MaxJSONCompareSteps pairs
// of values (large unordered arrays of large elements) stops and does not match, so that a
// request body cannot hold an event loop for long.
func EqualJSON(expected, actual any, ignoreArrayOrder, ignoreExtraFields bool) bool {
	c := jsonComparer{ignoreArrayOrder: ignoreArrayOrder, ignoreExtraFields: ignoreExtraFields, steps: MaxJSONCompareSteps}
	return c.equal(expected, actual, 0)
}

// MaxJSONCompareSteps bounds the pairs of values one EqualJSON looks at (a few
// milliseconds of work).
const MaxJSONCompareSteps = 1 << 20

type jsonComparer struct {
	ignoreArrayOrder, ignoreExtraFields bool
	steps                               int // pairs of values left to look at
}

// equal compares two values found depth containers deep.
func (c *jsonComparer) equal(expected, actual any, depth int) bool {
	if c.steps--; c.steps < 0 {
		return false
	}
	switch e := expected.(type) {
	case nil:
		return actual == nil
	case bool:
		a, ok := actual.(bool)
		return ok && a == e
	case string:
		a, ok := actual.(string)
		return ok && a == e
	case map[string]any:
		a, ok := actual.(map[string]any)
		if !ok || depth >= MaxJSONDepth {
			return false
		}
		if len(a) < len(e) || !c.ignoreExtraFields && len(a) != len(e) {
			return false
		}
		for k, ev := range e {
			av, ok := a[k]
			if !ok || !c.equal(ev, av, depth+1) {
				return false
			}
		}
		return true
	case []any:
		a, ok := actual.([]any)
		if !ok || depth >= MaxJSONDepth || len(a) != len(e) {
			return false
		}
		if c.ignoreArrayOrder {
			return c.pairArrays(e, a, depth+1)
		}
		for i := range e {
			if !c.equal(e[i], a[i], depth+1) {
				return false
			}
		}
		return true
	}
	en, ok := jsonNumberOf(expected)
	if !ok {
		return false
	}
	an, ok := jsonNumberOf(actual)
	return ok && en.equal(an)
}

// pairArrays reports whether the elements of e and a (of equal length n) pair up one to one
// into equal pairs: a perfect bipartite matching, grown one expected element at a time by
// augmenting paths (Kuhn's algorithm), searched with an explicit stack. A greedy pairing is
// not enough: with ignoreExtraFields one expected element may match several actual ones.
//
// Each pair of elements is compared at most once (comparisons are memoized), so nested
// arrays cost at most one comparison per pair of same-depth values, never an exponential
// number. Expected element i tries actual element i first, so arrays already in the same
// order cost n comparisons.
func (c *jsonComparer) pairArrays(e, a []any, depth int) bool {
	n := len(e)
	// Memoized comparisons of containers: 0 unknown, 1 equal, 2 different. A dense table for
	// small arrays, a map (growing only with the comparisons actually made) for large ones.
	var table []uint8
	var sparse map[int]uint8
	if n <= 1024 {
		table = make([]uint8, n*n)
	} else {
		sparse = make(map[int]uint8)
	}
	edge := func(i, j int) bool {
		if !jsonIsContainer(e[i]) || !jsonIsContainer(a[j]) {
			return c.equal(e[i], a[j], depth) // cheap: no need to remember
		}
		k := i*n + j
		var known uint8
		if table != nil {
			known = table[k]
		} else {
			known = sparse[k]
		}
		if known != 0 {
			return known == 1
		}
		known = 2
		if c.equal(e[i], a[j], depth) {
			known = 1
		}
		if table != nil {
			table[k] = known
		} else {
			sparse[k] = known
		}
		return known == 1
	}
	owner := make([]int, n) // owner[j] is the expected element paired with a[j], or -1
	for j := range owner {
		owner[j] = -1
	}
	visited := make([]bool, n)
	// A frame is expected element i looking for a partner: it has tried `tried` actual elements
	// (from i on, wrapping around) and currently goes through actual element via.
	type frame struct{ i, tried, via int }
	var stack []frame
	for start := range n {
		clear(visited)
		stack = append(stack[:0], frame{i: start, via: -1})
		found := false
		for len(stack) > 0 && !found {
			f := &stack[len(stack)-1]
			if f.tried == n {
				stack = stack[:len(stack)-1]
				continue
			}
			j := (f.i + f.tried) % n
			f.tried++
			if visited[j] || !edge(f.i, j) {
				continue
			}
			visited[j] = true
			f.via = j
			if owner[j] < 0 {
				for _, g := range stack {
					owner[g.via] = g.i
				}
				found = true
				break
			}
			stack = append(stack, frame{i: owner[j], via: -1})
		}
		if !found {
			return false
		}
	}
	return true
}

func jsonIsContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// jsonDecimal is an exact number: (-1)^neg × digits × 10^exp, digits without leading or
// trailing zeros (empty for zero, whose sign is ignored). bigExp holds the exponent instead of
// exp when it does not fit comfortably in an int64.
type jsonDecimal struct {
	neg    bool
	digits string
	exp    int64
	bigExp *big.Int
}

func (d jsonDecimal) equal(o jsonDecimal) bool {
	if d.digits == "" || o.digits == "" {
		return d.digits == o.digits
	}
	if d.neg != o.neg || d.digits != o.digits {
		return false
	}
	if d.bigExp == nil && o.bigExp == nil {
		return d.exp == o.exp
	}
	return d.exponent().Cmp(o.exponent()) == 0
}

func (d jsonDecimal) exponent() *big.Int {
	if d.bigExp != nil {
		return d.bigExp
	}
	return big.NewInt(d.exp)
}

// jsonNumberOf reads a number value: a json.Number holding a valid JSON number, or a
// float64 (its shortest decimal form, finite only), int or int64.
func jsonNumberOf(v any) (jsonDecimal, bool) {
	switch n := v.(type) {
	case json.Number:
		return jsonParseDecimal(string(n))
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return jsonDecimal{}, false
		}
		return jsonParseDecimal(strconv.FormatFloat(n, 'g', -1, 64))
	case int:
		return jsonParseDecimal(strconv.Itoa(n))
	case int64:
		return jsonParseDecimal(strconv.FormatInt(n, 10))
	}
	return jsonDecimal{}, false
}

// jsonParseDecimal parses the JSON number grammar (-?int(.frac)?([eE][+-]?digits)?, leading
// zeros tolerated) into its exact value. Exponents of any size cost their length, not their
// magnitude: nothing is ever scaled.
func jsonParseDecimal(s string) (jsonDecimal, bool) {
	var d jsonDecimal
	if strings.HasPrefix(s, "-") {
		d.neg = true
		s = s[1:]
	}
	intEnd := jsonDigitsEnd(s, 0)
	if intEnd == 0 {
		return d, false
	}
	mantissa, frac := s[:intEnd], ""
	i := intEnd
	if i < len(s) && s[i] == '.' {
		end := jsonDigitsEnd(s, i+1)
		if end == i+1 {
			return d, false
		}
		frac = s[i+1 : end]
		i = end
	}
	expText := "0"
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		start := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		end := jsonDigitsEnd(s, i)
		if end == i {
			return d, false
		}
		expText = s[start:end]
		i = end
	}
	if i != len(s) {
		return d, false
	}
	// The value is (mantissa frac) × 10^(expText - len(frac)); stripping k trailing zeros
	// from the digits adds k to the exponent.
	digits := strings.TrimLeft(mantissa+frac, "0")
	trimmed := strings.TrimRight(digits, "0")
	shift := int64(len(digits)-len(trimmed)) - int64(len(frac))
	d.digits = trimmed
	const small = 1 << 60 // |exponent| and |shift| below this cannot overflow when added
	if e, err := strconv.ParseInt(expText, 10, 64); err == nil && e > -small && e < small && shift > -small && shift < small {
		d.exp = e + shift
		return d, true
	}
	e, ok := new(big.Int).SetString(expText, 10)
	if !ok {
		return d, false
	}
	d.bigExp = e.Add(e, big.NewInt(shift))
	return d, true
}

// jsonDigitsEnd returns the index of the first non-digit of s at or after i.
func jsonDigitsEnd(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// RenderJSON returns the compact JSON text of a decoded value for reports: object keys
// sorted, no HTML escaping, cut to at most 512 bytes on a UTF-8 boundary with a trailing "…"
// when longer. A value JSON cannot represent (NaN, an invalid json.Number, a channel) renders
// as Go's %v form, cut the same way.
func RenderJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var s string
	if err := enc.Encode(v); err != nil {
		s = fmt.Sprintf("%v", v)
	} else {
		s = strings.TrimSuffix(buf.String(), "\n")
	}
	if len(s) <= jsonRenderMax {
		return s
	}
	const ellipsis = "…"
	i := jsonRenderMax - len(ellipsis)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + ellipsis
}
