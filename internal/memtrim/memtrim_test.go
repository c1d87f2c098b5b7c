package memtrim

import (
	"runtime/metrics"
	"testing"
	"time"

	"github.com/matryer/is"
)

var sink [][]byte

// After a burst of garbage, a quiet process gets its heap back down to about what is live,
// without a collection of its own; Interrupt ends Run.
func TestTrimsAfterABurst(t *testing.T) {
	is := is.New(t)
	held := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64() + s[1].Value.Uint64()
	}
	for range 64 { // 64 MiB, then garbage
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
	before := held()
	is.True(before > 48<<20) // the burst is still held

	tr := New()
	tr.Period = 20 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- tr.Run() }()
	deadline := time.Now().Add(time.Minute)
	for held() > 24<<20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling, not an assertion
	}
	after := held()
	t.Logf("heap held: %d MiB after the burst, %d MiB once trimmed", before>>20, after>>20)
	is.True(after <= 24<<20)
	tr.Interrupt(nil)
	tr.Interrupt(nil) // idempotent
	is.NoErr(<-done)
}
