package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// countingReader is a deterministic random source: 0x00, 0x01, 0x02, …
type countingReader struct{ next byte }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.next
		r.next++
	}
	return len(p), nil
}

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func testConfig() Config {
	return Config{Rand: &countingReader{}, Engine: "reactor", Now: func() time.Time { return t0 }}
}

func newTestModel() *Model { return NewModel(testConfig()) }

// mustCreate creates a mock from a JSON body or fails the test.
func mustCreate(t *testing.T, m *Model, body string) *Mock {
	t.Helper()
	in, e := DecodeMockInput([]byte(body))
	if e != nil {
		t.Fatalf("decode %s: %v", body, e)
	}
	x, e := m.CreateMock(in, t0)
	if e != nil {
		t.Fatalf("create %s: %v", body, e)
	}
	return x
}

// createErr runs decode+create and returns the error (nil on success).
func createErr(m *Model, body string) *Error {
	in, e := DecodeMockInput([]byte(body))
	if e != nil {
		return e
	}
	_, e = m.CreateMock(in, t0)
	return e
}

func mockJSON(method, path string) string {
	return fmt.Sprintf(`{"method":%q,"path_pattern":%q}`, method, path)
}

// rawHead builds a raw request head with CRLF line ends.
func rawHead(requestLine string, headers ...string) []byte {
	var b strings.Builder
	b.WriteString(requestLine + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func rec(trace uint64, status uint16) Record {
	return Record{TraceID: trace, Start: t0.UnixNano(), Latency: 1500 * time.Microsecond, Status: status,
		BytesIn: 74, BytesOut: 203, RouteKey: "mock"}
}

// keysOf returns the sorted top-level keys of a JSON object.
func keysOf(t *testing.T, data []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("not an object: %s", data)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// readEntryFiles decodes every <id>.json of dir (the entries of a store),
// ordered by created_at (or started_at), then by file name.
func readEntryFiles[T any](t *testing.T, dir, stamp string) []T {
	t.Helper()
	list, err := readEntries(filepath.Dir(dir), filepath.Base(dir), stamp)
	if err != nil {
		t.Fatal(err)
	}
	out := []T{}
	for _, e := range list {
		var x T
		if err := json.Unmarshal(e.raw, &x); err != nil {
			t.Fatalf("%s: %v: %s", e.name, err, e.raw)
		}
		out = append(out, x)
	}
	return out
}

// readHistoryLog decodes the lines of a store's history log, history.1.jsonl first.
func readHistoryLog(t *testing.T, store string) []HistoryEntry {
	t.Helper()
	var data []byte
	for _, name := range []string{historyPrevious, historyLog} {
		b, err := os.ReadFile(filepath.Join(store, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	out := []HistoryEntry{}
	for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e HistoryEntry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		out = append(out, e)
	}
	return out
}

// storeVersion reads the version of a store's store.json.
func storeVersion(t *testing.T, store string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(store, "store.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mk storeMarker
	if err := json.Unmarshal(data, &mk); err != nil {
		t.Fatal(err)
	}
	return mk.Version
}
