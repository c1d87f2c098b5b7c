// Package memtrim gives freed memory back to the system once a burst is over. The Go
// runtime collects only as the heap grows, and forces a collection every two minutes, so
// a server that goes idle after a burst (stalled streams cut, large bodies, many
// connections closed) keeps its peak resident size, garbage and pooled buffers included,
// for that long; the background scavenger then returns pages slowly. Trimmer looks every
// Period: when no collection has run since its last look (the process is quiet) and the
// heap holds more than Slack bytes beyond what was live at the last collection, it
// collects and returns the free pages (debug.FreeOSMemory) once. A busy server collects on
// its own, so the trimmer does nothing while there is traffic.
package memtrim

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Trimmer is one trimming loop; Run and Interrupt may be called from different goroutines.
type Trimmer struct {
	Period time.Duration // between looks; 0 means 2 s
	Slack  uint64        // heap bytes beyond the live ones that are tolerated; 0 means 8 MiB
	quit   chan struct{}
	once   sync.Once
}

// New returns a Trimmer with the default period and slack.
func New() *Trimmer { return &Trimmer{quit: make(chan struct{})} }

// Run looks every Period until Interrupt.
func (t *Trimmer) Run() error {
	period, slack := t.Period, t.Slack
	if period <= 0 {
		period = 2 * time.Second
	}
	if slack == 0 {
		slack = 8 << 20
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	samples := []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	var lastCycles uint64
	for {
		select {
		case <-t.quit:
			return nil
		case <-tick.C:
		}
		metrics.Read(samples)
		cycles := samples[0].Value.Uint64()
		held := samples[2].Value.Uint64() + samples[3].Value.Uint64()
		live := samples[1].Value.Uint64()
		if cycles == lastCycles && held > live+slack {
			debug.FreeOSMemory()
			metrics.Read(samples[:1])
			cycles = samples[0].Value.Uint64()
		}
		lastCycles = cycles
	}
}

// Interrupt stops Run. It is idempotent and never blocks.
func (t *Trimmer) Interrupt(error) { t.once.Do(func() { close(t.quit) }) }
