// Package sse reads Server-Sent Events frames (the text/event-stream format of the WHATWG
// HTML standard) from a stream: the one reader of the CLI's live view and of the tests.
package sse

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Frame is one frame, as a client sees it: the fields of the lines before a blank line.
type Frame struct {
	ID      string
	HasID   bool // an id field was present (an empty id is a reset)
	Event   string
	Data    string // data lines joined with "\n"
	Comment string // the last comment line (": heartbeat"), without the colon
	Retry   string
	// Unknown is the first line whose field name the format does not define; a client
	// ignores it, a strict test refuses it.
	Unknown string
}

// IsEvent reports whether the frame carries data (a comment-only frame does not).
func (f Frame) IsEvent() bool { return f.Data != "" || f.HasID || f.Event != "" }

// ErrLineTooLong is returned when a line is longer than the reader's limit.
var ErrLineTooLong = errors.New("sse: line too long")

// Reader reads frames from r. It owns no goroutine; deadlines belong to the caller's stream.
type Reader struct {
	br      *bufio.Reader
	maxLine int
}

// NewReader reads frames from r, refusing lines longer than maxLine bytes.
func NewReader(r io.Reader, maxLine int) *Reader {
	return &Reader{br: bufio.NewReader(r), maxLine: maxLine}
}

// Next reads the next non-empty frame. Empty lines between frames are skipped. At the end of
// the stream it returns io.EOF (a partial last frame is dropped, as the format says).
func (r *Reader) Next() (Frame, error) {
	var f Frame
	var data []string
	lines := 0
	for {
		line, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && (lines > 0 || line != "") {
				err = io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
		if line == "" {
			if lines == 0 {
				continue
			}
			f.Data = strings.Join(data, "\n")
			return f, nil
		}
		lines++
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "":
			f.Comment = value
		case "id":
			f.ID, f.HasID = value, true
		case "event":
			f.Event = value
		case "data":
			data = append(data, value)
		case "retry":
			f.Retry = value
		default:
			if f.Unknown == "" {
				f.Unknown = line
			}
		}
	}
}

// readLine reads one line without its "\n" (or "\r\n").
func (r *Reader) readLine() (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.br.ReadLine()
		if err != nil {
			return string(b), err
		}
		b = append(b, chunk...)
		if len(b) > r.maxLine {
			return "", fmt.Errorf("%w (more than %d bytes)", ErrLineTooLong, r.maxLine)
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}

// Parse splits b into its complete frames; a trailing partial frame is left out.
func Parse(b []byte, maxLine int) ([]Frame, error) {
	if i := strings.LastIndex(string(b), "\n\n"); i >= 0 {
		b = b[:i+2]
	} else {
		return nil, nil
	}
	r := NewReader(strings.NewReader(string(b)), maxLine)
	var out []Frame
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
}
