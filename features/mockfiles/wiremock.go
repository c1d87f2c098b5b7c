package mockfiles

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"ownhttp/mock/importer"
	"ownhttp/state"
)

// parseWireMock loads a WireMock mapping file (one stub, or {"mappings":[…]}) as file
// mocks, reading each bodyFileName from the __files folder of its WireMock root (see
// wireMockRoot) and recording it in e.deps, so that a change to a body file reloads the
// stubs. The file loads all or nothing, like any mock file: a stub that cannot become a
// mock fails the file, named by its index and field. What the mocks do not carry of the
// stubs goes to e.unsupported.
func parseWireMock(dir, p string, data []byte, e *entry) ([]state.FileMock, error) {
	filesDir := filepath.Join(wireMockRoot(dir, p), "__files")
	body := func(name string) ([]byte, error) {
		bp, err := resolveWireMockBody(dir, filesDir, name)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(bp)
		if err != nil {
			return nil, errors.New("cannot be read")
		}
		if fi, err := os.Stat(bp); err == nil {
			if e.deps == nil {
				e.deps = map[string]fileKey{}
			}
			e.deps[bp] = statKey(fi)
		}
		return b, nil
	}
	items, err := importer.WireMockFile(e.rel, data, body, importer.Limits{})
	if err != nil {
		return nil, err
	}
	var failed []string
	mocks := make([]state.FileMock, 0, len(items))
	e.unsupported = nil
	for _, it := range items {
		for _, u := range it.Unsupported {
			e.unsupported = append(e.unsupported, it.Source+": "+u)
		}
		if it.Error != "" {
			failed = append(failed, it.Source+": "+it.Error)
			continue
		}
		fm, de := state.DecodeMockFile(it.Mock)
		if de != nil {
			failed = append(failed, it.Source+": "+de.Message)
			continue
		}
		mocks = append(mocks, fm...)
	}
	if len(failed) > 0 {
		return nil, errors.New(strings.Join(failed, "; "))
	}
	return mocks, nil
}

// wireMockRoot is the WireMock root of the mapping file p: the folder holding its nearest
// "mappings" ancestor below dir, else the file's own folder.
func wireMockRoot(dir, p string) string {
	for d := filepath.Dir(p); inside(dir, d) && d != filepath.Clean(dir); d = filepath.Dir(d) {
		if filepath.Base(d) == "mappings" {
			return filepath.Dir(d)
		}
	}
	return filepath.Dir(p)
}

// resolveWireMockBody returns the path of bodyFileName name: relative to filesDir, inside
// it once cleaned, and inside dir once symbolic links are resolved.
func resolveWireMockBody(dir, filesDir, name string) (string, error) {
	if name == "" || filepath.IsAbs(name) || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") {
		return "", errors.New("must be a path relative to __files")
	}
	p := filepath.Join(filesDir, filepath.FromSlash(name))
	if !inside(filesDir, p) {
		return "", errors.New("must stay inside __files")
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	realP, err := filepath.EvalSymlinks(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", errors.New("is not in __files")
	}
	if err != nil {
		return "", errors.New("cannot be read")
	}
	if !inside(realDir, realP) {
		return "", errors.New("escapes the mocks directory")
	}
	return realP, nil
}
