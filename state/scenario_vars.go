package state

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"ownhttp/mock"
)

// Variables of a run (issue #18): values given to the run (--var, --vars-file,
// OWNHTTP_VAR_*, the scenario's own "vars", a run request's "vars") and values captured by
// its steps. A step uses them as {{name}} in its path (query included), header values and
// body, in the expected values of its assertions, body_contains tokens and header_equals
// values. {{ name }} may have spaces inside the braces. A name that is not defined is left
// as it is, braces included, so that texts holding other {{…}} (mock templates sent by a
// step) pass through unchanged.
//
// Values of secret variables never reach a report: every occurrence in a step result (the
// request, the response, assertions, captures, the failure reason) reads ***.

// SecretMask replaces a secret value in reports.
const SecretMask = "***"

// maxVariables bounds how many variables a run holds (given and captured).
const maxVariables = 10_000

// Variables are the values a run starts with.
type Variables struct {
	Values map[string]string
	// Secret names the variables whose values are secret.
	Secret map[string]bool
}

// ParseVariable splits "name=value" (as --var gives it) and checks the name.
func ParseVariable(s string) (name, value string, err *Error) {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || !validVariableName(name) {
		return "", "", newErr(KindInvalid, CodeInvalidRequest,
			"variable "+strconv.Quote(truncateText(s, 64))+" must be name=value, the name letters, digits, _ and -")
	}
	return name, value, nil
}

// ParseVariablesFile reads a variables file: one name=value per line, blank lines and lines
// starting with # ignored. Errors name the line.
func ParseVariablesFile(data []byte) (map[string]string, *Error) {
	out := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, e := ParseVariable(line)
		if e != nil {
			return nil, newErr(KindInvalid, CodeInvalidRequest, "line "+strconv.Itoa(i+1)+": "+e.Message)
		}
		if len(out) >= maxVariables {
			return nil, newErr(KindInvalid, CodeInvalidRequest, "line "+strconv.Itoa(i+1)+": too many variables")
		}
		out[name] = value
	}
	return out, nil
}

// expandTemplate replaces each {{name}} of s whose name lookup knows by its value, passed
// through escape when escape is not nil.
func expandTemplate(s string, lookup func(string) (string, bool), escape func(string) string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			break
		}
		name := strings.TrimSpace(s[i+2 : i+2+j])
		v, ok := "", false
		if name != "" && strings.IndexFunc(name, func(r rune) bool { return r > 0x7f || !isVarChar(byte(r)) }) < 0 {
			v, ok = lookup(name)
		}
		if !ok {
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		}
		if escape != nil {
			v = escape(v)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+2+j+2:]
	}
	b.WriteString(s)
	return b.String()
}

// escapeTargetValue percent-encodes the bytes of a value that cannot appear in a request
// target (controls, space, '#', '%' and non-ASCII), so a variable cannot break the path.
func escapeTargetValue(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '#' || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// escapeHeaderValue replaces control characters of a value put in a header by spaces, so a
// variable cannot add a header field.
func escapeHeaderValue(v string) string {
	if validFieldValue(v) {
		return v
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, v)
}

// runVars holds a run's variables, given and captured, and knows which are secret.
type runVars struct {
	values map[string]string
	secret map[string]bool
}

func newRunVars(scenarioDefaults map[string]string, given Variables) runVars {
	v := runVars{values: make(map[string]string, len(scenarioDefaults)+len(given.Values)), secret: map[string]bool{}}
	for k, x := range scenarioDefaults {
		v.values[k] = x
	}
	for k, x := range given.Values {
		v.values[k] = x
	}
	for k, s := range given.Secret {
		if s {
			v.secret[k] = true
		}
	}
	return v
}

// lookup finds name as seen by a step that came through scope (outermost first): the
// parameters of its innermost include (themselves templates of the scope around it), then
// the variables captured in that include's namespace, then the same one level out, and at
// the top the run's variables.
func (v *runVars) lookup(scope []IncludeScope, name string) (string, bool) {
	for depth := len(scope); depth > 0; depth-- {
		inner := scope[depth-1]
		if t, ok := inner.Params[name]; ok {
			outer := scope[:depth-1]
			return expandTemplate(t, func(n string) (string, bool) { return v.lookup(outer, n) }, nil), true
		}
		if x, ok := v.values[inner.Namespace+"."+name]; ok {
			return x, true
		}
	}
	x, ok := v.values[name]
	return x, ok
}

// set stores a captured value under name in the innermost namespace of scope.
func (v *runVars) set(scope []IncludeScope, name, value string, secret bool) {
	if len(scope) > 0 {
		name = scope[len(scope)-1].Namespace + "." + name
	}
	if _, exists := v.values[name]; !exists && len(v.values) >= maxVariables {
		return
	}
	v.values[name] = value
	if secret {
		v.secret[name] = true
	}
}

// secretValues returns the non-empty values of the secret variables, longest first.
func (v *runVars) secretValues() []string {
	var out []string
	for name := range v.secret {
		if x := v.values[name]; x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return out
}

// secretRedactor replaces every secret value by SecretMask, in text as it is and in JSON
// text (where a value may appear escaped).
type secretRedactor struct {
	plain *strings.Replacer
	json  *strings.Replacer
}

func newSecretRedactor(secrets []string) *secretRedactor {
	if len(secrets) == 0 {
		return nil
	}
	var plain, inJSON []string
	for _, s := range secrets {
		plain = append(plain, s, SecretMask)
		q := string(toJSON(s))
		inJSON = append(inJSON, q[1:len(q)-1], SecretMask)
	}
	return &secretRedactor{plain: strings.NewReplacer(plain...), json: strings.NewReplacer(inJSON...)}
}

// text masks the secrets of s, as they are and as JSON escapes them (a body may hold them
// either way).
func (r *secretRedactor) text(s string) string {
	if r == nil {
		return s
	}
	return r.json.Replace(r.plain.Replace(s))
}

// raw masks the secrets in every string (and member name) of a JSON value.
func (r *secretRedactor) raw(b json.RawMessage) json.RawMessage {
	if r == nil || b == nil {
		return b
	}
	v, err := mock.DecodeJSON(b)
	if err != nil {
		return toJSON(SecretMask)
	}
	return toJSON(r.value(v))
}

func (r *secretRedactor) value(v any) any {
	switch x := v.(type) {
	case string:
		return r.text(x)
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = r.value(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[r.text(k)] = r.value(item)
		}
		return out
	}
	return v
}

// result redacts a step result in place; its maps are its own.
func (r *secretRedactor) result(res *StepResult) {
	if r == nil {
		return
	}
	res.Request.Path = r.text(res.Request.Path)
	res.Request.Body = r.text(res.Request.Body)
	for k, x := range res.Request.Headers {
		res.Request.Headers[k] = r.text(x)
	}
	res.Response.Body = r.text(res.Response.Body)
	for k, x := range res.Response.Headers {
		res.Response.Headers[k] = r.text(x)
	}
	for i := range res.Assertions {
		res.Assertions[i].Expected = r.raw(res.Assertions[i].Expected)
		res.Assertions[i].Actual = r.raw(res.Assertions[i].Actual)
	}
	for k, x := range res.Captures {
		res.Captures[k] = r.text(x)
	}
	res.FailureReason = OptString(r.text(string(res.FailureReason)))
}

// expandValue expands the variables of an assertion's expected value when it is a JSON
// string, and decodes it.
func expandValue(raw json.RawMessage, lookup func(string) (string, bool)) (json.RawMessage, any) {
	if raw == nil {
		return nil, nil
	}
	var s string
	if firstByte(raw) == '"' && json.Unmarshal(raw, &s) == nil && strings.Contains(s, "{{") {
		raw = toJSON(expandTemplate(s, lookup, nil))
	}
	v, err := mock.DecodeJSON(raw)
	if err != nil {
		return raw, nil
	}
	return raw, v
}
