package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"
)

// runRecord is "ownhttp record --target NAME": the target (named by name or id) starts
// recording on the server (POST /api/targets/{id}/record); requests the server's mocks do not
// answer go to the target and are kept. When the command is interrupted (Ctrl-C) or
// --duration passes, the recording stops (DELETE …/record) and the server turns the recorded
// exchanges into mocks; the command prints the report. Exit status: 0 when every recorded
// exchange became (part of) a mock, 3 when some could not, 1 when the server could not be
// asked, 2 for a bad command line.
func runRecord(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cc := newCLIFlags("record")
	fs.Init("ownhttp record", fs.ErrorHandling())
	target := fs.String("target", "", "the target to record through: its name or id (required)")
	duration := fs.Duration("duration", 0, "stop after this long (default: when interrupted)")
	discard := fs.Bool("discard", false, "stop without making mocks")
	partial := fs.Bool("partial", false, "make the mocks that can be made even when some exchanges cannot")
	client, _, err := parseRemote(fs, cc, args, 0, "", stdout)
	if err != nil {
		return err
	}
	if *target == "" {
		return Usagef("ownhttp record: --target NAME is required")
	}
	id, name, err := resolveTarget(ctx, client, *target, stderr)
	if err != nil {
		return err
	}
	recordPath := "/api/targets/" + url.PathEscape(id) + "/record"
	status, body, err := client.api(ctx, "POST", recordPath, nil)
	if err != nil {
		return client.reportRequestError(stderr, err)
	}
	if status != 201 {
		return reportAPIError(stderr, status, body)
	}
	var started struct {
		Recording struct {
			ID string `json:"id"`
		} `json:"recording"`
	}
	_ = json.Unmarshal(body, &started)
	fmt.Fprintf(stdout, "recording %s through target %s: requests to %s that no mock answers go to the target; ",
		started.Recording.ID, name, client.baseString())
	if *duration > 0 {
		fmt.Fprintf(stdout, "stopping in %s\n", *duration)
	} else {
		fmt.Fprintln(stdout, "interrupt (Ctrl-C) to stop")
	}
	var timer <-chan time.Time
	if *duration > 0 {
		timer = time.After(*duration)
	}
	select {
	case <-ctx.Done():
	case <-timer:
	}

	// The command's context may be over (interrupted): stopping gets its own bounded one.
	stopCtx, cancel := context.WithTimeout(context.Background(), cc.timeout)
	defer cancel()
	q := url.Values{}
	if *discard {
		q.Set("discard", "true")
	}
	if *partial {
		q.Set("partial", "true")
	}
	stop := recordPath
	if len(q) > 0 {
		stop += "?" + q.Encode()
	}
	status, body, err = client.api(stopCtx, "DELETE", stop, nil)
	if err != nil {
		return client.reportRequestError(stderr, err)
	}
	if *discard && status == 200 {
		fmt.Fprintln(stdout, "recording stopped; nothing was made (--discard)")
		return nil
	}
	return printImportReport(stdout, stderr, status, body, cc.json)
}

// resolveTarget finds the target named (by id or name) ref: its id and name. An unknown one
// is exit status 1 with the names the server has.
func resolveTarget(ctx context.Context, client *cliClient, ref string, stderr io.Writer) (id, name string, err error) {
	status, body, err := client.api(ctx, "GET", "/api/targets", nil)
	if err != nil {
		return "", "", client.reportRequestError(stderr, err)
	}
	if status != 200 {
		return "", "", reportAPIError(stderr, status, body)
	}
	var list struct {
		Targets []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		fmt.Fprintf(stderr, "ownhttp: unexpected answer from %s: %s\n", client.baseString(), oneLine(err.Error()))
		return "", "", exitFailure
	}
	var names []string
	for _, t := range list.Targets {
		if t.ID == ref || t.Name == ref {
			return t.ID, t.Name, nil
		}
		names = append(names, t.Name)
	}
	fmt.Fprintf(stderr, "ownhttp record: no target %q on %s (targets: %v); create one with POST /api/targets\n",
		ref, client.baseString(), names)
	return "", "", exitFailure
}
