//go:build race

package mock

// raceEnabled: the race detector makes sync.Pool drop entries, so allocation counts
// are not measured under it.
const raceEnabled = true
