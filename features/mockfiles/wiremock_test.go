package mockfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"

	"ownhttp/internal/testkit"
)

// A WireMock root in a mocks directory loads: stubs from mappings/, bodies from __files/
// (whose .json files are not read as mock files), unsupported parts listed in Sources;
// a stub that cannot be imported fails its file, named by index and field; a body file
// change reloads its stubs.
func TestWireMockRoot(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	testkit.WriteFile(t, dir, "wm/mappings/users.json", `{"mappings":[
		{"id":"user-1","request":{"method":"GET","urlPath":"/users/1"},"response":{"bodyFileName":"user.json"}},
		{"request":{"method":"GET","urlPath":"/proxied"},"response":{"proxyBaseUrl":"http://example.com"}}]}`)
	testkit.WriteFile(t, dir, "wm/__files/user.json", `{"id":1}`)
	testkit.WriteFile(t, dir, "wm/mappings/bad.json", `{"request":{"method":"GET","urlPath":"/up"},"response":{"bodyFileName":"../../secret.json"}}`)
	testkit.WriteFile(t, dir, "single.json", `{"request":{"method":"GET","url":"/single"},"response":{"body":"one"}}`)
	a := newActor(t)
	w := New(Config{Dirs: []string{dir}, Actor: a})
	is.NoErr(w.Load())

	is.Equal(bodies(a), map[string]string{"user-1": `{"id":1}`, "file-wm-mappings-users-2": "", "file-single-1": "one"})
	src := map[string]Source{}
	for _, s := range w.Sources() {
		src[s.Path] = s
	}
	is.Equal(len(src), 3) // __files/user.json is a body, not a mock file
	is.Equal(src["wm/mappings/users.json"].Mocks, 2)
	is.Equal(len(src["wm/mappings/users.json"].Unsupported), 1)
	is.True(strings.HasPrefix(src["wm/mappings/users.json"].Unsupported[0], "wm/mappings/users.json#1: mappings[1].response.proxyBaseUrl: proxying is not imported"))
	is.Equal(src["wm/mappings/bad.json"].Error, "wm/mappings/bad.json#0: response.bodyFileName: ../../secret.json: must stay inside __files")

	run(t, a)
	// A body file that is a symbolic link out of the mocks directory is refused.
	outside := t.TempDir()
	testkit.WriteFile(t, outside, "secret.json", `{"secret":true}`)
	is.NoErr(os.Symlink(filepath.Join(outside, "secret.json"), filepath.Join(dir, "wm", "__files", "link.json")))
	testkit.WriteFile(t, dir, "wm/mappings/link.json", `{"request":{"method":"GET","urlPath":"/link"},"response":{"bodyFileName":"link.json"}}`)
	is.NoErr(w.scan(t.Context()))
	found := 0
	for _, s := range w.Sources() {
		if s.Path == "wm/mappings/link.json" {
			found++
			is.Equal(s.Error, "wm/mappings/link.json#0: response.bodyFileName: link.json: escapes the mocks directory")
		}
	}
	is.Equal(found, 1)
	_, served := bodies(a)["file-wm-mappings-link-1"]
	is.True(!served)
	testkit.WriteFile(t, dir, "wm/__files/user.json", `{"id":1,"name":"Ada"}`)
	is.NoErr(w.scan(t.Context()))
	is.Equal(bodies(a)["user-1"], `{"id":1,"name":"Ada"}`)
}
