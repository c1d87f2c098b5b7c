package cli

import (
	"encoding/json"
	"errors"
	"ownhttp/state"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// The terminal screen: the four sections, newest first, and --failed-only.
func TestLiveBoard(t *testing.T) {
	ev := func(id uint64, typ, trace, payload string) liveItem {
		return liveItem{ev: &state.Event{ID: id, TS: "2026-01-01T00:00:00Z", Type: typ, TraceID: trace, Payload: json.RawMessage(payload)}}
	}
	items := []liveItem{
		ev(1, "system.health", "", `{"engine":"epoll","state":"server_initialized"}`),
		ev(2, "request.completed", "t2", `{"method":"GET","path":"/ok","status":200,"latency_ms":0.5}`),
		ev(3, "request.completed", "t3", `{"method":"POST","path":"/bad","status":500,"latency_ms":2}`),
		ev(4, "scenario.step.completed", "t4", `{"scenario_id":"sc","step_id":"s1","status":"pass"}`),
		ev(5, "scenario.step.completed", "t5", `{"scenario_id":"sc","step_id":"s2","status":"fail","failure_reason":"boom"}`),
		ev(6, "proxy.request.completed", "t6", `{"target_id":"t","method":"GET","path":"/up","status":200}`),
		ev(7, "request.completed", "mine", `{"method":"GET","path":"/_metrics","status":200}`),
		ev(8, "incident.started", "", `{"mode":"x"}`),
		ev(9, "request.completed", "t9", `not json`),
	}
	t.Run("all", func(t *testing.T) {
		is := is.New(t)
		b := newLiveBoard(false)
		b.own.add("mine")
		var lines []string
		for _, it := range items {
			lines = append(lines, b.apply(it))
		}
		is.Equal(lines[1], "#2 request 200 GET /ok lat=0.5ms trace=t2")
		is.Equal(lines[5], "#6 proxy 200 GET /up target=t trace=t6")
		is.Equal(lines[6], "") // the view's own /_metrics poll
		is.Equal(lines[7], `#8 event incident.started {"mode":"x"}`)
		is.Equal(lines[8], `#9 event request.completed not json`) // shown as it came
		is.Equal(b.cursor, uint64(9))
		screen := b.render()
		for _, want := range []string{"Live Ops | ", "cursor=9 failed_only=off", "Summary | requests=?",
			"\nRecent Requests\n", "\nScenario Timeline\n  scenario.step.completed scenario=sc step=s2 status=fail reason=boom\n",
			"\nProxy Activity\n  200 GET /up target=t trace=t6\n", "\nHealth\n  engine: epoll\n  state: server_initialized\n  ts: 2026-01-01T00:00:00Z\n"} {
			if !strings.Contains(screen, want) {
				t.Errorf("screen lacks %q:\n%s", want, screen)
			}
		}
		is.True(strings.Index(screen, "POST /bad") < strings.Index(screen, "GET /ok")) // newest first
		// A poll's event that came before the poll named its trace id is left off the screen.
		b.apply(ev(10, "request.completed", "late", `{"method":"GET","path":"/_metrics","status":200}`))
		is.True(strings.Contains(b.render(), "GET /_metrics"))
		b.own.add("late")
		is.True(!strings.Contains(b.render(), "GET /_metrics"))
	})
	t.Run("failed only", func(t *testing.T) {
		is := is.New(t)
		b := newLiveBoard(true)
		var shown []string
		for _, it := range items[:6] {
			if line := b.apply(it); line != "" {
				shown = append(shown, line)
			}
		}
		is.Equal(len(shown), 3) // health, the 500, the failed step
		is.True(strings.Contains(shown[1], "500 POST /bad"))
		is.True(strings.Contains(shown[2], "status=fail"))
		is.True(strings.Contains(b.render(), "Proxy Activity\n  (none)\n"))
	})
	t.Run("rows are bounded", func(t *testing.T) {
		is := is.New(t)
		b := newLiveBoard(false)
		for i := range 100 {
			b.apply(ev(uint64(i+1), "request.completed", "t", `{"method":"GET","path":"/p`+strconv.Itoa(i)+`","status":200}`))
		}
		is.Equal(len(b.requests), liveRows)
		screen := b.render()
		is.Equal(strings.Count(screen, "GET /p"), liveShownRows)
		is.True(strings.Contains(screen, "GET /p99 "))
	})
}

// Flags and positional arguments in any order; "--" ends the flags.
func TestParseCLIFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		seed int64
		json bool
	}{
		{[]string{"f.json"}, []string{"f.json"}, 1337, false},
		{[]string{"f.json", "--seed", "5", "--json"}, []string{"f.json"}, 5, true},
		{[]string{"--seed", "5", "f.json", "--json"}, []string{"f.json"}, 5, true},
		{[]string{"--seed=5", "--json", "f.json"}, []string{"f.json"}, 5, true},
		{[]string{"a", "--seed", "5", "b"}, []string{"a", "b"}, 5, false},
		{[]string{"--seed", "5", "--", "--json"}, []string{"--json"}, 5, false},
		{[]string{"--", "-x", "y"}, []string{"-x", "y"}, 1337, false},
		{[]string{}, nil, 1337, false},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			is := is.New(t)
			fs, cc := newCLIFlags("run", "base-url")
			seed := fs.Int64("seed", 1337, "")
			pos, err := parseCLIFlags(fs, tc.args)
			is.NoErr(err)
			is.Equal(pos, tc.pos)
			is.Equal(*seed, tc.seed)
			is.Equal(cc.json, tc.json)
		})
	}
}

// The connection settings come from the environment when the flags do not give them.
func TestParseCLIFlagsEnv(t *testing.T) {
	is := is.New(t)
	t.Setenv("OWNHTTP_TOKEN", "")
	t.Setenv("OWNHTTP_DEMO_TOKEN", "server-token")
	t.Setenv("OWNHTTP_SERVER", "http://example.test:9")
	t.Setenv("OWNHTTP_TIMEOUT", "3s")
	fs, cc := newCLIFlags("list")
	_, err := parseCLIFlags(fs, nil)
	is.NoErr(err)
	is.Equal(cc.token, "server-token") // the server's variable serves the CLI too
	is.Equal(cc.server, "http://example.test:9")
	is.Equal(cc.timeout, 3*time.Second)
	t.Setenv("OWNHTTP_TOKEN", "cli-token")
	fs, cc = newCLIFlags("list")
	_, err = parseCLIFlags(fs, []string{"--server", "http://flag.test"})
	is.NoErr(err)
	is.Equal(cc.token, "cli-token")
	is.Equal(cc.server, "http://flag.test") // the flag wins
	t.Setenv("OWNHTTP_TIMEOUT", "soon")
	fs, _ = newCLIFlags("list")
	_, err = parseCLIFlags(fs, nil)
	is.True(errors.As(err, new(UsageError))) // a bad value from the environment is a usage error
}
