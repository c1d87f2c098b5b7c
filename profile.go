//go:build pprof

package main

import (
	"os"
	"runtime/pprof"
)

// startProfile: with -tags pprof, OWNHTTP_CPUPROFILE=FILE records a CPU profile of the whole
// run; the returned function writes it. A development aid for the bench work.
func startProfile() (stop func()) {
	path := os.Getenv("OWNHTTP_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
