package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/cli"
	"ownhttp/internal/testkit"
	"ownhttp/loop"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// eachEngine runs f as a parallel subtest on each engine.
func eachEngine(t *testing.T, f func(t *testing.T, engine string)) {
	for _, engine := range testkit.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f(t, engine)
		})
	}
}

// run tells its caller where it listens: the ready callback gets every listener with its
// role, after they are bound, on both engines and with TLS (the HTTPS listener first, then
// the redirect).
func TestReadyCallback(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		s := testkit.Start(t, run, engine, "--access-log=false")
		is.Equal(s.Bound.Engine, engine)
		is.Equal(len(s.Bound.Listeners), 1)
		l := s.Bound.Listeners[0]
		is.Equal(l.Role, loop.RoleHTTP)
		is.Equal(l.Scheme, "http")
		is.True(l.Addr.Port() != 0) // the real port, not the 0 asked for
		is.Equal(l.URL, "http://"+l.Addr.String())
		is.Equal(s.URL(), l.URL)
		// The log still names the URL for a person who started it on --port 0.
		s.Logs.WaitFor(t, "url="+l.URL+"/")
		c := s.Dial(t) // and it serves there
		c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
		res := testkit.ReadResponses(c, []string{"GET"}, false)
		is.NoErr(res.Err)
		is.Equal(res.Resps[0].StatusCode, 200)

		tlsSrv := startTLSServer(t, engine, "--access-log=false")
		is.Equal(len(tlsSrv.Bound.Listeners), 2)
		is.Equal(tlsSrv.Bound.Listeners[0].Role, loop.RoleHTTPS)
		is.Equal(tlsSrv.Bound.Listeners[0].Scheme, "https")
		is.Equal(tlsSrv.Bound.Listeners[1].Role, loop.RoleRedirect)
		is.Equal(tlsSrv.Bound.Listeners[1].Scheme, "http")
		is.True(strings.HasPrefix(tlsSrv.URL(), "https://127.0.0.1:"))
	})
}

// The built binary writes --ready-file once it serves (the same JSON the callback gets) and
// removes it when it stops.
func TestReadyFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	is := is.New(t)
	dir := t.TempDir()
	p := testkit.StartProcess(t, dir, 20*time.Second, testkit.Binary(t), "--port", "0",
		"--state-file", filepath.Join(dir, "state.json"), "--access-log=false")
	is.Equal(p.Bound.Engine, "epoll")
	is.Equal(p.Bound.Listeners[0].Role, loop.RoleHTTP)
	l := newLabClientURL(t, p.Bound.URL(), nil)
	is.Equal(l.do("GET", "/healthz", "").status, 200)

	readyFile := p.Cmd.Args[len(p.Cmd.Args)-1]
	b, err := os.ReadFile(readyFile)
	is.NoErr(err)
	var raw map[string]any
	is.NoErr(json.Unmarshal(b, &raw)) // the documented field names
	listener := raw["listeners"].([]any)[0].(map[string]any)
	for _, k := range []string{"role", "scheme", "addr", "url"} {
		_, ok := listener[k]
		is.True(ok) // a documented field is present
	}
	is.NoErr(p.Cmd.Process.Signal(os.Interrupt))
	is.NoErr(p.Wait(t)) // a clean stop
	_, err = os.Stat(readyFile)
	is.True(errors.Is(err, os.ErrNotExist)) // removed at stop
}

// A ready file that cannot be written stops the start with an error, before serving.
func TestReadyFileUnwritable(t *testing.T) {
	is := is.New(t)
	clearEnv(t)
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	is.NoErr(os.WriteFile(blocker, nil, 0o600))
	called := false
	err := run(t.Context(), []string{"--port", "0", "--state-file", filepath.Join(dir, "s.json"),
		"--ready-file", filepath.Join(blocker, "ready.json")}, io.Discard, &testkit.LogBuffer{},
		func(loop.Bound) { called = true })
	is.True(err != nil)
	is.True(strings.Contains(err.Error(), "--ready-file"))
	is.True(!called) // not ready
}

// --help lists the subcommands beside the flags; --version prints the module version and
// the VCS revision from the build information.
func TestHelpAndVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	is := is.New(t)
	bin := testkit.Binary(t)
	code, _, stderr := testkit.RunBinary(t, bin, "--help")
	is.Equal(code, 0)
	for _, c := range cli.Commands {
		is.True(strings.Contains(stderr, "\n  "+c.Name+" ")) // every subcommand is listed
	}

	code, stdout, stderr := testkit.RunBinary(t, bin, "--version")
	is.Equal(code, 0)
	is.Equal(stderr, "")
	is.True(strings.HasPrefix(stdout, "ownhttp "))
	is.Equal(strings.Count(stdout, "\n"), 1) // one line
	// What the toolchain stamped into the binary, read independently with go version -m.
	info, err := exec.Command("go", "version", "-m", bin).Output()
	is.NoErr(err)
	rev := ""
	for line := range strings.Lines(string(info)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "build\tvcs.revision="); ok {
			rev = v
		}
	}
	if rev != "" {
		is.True(strings.Contains(stdout, "revision "+rev))
	} else {
		is.True(strings.Contains(stdout, "revision unknown"))
	}
}

// version renders what the build information says.
func TestVersionFormat(t *testing.T) {
	is := is.New(t)
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "ownhttp", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	is.Equal(formatVersion("", info), "ownhttp v1.2.3 revision abc123 (modified) committed 2026-12-01T10:00:00Z go1.26.0")
	// A release build's stamped version wins over the module's.
	is.Equal(formatVersion("v2.0.0", info), "ownhttp v2.0.0 revision abc123 (modified) committed 2026-12-01T10:00:00Z go1.26.0")
	info.Settings = nil
	info.Main.Version = ""
	is.Equal(formatVersion("", info), "ownhttp (devel) revision unknown (built without VCS information) go1.26.0")
	is.Equal(formatVersion("v2.0.0", info), "ownhttp v2.0.0 revision unknown (built without VCS information) go1.26.0")
	is.Equal(formatVersion("", nil), "ownhttp (no build information)")
	is.Equal(formatVersion("v2.0.0", nil), "ownhttp v2.0.0")
}

// A release build stamps its version with the linker (-X main.version=…, as
// scripts/release.sh does) and --version prints it first, then the build information.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	is := is.New(t)
	bin := filepath.Join(t.TempDir(), "ownhttp")
	out, err := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-X main.version=v9.8.7-test", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build with a stamped version: %v\n%s", err, out)
	}
	code, stdout, stderr := testkit.RunBinary(t, bin, "--version")
	is.Equal(code, 0)
	is.Equal(stderr, "")
	is.True(strings.HasPrefix(stdout, "ownhttp v9.8.7-test revision unknown (built without VCS information) go")) // the stamped version
	is.Equal(strings.Count(stdout, "\n"), 1)                                                                      // one line
}
