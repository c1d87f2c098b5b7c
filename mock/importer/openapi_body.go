package importer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// namedExample is one of a media type's named examples.
type namedExample struct {
	name  string
	value any
}

// openAPIAnswer builds the answer fields of a response (status, content_type, headers, body),
// its named examples and what it leaves out.
func openAPIAnswer(r response, rng *rand.Rand) (map[string]any, []namedExample, []string) {
	ans := map[string]any{"status": r.status}
	var un []string
	headers := map[string]string{}
	names := make([]string, 0, len(r.r.Headers))
	for n := range r.r.Headers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		h := r.r.Headers[n]
		if h == nil || h.Value == nil {
			continue
		}
		if lower := strings.ToLower(n); serverHeaders[lower] || lower == "content-type" || !isToken(n) {
			un = append(un, fmt.Sprintf("header %s: the server writes it, or it is not a valid field name", n))
			continue
		}
		var v any
		switch {
		case h.Value.Example != nil:
			v = h.Value.Example
		case h.Value.Schema != nil && h.Value.Schema.Value != nil:
			v = generate(h.Value.Schema.Value, rng, 0)
		default:
			continue
		}
		if s, ok := v.(string); ok {
			headers[n] = s
		} else {
			b, _ := json.Marshal(v)
			headers[n] = string(b)
		}
	}
	if len(headers) > 0 {
		ans["headers"] = headers
	}
	if len(r.r.Content) == 0 || r.status == 204 || r.status == 304 {
		return ans, nil, un
	}
	types := make([]string, 0, len(r.r.Content))
	for t := range r.r.Content {
		types = append(types, t)
	}
	slices.Sort(types)
	ct := types[0]
	for _, t := range types {
		if isJSONType(t) {
			ct = t
			break
		}
	}
	if len(types) > 1 {
		un = append(un, fmt.Sprintf("content types other than %s are not mocked (%s)", ct, strings.Join(slices.DeleteFunc(slices.Clone(types), func(t string) bool { return t == ct }), ", ")))
	}
	mt := r.r.Content[ct]
	contentType := ct
	if strings.Contains(ct, "*") {
		contentType = "application/json"
	}
	ans["content_type"] = contentType
	var examples []namedExample
	exNames := make([]string, 0, len(mt.Examples))
	for n := range mt.Examples {
		exNames = append(exNames, n)
	}
	slices.Sort(exNames)
	for _, n := range exNames {
		ex := mt.Examples[n]
		if ex == nil || ex.Value == nil {
			continue
		}
		if ex.Value.ExternalValue != "" && ex.Value.Value == nil {
			un = append(un, fmt.Sprintf("example %s: externalValue is not fetched", n))
			continue
		}
		examples = append(examples, namedExample{name: n, value: ex.Value.Value})
	}
	var body any
	var s *openapi3.Schema
	if mt.Schema != nil {
		s = mt.Schema.Value
	}
	switch {
	case mt.Example != nil:
		body = mt.Example
	case len(examples) > 0:
		body = examples[0].value
	case s != nil:
		body = generate(s, rng, 0)
	default:
		return ans, examples, un
	}
	setBody(ans, body, contentType)
	return ans, examples, un
}

// setBody sets a mock's body from an example value: JSON text for a JSON content type, a
// string verbatim otherwise.
func setBody(ans map[string]any, v any, contentType any) {
	ct, _ := contentType.(string)
	if s, ok := v.(string); ok && !isJSONType(ct) {
		ans["body"] = s
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("null")
	}
	ans["body"] = string(b)
}

func isJSONType(t string) bool {
	t = strings.ToLower(strings.TrimSpace(strings.Split(t, ";")[0]))
	return t == "application/json" || strings.HasSuffix(t, "+json") || t == "*/*" || t == "application/*"
}

// maxGenDepth bounds generated values (schemas may be recursive).
const maxGenDepth = 8

var words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}

// generate makes a value the schema accepts, from rng: its const, example, first
// examples entry, default or an enum value when it has one; else one built from its type.
func generate(s *openapi3.Schema, rng *rand.Rand, depth int) any {
	if s == nil || depth > maxGenDepth {
		return nil
	}
	switch {
	case s.Const != nil:
		return s.Const
	case s.Example != nil:
		return s.Example
	case len(s.Examples) > 0:
		return s.Examples[0]
	case s.Default != nil:
		return s.Default
	case len(s.Enum) > 0:
		return s.Enum[rng.IntN(len(s.Enum))]
	}
	for _, alt := range [][]*openapi3.SchemaRef{s.OneOf, s.AnyOf} {
		if len(alt) > 0 && alt[0] != nil {
			return generate(alt[0].Value, rng, depth+1)
		}
	}
	if len(s.AllOf) > 0 {
		out := map[string]any{}
		for _, part := range s.AllOf {
			if part == nil {
				continue
			}
			if m, ok := generate(part.Value, rng, depth+1).(map[string]any); ok {
				maps(out, m)
			}
		}
		if len(s.Properties) > 0 {
			if m, ok := generateObject(s, rng, depth).(map[string]any); ok {
				maps(out, m)
			}
		}
		return out
	}
	typ := ""
	if s.Type != nil {
		for _, t := range s.Type.Slice() {
			if t != "null" {
				typ = t
				break
			}
		}
		if typ == "" && s.Type.Includes("null") {
			return nil
		}
	}
	if typ == "" {
		switch {
		case len(s.Properties) > 0:
			typ = "object"
		case s.Items != nil:
			typ = "array"
		default:
			typ = "string"
		}
	}
	switch typ {
	case "object":
		return generateObject(s, rng, depth)
	case "array":
		n := int(s.MinItems)
		if n == 0 {
			n = 1
		}
		n = min(n, 3)
		out := make([]any, 0, n)
		for range n {
			var item *openapi3.Schema
			if s.Items != nil {
				item = s.Items.Value
			}
			out = append(out, generate(item, rng, depth+1))
		}
		return out
	case "integer":
		lo, hi := 1.0, 1000.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		if hi < lo {
			hi = lo
		}
		return int64(lo) + rng.Int64N(int64(hi-lo)+1)
	case "number":
		lo, hi := 0.0, 1000.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		if hi < lo {
			hi = lo
		}
		return float64(int64((lo+rng.Float64()*(hi-lo))*100)) / 100
	case "boolean":
		return rng.IntN(2) == 1
	}
	return generateString(s, rng)
}

func generateObject(s *openapi3.Schema, rng *rand.Rand, depth int) any {
	out := map[string]any{}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := s.Properties[n]
		if p == nil || p.Value == nil || p.Value.WriteOnly {
			continue
		}
		if depth+1 > maxGenDepth && !slices.Contains(s.Required, n) {
			continue
		}
		out[n] = generate(p.Value, rng, depth+1)
	}
	return out
}

func generateString(s *openapi3.Schema, rng *rand.Rand) string {
	var v string
	switch s.Format {
	case "date-time":
		v = fmt.Sprintf("2026-%02d-%02dT%02d:%02d:00Z", 1+rng.IntN(12), 1+rng.IntN(28), rng.IntN(24), rng.IntN(60))
	case "date":
		v = fmt.Sprintf("2026-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28))
	case "uuid":
		b := make([]byte, 16)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
		v = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	case "email":
		v = words[rng.IntN(len(words))] + "@example.com"
	case "uri", "url":
		v = "https://example.com/" + words[rng.IntN(len(words))]
	default:
		v = words[rng.IntN(len(words))]
	}
	for uint64(len(v)) < s.MinLength {
		v += "x"
	}
	if s.MaxLength != nil && uint64(len(v)) > *s.MaxLength {
		v = v[:*s.MaxLength]
	}
	return v
}
