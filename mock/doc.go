// Package mock is the mock engine, pure: definitions in, compiled matchers out. It holds
// the criteria language a mock matches requests with — and that verification counts them
// with — beyond the method and path: query parameters, headers, cookies, form fields and
// the body, each tested by matchers (equals, contains, RE2 regexes, absence, JSON equality,
// JSON paths, and/or/not). Regexes are Go's regexp (RE2): linear in the input, so no
// pattern or request can make matching backtrack.
//
// No goroutines, no I/O, no clock reads, no global mutable state. A compiled Criteria is
// immutable and safe for concurrent use; a Request is owned by one goroutine and reused
// across requests (it caches the decoded body and holds scratch space, so matching a
// request without body criteria allocates nothing).
package mock
