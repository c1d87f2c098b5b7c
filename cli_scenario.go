package main

import (
	"context"
	"errors"
	"io"
)

// runScenarioCLI is "ownhttp scenario run|list|run-remote|live|proxy …" (issue #5).
func runScenarioCLI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("scenario CLI not implemented yet")
}
