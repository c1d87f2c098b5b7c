package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// The container image cannot be run on the build machines (their sandbox refuses the
// runtime's setrlimit), so its command is run here outside a container: the built binary
// with the Containerfile's ENTRYPOINT arguments and ENV, read from the file, in a temporary
// directory standing for /data (its working directory and state volume). Only the port
// differs: --port 0 follows the entrypoint's --port 8080 (the last one wins), so the test
// takes a free port.

// imageCommand reads the Containerfile's ENTRYPOINT (exec form) and ENV lines, with /data
// replaced by dataDir.
func imageCommand(t *testing.T, dataDir string) (entrypoint, env []string, workdir string) {
	t.Helper()
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	// Join continued lines, drop comments.
	var lines []string
	var cur strings.Builder
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	data := func(s string) string { return strings.ReplaceAll(s, "/data", dataDir) }
	for _, line := range lines {
		instr, rest, _ := strings.Cut(line, " ")
		switch instr {
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &entrypoint); err != nil {
				t.Fatalf("ENTRYPOINT is not in exec form: %v", err)
			}
		case "ENV":
			for _, kv := range strings.Fields(rest) {
				env = append(env, data(kv))
			}
		case "WORKDIR":
			workdir = data(rest)
		}
	}
	if len(entrypoint) < 2 || entrypoint[0] != "/ownhttp" || workdir != dataDir || len(env) == 0 {
		t.Fatalf("Containerfile: entrypoint %q, workdir %q, env %q", entrypoint, workdir, env)
	}
	return entrypoint, env, workdir
}

// The image listens on 0.0.0.0 and so, by the server's rules, will not start without a
// token: it exits with status 2 and says which settings would let it.
func TestImageCommandNeedsToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	is := is.New(t)
	entry, _, _ := imageCommand(t, t.TempDir())
	args := append(entry[1:], "--port", "0") // the flags decide; nothing is opened before
	code, _, stderr := testkit.RunBinary(t, testkit.Binary(t), args...)
	is.Equal(code, 2)                                       // a usage error
	is.True(strings.Contains(stderr, "OWNHTTP_DEMO_TOKEN")) // names the setting that fixes it
	is.True(strings.Contains(stderr, "--allow-open-admin")) // and the other way
}

// With the token the image expects (OWNHTTP_DEMO_TOKEN), the same command serves on every
// interface (0.0.0.0): mocks to anyone, the API with the token only, the API to the Host
// names allowed (OWNHTTP_ALLOWED_HOSTS) and to no other, and its state lands in /data.
// OWNHTTP_ALLOW_OPEN_ADMIN=true, the documented other choice, serves the API without one.
func TestImageCommandServes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		dataDir := t.TempDir()
		entry, env, workdir := imageCommand(t, dataDir)
		env = append(env, "OWNHTTP_ENGINE="+engine, "OWNHTTP_DEMO_TOKEN=s3cret", "OWNHTTP_ALLOWED_HOSTS=lab.example.test")
		p := testkit.StartProcessEnv(t, workdir, 20*time.Second, env, testkit.Binary(t), append(entry[1:], "--port", "0")...)
		is.Equal(p.Bound.Listeners[0].Addr.Addr().String(), "0.0.0.0") // every interface
		base := "http://127.0.0.1:" + strconv.Itoa(int(p.Bound.Listeners[0].Addr.Port()))

		status, _, _ := originReq(t, base, "GET", "/healthz", "", "")
		is.Equal(status, 200)
		status, _, body := originReq(t, base, "GET", "/api/mocks", "", "")
		is.Equal(status, 401) // the API needs the token
		is.Equal(errorCode(body), "unauthorized")
		status, _, body = originReq(t, base, "POST", "/api/mocks", "",
			`{"method":"GET","path_pattern":"/image/hello","status":200,"body":"hi"}`, "Authorization", "Bearer s3cret")
		is.Equal(status, 201) // created with it
		var created struct {
			Mock struct {
				ID string `json:"id"`
			} `json:"mock"`
		}
		is.NoErr(json.Unmarshal([]byte(body), &created))
		is.True(created.Mock.ID != "") // the new mock's id
		status, _, body = originReq(t, base, "GET", "/image/hello", "elsewhere.example", "")
		is.Equal(status, 200) // a mock answers any Host, without a token
		is.Equal(body, "hi")
		status, _, _ = originReq(t, base, "GET", "/api/mocks", "lab.example.test:8080", "", "Authorization", "Bearer s3cret")
		is.Equal(status, 200) // an allowed name reaches the API
		status, _, _ = originReq(t, base, "GET", "/api/mocks", "elsewhere.example", "", "Authorization", "Bearer s3cret")
		is.Equal(status, 421) // another does not

		// An acknowledged change is on disk: the mock's file, in the store beside the state file.
		_, err := os.Stat(filepath.Join(dataDir, "server_state", "mocks", created.Mock.ID+".json"))
		is.NoErr(err) // kept in the data directory

		open := testkit.StartProcessEnv(t, workdir, 20*time.Second,
			append(env[:len(env)-2:len(env)-2], "OWNHTTP_ALLOW_OPEN_ADMIN=true", "OWNHTTP_STATE_FILE="+filepath.Join(dataDir, "open.json")),
			testkit.Binary(t), append(entry[1:], "--port", "0")...)
		openBase := "http://127.0.0.1:" + strconv.Itoa(int(open.Bound.Listeners[0].Addr.Port()))
		status, _, _ = originReq(t, openBase, "GET", "/api/mocks", "", "")
		is.Equal(status, 200) // open admin, as asked
	})
}
