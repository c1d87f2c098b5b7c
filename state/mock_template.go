package state

// responseTemplate holds a templated response's compiled templates.
type responseTemplate struct{}

func compileResponseTemplate(r *MockResponse, prefix string) (*responseTemplate, *Error) {
	return nil, nil
}

// Templated reports whether the response is rendered per request.
func (r *MockResponse) Templated() bool { return r.tmpl != nil }
