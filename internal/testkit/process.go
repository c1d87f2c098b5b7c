package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ownhttp/loop"
)

// Main runs the tests of a package that uses Binary and removes the binary afterwards:
// call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string // the temporary directory of the built binary; removed by Main
	binPath string
	binErr  error
)

// Binary builds the command of the module the test runs in (its working directory) once per
// test process and returns its path. The build stamps VCS information when the toolchain
// can read it, and builds without when it cannot (a clone owned by another user).
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "ownhttp-test-bin-")
		if binErr != nil {
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(build.Default.GOROOT, "bin", "go")
		}
		binPath = filepath.Join(binDir, "ownhttp")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, goTool, "build", "-buildvcs=auto", "-o", binPath, ".").CombinedOutput()
		if err != nil && bytes.Contains(out, []byte("VCS")) {
			out, err = exec.CommandContext(ctx, goTool, "build", "-buildvcs=false", "-o", binPath, ".").CombinedOutput()
		}
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// Environ is the test process's environment without the variables the server reads
// (OWNHTTP_* and PORT), plus extra ("NAME=value"): what a child process starts with, so the
// caller's settings cannot leak into a test.
func Environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OWNHTTP_") && !strings.HasPrefix(kv, "PORT=") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// RunBinary runs bin with args in the clean Environ (plus OWNHTTP_PORT=0, so that it never
// takes a real port should it start serving) and waits at most 30 s for it to exit.
func RunBinary(t testing.TB, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = Environ("OWNHTTP_PORT=0")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %v did not exit within 30s\n%s", bin, args, e.String())
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return code, o.String(), e.String()
}

// Process is a server running as a child process (the built binary, or a script that execs
// it) in its own process group.
type Process struct {
	Cmd *exec.Cmd
	// Addr is the application's listener, from the ready file.
	Addr string
	// Bound is what the ready file said.
	Bound loop.Bound

	logs   LogBuffer
	exited chan struct{} // closed when the child has exited
	err    error         // Wait's result, set before exited closes
}

var readySeq struct {
	sync.Mutex
	n int
}

// StartProcess starts name with args in dir, in the clean Environ, adding
// --ready-file FILE, and returns once the server wrote its ready file (waiting at most wait:
// a script may compile first). The child's stdout and stderr are its Logs. When the test
// ends, a child still running gets SIGTERM, then SIGKILL after 10 s.
func StartProcess(t testing.TB, dir string, wait time.Duration, name string, args ...string) *Process {
	t.Helper()
	return StartProcessStderr(t, dir, wait, nil, name, args...)
}

// StartProcessStderr is StartProcess with the child's stderr going to stderr, handed to the
// child as its own descriptor (nothing in this process copies it, so a pipe the test never
// reads blocks the child's writes and nothing else); Logs then holds its stdout only. A nil
// stderr is StartProcess. The caller keeps stderr open for as long as the child may write.
func StartProcessStderr(t testing.TB, dir string, wait time.Duration, stderr *os.File, name string, args ...string) *Process {
	t.Helper()
	return startProcess(t, dir, wait, stderr, nil, name, args...)
}

// StartProcessEnv is StartProcess with extra variables ("NAME=value") added to the clean
// Environ (an image's ENV, say).
func StartProcessEnv(t testing.TB, dir string, wait time.Duration, env []string, name string, args ...string) *Process {
	t.Helper()
	return startProcess(t, dir, wait, nil, env, name, args...)
}

func startProcess(t testing.TB, dir string, wait time.Duration, stderr *os.File, env []string, name string, args ...string) *Process {
	t.Helper()
	readySeq.Lock()
	readySeq.n++
	readyFile := filepath.Join(t.TempDir(), "ready-"+strconv.Itoa(readySeq.n)+".json")
	readySeq.Unlock()
	cmd := exec.Command(name, append(args, "--ready-file", readyFile)...)
	cmd.Dir = dir
	cmd.Env = Environ(env...)
	p := &Process{Cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.logs, &p.logs
	if stderr != nil {
		cmd.Stderr = stderr
	}
	ownGroup(cmd) // a script and the server it execs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.stop(false) })

	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(readyFile); err == nil {
			if err := json.Unmarshal(b, &p.Bound); err != nil || len(p.Bound.Listeners) == 0 {
				t.Fatalf("ready file %q: %v", b, err)
			}
			p.Addr = p.Bound.Listeners[0].Addr.String()
			return p
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before it was ready: %v\n%s", name, p.err, p.Logs())
		case <-deadline.C:
			t.Fatalf("%s was not ready within %s\n%s", name, wait, p.Logs())
		case <-tick.C:
		}
	}
}

// Wait waits (at most 20 s) for the child to exit by itself and returns what exec's Wait
// returned.
func (p *Process) Wait(t testing.TB) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit within 20s\n%s", p.Cmd.Path, p.Logs())
		return nil
	}
}

// Logs is everything the child wrote so far.
func (p *Process) Logs() string { return p.logs.String() }

// WaitLogs waits (at most 10 s) until the child's output holds substr and returns all of it;
// see LogBuffer.WaitFor.
func (p *Process) WaitLogs(t testing.TB, substr string) string {
	t.Helper()
	return p.logs.WaitFor(t, substr)
}

// Kill sends SIGKILL to the process group (no drain, no final flush) and waits for it to
// exit. It is idempotent.
func (p *Process) Kill() { p.stop(true) }

// stop signals the process group (SIGTERM, or SIGKILL when kill is set) and waits for the
// child; past 10 s it is killed.
func (p *Process) stop(kill bool) {
	select {
	case <-p.exited:
		return
	default:
	}
	signalGroup(p.Cmd.Process, kill)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		signalGroup(p.Cmd.Process, true)
		<-p.exited
	}
}
