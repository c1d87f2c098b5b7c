package mock

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// vkind is the kind of a template value.
type vkind uint8

const (
	kMissing vkind = iota // undefined: renders as nothing, falsy
	kNull                 // null (a literal, a JSON null)
	kString
	kBytes // a view of request data (or of the render's arena)
	kInt
	kFloat
	kNum  // a number as decimal text (JSON numbers, decimal literals)
	kBool // n is 1 for true
	kJSON // x is a decoded JSON object (map[string]any) or array ([]any)
	kList // x is []val; n is 1 for a one-or-many list (renders its first element)
	kMap  // x is *vmap
	kDate // x is *dateVal
	kReq  // a request node: rk
	kMulti
	kRoot // the root context
)

// reqKind names a request node (kReq) or the source of a one-or-many field (kMulti).
type reqKind uint8

const (
	reqRoot reqKind = iota
	reqPath
	reqQuery
	reqHeaders
	reqCookies
	reqBody
)

// val is a template value. Views (b) stay valid for the render.
type val struct {
	k  vkind
	rk reqKind
	n  int64
	f  float64
	s  string
	b  []byte // kBytes; kNum's text when it is a view
	x  any
}

// vmap is an object a helper built (formData): keys in insertion order.
type vmap struct {
	keys []string
	vals []val
}

func (m *vmap) get(k string) (val, bool) {
	for i, key := range m.keys {
		if key == k {
			return m.vals[i], true
		}
	}
	return val{}, false
}

func (m *vmap) set(k string, v val) {
	for i, key := range m.keys {
		if key == k {
			m.vals[i] = v
			return
		}
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
}

func strVal(s string) val    { return val{k: kString, s: s} }
func bytesVal(b []byte) val  { return val{k: kBytes, b: b} }
func intVal(n int64) val     { return val{k: kInt, n: n} }
func floatVal(f float64) val { return val{k: kFloat, f: f} }
func listVal(l []val) val    { return val{k: kList, x: l} }
func multiList(l []val) val  { return val{k: kList, n: 1, x: l} }
func boolVal(b bool) val {
	if b {
		return val{k: kBool, n: 1}
	}
	return val{k: kBool}
}

// jsonVal wraps a decoded JSON value.
func jsonVal(x any) val {
	switch t := x.(type) {
	case nil:
		return val{k: kNull}
	case string:
		return strVal(t)
	case json.Number:
		return val{k: kNum, s: string(t)}
	case bool:
		return boolVal(t)
	case float64:
		return floatVal(t)
	case int:
		return intVal(int64(t))
	case int64:
		return intVal(t)
	case map[string]any, []any:
		return val{k: kJSON, x: x}
	}
	return val{}
}

// seg is one segment of a path: a name, which may also be an index.
type seg struct {
	name  string
	idx   int
	isIdx bool
}

// member returns v's member named by s: an object's key, a list's index, a request
// node's part. Anything else is missing.
func (r *renderer) member(v val, s *seg) val {
	switch v.k {
	case kReq:
		return r.reqMember(v.rk, s)
	case kMulti:
		return r.multiMember(v, s)
	case kJSON:
		switch x := v.x.(type) {
		case map[string]any:
			if m, ok := x[s.name]; ok {
				return jsonVal(m)
			}
		case []any:
			if s.isIdx && s.idx >= 0 && s.idx < len(x) {
				return jsonVal(x[s.idx])
			}
		}
	case kList:
		l := v.x.([]val)
		if v.n == 1 {
			return listMember(l, s)
		}
		if s.isIdx && s.idx >= 0 && s.idx < len(l) {
			return l[s.idx]
		}
	case kMap:
		if m, ok := v.x.(*vmap).get(s.name); ok {
			return m
		}
	}
	return val{}
}

// listMember reads a one-or-many list the way WireMock's ListOrSingle does: an index
// (a negative one counts back from the second-to-last element: [-1] of 1,2,3 is 2, as
// WireMock documents), first or last.
func listMember(l []val, s *seg) val {
	i := -1
	switch {
	case s.isIdx:
		i = s.idx
		if i < 0 {
			i = len(l) - 1 + i
		}
	case s.name == "first":
		i = 0
	case s.name == "last":
		i = len(l) - 1
	}
	if i >= 0 && i < len(l) {
		return l[i]
	}
	return val{}
}

func (r *renderer) multiMember(v val, s *seg) val {
	i := -1
	switch {
	case s.isIdx:
		i = s.idx
		if i < 0 {
			i = r.multiCount(v.rk, v.s) - 1 + i
		}
	case s.name == "first":
		i = 0
	case s.name == "last":
		i = r.multiCount(v.rk, v.s) - 1
	}
	if i < 0 {
		return val{}
	}
	if b, ok := r.multiNth(v.rk, v.s, i); ok {
		return bytesVal(b)
	}
	return val{}
}

// reqMember returns the part of request node rk that s names.
func (r *renderer) reqMember(rk reqKind, s *seg) val {
	in := r.in
	switch rk {
	case reqRoot:
		switch s.name {
		case "url":
			return bytesVal(in.Target)
		case "path", "pathSegments":
			return val{k: kReq, rk: reqPath}
		case "method":
			return bytesVal(in.Method)
		case "query":
			return val{k: kReq, rk: reqQuery}
		case "headers":
			return val{k: kReq, rk: reqHeaders}
		case "cookies":
			return val{k: kReq, rk: reqCookies}
		case "body":
			return val{k: kReq, rk: reqBody}
		case "bodyAsBase64":
			return strVal(base64.StdEncoding.EncodeToString(r.q.body))
		case "scheme":
			return strVal(r.scheme())
		case "host":
			h, _ := splitHostPort(in.Host)
			return bytesVal(h)
		case "port":
			return intVal(int64(r.port()))
		case "baseUrl":
			start := len(r.arena)
			r.arena = append(r.arena, r.scheme()...)
			r.arena = append(r.arena, "://"...)
			h, p := splitHostPort(in.Host)
			r.arena = append(r.arena, h...)
			if port := r.port(); p != nil && !(port == 80 && !in.TLS || port == 443 && in.TLS) {
				r.arena = append(r.arena, ':')
				r.arena = strconv.AppendInt(r.arena, int64(port), 10)
			}
			return bytesVal(r.arenaView(start))
		case "id":
			return strVal(r.requestID())
		case "multipart":
			return boolVal(false)
		}
	case reqPath:
		if s.isIdx {
			if b, ok := pathSegment(in.Path, s.idx); ok {
				return bytesVal(b)
			}
			return val{}
		}
		for _, p := range in.PathParams {
			if p.Name == s.name {
				return bytesVal(p.Value)
			}
		}
	case reqQuery, reqHeaders, reqCookies:
		if !r.multiExists(rk, s.name) {
			return val{}
		}
		return val{k: kMulti, rk: rk, s: s.name}
	}
	return val{}
}

func (r *renderer) scheme() string {
	if r.in.TLS {
		return "https"
	}
	return "http"
}

// port is the Host header's port, or the scheme's default.
func (r *renderer) port() int {
	_, p := splitHostPort(r.in.Host)
	if n, err := strconv.Atoi(string(p)); err == nil && p != nil {
		return n
	}
	if r.in.TLS {
		return 443
	}
	return 80
}

// splitHostPort splits a Host header's value ("example.com:8080", "[::1]:80").
func splitHostPort(h []byte) (host, port []byte) {
	i := len(h) - 1
	for i >= 0 && h[i] >= '0' && h[i] <= '9' {
		i--
	}
	if i >= 0 && h[i] == ':' && i < len(h)-1 && (h[0] != '[' || i > 0 && h[i-1] == ']') {
		return h[:i], h[i+1:]
	}
	return h, nil
}

// requestID is a UUID derived from the seed (another stream than the random helpers').
func (r *renderer) requestID() string {
	var g = newPCG(r.in.Seed, 0x726571756573742d) // "request-"
	return string(appendUUID(nil, g.Uint64(), g.Uint64(), false))
}

// pathSegment returns the nth non-empty segment of a path.
func pathSegment(path []byte, n int) ([]byte, bool) {
	if n < 0 {
		return nil, false
	}
	for len(path) > 0 {
		var sg []byte
		i := 0
		for i < len(path) && path[i] != '/' {
			i++
		}
		sg, path = path[:i], path[i:]
		if len(path) > 0 {
			path = path[1:]
		}
		if len(sg) == 0 {
			continue
		}
		if n == 0 {
			return sg, true
		}
		n--
	}
	return nil, false
}

// eachValue calls fn with every value of the request's field name in src (query values
// percent-decoded), until fn returns false.
func (r *renderer) eachValue(src reqKind, name string, fn func(v []byte) bool) {
	q := r.q
	switch src {
	case reqHeaders:
		for _, h := range q.headers {
			if equalFoldString(h.Name, name) && !fn(h.Value) {
				return
			}
		}
	case reqQuery:
		for s := q.query; len(s) > 0; {
			var pair []byte
			pair, s = cutByte(s, '&')
			n, v, _ := cutPair(pair)
			if !decodedEquals(n, name) {
				continue
			}
			if needsDecoding(v) {
				start := len(r.arena)
				r.arena = appendDecoded(r.arena, v)
				v = r.arenaView(start)
			}
			if !fn(v) {
				return
			}
		}
	case reqCookies:
		for _, h := range q.headers {
			if !equalFoldString(h.Name, "cookie") {
				continue
			}
			for s := h.Value; len(s) > 0; {
				var pair []byte
				pair, s = cutByte(s, ';')
				n, v, _ := cutPair(trimSpace(pair))
				if string(n) != name {
					continue
				}
				if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				if !fn(v) {
					return
				}
			}
		}
	}
}

func cutByte(s []byte, sep byte) (before, after []byte) {
	for i, c := range s {
		if c == sep {
			return s[:i], s[i+1:]
		}
	}
	return s, nil
}

func cutPair(s []byte) (name, value []byte, ok bool) {
	for i, c := range s {
		if c == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, nil, false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// multiExists reports whether the request has field name in src (without decoding it).
func (r *renderer) multiExists(src reqKind, name string) bool {
	if src == reqQuery {
		for s := r.q.query; len(s) > 0; {
			var pair []byte
			pair, s = cutByte(s, '&')
			if n, _, _ := cutPair(pair); decodedEquals(n, name) {
				return true
			}
		}
		return false
	}
	found := false
	r.eachValue(src, name, func([]byte) bool { found = true; return false })
	return found
}

// multiNth returns the nth value of a one-or-many request field.
func (r *renderer) multiNth(src reqKind, name string, n int) ([]byte, bool) {
	var out []byte
	found := false
	r.eachValue(src, name, func(v []byte) bool {
		if n == 0 {
			out, found = v, true
			return false
		}
		n--
		return true
	})
	return out, found
}

func (r *renderer) multiCount(src reqKind, name string) int {
	n := 0
	r.eachValue(src, name, func([]byte) bool { n++; return true })
	return n
}

// multiValues returns every value of a one-or-many request field.
func (r *renderer) multiValues(src reqKind, name string) []val {
	var out []val
	r.eachValue(src, name, func(v []byte) bool { out = append(out, bytesVal(v)); return true })
	return out
}

// reqNames returns the distinct names of a request map (query, headers, cookies): query
// parameters and cookies in order of appearance, headers sorted case-insensitively (as
// WireMock's case-insensitive map holds them), each spelled as it first appears.
func (r *renderer) reqNames(rk reqKind) []string {
	var names []string
	add := func(n string, fold bool) {
		for _, m := range names {
			if m == n || fold && strings.EqualFold(m, n) {
				return
			}
		}
		names = append(names, n)
	}
	q := r.q
	switch rk {
	case reqHeaders:
		for _, h := range q.headers {
			add(string(h.Name), true)
		}
		slices.SortStableFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	case reqQuery:
		for s := q.query; len(s) > 0; {
			var pair []byte
			pair, s = cutByte(s, '&')
			n, _, _ := cutPair(pair)
			add(string(appendDecoded(nil, n)), false)
		}
	case reqCookies:
		for _, h := range q.headers {
			if !equalFoldString(h.Name, "cookie") {
				continue
			}
			for s := h.Value; len(s) > 0; {
				var pair []byte
				pair, s = cutByte(s, ';')
				n, _, _ := cutPair(trimSpace(pair))
				if len(n) > 0 {
					add(string(n), false)
				}
			}
		}
	}
	return names
}

// truthy reports whether v counts as true, as Handlebars.java's isEmpty reads it: nothing,
// null, false, 0, "" and empty lists are false; objects are true even when empty.
func (r *renderer) truthy(v val) bool {
	switch v.k {
	case kMissing, kNull:
		return false
	case kString:
		return v.s != ""
	case kBytes:
		return len(v.b) > 0
	case kInt, kBool:
		return v.n != 0
	case kFloat:
		return v.f != 0
	case kNum:
		f, err := strconv.ParseFloat(r.str(v), 64)
		return err != nil || f != 0
	case kJSON:
		if a, ok := v.x.([]any); ok {
			return len(a) > 0
		}
		return true
	case kList:
		return len(v.x.([]val)) > 0
	case kMulti:
		return r.multiCount(v.rk, v.s) > 0
	case kReq:
		switch v.rk {
		case reqBody:
			return len(r.q.body) > 0
		case reqPath:
			return len(r.in.Path) > 0
		}
		return true
	}
	return true
}

// isList reports whether v iterates as a list (an #each over it, a section).
func (r *renderer) isList(v val) bool {
	switch v.k {
	case kJSON:
		_, ok := v.x.([]any)
		return ok
	case kList, kMulti:
		return true
	case kReq:
		return v.rk == reqPath
	}
	return false
}

// iterate calls fn with each element of v: a list's elements (key: the index), an
// object's members (key: the name; JSON objects in key order), a one-or-many field's
// values, a path's segments. Scalars have no elements.
func (r *renderer) iterate(v val, fn func(key, item val, i int, last bool) error) error {
	switch v.k {
	case kJSON:
		switch x := v.x.(type) {
		case []any:
			for i, e := range x {
				if err := fn(intVal(int64(i)), jsonVal(e), i, i == len(x)-1); err != nil {
					return err
				}
			}
		case map[string]any:
			keys := slices.Sorted(maps.Keys(x))
			for i, k := range keys {
				if err := fn(strVal(k), jsonVal(x[k]), i, i == len(keys)-1); err != nil {
					return err
				}
			}
		}
	case kList:
		l := v.x.([]val)
		for i, e := range l {
			if err := fn(intVal(int64(i)), e, i, i == len(l)-1); err != nil {
				return err
			}
		}
	case kMap:
		m := v.x.(*vmap)
		for i, k := range m.keys {
			if err := fn(strVal(k), m.vals[i], i, i == len(m.keys)-1); err != nil {
				return err
			}
		}
	case kMulti:
		l := r.multiValues(v.rk, v.s)
		for i, e := range l {
			if err := fn(intVal(int64(i)), e, i, i == len(l)-1); err != nil {
				return err
			}
		}
	case kReq:
		switch v.rk {
		case reqPath:
			var segs []val
			for i := 0; ; i++ {
				b, ok := pathSegment(r.in.Path, i)
				if !ok {
					break
				}
				segs = append(segs, bytesVal(b))
			}
			for i, e := range segs {
				if err := fn(intVal(int64(i)), e, i, i == len(segs)-1); err != nil {
					return err
				}
			}
		case reqQuery, reqHeaders, reqCookies:
			names := r.reqNames(v.rk)
			for i, n := range names {
				if err := fn(strVal(n), val{k: kMulti, rk: v.rk, s: n}, i, i == len(names)-1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// size is the number of elements of a list or object, or the characters of a string.
func (r *renderer) size(v val) int {
	switch v.k {
	case kString:
		return len([]rune(v.s))
	case kBytes:
		return len([]rune(string(v.b)))
	case kJSON:
		switch x := v.x.(type) {
		case []any:
			return len(x)
		case map[string]any:
			return len(x)
		}
	case kList:
		return len(v.x.([]val))
	case kMap:
		return len(v.x.(*vmap).keys)
	case kMulti:
		return r.multiCount(v.rk, v.s)
	case kReq:
		switch v.rk {
		case reqQuery, reqHeaders, reqCookies:
			return len(r.reqNames(v.rk))
		case reqBody:
			return len([]rune(string(r.q.body)))
		case reqPath:
			n := 0
			for {
				if _, ok := pathSegment(r.in.Path, n); !ok {
					return n
				}
				n++
			}
		}
	case kNum, kInt, kFloat, kBool, kDate:
		return len([]rune(r.str(v)))
	}
	return 0
}

// list returns v's elements (nil and false for what is no list).
func (r *renderer) list(v val) ([]val, bool) {
	if !r.isList(v) {
		return nil, false
	}
	var out []val
	err := r.iterate(v, func(_, item val, _ int, _ bool) error {
		out = append(out, item)
		return nil
	})
	return out, err == nil
}

// str returns v's text (as it renders, unescaped).
func (r *renderer) str(v val) string {
	switch v.k {
	case kString:
		return v.s
	case kBytes:
		return string(v.b)
	case kMissing, kNull:
		return ""
	}
	b, _ := r.appendText(nil, v)
	return string(b)
}

// appendText appends v's text: strings as they are, numbers in their shortest form
// (decimals as Java prints a double), lists as Java prints them ("[a, b]"), one-or-many
// values as their first, JSON objects and arrays as compact JSON, dates as their format
// says.
func (r *renderer) appendText(dst []byte, v val) ([]byte, error) {
	return r.appendTextDepth(dst, v, 0)
}

func (r *renderer) appendTextDepth(dst []byte, v val, depth int) ([]byte, error) {
	if depth > MaxJSONDepth+MaxTemplateDepth {
		return dst, failf("value nests too deeply to write")
	}
	switch v.k {
	case kMissing, kNull:
		return dst, nil
	case kString:
		return append(dst, v.s...), nil
	case kBytes:
		return append(dst, v.b...), nil
	case kInt:
		return strconv.AppendInt(dst, v.n, 10), nil
	case kFloat:
		return appendJavaDouble(dst, v.f), nil
	case kNum:
		return append(append(dst, v.s...), v.b...), nil // the text is in s, or viewed in b
	case kBool:
		return strconv.AppendBool(dst, v.n != 0), nil
	case kJSON:
		return r.appendJSON(dst, v, false, 0)
	case kList:
		l := v.x.([]val)
		if v.n == 1 {
			if len(l) == 0 {
				return dst, nil
			}
			return r.appendTextDepth(dst, l[0], depth+1)
		}
		dst = append(dst, '[')
		for i, e := range l {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			var err error
			if dst, err = r.appendTextDepth(dst, e, depth+1); err != nil {
				return dst, err
			}
			if err := checkSize(len(dst)); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case kMap:
		m := v.x.(*vmap)
		dst = append(dst, '{')
		for i, k := range m.keys {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, k...)
			dst = append(dst, '=')
			var err error
			if dst, err = r.appendTextDepth(dst, m.vals[i], depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case kDate:
		return v.x.(*dateVal).appendText(dst), nil
	case kMulti:
		b, _ := r.multiNth(v.rk, v.s, 0)
		return append(dst, b...), nil
	case kReq:
		switch v.rk {
		case reqBody:
			return append(dst, r.q.body...), nil
		case reqPath:
			return append(dst, r.in.Path...), nil
		case reqQuery, reqHeaders, reqCookies:
			dst = append(dst, '{')
			for i, n := range r.reqNames(v.rk) {
				if i > 0 {
					dst = append(dst, ", "...)
				}
				dst = append(dst, n...)
				dst = append(dst, '=')
				b, _ := r.multiNth(v.rk, n, 0)
				dst = append(dst, b...)
			}
			return append(dst, '}'), nil
		}
	}
	return dst, nil
}

// appendJavaDouble appends f as Java's Double.toString writes it: plain decimal with at
// least one fractional digit for 1e-3 <= |f| < 1e7, otherwise "1.0E10" notation.
func appendJavaDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	a := math.Abs(f)
	if a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		dst = append(dst, s...)
		if !strings.Contains(s, ".") {
			dst = append(dst, ".0"...)
		}
		return dst
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1.2345e+10
	mant, exp, _ := strings.Cut(s, "e")
	dst = append(dst, mant...)
	if !strings.Contains(mant, ".") {
		dst = append(dst, ".0"...)
	}
	dst = append(dst, 'E')
	if exp[0] == '-' {
		dst = append(dst, '-')
	}
	exp = strings.TrimLeft(exp[1:], "0")
	if exp == "" {
		exp = "0"
	}
	return append(dst, exp...)
}

// appendJSON appends v as JSON: compact, or pretty as Jackson's default pretty printer
// writes it (objects one member a line indented by two spaces, arrays inline: [ 1, 2 ]).
// Object keys of decoded JSON are sorted; strings are escaped as JSON needs, without HTML
// escaping. Each value written costs a step.
func (r *renderer) appendJSON(dst []byte, v val, pretty bool, level int) ([]byte, error) {
	if err := r.step(1); err != nil {
		return dst, err
	}
	if err := checkSize(len(dst)); err != nil {
		return dst, err
	}
	if level > MaxJSONDepth+MaxTemplateDepth {
		return dst, failf("value nests too deeply to write as JSON")
	}
	switch v.k {
	case kMissing, kNull:
		return append(dst, "null"...), nil
	case kString:
		return appendJSONString(dst, v.s), nil
	case kBytes:
		return appendJSONString(dst, v.b), nil
	case kInt, kFloat, kBool:
		return r.appendText(dst, v)
	case kNum:
		if s := r.str(v); len(s) > 0 && s[0] != '+' {
			if _, ok := jsonParseDecimal(s); ok {
				return append(dst, s...), nil
			}
		}
		return appendJSONString(dst, r.str(v)), nil
	case kJSON:
		switch x := v.x.(type) {
		case map[string]any:
			keys := slices.Sorted(maps.Keys(x))
			return r.appendJSONObject(dst, len(keys), pretty, level, func(dst []byte, i int) ([]byte, string, val) {
				return dst, keys[i], jsonVal(x[keys[i]])
			})
		case []any:
			return r.appendJSONArray(dst, len(x), pretty, level, func(i int) val { return jsonVal(x[i]) })
		}
	case kList:
		l := v.x.([]val)
		if v.n == 1 && len(l) == 1 {
			return r.appendJSON(dst, l[0], pretty, level)
		}
		return r.appendJSONArray(dst, len(l), pretty, level, func(i int) val { return l[i] })
	case kMap:
		m := v.x.(*vmap)
		return r.appendJSONObject(dst, len(m.keys), pretty, level, func(dst []byte, i int) ([]byte, string, val) {
			return dst, m.keys[i], m.vals[i]
		})
	case kMulti:
		l := r.multiValues(v.rk, v.s)
		if len(l) == 1 {
			return r.appendJSON(dst, l[0], pretty, level)
		}
		return r.appendJSONArray(dst, len(l), pretty, level, func(i int) val { return l[i] })
	case kReq:
		switch v.rk {
		case reqQuery, reqHeaders, reqCookies:
			names := r.reqNames(v.rk)
			return r.appendJSONObject(dst, len(names), pretty, level, func(dst []byte, i int) ([]byte, string, val) {
				return dst, names[i], val{k: kMulti, rk: v.rk, s: names[i]}
			})
		case reqPath:
			return appendJSONString(dst, r.in.Path), nil
		case reqBody:
			return appendJSONString(dst, r.q.body), nil
		}
		return append(dst, "null"...), nil
	}
	p := len(dst)
	dst, err := r.appendText(dst, v)
	if err != nil {
		return dst, err
	}
	s := string(dst[p:])
	return appendJSONString(dst[:p], s), nil
}

func (r *renderer) appendJSONObject(dst []byte, n int, pretty bool, level int, member func([]byte, int) ([]byte, string, val)) ([]byte, error) {
	if n == 0 {
		if pretty {
			return append(dst, "{ }"...), nil
		}
		return append(dst, "{}"...), nil
	}
	dst = append(dst, '{')
	for i := range n {
		var k string
		var v val
		dst, k, v = member(dst, i)
		if i > 0 {
			dst = append(dst, ',')
		}
		if pretty {
			dst = appendIndent(dst, level+1)
		}
		dst = appendJSONString(dst, k)
		if pretty {
			dst = append(dst, " : "...)
		} else {
			dst = append(dst, ':')
		}
		var err error
		if dst, err = r.appendJSON(dst, v, pretty, level+1); err != nil {
			return dst, err
		}
	}
	if pretty {
		dst = appendIndent(dst, level)
	}
	return append(dst, '}'), nil
}

func (r *renderer) appendJSONArray(dst []byte, n int, pretty bool, level int, elem func(int) val) ([]byte, error) {
	if n == 0 {
		if pretty {
			return append(dst, "[ ]"...), nil
		}
		return append(dst, "[]"...), nil
	}
	dst = append(dst, '[')
	if pretty {
		dst = append(dst, ' ')
	}
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
			if pretty {
				dst = append(dst, ' ')
			}
		}
		var err error
		if dst, err = r.appendJSON(dst, elem(i), pretty, level); err != nil {
			return dst, err
		}
	}
	if pretty {
		dst = append(dst, ' ')
	}
	return append(dst, ']'), nil
}

func appendIndent(dst []byte, level int) []byte {
	dst = append(dst, '\n')
	for range level {
		dst = append(dst, "  "...)
	}
	return dst
}

// appendJSONString appends s as a JSON string: quotes, backslashes and control
// characters escaped, everything else (non-ASCII included) as it is.
func appendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	dst = appendJSONEscaped(dst, s)
	return append(dst, '"')
}

// appendJSONEscaped appends s escaped for the inside of a JSON string.
func appendJSONEscaped[S ~string | ~[]byte](dst []byte, s S) []byte {
	const hex = "0123456789abcdef"
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[last:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		last = i + 1
	}
	return append(dst, s[last:]...)
}
