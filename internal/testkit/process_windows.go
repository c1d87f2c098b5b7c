package testkit

import (
	"os"
	"os/exec"
)

// ownGroup does nothing on Windows, which has no process groups to signal.
func ownGroup(*exec.Cmd) {}

// signalGroup ends p: Windows has no SIGTERM to send a process, so both a stop and a kill
// terminate it at once (no drain).
func signalGroup(p *os.Process, _ bool) { p.Kill() }
