package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"ownhttp/state"
)

// The commands that ask the server: list, run-remote and proxy (spec §5.5).

// cliList is "ownhttp scenario list": GET /api/scenarios, printed as "id<TAB>name<TAB>steps=N"
// lines, or the payload with --json. A non-200 answer goes to stderr (exit 1).
func cliList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cc := newCLIFlags("list")
	client, _, err := parseRemote(fs, cc, args, 0, "", stdout)
	if err != nil {
		return err
	}
	status, body, err := client.api(ctx, "GET", "/api/scenarios", nil)
	if err != nil {
		return client.reportRequestError(stderr, err)
	}
	if status != 200 {
		return reportAPIError(stderr, status, body)
	}
	if cc.json {
		writeRawJSON(stdout, body)
		return nil
	}
	var payload struct {
		Scenarios []struct {
			ID    string            `json:"id"`
			Name  string            `json:"name"`
			Steps []json.RawMessage `json:"steps"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		fmt.Fprintf(stderr, "ownhttp: unexpected answer from %s: %s\n", client.baseString(), oneLine(err.Error()))
		return exitFailure
	}
	for _, sc := range payload.Scenarios {
		fmt.Fprintf(stdout, "%s\t%s\tsteps=%d\n", sc.ID, sc.Name, len(sc.Steps))
	}
	return nil
}

// cliRunRemote is "ownhttp scenario run-remote ID": POST /api/scenarios/{id}/run with
// {"seed":N} (or {} without --seed) and the variables as "run" gathers them ("vars" and
// "secrets", when there are any), printed as "run" prints a report, or the whole payload
// with --json. Exit 0 when the run passed, 3 when it failed, 1 for a non-200 answer.
func cliRunRemote(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cc := newCLIFlags("run-remote")
	seed := fs.Int64("seed", state.DefaultChaosSeed, "chaos seed (default: the server's)")
	var vars, secrets, varsFiles listFlag
	fs.Var(&vars, "var", "a variable, name=value (repeatable)")
	fs.Var(&secrets, "secret", "a secret variable, name=value, shown as *** (repeatable)")
	fs.Var(&varsFiles, "vars-file", "a file of name=value lines (repeatable)")
	client, pos, err := parseRemote(fs, cc, args, 1, "ID", stdout)
	if err != nil {
		return err
	}
	given, err := gatherVariables(os.Environ(), varsFiles, vars, secrets)
	if err != nil {
		return err
	}
	request := map[string]any{}
	if flagSet(fs, "seed") {
		request["seed"] = *seed
	}
	plain, secret := map[string]string{}, map[string]string{}
	for k, v := range given.Values {
		if given.Secret[k] {
			secret[k] = v
		} else {
			plain[k] = v
		}
	}
	if len(plain) > 0 {
		request["vars"] = plain
	}
	if len(secret) > 0 {
		request["secrets"] = secret
	}
	payload, _ := json.Marshal(request)
	status, body, err := client.api(ctx, "POST", "/api/scenarios/"+url.PathEscape(pos[0])+"/run", payload)
	if err != nil {
		return client.reportRequestError(stderr, err)
	}
	if status != 200 {
		return reportAPIError(stderr, status, body)
	}
	var ans struct {
		Run state.RunReport `json:"run"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Run.Status == "" {
		fmt.Fprintf(stderr, "ownhttp: unexpected answer from %s: no run report\n", client.baseString())
		return exitFailure
	}
	if cc.json {
		writeRawJSON(stdout, body)
	} else {
		writeRunSummary(stdout, ans.Run)
	}
	if ans.Run.Status != state.StatusPass {
		return exitFailed
	}
	return nil
}

// cliProxy is "ownhttp scenario proxy": POST /api/proxy/request with {target_id, method
// (upper-cased), path, headers, body}. It prints "Proxy response | target=… status=…
// trace=…", the headers as indented JSON and the body, or the payload with --json. Exit 0
// for an upstream status below 400, 3 from 400, 1 for a non-200 answer of the proxy, 2 for
// --headers-json that is not a JSON object.
func cliProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cc := newCLIFlags("proxy")
	targetID := fs.String("target-id", "", "target id (required)")
	method := fs.String("method", "", "request method (required)")
	path := fs.String("path", "", "request path, with its query (required)")
	body := fs.String("body", "", "request body")
	headersJSON := fs.String("headers-json", "{}", "request headers as a JSON object")
	client, _, err := parseRemote(fs, cc, args, 0, "", stdout)
	if err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"target-id", *targetID}, {"method", *method}, {"path", *path}} {
		if strings.TrimSpace(f.v) == "" {
			return Usagef("scenario proxy: --%s is required", f.name)
		}
	}
	var headers map[string]any
	if t := bytes.TrimSpace([]byte(*headersJSON)); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &headers) != nil {
		fmt.Fprintf(stderr, "ownhttp: --headers-json must be a JSON object, got %q\n", *headersJSON)
		return exitValidation
	}
	payload, err := json.Marshal(map[string]any{"target_id": *targetID, "method": strings.ToUpper(*method),
		"path": *path, "headers": headers, "body": *body})
	if err != nil {
		fmt.Fprintf(stderr, "ownhttp: %s\n", oneLine(err.Error()))
		return exitValidation
	}
	status, resp, err := client.api(ctx, "POST", "/api/proxy/request", payload)
	if err != nil {
		return client.reportRequestError(stderr, err)
	}
	if status != 200 {
		return reportAPIError(stderr, status, resp)
	}
	ans, err := decodeProxyAnswer(resp)
	if err != nil {
		fmt.Fprintf(stderr, "ownhttp: unexpected answer from %s: %s\n", client.baseString(), oneLine(err.Error()))
		return exitFailure
	}
	if cc.json {
		writeRawJSON(stdout, resp)
	} else {
		fmt.Fprintf(stdout, "Proxy response | target=%s status=%d trace=%s\n", *targetID, ans.Response.Status, ans.TraceID)
		fmt.Fprintln(stdout, "Headers:")
		hb, _ := json.MarshalIndent(ans.Response.Headers, "", "  ")
		if ans.Response.Headers == nil {
			hb = []byte("{}")
		}
		fmt.Fprintf(stdout, "%s\n", hb)
		fmt.Fprintln(stdout, "Body:")
		fmt.Fprintln(stdout, ans.Response.Body)
	}
	if ans.Response.Status >= 400 {
		return exitFailed
	}
	return nil
}

// parseRemote parses a remote command's flags, expecting nargs positional arguments (named
// argName in messages), and builds the client.
func parseRemote(fs *flag.FlagSet, cc *cliConn, args []string, nargs int, argName string, stdout io.Writer) (*cliClient, []string, error) {
	pos, err := parseCLIFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		cliHelp(fs, argName, stdout)
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	if len(pos) != nargs {
		if nargs == 0 {
			return nil, nil, Usagef("%s: unexpected argument %q", fs.Name(), pos[0])
		}
		return nil, nil, Usagef("%s: want exactly one %s, got %d arguments", fs.Name(), argName, len(pos))
	}
	client, err := newCLIClient(cc.server, cc.token, cc.insecure, cc.timeout, cc.timeout)
	if err != nil {
		return nil, nil, err
	}
	return client, pos, nil
}

// flagSet reports whether the named flag was given (on the command line or the environment).
func flagSet(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// writeRawJSON writes a JSON answer indented, or as it came when it does not parse.
func writeRawJSON(w io.Writer, body []byte) {
	var out bytes.Buffer
	if json.Indent(&out, body, "", "  ") != nil {
		out.Reset()
		out.Write(body)
	}
	out.WriteByte('\n')
	w.Write(out.Bytes())
}
