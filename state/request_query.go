package state

import (
	"errors"
	"strings"

	"ownhttp/mock"
)

// RequestQuery selects requests from the journal (the history) with the language mocks
// match with: a method, a path pattern and match criteria, each optional. It is immutable
// once decoded.
type RequestQuery struct {
	method   string // upper case; "" for any
	pat      *mock.Path
	criteria *mock.Criteria
}

// DecodeRequestQuery decodes {"method": "GET" (or "ANY"), "path_pattern": "/orders/{id}"
// (or "path_regex": "…"),
// "match": {…}} (mock.DecodeCriteria), every key optional: an empty object selects every
// request. Errors are invalid_criteria naming the field; an unknown key is one.
func DecodeRequestQuery(body []byte) (RequestQuery, *Error) {
	var q RequestQuery
	obj, e := DecodeJSONObject(body)
	if e != nil {
		return q, e
	}
	invalid := func(msg string) *Error { return newErr(KindInvalid, CodeInvalidCriteria, msg) }
	if msg := UnknownField(obj, "method", "path_pattern", "path_regex", "match"); msg != "" {
		return q, invalid(msg)
	}
	if raw, ok := present(obj, "method"); ok {
		s, ok := decodeString(raw)
		s = strings.ToUpper(s)
		if !ok || s != "ANY" && s != "HEAD" && methodIndexString(s) < 0 {
			return q, invalid("method must be one of GET, HEAD, POST, PUT, PATCH, DELETE or ANY")
		}
		if s != "ANY" {
			q.method = s
		}
	}
	for _, key := range [...]string{"path_pattern", "path_regex"} {
		raw, ok := present(obj, key)
		if !ok {
			continue
		}
		s, ok := decodeString(raw)
		if !ok {
			return q, invalid(key + " must be a string")
		}
		if q.pat != nil {
			return q, invalid(msgPathBoth)
		}
		p, e := compilePath(s, key == "path_regex")
		if e != nil {
			return q, invalid(e.Message)
		}
		q.pat = p
	}
	if raw, ok := present(obj, "match"); ok {
		c, err := mock.DecodeCriteria(raw, "match")
		if err != nil {
			var fe *mock.FieldError
			if errors.As(err, &fe) {
				return q, invalid(fe.Error())
			}
			return q, invalid("match: " + err.Error())
		}
		q.criteria = c
	}
	return q, nil
}

// RequestMatcher tests journal entries against a RequestQuery, reusing its scratch space.
// Owned by one goroutine.
type RequestMatcher struct {
	q   RequestQuery
	req JournalRequest
}

// Matcher returns a RequestMatcher for q.
func (q RequestQuery) Matcher() *RequestMatcher { return &RequestMatcher{q: q} }

// Matches reports whether the journal entry e meets the query (its criteria see
// JournalRequest.Of).
func (rm *RequestMatcher) Matches(e *HistoryEntry) bool {
	q := &rm.q
	if q.method != "" && e.Method != q.method {
		return false
	}
	if q.pat != nil && !q.pat.Match([]byte(e.Path)) {
		return false
	}
	return q.criteria == nil || q.criteria.Match(rm.req.Of(e))
}

// JournalRequest turns journal entries into what mock criteria read, reusing its space.
// Owned by one goroutine.
type JournalRequest struct {
	req     mock.Request
	headers []mock.Header
}

// Of returns e's request as criteria see it: what history keeps of it, its query string
// (a token parameter redacted), its headers (Authorization, Cookie and
// Proxy-Authorization redacted, repeated fields joined with ", ") and its body (none when
// it was over the history's body limit). Valid until the next call.
func (j *JournalRequest) Of(e *HistoryEntry) *mock.Request {
	var query, body []byte
	j.headers = j.headers[:0]
	if ri := e.ReplayInput; ri != nil {
		if _, qs, ok := strings.Cut(ri.RawTarget, "?"); ok {
			query = []byte(qs)
		}
		for k, v := range ri.Headers {
			j.headers = append(j.headers, mock.Header{Name: []byte(k), Value: []byte(v)})
		}
		body = []byte(ri.Body)
	}
	j.req.Reset(query, j.headers, body)
	return &j.req
}
