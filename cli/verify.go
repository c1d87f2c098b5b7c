package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// runVerify is "ownhttp verify": how many requests in the server's journal meet a query in
// the mocks' criteria language (POST /api/requests/count), checked against --count,
// --at-least or --at-most (issue #14). It exits 0 when the count holds, 3 when it does not
// (as a failed scenario run), 2 on a bad command line and 1 when the server cannot answer.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cc := newCLIFlags("verify")
	fs.Init("ownhttp verify", fs.ErrorHandling())
	method := fs.String("method", "", "the request method (GET, POST, …, ANY); any when absent")
	path := fs.String("path", "", "a path pattern, as a mock's path_pattern; any when absent")
	pathRegex := fs.String("path-regex", "", "an RE2 regex the whole path must match, as a mock's path_regex (instead of --path)")
	match := fs.String("match", "", "match criteria, as a mock's \"match\" object: JSON, or @FILE")
	exactly := fs.Int("count", -1, "the count must be exactly N")
	atLeast := fs.Int("at-least", -1, "the count must be at least N")
	atMost := fs.Int("at-most", -1, "the count must be at most N")
	client, _, err := parseRemote(fs, cc, args, 0, "", stdout)
	if err != nil {
		return err
	}
	bounds := 0
	for _, n := range []int{*exactly, *atLeast, *atMost} {
		if n >= 0 {
			bounds++
		}
	}
	if bounds != 1 {
		return Usagef("ownhttp verify: give one of --count, --at-least or --at-most (a number, 0 or more)")
	}
	query := map[string]json.RawMessage{}
	if *method != "" {
		query["method"], _ = json.Marshal(*method)
	}
	if *path != "" && *pathRegex != "" {
		return Usagef("ownhttp verify: give --path or --path-regex, not both")
	}
	if *path != "" {
		query["path_pattern"], _ = json.Marshal(*path)
	}
	if *pathRegex != "" {
		query["path_regex"], _ = json.Marshal(*pathRegex)
	}
	if *match != "" {
		raw := []byte(*match)
		if name, ok := strings.CutPrefix(*match, "@"); ok {
			if raw, err = os.ReadFile(name); err != nil {
				fmt.Fprintf(stderr, "ownhttp verify: --match: %s\n", oneLine(err.Error()))
				return exitFailure
			}
		}
		if !json.Valid(raw) {
			return Usagef("ownhttp verify: --match is not JSON")
		}
		query["match"] = raw
	}
	payload, _ := json.Marshal(query) // raw members are valid JSON: cannot fail
	status, body, err := client.api(ctx, "POST", "/api/requests/count", payload)
	if err != nil {
		return client.reportRequestError(stderr, err)
	}
	if status != 200 {
		return reportAPIError(stderr, status, body)
	}
	var got struct {
		Count int `json:"count"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		fmt.Fprintf(stderr, "ownhttp: unexpected answer from %s: %s\n", client.baseString(), oneLine(err.Error()))
		return exitFailure
	}
	var want string
	var ok bool
	switch {
	case *exactly >= 0:
		want, ok = fmt.Sprintf("exactly %d", *exactly), got.Count == *exactly
	case *atLeast >= 0:
		want, ok = fmt.Sprintf("at least %d", *atLeast), got.Count >= *atLeast
	default:
		want, ok = fmt.Sprintf("at most %d", *atMost), got.Count <= *atMost
	}
	if cc.json {
		out, _ := json.Marshal(struct {
			Count    int             `json:"count"`
			Expected string          `json:"expected"`
			OK       bool            `json:"ok"`
			Query    json.RawMessage `json:"query"`
		}{got.Count, want, ok, payload})
		fmt.Fprintln(stdout, string(out))
	} else {
		verdict := "ok"
		if !ok {
			verdict = "FAILED"
		}
		fmt.Fprintf(stdout, "%s: %d matching requests, expected %s (%s)\n", verdict, got.Count, want, payload)
	}
	if !ok {
		return exitFailed
	}
	return nil
}
