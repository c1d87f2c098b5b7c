//go:build race

package main

// raceEnabled: the race detector slows every goroutine several times over, so a test that
// measures time from the client's side runs in .ci/run's step without it.
const raceEnabled = true
