package mock

import (
	"bytes"
	"unicode/utf8"
)

// Reading a definite JSON path straight from the request body's text.
//
// Decoding a body into maps costs far more than rendering a template, so jsonPath on a
// body nothing has decoded yet takes another way when its path is definite (each step
// one name or index): the body is validated as DecodeJSON would accept it (json.Valid
// and the same depth limit, once per render) and the path walked over the text, without
// allocating. A scalar found there is used in place; an object, an array, a string with
// escapes or invalid UTF-8, or such a key on the way sends the helper to the decoded
// document after all.
// Duplicate keys resolve as decoding does: the last one wins.

// bodySelect finds the value a definite path selects in the request body's text, as
// rawSelect does, and reports whether the body is a JSON document DecodeJSON accepts.
// The first call of a render validates the body and finds the value in one pass
// (selectValid) and remembers the body's validity; later calls only walk to the value.
func (r *renderer) bodySelect(p *JSONPath) (v []byte, valid, found, fallback bool) {
	switch {
	case r.bodyState < 0:
		return nil, false, false, false
	case r.bodyState == 0:
		r.bodyState = -1
		var ok bool
		if v, ok, found, fallback = selectValid(r.q.body, p); !ok {
			return nil, false, false, false
		}
		r.bodyState = 1
		return v, true, found, fallback
	}
	v, found, fallback = rawSelect(r.q.body, p)
	return v, true, found, fallback
}

// selectValid is jsonValid and rawSelect in one pass over doc: valid is what jsonValid
// reports and, when doc is valid, v, found and fallback are what rawSelect returns.
func selectValid(doc []byte, p *JSONPath) (v []byte, valid, found, fallback bool) {
	for si := range p.steps {
		if it := &p.steps[si].items[0]; it.isIndex && it.index < 0 {
			// Which element a negative index selects is known only at the array's end:
			// validate, then walk.
			if !jsonValid(doc) {
				return nil, false, false, false
			}
			v, found, fallback = rawSelect(doc, p)
			return v, true, found, fallback
		}
	}
	i, ok, sel := jsonSelectValue(doc, skipWS(doc, 0), 0, p.steps)
	if !ok || skipWS(doc, i) != len(doc) {
		return nil, false, false, false
	}
	if sel.found {
		v = doc[sel.start:sel.end]
	}
	return v, true, sel.found, sel.fallback
}

// rawSel is what a path selects below a value: the selected value's bounds when found.
type rawSel struct {
	start, end      int
	found, fallback bool
}

// jsonSelectValue is jsonValidValue for a value on the path, steps being the steps
// still to take from it (none or a name or a non-negative index each): it validates the
// value and returns, as rawSelect would find it, what the steps select below it. Values
// off the path are validated by jsonValidValue.
func jsonSelectValue(d []byte, i, depth int, steps []jpStep) (int, bool, rawSel) {
	if len(steps) == 0 {
		end, ok := jsonValidValue(d, i, depth)
		return end, ok, rawSel{start: i, end: end, found: true}
	}
	if i >= len(d) {
		return i, false, rawSel{}
	}
	it := &steps[0].items[0]
	c := d[i]
	if c == '{' && it.isIndex || c == '[' && !it.isIndex || c != '{' && c != '[' {
		// Nothing selected below: only validate.
		end, ok := jsonValidValue(d, i, depth)
		return end, ok, rawSel{}
	}
	if depth >= MaxJSONDepth {
		return i, false, rawSel{}
	}
	end := byte('}')
	if c == '[' {
		end = ']'
	}
	var sel rawSel
	escaped := false
	i = skipWS(d, i+1)
	if i < len(d) && d[i] == end {
		return i + 1, true, sel
	}
	for k := 0; ; k++ {
		var ok bool
		on := c == '[' && k == it.index
		if c == '{' {
			if i >= len(d) || d[i] != '"' {
				return i, false, sel
			}
			ks := i
			if i, ok = jsonValidString(d, i); !ok {
				return i, false, sel
			}
			key := d[ks+1 : i-1]
			if !plainText(key) {
				escaped = true
			} else {
				on = string(key) == it.name
			}
			i = skipWS(d, i)
			if i >= len(d) || d[i] != ':' {
				return i, false, sel
			}
			i = skipWS(d, i+1)
		}
		if on {
			// The last duplicate key wins.
			if i, ok, sel = jsonSelectValue(d, i, depth+1, steps[1:]); !ok {
				return i, false, sel
			}
		} else if i, ok = jsonValidValue(d, i, depth+1); !ok {
			return i, false, sel
		}
		i = skipWS(d, i)
		switch {
		case i < len(d) && d[i] == ',':
			i = skipWS(d, i+1)
		case i < len(d) && d[i] == end:
			if escaped {
				sel = rawSel{fallback: true}
			}
			return i + 1, true, sel
		default:
			return i, false, sel
		}
	}
}

// rawSelect finds the value a definite path selects in valid JSON text. found is false
// when nothing is selected; fallback is set when the text cannot be read in place (a key
// on the way that is not plainText: escaped, or not valid UTF-8).
func rawSelect(doc []byte, p *JSONPath) (v []byte, found, fallback bool) {
	i := skipWS(doc, 0)
	for si := range p.steps {
		it := &p.steps[si].items[0]
		if i >= len(doc) {
			return nil, false, false
		}
		switch doc[i] {
		case '{':
			if it.isIndex {
				return nil, false, false
			}
			at := -1
			i = skipWS(doc, i+1)
			for i < len(doc) && doc[i] != '}' {
				kEnd := skipString(doc, i)
				key := doc[i+1 : kEnd-1]
				if !plainText(key) {
					return nil, false, true
				}
				i = skipWS(doc, kEnd)
				i = skipWS(doc, i+1) // the ':'
				if string(key) == it.name {
					at = i
				}
				i = skipWS(doc, skipValue(doc, i))
				if i < len(doc) && doc[i] == ',' {
					i = skipWS(doc, i+1)
				}
			}
			if at < 0 {
				return nil, false, false
			}
			i = at
		case '[':
			if !it.isIndex {
				return nil, false, false
			}
			want := it.index
			if want < 0 {
				n := 0
				for j := skipWS(doc, i+1); j < len(doc) && doc[j] != ']'; n++ {
					j = skipWS(doc, skipValue(doc, j))
					if j < len(doc) && doc[j] == ',' {
						j = skipWS(doc, j+1)
					}
				}
				want += n
				if want < 0 {
					return nil, false, false
				}
			}
			i = skipWS(doc, i+1)
			for k := 0; ; k++ {
				if i >= len(doc) || doc[i] == ']' {
					return nil, false, false
				}
				if k == want {
					break
				}
				i = skipWS(doc, skipValue(doc, i))
				if i < len(doc) && doc[i] == ',' {
					i = skipWS(doc, i+1)
				}
			}
		default:
			return nil, false, false
		}
	}
	if i >= len(doc) {
		return nil, false, false
	}
	return doc[i:skipValue(doc, i)], true, false
}

func skipWS(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\r' || doc[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the end of the string starting at doc[i] ('"'), past its quote.
func skipString(doc []byte, i int) int {
	for i++; i < len(doc); i++ {
		switch doc[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(doc)
}

// skipValue returns the end of the (valid) value starting at doc[i].
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return i
	}
	switch doc[i] {
	case '"':
		return skipString(doc, i)
	case '{', '[':
		depth := 0
		for ; i < len(doc); i++ {
			switch doc[i] {
			case '"':
				i = skipString(doc, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(doc) && doc[i] != ',' && doc[i] != '}' && doc[i] != ']' && doc[i] != ' ' && doc[i] != '\t' && doc[i] != '\r' && doc[i] != '\n' {
		i++
	}
	return i
}

// plainText reports whether the text of a JSON string (between its quotes) is the string
// itself: no escapes, and valid UTF-8 (decoding replaces each invalid byte with U+FFFD).
func plainText(s []byte) bool {
	return bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s)
}

// rawValue turns a scalar found by rawSelect into a value; ok is false for what must be
// decoded (objects, arrays, strings with escapes).
func rawValue(b []byte) (v val, ok bool) {
	switch b[0] {
	case '"':
		s := b[1 : len(b)-1]
		if !plainText(s) {
			return val{}, false
		}
		return bytesVal(s), true
	case '{', '[':
		return val{}, false
	case 't':
		return boolVal(true), true
	case 'f':
		return boolVal(false), true
	case 'n':
		return val{k: kNull}, true
	}
	return val{k: kNum, b: b}, true
}

// jsonValid reports whether doc is exactly one JSON value (surrounded by JSON
// whitespace) nesting at most MaxJSONDepth levels: the documents DecodeJSON accepts.
// It recurses once per level of nesting, so at most MaxJSONDepth deep.
func jsonValid(doc []byte) bool {
	i, ok := jsonValidValue(doc, skipWS(doc, 0), 0)
	return ok && skipWS(doc, i) == len(doc)
}

func jsonValidValue(d []byte, i, depth int) (int, bool) {
	if i >= len(d) {
		return i, false
	}
	switch c := d[i]; c {
	case '{', '[':
		if depth >= MaxJSONDepth {
			return i, false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		i = skipWS(d, i+1)
		if i < len(d) && d[i] == end {
			return i + 1, true
		}
		for {
			var ok bool
			if c == '{' {
				if i >= len(d) || d[i] != '"' {
					return i, false
				}
				if i, ok = jsonValidString(d, i); !ok {
					return i, false
				}
				i = skipWS(d, i)
				if i >= len(d) || d[i] != ':' {
					return i, false
				}
				i = skipWS(d, i+1)
			}
			if i, ok = jsonValidValue(d, i, depth+1); !ok {
				return i, false
			}
			i = skipWS(d, i)
			switch {
			case i < len(d) && d[i] == ',':
				i = skipWS(d, i+1)
			case i < len(d) && d[i] == end:
				return i + 1, true
			default:
				return i, false
			}
		}
	case '"':
		return jsonValidString(d, i)
	case 't':
		return i + 4, bytes.HasPrefix(d[i:], []byte("true"))
	case 'f':
		return i + 5, bytes.HasPrefix(d[i:], []byte("false"))
	case 'n':
		return i + 4, bytes.HasPrefix(d[i:], []byte("null"))
	}
	// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
	if d[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			return i, false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			return i, false
		}
	}
	return i, true
}

// jsonValidString checks the string starting at d[i] ('"') and returns its end.
func jsonValidString(d []byte, i int) (int, bool) {
	for i++; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			i++
			if i >= len(d) {
				return i, false
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d) || !isHex(d[i+1]) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) {
					return i, false
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}
