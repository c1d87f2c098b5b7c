package features

import (
	"bytes"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/conn"
	"ownhttp/proto"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// The /_metrics document: keys sorted, objects never null, gauges from the engine and the
// drain.
func TestMetricsDocument(t *testing.T) {
	is := is.New(t)
	srv := &conn.Server{}
	a := New(Config{Engine: "threadpool", Server: srv, EngineStats: func() EngineStats {
		return EngineStats{ActiveConnections: 3, Accepted: 10, Rejected: 2}
	}})

	b, err := json.Marshal(a.metrics.Document(a.metrics.Read(), a.gauges(t0)))
	is.NoErr(err)
	var empty map[string]any
	is.NoErr(json.Unmarshal(b, &empty))
	for _, k := range []string{"status_counts", "latency_buckets_ms", "error_counts_by_class", "requests_by_route",
		"status_by_route", "latency_by_route_ms"} {
		is.Equal(empty[k], map[string]any{}) // an empty object, not null
	}
	is.Equal(empty["active_connections"], 3.0)
	is.Equal(empty["open_connections"], 3.0)
	is.Equal(empty["connections_accepted_total"], 10.0)
	is.Equal(empty["connections_rejected_total"], 2.0)
	is.Equal(empty["drain_state"], "running")
	is.Equal(empty["drain_elapsed_ms"], 0.0)
	is.Equal(empty["engine"], "threadpool")
	is.Equal(keysInOrder(t, b), sortedCopy(keysInOrder(t, b)))

	s := a.metrics.NewShard()
	s.Done(&conn.Completed{Method: proto.MethodGET, Route: "GET /", Status: 200, Start: t0, End: t0.Add(time.Millisecond),
		BytesIn: 40, BytesOut: 100})
	s.Flush()
	srv.StartDrain(t0)
	b, err = json.Marshal(a.metrics.Document(a.metrics.Read(), a.gauges(t0.Add(1500*time.Microsecond))))
	is.NoErr(err)
	var doc map[string]any
	is.NoErr(json.Unmarshal(b, &doc))
	is.Equal(doc["drain_state"], "draining")
	is.Equal(doc["drain_elapsed_ms"], 1.5)
	is.Equal(doc["drain_inflight_remaining"], 3.0)
	is.Equal(doc["total_requests"], 1.0)
	is.Equal(keysInOrder(t, b), sortedCopy(keysInOrder(t, b)))
	for _, k := range []string{"total_requests", "active_connections", "inflight_requests", "status_counts",
		"latency_buckets_ms", "bytes_sent_total", "error_counts_by_class", "requests_by_route", "status_by_route",
		"latency_by_route_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "drain_state",
		"drain_elapsed_ms", "engine", "requests_reused_connection"} {
		_, ok := doc[k]
		is.True(ok) // a field of spec §9.1
	}
	lat := doc["latency_by_route_ms"].(map[string]any)["GET /"].(map[string]any)
	is.Equal(len(lat), 3) // exactly p50, p95, p99
}

// keysInOrder returns the top-level keys of a JSON object in document order.
func keysInOrder(t *testing.T, b []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %v", err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
