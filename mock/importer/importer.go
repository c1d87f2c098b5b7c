// Package importer turns what other tools keep — WireMock stub mappings, OpenAPI documents,
// HAR files — and recorded exchanges into ownhttp mock definitions. It is pure like the mock
// engine it feeds: bytes in, mock JSON and a report out; no goroutines, no I/O, no clock reads
// (a seed is handed in where a choice must be made).
//
// A definition is the JSON object a mock file holds (the API's mock JSON), so whatever an
// importer produces is checked by the same decoder as a mock a user writes.
package importer

import (
	"encoding/json"
	"fmt"
)

// File is one input file. Name is its path relative to the import root, slash-separated
// ("mappings/users.json", "__files/user.json"); Data is its whole content.
type File struct {
	Name string
	Data []byte
}

// Item is one thing of the source the import looked at: one mock it produced, or one source
// item it could not turn into a mock.
type Item struct {
	// Source says where the item came from, in the source's own terms:
	// "mappings/users.json#2", "GET /pets/{petId} 200", "log.entries[3]".
	Source string `json:"source"`
	// Mock is the mock definition (a mock file's JSON object); nil when Error is set.
	Mock json.RawMessage `json:"mock,omitempty"`
	// Unsupported lists, in words, the parts of the source item the mock does not carry
	// (`"response.proxyBaseUrl: proxying is not imported"`). Never silently empty when
	// something was left out.
	Unsupported []string `json:"unsupported,omitempty"`
	// Error says why the item could not be imported at all; the item has no Mock.
	Error string `json:"error,omitempty"`
}

// Limits bound what an import reads; the zero value of a field means the default.
type Limits struct {
	// MaxBytes bounds the sum of the input files' sizes (default 50 MiB).
	MaxBytes int64
	// MaxItems bounds how many items one import may produce (default 10,000).
	MaxItems int
	// MaxDepth bounds the nesting of JSON and YAML values (default 64).
	MaxDepth int
}

// Defaults of Limits.
const (
	DefaultMaxBytes = 50 << 20
	DefaultMaxItems = 10000
	DefaultMaxDepth = 64
)

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultMaxItems
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Error is a problem with the input as a whole (not one item of it): the import produces
// nothing, and the API answers 400 with Field and Message.
type Error struct {
	// Field names where the problem is: a file name, a JSON path ("log.version"), or
	// "body" for the input as a whole.
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// errorf builds an *Error.
func errorf(field, format string, args ...any) *Error {
	return &Error{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Formats an import may name.
const (
	FormatHAR      = "har"
	FormatOpenAPI  = "openapi"
	FormatWireMock = "wiremock"
	FormatOwnhttp  = "ownhttp"
)
