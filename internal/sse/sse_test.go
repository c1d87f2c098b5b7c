package sse

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestReaderFrames(t *testing.T) {
	is := is.New(t)
	in := "retry: 1000\n\n: heartbeat\n\n\n" +
		"id: 5\r\nevent: request.completed\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n" +
		"id:\nbogus: x\ndata:no space\n\n" +
		"data: partial"
	r := NewReader(strings.NewReader(in), 64)
	f, err := r.Next()
	is.NoErr(err)
	is.Equal(f, Frame{Retry: "1000"})
	f, err = r.Next()
	is.NoErr(err)
	is.Equal(f, Frame{Comment: "heartbeat"})
	is.True(!f.IsEvent())
	f, err = r.Next() // blank lines between frames are skipped; CRLF lines too
	is.NoErr(err)
	is.Equal(f, Frame{ID: "5", HasID: true, Event: "request.completed", Data: "{\"a\":\n1}"})
	is.True(f.IsEvent())
	f, err = r.Next()
	is.NoErr(err)
	is.Equal(f, Frame{HasID: true, Data: "no space", Unknown: "bogus: x"}) // an empty id is present
	_, err = r.Next()
	is.True(errors.Is(err, io.ErrUnexpectedEOF)) // a partial last frame is not a frame
	_, err = NewReader(strings.NewReader(""), 64).Next()
	is.True(errors.Is(err, io.EOF))
}

func TestReaderLineLimit(t *testing.T) {
	is := is.New(t)
	r := NewReader(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 32)
	_, err := r.Next()
	is.True(errors.Is(err, ErrLineTooLong))
}

func TestParseCompleteFramesOnly(t *testing.T) {
	is := is.New(t)
	frames, err := Parse([]byte("id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c"), 64)
	is.NoErr(err)
	is.Equal(len(frames), 2)
	is.Equal(frames[1].Data, "b")
	frames, err = Parse([]byte("id: 1\ndata: a"), 64)
	is.NoErr(err)
	is.Equal(len(frames), 0)
}
