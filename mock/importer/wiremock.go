package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// WireMock imports a WireMock root: every .json file outside __files/ is a stub mapping file
// (one stub, or {"mappings":[…]}), and a stub's bodyFileName is read from the __files/
// folder of its root (the folder above the nearest "mappings" folder of the mapping file,
// or the file's own folder when it is in none). Each stub is an Item named
// "<file>#<index>"; a mapping file that does not read (bad JSON, nesting past
// lim.MaxDepth, a shape that is neither form) is one failed Item named by the file, or the
// whole import's *Error when it is the only mapping file. Names that are absolute or hold
// "..", inputs past lim.MaxBytes and more than lim.MaxItems stubs are an *Error.
func WireMock(files []File, lim Limits) ([]Item, error) {
	lim = lim.WithDefaults()
	var total int64
	byName := make(map[string][]byte, len(files))
	for _, f := range files {
		if e := checkName(f.Name); e != nil {
			return nil, e
		}
		if _, dup := byName[f.Name]; dup {
			return nil, errorf(f.Name, "is given twice")
		}
		byName[f.Name] = f.Data
		total += int64(len(f.Data))
	}
	if e := checkSize("body", total, lim); e != nil {
		return nil, e
	}
	var mappings []string
	for name := range byName {
		if strings.HasSuffix(name, ".json") && !underFiles(name) {
			mappings = append(mappings, name)
		}
	}
	if len(mappings) == 0 {
		return nil, errorf("body", "holds no WireMock stub mapping (a .json file outside __files/)")
	}
	sort.Strings(mappings)
	var items []Item
	for _, name := range mappings {
		root := wireMockRoot(name)
		body := func(file string) ([]byte, error) {
			clean, err := cleanBodyFileName(file)
			if err != nil {
				return nil, err
			}
			p := path.Join(root, "__files", clean)
			b, ok := byName[p]
			if !ok {
				return nil, fmt.Errorf("%s is not among the files given", p)
			}
			return b, nil
		}
		got, err := WireMockFile(name, byName[name], body, lim)
		if err != nil {
			var e *Error
			if len(mappings) == 1 || !errors.As(err, &e) {
				return nil, err
			}
			got = []Item{{Source: name, Error: e.Message}}
		}
		items = append(items, got...)
		if len(items) > lim.MaxItems {
			return nil, errorf("body", "holds more than the %d stubs an import may take", lim.MaxItems)
		}
	}
	return items, nil
}

// checkName refuses a file name that is empty, absolute or climbs out with "..".
func checkName(name string) *Error {
	if name == "" {
		return errorf("files", "a file has no name")
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || strings.Contains(name, ":") && len(name) > 1 && name[1] == ':' {
		return errorf(name, "must be a relative, slash-separated name")
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return errorf(name, "must not hold ..")
		}
	}
	return nil
}

// underFiles reports whether the slash-separated name is inside a __files folder.
func underFiles(name string) bool {
	return strings.HasPrefix(name, "__files/") || strings.Contains(name, "/__files/")
}

// wireMockRoot is the root folder of a mapping file ("" for the import's root): the
// folder holding its nearest "mappings" ancestor, else its own folder.
func wireMockRoot(name string) string {
	dir := path.Dir(name)
	for d := dir; d != "." && d != "/"; d = path.Dir(d) {
		if path.Base(d) == "mappings" {
			if r := path.Dir(d); r != "." {
				return r
			}
			return ""
		}
	}
	if dir == "." {
		return ""
	}
	return dir
}

// cleanBodyFileName checks a bodyFileName: relative, slash-separated, never climbing out
// of __files. It returns the name cleaned.
func cleanBodyFileName(name string) (string, error) {
	if name == "" {
		return "", errors.New("is empty")
	}
	if strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || len(name) > 1 && name[1] == ':' {
		return "", errors.New("must be a path relative to __files")
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", errors.New("must not hold .. (it is relative to __files and stays inside it)")
		}
	}
	return path.Clean(name), nil
}

// IsWireMock reports whether data looks like a WireMock mapping file rather than an
// ownhttp mock file: a JSON object with a "request", "response" or "mappings" key (no
// ownhttp mock has any of them).
func IsWireMock(data []byte) bool {
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case "request", "response", "mappings":
			return true
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return false
}

// BodyFiles reads a stub's bodyFileName (as written in the stub); an error says why not.
type BodyFiles func(name string) ([]byte, error)

// WireMockFile imports one WireMock mapping file, named name in Sources and errors: one
// stub, or {"mappings":[…]}. body reads bodyFileName files (nil: none can be read). A
// file that does not read as either form is an *Error naming the file; each stub is an
// Item, failed when it cannot become a mock.
func WireMockFile(name string, data []byte, body BodyFiles, lim Limits) ([]Item, error) {
	lim = lim.WithDefaults()
	if e := checkSize(name, int64(len(data)), lim); e != nil {
		return nil, e
	}
	if e := checkJSONDepth(name, data, lim); e != nil {
		return nil, e
	}
	var top any
	if err := decodeJSON(data, &top); err != nil {
		return nil, errorf(name, "is not a WireMock stub mapping: %s", jsonProblem(err))
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return nil, errorf(name, "must be a JSON object: a stub {\"request\":…,\"response\":…} or {\"mappings\":[…]}")
	}
	var stubs []any
	list, isList := obj["mappings"]
	switch {
	case isList:
		l, ok := list.([]any)
		if !ok {
			return nil, errorf(name+": mappings", "must be a list of stubs")
		}
		for k := range obj {
			if k != "mappings" && k != "meta" {
				return nil, errorf(name+": "+k, "unknown field beside mappings")
			}
		}
		stubs = l
	case obj["request"] != nil || obj["response"] != nil:
		stubs = []any{obj}
	default:
		return nil, errorf(name, "is neither a WireMock stub (request, response) nor {\"mappings\":[…]}")
	}
	if len(stubs) > lim.MaxItems {
		return nil, errorf(name+": mappings", "holds %d stubs, more than the %d an import may take", len(stubs), lim.MaxItems)
	}
	if body == nil {
		body = func(string) ([]byte, error) { return nil, errors.New("no __files folder is given") }
	}
	items := make([]Item, 0, len(stubs))
	for i, s := range stubs {
		it := Item{Source: fmt.Sprintf("%s#%d", name, i)}
		prefix := ""
		if isList {
			prefix = fmt.Sprintf("mappings[%d].", i)
		}
		c := &stubConv{prefix: prefix, body: body}
		m, err := c.stub(s)
		if err != nil {
			it.Error = err.Error()
		} else {
			raw, merr := json.Marshal(m)
			if merr != nil {
				it.Error = "cannot encode the mock: " + merr.Error()
			} else {
				it.Mock = raw
			}
		}
		it.Unsupported = c.unsupported
		items = append(items, it)
	}
	return items, nil
}

// decodeJSON decodes data keeping numbers as json.Number; trailing data is an error.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return errors.New("unexpected end of JSON input")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	return nil
}
