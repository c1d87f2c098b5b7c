package state

import (
	"errors"
	"strconv"
	"strings"

	"ownhttp/mock"
)

// Templated responses (issue #15): a mock with "template": true (or every mock, with
// MockTemplates) has its status, header values and text body compiled as templates when
// it is created (package mock's Handlebars dialect; a syntax error is an invalid_mock
// naming the field, line and column) and rendered per request.

// responseTemplate holds a templated response's compiled parts; nil parts are plain.
type responseTemplate struct {
	status  *mock.Template
	headers []headerTemplate // every header, in HeaderLines' order
	body    *mock.Template
}

type headerTemplate struct {
	name  string
	plain string         // the value, when it is not a template
	value *mock.Template // the value's template
}

// compileResponseTemplate compiles r's templated parts; prefix names its fields in errors.
// A response with no "{{" anywhere gets nil: it is served as a plain one.
func compileResponseTemplate(r *MockResponse, prefix string) (*responseTemplate, *Error) {
	t := &responseTemplate{}
	templated := false
	compile := func(src, field string) (*mock.Template, *Error) {
		if !mock.IsTemplate(src) {
			return nil, nil
		}
		tm, err := mock.CompileTemplate(src, prefix+field)
		if err != nil {
			var te *mock.TemplateError
			if errors.As(err, &te) {
				return nil, invalidMock(te.Error())
			}
			return nil, invalidMock(prefix + field + ": " + err.Error())
		}
		templated = true
		return tm, nil
	}
	var e *Error
	if r.StatusTemplate != "" {
		if t.status, e = compile(r.StatusTemplate, "status"); e != nil {
			return nil, e
		}
	}
	for _, name := range sortedHeaderNames(r.Headers) {
		v := r.Headers[name]
		tm, e := compile(v, "headers."+name)
		if e != nil {
			return nil, e
		}
		t.headers = append(t.headers, headerTemplate{name: name, plain: v, value: tm})
	}
	if !r.BodyBase64 {
		if t.body, e = compile(r.Body, "body"); e != nil {
			return nil, e
		}
	}
	if !templated {
		return nil, nil
	}
	return t, nil
}

// Templated reports whether the response is rendered per request.
func (r *MockResponse) Templated() bool { return r.tmpl != nil }

// Rendered is a templated response rendered for one request. Its slices are its own.
type Rendered struct {
	Status      int
	HeaderLines []byte // as MockResponse.HeaderLines
	Body        []byte
}

// Render renders a templated response for the request in. Errors name the field and what
// failed (a status that is not 200..599, a header value with a control character, the
// template's own errors: see mock.Template.Render).
func (r *MockResponse) Render(in *mock.RenderInput) (Rendered, error) {
	t := r.tmpl
	out := Rendered{Status: r.Status}
	if t.status != nil {
		b, err := t.status.Render(nil, in)
		if err != nil {
			return out, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || n < 200 || n > 599 {
			return out, errors.New("status: rendered " + strconv.Quote(cutText(string(b), 40)) + ", not a status from 200 to 599")
		}
		out.Status = n
	}
	noBody := out.Status == 204 || out.Status == 304
	if !noBody {
		out.HeaderLines = append(out.HeaderLines, "Content-Type: "...)
		out.HeaderLines = append(out.HeaderLines, r.ContentType...)
		out.HeaderLines = append(out.HeaderLines, "\r\n"...)
	}
	for _, h := range t.headers {
		out.HeaderLines = append(out.HeaderLines, h.name...)
		out.HeaderLines = append(out.HeaderLines, ": "...)
		if h.value == nil {
			out.HeaderLines = append(out.HeaderLines, h.plain...)
		} else {
			start := len(out.HeaderLines)
			var err error
			if out.HeaderLines, err = h.value.Render(out.HeaderLines, in); err != nil {
				return out, err
			}
			if v := out.HeaderLines[start:]; !validFieldValue(string(v)) || len(v) > maxHeaderValLen {
				return out, errors.New("headers." + h.name + ": the rendered value has a control character or is over 8192 bytes")
			}
		}
		out.HeaderLines = append(out.HeaderLines, "\r\n"...)
	}
	if noBody {
		return out, nil
	}
	if t.body == nil {
		out.Body = r.BodyBytes
		return out, nil
	}
	var err error
	out.Body, err = t.body.Render(nil, in)
	return out, err
}

// SeedFor returns the seed of the random values of hit n of mock x: the same for the same
// (seed, mock id, hit) in every run, different from hit to hit (mock.HitSeed). seed is the
// server's; the mock's own replaces it.
func SeedFor(seed int64, x *Mock, n uint64) uint64 {
	if x.Seed != nil {
		seed = *x.Seed
	}
	return mock.HitSeed(uint64(seed), x.ID, n, mock.StreamTemplate)
}

// PathParams appends the named parameters of path (which x's path matched) to dst.
func (x *Mock) PathParams(path []byte, dst []mock.PathParam) []mock.PathParam {
	return x.pat.Params(path, dst)
}

func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
