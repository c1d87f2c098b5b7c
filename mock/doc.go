// Package mock is the mock engine, pure: definitions in, compiled matchers out. It holds
// path patterns and regexes (Path), the criteria language a mock matches requests with — and that verification counts them
// with — beyond the method and path: query parameters, headers, cookies, form fields and
// the body, each tested by matchers (equals, contains, RE2 regexes, absence, JSON equality,
// JSON paths, and/or/not). Regexes are Go's regexp (RE2): linear in the input, so no
// pattern or request can make matching backtrack.
//
// Response fields may be templates (CompileTemplate, Template.Render) in the Handlebars
// dialect WireMock documents: {{request.query.id}}, {{jsonPath request.body '$.name'}},
// {{#each}}, {{randomValue}}, {{now}} and the rest of WireMock's and Handlebars.java's
// helpers (template.go lists what differs). A template compiles once, refusing unknown
// helpers and bad literal JSON paths, regexes, date formats and time zones; a render
// reads the request lazily (no map of headers is built; a definite JSON path is read
// from the body's text without decoding it), takes its clock and random seed from its
// input, and is bounded in steps and output. The one exception to "no I/O" is a time
// zone region given as a literal (timezone='Europe/Paris'): time.LoadLocation resolves
// it once, at compile time, from the system's zoneinfo or an embedded time/tzdata.
//
// A Plan (plan.go) is the wire behaviour a mock may carry: a latency distribution (fixed,
// uniform, lognormal, or fitted to p50/p95/p99) and protocol faults with probabilities and
// windows, decided for each hit by a pure function of (seed, mock id, hit) (HitSeed, the
// same generator templates draw their random values from). It is not wired to the server
// yet (issue #16).
//
// No goroutines, no I/O, no clock reads, no global mutable state. A compiled Criteria is
// immutable and safe for concurrent use; a Request is owned by one goroutine and reused
// across requests (it caches the decoded body and holds scratch space, so matching a
// request without body criteria allocates nothing).
package mock
