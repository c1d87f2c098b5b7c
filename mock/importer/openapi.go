package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v4"
)

// OpenAPI priorities: a mock chosen by a Prefer header answers before the operation's
// default mock (priority 5, the default); one naming both a code and an example before one
// naming either.
const (
	preferOnePriority  = 4
	preferBothPriority = 3
)

// openAPIMethods are the operations a mock can answer, in the order they are imported.
var openAPIMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// OpenAPI turns an OpenAPI 3.0 or 3.1 document (JSON or YAML) into mocks, as Prism answers:
// for each operation and response one mock, on the path with its parameters as {name}. The
// operation's default mock (no criteria) answers the lowest 2xx response (or, without one,
// the lowest code it declares); `Prefer: code=404` picks the 404 response and
// `Prefer: example=name` a named example (of the default response, or of the code also
// named), through mocks with a headers criterion on Prefer and a higher priority. A
// response's body is its first example (media-type example, then named examples in name
// order, then the schema's example), or one generated from its schema, deterministically
// from seed and the operation. Swagger 2.0 and other versions are an *Error naming
// "openapi". External $refs are not read.
func OpenAPI(data []byte, seed int64, lim Limits) (items []Item, err error) {
	lim = lim.WithDefaults()
	if e := checkSize("body", int64(len(data)), lim); e != nil {
		return nil, e
	}
	version, e := openAPIVersion(data, lim)
	if e != nil {
		return nil, e
	}
	if !strings.HasPrefix(version, "3.0.") && !strings.HasPrefix(version, "3.1.") && version != "3.0" && version != "3.1" {
		return nil, errorf("openapi", "%q is not supported: OpenAPI 3.0.x and 3.1.x are", version)
	}
	defer func() {
		// The library reads hostile input; a panic of its must be a refusal, never a crash.
		if p := recover(); p != nil {
			items, err = nil, errorf("body", "is not an OpenAPI document this server can read (%v)", p)
		}
	}()
	loader := openapi3.NewLoader() // IsExternalRefsAllowed is false: no file or URL is read
	doc, lerr := loader.LoadFromData(data)
	if lerr != nil {
		return nil, errorf("body", "is not a valid OpenAPI %s document: %v", version, lerr)
	}
	if doc.Paths == nil || doc.Paths.Len() == 0 {
		msg := "the document has no operations to mock"
		if len(doc.Webhooks) > 0 {
			msg += " (webhooks are requests the API sends: they are not imported)"
		}
		return nil, errorf("paths", "%s", msg)
	}
	paths := doc.Paths.InMatchingOrder()
	slices.Sort(paths)
	for _, p := range paths {
		pi := doc.Paths.Value(p)
		if pi == nil {
			continue
		}
		ops := pi.Operations()
		for _, m := range []string{"HEAD", "OPTIONS", "TRACE", "CONNECT", "QUERY"} {
			if ops[m] != nil {
				items = append(items, Item{Source: m + " " + p, Error: "method " + m + " cannot be mocked (GET, POST, PUT, PATCH and DELETE can; HEAD requests get the GET mock)"})
			}
		}
		for _, m := range openAPIMethods {
			if op := ops[m]; op != nil {
				items = append(items, operationMocks(m, p, op, seed)...)
				if len(items) > lim.MaxItems {
					return nil, errorf("paths", "would make more than the %d mocks an import may create", lim.MaxItems)
				}
			}
		}
	}
	if len(doc.Webhooks) > 0 && len(items) > 0 {
		items[0].Unsupported = append(items[0].Unsupported, fmt.Sprintf("webhooks (%d) are not imported: they are requests the API sends", len(doc.Webhooks)))
	}
	return items, nil
}

// openAPIVersion reads the openapi (or swagger) field after bounding the nesting.
func openAPIVersion(data []byte, lim Limits) (string, *Error) {
	var top map[string]any
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		if e := checkJSONDepth("body", data, lim); e != nil {
			return "", e
		}
		var v struct {
			OpenAPI any `json:"openapi"`
			Swagger any `json:"swagger"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			return "", errorf("body", "is not JSON: %s", jsonProblem(err))
		}
		top = map[string]any{"openapi": v.OpenAPI, "swagger": v.Swagger}
	} else {
		var n yaml.Node
		if err := yaml.Unmarshal(data, &n); err != nil {
			return "", errorf("body", "is neither JSON nor YAML: %v", err)
		}
		if d := yamlDepth(&n, 0, lim.MaxDepth+2); d > lim.MaxDepth+1 { // +1: the document node
			return "", errorf("body", "nests deeper than %d levels", lim.MaxDepth)
		}
		top = map[string]any{}
		if len(n.Content) == 1 && n.Content[0].Kind == yaml.MappingNode {
			c := n.Content[0].Content
			for i := 0; i+1 < len(c); i += 2 {
				if c[i].Value == "openapi" || c[i].Value == "swagger" {
					top[c[i].Value] = c[i+1].Value
				}
			}
		} else {
			return "", errorf("body", "is not an OpenAPI document (a YAML or JSON object)")
		}
	}
	if s, ok := top["swagger"].(string); ok && s != "" {
		return "", errorf("openapi", "Swagger %s is not supported: convert the document to OpenAPI 3 first", s)
	}
	switch v := top["openapi"].(type) {
	case nil:
		return "", errorf("openapi", "is missing: this is not an OpenAPI 3.0 or 3.1 document")
	case string:
		return v, nil
	default:
		return "", errorf("openapi", "must be a string such as \"3.1.0\"")
	}
}

// yamlDepth returns the nesting of n, stopping once it passes limit. Aliases are not
// followed (the decoder bounds alias expansion itself).
func yamlDepth(n *yaml.Node, d, limit int) int {
	if n == nil || d > limit {
		return d
	}
	deepest := d
	for _, c := range n.Content {
		if x := yamlDepth(c, d+1, limit); x > deepest {
			deepest = x
		}
		if deepest > limit {
			break
		}
	}
	return deepest
}

// response is one declared response of an operation.
type response struct {
	code   string // as declared: "200", "2XX", "default"
	status int
	r      *openapi3.Response
}

func operationMocks(method, path string, op *openapi3.Operation, seed int64) []Item {
	src := method + " " + path
	pattern, regex, notes := mockPath(path)
	if op.Responses == nil || op.Responses.Len() == 0 {
		return []Item{{Source: src, Error: "the operation declares no responses"}}
	}
	var resps []response
	var deflt *openapi3.Response
	for code, ref := range op.Responses.Map() {
		if ref == nil || ref.Value == nil {
			continue
		}
		if code == "default" {
			deflt = ref.Value
			continue
		}
		st, ok := statusOf(code)
		if !ok {
			notes = append(notes, fmt.Sprintf("response %q is not a status code: not imported", code))
			continue
		}
		resps = append(resps, response{code: code, status: st, r: ref.Value})
	}
	slices.SortFunc(resps, func(a, b response) int { return a.status - b.status })
	if deflt != nil {
		st := 500
		if len(resps) == 0 {
			st = 200
		}
		if !slices.ContainsFunc(resps, func(x response) bool { return x.status == st }) {
			resps = append(resps, response{code: "default", status: st, r: deflt})
			if st == 500 {
				notes = append(notes, "the default response is served as 500 (Prefer: code=500); other undeclared codes are not")
			}
		}
	}
	if len(resps) == 0 {
		return []Item{{Source: src, Error: "the operation declares no usable responses"}}
	}
	main := 0
	for i, r := range resps {
		if r.status >= 200 && r.status < 300 {
			main = i
			break
		}
	}
	base := func() map[string]any {
		m := map[string]any{"method": method}
		if regex != "" {
			m["path_regex"] = regex
		} else {
			m["path_pattern"] = pattern
		}
		return m
	}
	var items []Item
	add := func(source string, fields map[string]any, unsupported []string) {
		out, err := json.Marshal(fields)
		if err != nil {
			items = append(items, Item{Source: source, Error: "cannot render the mock: " + err.Error()})
			return
		}
		items = append(items, Item{Source: source, Mock: out, Unsupported: unsupported})
	}
	for i, r := range resps {
		rng := rand.New(rand.NewPCG(uint64(seed), hashOf(src+" "+r.code)))
		ans, examples, un := openAPIAnswer(r, rng)
		if i == main {
			m := base()
			maps(m, ans)
			add(src, m, append(slices.Clip(notes), un...))
		}
		code := strconv.Itoa(r.status)
		m := base()
		maps(m, ans)
		m["priority"] = preferOnePriority
		m["match"] = preferMatch("code", code)
		add(fmt.Sprintf("%s %s (Prefer: code=%s)", src, code, code), m, un)
		for _, ex := range examples {
			if strings.ContainsAny(ex.name, ",; \t\"") {
				items[len(items)-1].Unsupported = append(items[len(items)-1].Unsupported,
					fmt.Sprintf("example %q: its name cannot be chosen with Prefer", ex.name))
				continue
			}
			exAns := maps(map[string]any{}, ans)
			setBody(exAns, ex.value, ans["content_type"])
			if i == main {
				m := maps(base(), exAns)
				m["priority"] = preferOnePriority
				m["match"] = preferMatch("example", ex.name)
				add(fmt.Sprintf("%s %s (Prefer: example=%s)", src, code, ex.name), m, nil)
			}
			m := maps(base(), exAns)
			m["priority"] = preferBothPriority
			m["match"] = map[string]any{"headers": map[string]any{"Prefer": map[string]any{"and": []any{
				preferMatcher("code", code), preferMatcher("example", ex.name)}}}}
			add(fmt.Sprintf("%s %s (Prefer: code=%s, example=%s)", src, code, code, ex.name), m, nil)
		}
	}
	return items
}

// maps copies src's entries into dst and returns dst.
func maps(dst, src map[string]any) map[string]any {
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

func preferMatcher(key, value string) map[string]any {
	return map[string]any{"matches": `(^|[,;\s])` + key + `=` + regexp.QuoteMeta(value) + `($|[,;\s])`}
}

func preferMatch(key, value string) map[string]any {
	return map[string]any{"headers": map[string]any{"Prefer": preferMatcher(key, value)}}
}

func hashOf(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// statusOf reads "404" or "4XX" (its first code).
func statusOf(code string) (int, bool) {
	if len(code) == 3 && (strings.HasSuffix(code, "XX") || strings.HasSuffix(code, "xx")) {
		code = code[:1] + "00"
	}
	n, err := strconv.Atoi(code)
	if err != nil || n < 200 || n > 599 {
		return 0, false
	}
	return n, true
}

var paramName = regexp.MustCompile(`\{([^{}/]*)\}`)

// mockPath turns an OpenAPI path template into a path_pattern, or into a path_regex when a
// literal part holds a character patterns give a meaning to.
func mockPath(p string) (pattern, regex string, notes []string) {
	segs := strings.Split(p, "/")
	needRegex := false
	for i, s := range segs {
		lit := paramName.ReplaceAllString(s, "")
		if strings.ContainsAny(lit, "*{}") {
			needRegex = true
		}
		if m := paramName.FindStringSubmatch(s); m != nil && m[0] == s {
			name := sanitizeName(m[1])
			if name != m[1] {
				notes = append(notes, fmt.Sprintf("path parameter %q is named %s in the mock", m[1], name))
			}
			segs[i] = "{" + name + "}"
		} else if paramName.MatchString(s) {
			segs[i] = paramName.ReplaceAllString(s, "*")
		}
	}
	if needRegex {
		var b strings.Builder
		last := 0
		for _, loc := range paramName.FindAllStringIndex(p, -1) {
			b.WriteString(regexp.QuoteMeta(p[last:loc[0]]))
			b.WriteString("[^/]+")
			last = loc[1]
		}
		b.WriteString(regexp.QuoteMeta(p[last:]))
		return "", b.String(), notes
	}
	return strings.Join(segs, "/"), "", notes
}

func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "param"
	}
	return string(b)
}
