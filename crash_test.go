package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/matryer/is"
)

// crashServer is the real binary running as a child process.
type crashServer struct {
	cmd  *exec.Cmd
	addr string
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{} // closed when stderr is drained (the child has exited)
}

var crashAddrRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// buildServerBinary builds the command into a temporary directory.
func buildServerBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(build.Default.GOROOT, "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "ownhttp")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goTool, "build", "-buildvcs=false", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startCrashServer starts bin on 127.0.0.1:0 with the state file and waits for its address.
// The child is killed when the test ends if it is still running.
func startCrashServer(t *testing.T, bin, dir, stateFile string) *crashServer {
	t.Helper()
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OWNHTTP_") && !strings.HasPrefix(kv, "PORT=") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", "0", "--state-file", stateFile,
		"--static-dir", filepath.Join(dir, "static"), "--access-log=false")
	cmd.Env = env
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &crashServer{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs.WriteString(line + "\n")
			s.mu.Unlock()
			if m := crashAddrRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() { s.kill(t) })
	select {
	case s.addr = <-addr:
	case <-s.done:
		t.Fatalf("server exited before listening:\n%s", s.log())
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not report its address:\n%s", s.log())
	}
	return s
}

func (s *crashServer) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// kill sends SIGKILL (no drain, no final flush) and waits for the child to exit. It is
// idempotent.
func (s *crashServer) kill(t *testing.T) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill: %v", err)
	}
	<-s.done
	s.cmd.Wait()
}

// Acceptance of issue #4: every mock acknowledged with 201 survives kill -9, and a corrupt
// state file is set aside (<file>.corrupt.<ts>, logged) and the server starts empty.
func TestCrashKeepsAcknowledgedMocks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	is := is.New(t)
	bin := buildServerBinary(t)
	dir := t.TempDir()
	stateFile := filepath.Join(dir, "data", "state.json")

	s := startCrashServer(t, bin, dir, stateFile)
	l := newLabClient(t, &testServer{addr: s.addr})
	var ids []string
	for i := range 20 {
		m := l.createMock(fmt.Sprintf(`{"id":"m%02d","method":"GET","path_pattern":"/crash/%d","status":201,"body":"b%d"}`, i, i, i))
		ids = append(ids, m.ID)
	}
	s.kill(t) // at once after the last 201: nothing gets a chance to flush

	s = startCrashServer(t, bin, dir, stateFile)
	l = newLabClient(t, &testServer{addr: s.addr})
	var got []string
	for _, m := range l.listMocks() {
		got = append(got, m.ID)
	}
	is.Equal(got, ids) // every acknowledged mock, in order
	r := l.do("GET", "/crash/19", "")
	is.Equal(r.status, 201) // and it serves
	is.Equal(string(r.body), "b19")
	s.kill(t)

	is.NoErr(os.WriteFile(stateFile, []byte(`{"version":1,"mocks":[{"id":"trunc`), 0o644))
	s = startCrashServer(t, bin, dir, stateFile)
	l = newLabClient(t, &testServer{addr: s.addr})
	is.Equal(len(l.listMocks()), 0) // starts empty
	backups, err := filepath.Glob(stateFile + ".corrupt.*")
	is.NoErr(err)
	is.Equal(len(backups), 1) // the corrupt file was set aside
	b, err := os.ReadFile(backups[0])
	is.NoErr(err)
	is.Equal(string(b), `{"version":1,"mocks":[{"id":"trunc`) // untouched
	is.True(strings.Contains(s.log(), "corrupt"))             // and logged
	is.True(strings.Contains(s.log(), filepath.Base(backups[0])))
	l.createMock(`{"method":"GET","path_pattern":"/after"}`) // and works
	s.kill(t)
}
