//go:build !pprof

package main

// startProfile does nothing in normal builds (see profile.go, built with -tags pprof).
func startProfile() (stop func()) { return func() {} }
