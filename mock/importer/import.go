package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// Import reads files as format ("" detects it, see Detect) and returns the format it read
// and the items. A whole-input problem is an *Error: Field names the file, the JSON path or
// "format". OpenAPI and HAR take one file; WireMock takes a mapping, {"mappings":[…]}, or a
// directory of mappings/ and __files/; the ownhttp format takes mock files (one mock, or
// {"mocks":[…]}), whose objects pass through as items for the server's mock decoder.
func Import(format string, files []File, seed int64, lim Limits) (string, []Item, error) {
	lim = lim.WithDefaults()
	if len(files) == 0 || len(files) == 1 && len(bytes.TrimSpace(files[0].Data)) == 0 {
		return "", nil, errorf("body", "is empty: nothing to import")
	}
	if e := checkFiles(files, lim); e != nil {
		return "", nil, e
	}
	if format == "" {
		f, err := Detect(files)
		if err != nil {
			return "", nil, err
		}
		format = f
	}
	one := func() ([]byte, error) {
		if len(files) != 1 {
			return nil, errorf("body", "a %s import is one file, not a bundle of %d", format, len(files))
		}
		return files[0].Data, nil
	}
	var items []Item
	var err error
	switch format {
	case FormatOpenAPI:
		var data []byte
		if data, err = one(); err == nil {
			items, err = OpenAPI(data, seed, lim)
		}
	case FormatHAR:
		var data []byte
		if data, err = one(); err == nil {
			items, err = HAR(data, lim)
		}
	case FormatWireMock:
		if len(files) == 1 && files[0].Name == "" { // one stub file as the body
			files = []File{{Name: "body.json", Data: files[0].Data}}
		}
		items, err = WireMock(files, lim)
	case FormatOwnhttp:
		items, err = ownhttpItems(files, lim)
	default:
		err = errorf("format", "%q is not a format this server imports (har, openapi, wiremock, ownhttp)", format)
	}
	return format, items, err
}

// checkFiles refuses bundles whose names are not clean relative paths, repeat, or whose
// sizes add up past lim.MaxBytes.
func checkFiles(files []File, lim Limits) *Error {
	seen := make(map[string]bool, len(files))
	var total int64
	for _, f := range files {
		n := f.Name
		if len(files) > 1 || n != "" {
			if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "\\") || path.Clean(n) != n ||
				n == ".." || strings.HasPrefix(n, "../") || strings.ContainsRune(n, 0) {
				return errorf("files", "name %q must be a relative, slash-separated path without . or .. parts", n)
			}
			if seen[n] {
				return errorf("files", "name %q is given twice", n)
			}
			seen[n] = true
		}
		total += int64(len(f.Data))
	}
	return checkSize("body", total, lim)
}

// Detect names the format of files: a bundle with mappings/ is WireMock; one file is read
// for its marks: "openapi" or "swagger" (OpenAPI, refused later when it is Swagger), a
// "log" object (HAR), "request" and "response" or "mappings" (WireMock), "mocks" or
// "method" and "path_pattern"/"path_regex" (ownhttp).
func Detect(files []File) (string, error) {
	for _, f := range files {
		if strings.HasPrefix(f.Name, "mappings/") || strings.HasPrefix(f.Name, "__files/") {
			return FormatWireMock, nil
		}
	}
	if len(files) != 1 {
		return "", errorf("format", "cannot tell the format of a bundle without mappings/: name it with format=")
	}
	data := bytes.TrimLeft(files[0].Data, " \t\r\n\ufeff")
	if len(data) > 0 && data[0] == '{' {
		var top map[string]json.RawMessage
		if json.Unmarshal(data, &top) == nil {
			has := func(k string) bool { _, ok := top[k]; return ok }
			switch {
			case has("openapi") || has("swagger"):
				return FormatOpenAPI, nil
			case has("log"):
				return FormatHAR, nil
			case has("mappings") || has("request") && has("response"):
				return FormatWireMock, nil
			case has("mocks") || has("method") && (has("path_pattern") || has("path_regex")):
				return FormatOwnhttp, nil
			}
		}
		return "", errorf("format", "cannot tell the format of this JSON: name it with format=har, openapi, wiremock or ownhttp")
	}
	// YAML: only OpenAPI documents are YAML.
	for _, line := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("openapi:")) || bytes.HasPrefix(line, []byte("swagger:")) {
			return FormatOpenAPI, nil
		}
	}
	return "", errorf("format", "cannot tell the format of the input: name it with format=har, openapi, wiremock or ownhttp")
}

// ownhttpItems passes the objects of mock files through; the server decodes each as a
// mock. "source" (of an exported listing) is dropped; body_file cannot be imported.
func ownhttpItems(files []File, lim Limits) ([]Item, error) {
	var items []Item
	for _, f := range files {
		name := f.Name
		if name == "" {
			name = "body"
		}
		if e := checkJSONDepth(name, f.Data, lim); e != nil {
			return nil, e
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal(f.Data, &top); err != nil {
			return nil, errorf(name, "is not a mock file (a JSON object): %s", jsonProblem(err))
		}
		objs := []json.RawMessage{f.Data}
		prefix := name
		if raw, ok := top["mocks"]; ok {
			objs = nil
			if err := json.Unmarshal(raw, &objs); err != nil {
				return nil, errorf(name+": mocks", "must be an array of mock objects")
			}
			prefix = name + "#mocks"
		}
		for i, raw := range objs {
			src := prefix
			if len(objs) != 1 || prefix != name {
				src = fmt.Sprintf("%s[%d]", prefix, i)
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(raw, &obj); err != nil {
				items = append(items, Item{Source: src, Error: "not a mock object"})
				continue
			}
			if _, ok := obj["body_file"]; ok {
				items = append(items, Item{Source: src, Error: "body_file is not imported: give the body inline (body or body_base64)"})
				continue
			}
			delete(obj, "source")
			out, _ := json.Marshal(obj)
			items = append(items, Item{Source: src, Mock: out})
			if len(items) > lim.MaxItems {
				return nil, errorf(name, "holds more than the %d mocks an import may create", lim.MaxItems)
			}
		}
	}
	return items, nil
}
