package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// bundleType is the content type of a bundle of files (features.BundleType).
const bundleType = "application/vnd.ownhttp.bundle+json"

// importReport is POST /api/import's answer.
type importReport struct {
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
	Format  string `json:"format"`
	DryRun  bool   `json:"dry_run"`
	Created int    `json:"created"`
	Failed  int    `json:"failed"`
	Items   []struct {
		Source      string   `json:"source"`
		Status      string   `json:"status"`
		MockID      string   `json:"mock_id"`
		Unsupported []string `json:"unsupported"`
		Error       string   `json:"error"`
	} `json:"items"`
}

// cliMocksImport is "ownhttp mocks import FILE|DIR": POST /api/import with the file, or
// the directory as a bundle (every regular file below it, named relative to it: a WireMock
// mappings/ + __files/ directory). It prints one line per item (status, source, mock id or
// error, and each unsupported part) and a summary. Exit status: 0 when every item was
// imported (or, with --dry-run, would be); 3 when some were not (all or nothing refused the
// import, or --partial left some out); 1 when the server refused the input as a whole or
// could not be reached; 2 for a bad command line.
func cliMocksImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset, cc := newCLIFlags("import")
	fset.Init("ownhttp mocks import", fset.ErrorHandling())
	format := fset.String("format", "", "har, openapi, wiremock or ownhttp (default: detected by the server)")
	partial := fset.Bool("partial", false, "import the valid items even when others fail")
	dryRun := fset.Bool("dry-run", false, "report what would be imported; create nothing")
	client, pos, err := parseRemote(fset, cc, args, 1, "FILE|DIR", stdout)
	if err != nil {
		return err
	}
	src := pos[0]
	st, err := os.Stat(src)
	if err != nil {
		fmt.Fprintf(stderr, "ownhttp: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	h := http.Header{"Accept": {"application/json"}}
	var body []byte
	if st.IsDir() {
		body, err = bundleOf(src)
		h.Set("Content-Type", bundleType)
	} else {
		body, err = os.ReadFile(src)
		h.Set("Content-Type", "application/octet-stream")
	}
	if err != nil {
		fmt.Fprintf(stderr, "ownhttp: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	q := url.Values{}
	if *format != "" {
		q.Set("format", *format)
	}
	if *partial {
		q.Set("partial", "true")
	}
	if *dryRun {
		q.Set("dry_run", "true")
	}
	target := "/api/import"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := client.newRequest(ctx, "POST", target, h, body)
	if err != nil {
		return err
	}
	resp, rb, err := client.do(req)
	if err != nil {
		return client.reportRequestError(stderr, err)
	}
	return printImportReport(stdout, stderr, resp.StatusCode, rb, cc.json)
}

// printImportReport prints the import report of POST /api/import, POST
// /api/mocks/from-history or a stopped recording (as received with asJSON): one line per
// item and a summary. It returns nil when every item was made (or would be), exitFailed
// when some were not, and the usual API error for an answer that is no report.
func printImportReport(stdout, stderr io.Writer, status int, rb []byte, asJSON bool) error {
	var rep importReport
	if json.Unmarshal(rb, &rep) != nil || rep.Items == nil {
		return reportAPIError(stderr, status, rb)
	}
	if asJSON {
		fmt.Fprintln(stdout, strings.TrimSpace(string(rb)))
	}
	for _, it := range rep.Items {
		if asJSON {
			break
		}
		line := it.Status + " " + it.Source
		if it.MockID != "" && (it.Status == "created" || it.Status == "would_create") {
			line += " (" + it.MockID + ")"
		}
		if it.Error != "" {
			line += ": " + it.Error
		}
		fmt.Fprintln(stdout, line)
		for _, u := range it.Unsupported {
			fmt.Fprintln(stdout, "  unsupported: "+u)
		}
	}
	verb := "created"
	n := rep.Created
	if rep.DryRun {
		verb = "would create"
		n = 0
		for _, it := range rep.Items {
			if it.Status == "would_create" {
				n++
			}
		}
	}
	if !asJSON {
		fmt.Fprintf(stdout, "%s: %s %d of %d, %d failed\n", rep.Format, verb, n, len(rep.Items), rep.Failed)
	}
	if rep.Error != nil {
		fmt.Fprintf(stderr, "ownhttp: %s\n", oneLine(rep.Error.Message))
	}
	if status >= 300 || n < len(rep.Items) {
		return exitFailed
	}
	return nil
}

// bundleOf reads every regular file below dir into a bundle {"files":[…]}: text as content,
// other bytes as content_base64. Hidden files and directories are skipped.
func bundleOf(dir string) ([]byte, error) {
	type file struct {
		Name          string `json:"name"`
		Content       string `json:"content,omitempty"`
		ContentBase64 string `json:"content_base64,omitempty"`
	}
	var files []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f := file{Name: filepath.ToSlash(rel)}
		if utf8.Valid(data) {
			f.Content = string(data)
		} else {
			f.ContentBase64 = base64.StdEncoding.EncodeToString(data)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no files to import", dir)
	}
	return json.Marshal(map[string]any{"files": files})
}
