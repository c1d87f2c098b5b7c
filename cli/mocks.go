package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// runMocks is "ownhttp mocks export DIR": the server's mocks as mock files (issue #13), and
// "ownhttp mocks import FILE|DIR" (issue #17).
func runMocks(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return Usagef("mocks: want a subcommand: export or import")
	}
	switch args[0] {
	case "export":
		return cliMocksExport(ctx, args[1:], stdout, stderr)
	case "import":
		return cliMocksImport(ctx, args[1:], stdout, stderr)
	default:
		return Usagef("mocks: unknown subcommand %q: want export or import", args[0])
	}
}

// exportedMock is a mock as a mock file holds it: the API's fields without the timestamps
// (a file mock gets its own), source and what the mock did (hits, sequence position, its
// machine's current state). Values are kept as the API wrote them (a JSON body stays
// JSON).
type exportedMock struct {
	ID          string             `json:"id"`
	Method      string             `json:"method"`
	PathPattern string             `json:"path_pattern,omitempty"`
	PathRegex   string             `json:"path_regex,omitempty"`
	Status      json.RawMessage    `json:"status,omitempty"`
	Headers     *map[string]string `json:"headers,omitempty"`
	Body        json.RawMessage    `json:"body,omitempty"`
	BodyBase64  string             `json:"body_base64,omitempty"`
	ContentType string             `json:"content_type,omitempty"`
	Priority    int                `json:"priority,omitempty"`
	Match       json.RawMessage    `json:"match,omitempty"`
	Responses   json.RawMessage    `json:"responses,omitempty"`
	AfterLast   string             `json:"after_last,omitempty"`
	Template    bool               `json:"template,omitempty"`
	Seed        *int64             `json:"seed,omitempty"`
	State       *exportedState     `json:"state,omitempty"`
	Latency     json.RawMessage    `json:"latency,omitempty"`
	Faults      json.RawMessage    `json:"faults,omitempty"`
	Source      string             `json:"source,omitempty"`
}

// exportedState is a mock's state without the machine's current state.
type exportedState struct {
	Name     string `json:"name"`
	Requires string `json:"requires,omitempty"`
	Sets     string `json:"sets,omitempty"`
}

// cliMocksExport is "ownhttp mocks export DIR": GET /api/mocks, and one file DIR/<id>.json
// per mock created through the API (mocks loaded from files are skipped: they have files).
// The body stays inline as a JSON string, exactly as the API holds it. An existing file
// with other content is never overwritten without --force, and then nothing is written
// (exit 1). Prints one line per file written.
func cliMocksExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cc := newCLIFlags("export")
	fs.Init("ownhttp mocks export", fs.ErrorHandling())
	force := fs.Bool("force", false, "overwrite existing files whose content differs")
	client, pos, err := parseRemote(fs, cc, args, 1, "DIR", stdout)
	if err != nil {
		return err
	}
	dir := pos[0]
	status, body, err := client.api(ctx, "GET", "/api/mocks", nil)
	if err != nil {
		return client.reportRequestError(stderr, err)
	}
	if status != 200 {
		return reportAPIError(stderr, status, body)
	}
	var payload struct {
		Mocks []exportedMock `json:"mocks"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		fmt.Fprintf(stderr, "ownhttp: unexpected answer from %s: %s\n", client.baseString(), oneLine(err.Error()))
		return exitFailure
	}
	type file struct {
		path string
		data []byte
	}
	var files []file
	for _, m := range payload.Mocks {
		if m.Source != "" {
			continue
		}
		if m.Headers == nil && m.Responses == nil {
			m.Headers = &map[string]string{}
		}
		data, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		data = append(data, '\n')
		// Ids are letters, digits, '.', '_' and '-' (never "." or ".."): safe file names.
		p := filepath.Join(dir, m.ID+".json")
		old, err := os.ReadFile(p)
		switch {
		case err == nil && bytes.Equal(old, data):
			continue // already exported
		case err == nil && !*force:
			fmt.Fprintf(stderr, "ownhttp: %s exists with other content (use --force to overwrite); nothing written\n", p)
			return exitFailure
		}
		files = append(files, file{p, data})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "ownhttp: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	for _, f := range files {
		tmp := f.path + ".tmp"
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			fmt.Fprintf(stderr, "ownhttp: %s\n", oneLine(err.Error()))
			return exitFailure
		}
		if err := os.Rename(tmp, f.path); err != nil {
			os.Remove(tmp)
			fmt.Fprintf(stderr, "ownhttp: %s\n", oneLine(err.Error()))
			return exitFailure
		}
		fmt.Fprintln(stdout, f.path)
	}
	return nil
}
